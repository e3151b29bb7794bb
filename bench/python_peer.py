"""Call set-up with the Python peer (peer.py): how long a browser waits for it, next to a
browser-to-browser call measured in the same run (bench/call_setup.py's one_call).

    .venv/bin/python bench/python_peer.py --calls 10

"join -> connected" runs from the moment the one who arrives second joins (the peer is
started, or the browser's Join is clicked) to the later of: the peer's connectionState
"connected" and the browser's first remote frame.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from playwright.sync_api import sync_playwright  # noqa: E402

from app import create_app  # noqa: E402
from call_setup import THINK_TIME_S, open_page, one_call, percentile, table  # noqa: E402
from chromium import FAKE_MEDIA_ARGS, find_chromium  # noqa: E402
from harness import room_path, secret_for, wait_until  # noqa: E402
from peer import PeerThread, PythonPeer  # noqa: E402
from servers import TEST_CONFIG, LiveServer  # noqa: E402


def now_ms():
    return time.time() * 1000  # the epoch clock, as benchMarks uses


def peer_call(browser, server, room, browser_first):
    """ms from the second one's arrival, which comes a person's think time after the
    page is ready, to the later of the peer's connected and the page's first frame."""
    context, page = open_page(browser, server, room_path(room))
    page.evaluate("benchWatchFirstFrame('#remote-video')")
    if browser_first:
        page.get_by_role("button", name="Join").click()
        page.wait_for_function("document.querySelector('#status').dataset.state === 'waiting'")
        page.wait_for_timeout(THINK_TIME_S * 1000)
        start = now_ms()
        thread = PeerThread(PythonPeer(room, server.url, secret=secret_for(room)))
    else:
        thread = PeerThread(PythonPeer(room, server.url, secret=secret_for(room)))
        assert thread.peer.joined.wait(20), "the peer did not join"
        page.wait_for_timeout(THINK_TIME_S * 1000)
        start = now_ms()
        page.get_by_role("button", name="Join").click()
    wait_until(lambda: thread.peer.connection_state == "connected", "the peer to connect")
    connected = now_ms()
    first_frame = page.evaluate("benchFirstFrame")
    thread.stop()
    context.close()
    return max(connected, first_frame) - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10, help="calls of each kind (default 10)")
    args = parser.parse_args()

    server = LiveServer(create_app(TEST_CONFIG))
    runs = {"browser waits, Python peer joins": [], "Python peer waits, browser joins": [],
            "browser to browser (reference)": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=FAKE_MEDIA_ARGS)
        for number in range(args.calls):  # interleaved, so that noise hits all alike
            for (name, samples), browser_first in zip(list(runs.items())[:2], (True, False)):
                samples.append(peer_call(browser, server, f"peer-{browser_first}-{number}",
                                         browser_first))
            runs["browser to browser (reference)"].append(
                one_call(browser, server, f"reference-{number}")["first frame"])
        browser.close()
    server.stop()

    reference = statistics.median(runs["browser to browser (reference)"])
    print(f"\nJoin -> connected, {args.calls} calls each")
    print(table([["", "median ms", "p90 ms", "median / reference"]] + [
        [name, f"{statistics.median(samples):.0f}", f"{percentile(samples, 0.9):.0f}",
         f"{statistics.median(samples) / reference:.2f}x"] for name, samples in runs.items()]))


if __name__ == "__main__":
    main()
