"""Call set-up time across the network lab's paths (tests/netlab.py, as root): from the
second person's Join to a remote frame on both sides, per path, as ratios to the host
path (one LAN) measured in the same run. Prints the median of each and the pair chosen.

    sudo .venv/bin/python bench/network_lab.py --calls 5
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from playwright.sync_api import sync_playwright  # noqa: E402

import netlab  # noqa: E402
from chromium import FAKE_MEDIA_ARGS, find_chromium  # noqa: E402
from harness import Person  # noqa: E402

# name: (NAT of home a, NAT of home b or None for a second computer in home a,
#        TURN transports offered, impaired uplink of home a)
PATHS = {
    "host (one LAN)": ("masquerade", None, [], False),
    "srflx (hole punching)": ("masquerade", "masquerade", [], False),
    "relay over UDP (symmetric NATs)": ("symmetric", "symmetric", ["udp"], False),
    "relay over TLS (TCP 443 only)": ("tcp443", "masquerade", ["udp", "tcp", "tls"], False),
    "impaired uplink (150 ms, 2% loss, 1 Mbit/s)": ("masquerade", "masquerade", [], True),
}


def one_path(playwright, directory, nats, calls):
    nat_a, nat_b, turn, impaired = nats
    lab = netlab.Lab(directory)
    browsers = []
    try:
        computers = lab.add_home("a", nat_a, computers=1 if nat_b else 2)
        if nat_b:
            computers += lab.add_home("b", nat_b)
        if impaired:
            lab.impair("a", delay_ms=150, loss_percent=2, rate="1mbit")
        coturn = netlab.Coturn(lab)
        app = netlab.App(lab, stun=True, turn=turn)
        args = [*FAKE_MEDIA_ARGS, f"--unsafely-treat-insecure-origin-as-secure={app.url}",
                coturn.trusted_by_chromium()]
        for computer in computers:
            browsers.append(playwright.chromium.launch(
                executable_path=lab.chromium_wrapper(computer, find_chromium() or "chromium"),
                args=args))
        times, pair = [], None
        for number in range(calls):
            room = f"bench-{number}-{time.monotonic_ns()}"
            first, second = (Person(browser.new_context(base_url=app.url, bypass_csp=True), name)
                             for browser, name in zip(browsers, ("ana", "ben")))
            first.open_room(room).click("Join")
            first.expect_state("waiting")
            second.open_room(room)
            second.page.wait_for_timeout(1000)  # a person reads the page before Join
            started = time.monotonic()
            second.click("Join")
            for someone in (first, second):
                someone.wait_for_remote_frames(1)
            times.append(time.monotonic() - started)
            pair = first.selected_candidate_pair()
            for someone in (first, second):
                someone.context.close()
        return times, pair
    finally:
        for browser in browsers:
            browser.close()
        lab.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5)
    options = parser.parse_args()
    problem = netlab.available()
    if problem:
        raise SystemExit(f"no network lab: {problem}")
    results = {}
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as directory:
        for number, (name, nats) in enumerate(PATHS.items()):
            path_directory = Path(directory) / str(number)
            path_directory.mkdir()
            results[name] = one_path(playwright, path_directory, nats, options.calls)
    reference = statistics.median(results["host (one LAN)"][0])
    print("| path | median set-up | vs host | pair (first person's side) |")
    print("| --- | --- | --- | --- |")
    for name, (times, pair) in results.items():
        median = statistics.median(times)
        kinds = f"{pair['local']} ↔ {pair['remote']}" + (
            f" ({pair['relayProtocol']})" if pair.get("relayProtocol") else "")
        print(f"| {name} | {median * 1000:.0f} ms | {median / reference:.2f}× | {kinds} |")


if __name__ == "__main__":
    main()
