"""Call set-up time: from the second person's Join to the first remote frame on both sides.

Reference, measured in the same run and the same browser: an in-page loopback (two
RTCPeerConnections in one page, no server; bench/loopback.js) from getUserMedia to its
first remote frames. Prints medians, p90, the ratio, and where the time goes.

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/call_setup.py --calls 20 --plot bench/call_setup.png
"""

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from playwright.sync_api import sync_playwright  # noqa: E402

from app import create_app  # noqa: E402
from chromium import find_chromium  # noqa: E402
from conftest import FAKE_MEDIA_ARGS, LiveServer  # noqa: E402
from plot import save_boxplot  # noqa: E402

HARNESS = ROOT / "tests" / "harness.js"
MARKS = Path(__file__).with_name("marks.js")
LOOPBACK = Path(__file__).with_name("loopback.js").read_text()

# The second person's stages, as they happen.
STAGES = ["join clicked", "camera ready", "socket open", "received welcome", "sent offer",
          "received answer", "ICE connected", "DTLS connected", "first frame"]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def open_page(browser, server, room):
    context = browser.new_context(base_url=server.url)
    context.add_init_script(path=HARNESS)
    context.add_init_script(path=MARKS)
    page = context.new_page()
    page.goto(f"/room/{room}")
    return context, page


def one_call(browser, server, number):
    """Marks of the second person, with "first frame" = the later of the two sides."""
    room = f"bench-{number}"
    first_context, first = open_page(browser, server, room)
    first.get_by_role("button", name="Join").click()
    first.wait_for_function("document.querySelector('#status').dataset.state === 'waiting'")
    second_context, second = open_page(browser, server, room)
    for page in (first, second):
        page.evaluate("benchWatchFirstFrame('#remote-video')")
    second.get_by_role("button", name="Join").click()
    for page in (first, second):
        page.wait_for_function("benchMarks['first frame #remote-video'] !== undefined")
    marks = second.evaluate("benchMarks")
    marks["first frame"] = max(page.evaluate("benchMarks['first frame #remote-video']")
                               for page in (first, second))
    answerer = first.evaluate("benchMarks")
    marks["answering"] = answerer["sent answer"] - answerer["received offer"]
    first_context.close()
    second_context.close()
    return marks


def loopback(browser, server):
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    page.goto("/")  # a secure (localhost) origin for getUserMedia
    marks = page.evaluate(LOOPBACK)
    context.close()
    return marks


def durations(marks, stages):
    """Milliseconds from Join to each stage (stages may overlap: the camera and the
    socket start together), and the total."""
    since = {stage: marks[stage] - marks[stages[0]] for stage in stages[1:]}
    since["total"] = since[stages[-1]]
    if "answering" in marks:
        since["(the first side's answering took)"] = marks["answering"]
    return since


def table(rows):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths))
                     for row in rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="calls of each kind (default 20)")
    parser.add_argument("--plot", help="write a PNG of the distributions here")
    args = parser.parse_args()

    server = LiveServer(create_app({}))
    app_runs, loop_runs = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=FAKE_MEDIA_ARGS)
        for number in range(args.calls):  # interleaved, so that noise hits both alike
            app_runs.append(durations(one_call(browser, server, number), STAGES))
            loop_runs.append(durations(loopback(browser, server), [
                "join clicked", "camera ready", "sent offer", "received answer",
                "ICE connected", "DTLS connected", "first frame"]))
        browser.close()
    server.stop()

    app_total = [run["total"] for run in app_runs]
    loop_total = [run["total"] for run in loop_runs]
    print(f"\nCall set-up, {args.calls} calls each, Chromium {find_chromium() or 'Playwright'}")
    print(table([
        ["", "median ms", "p90 ms"],
        ["this app: second Join -> first frame on both sides",
         f"{statistics.median(app_total):.0f}", f"{percentile(app_total, 0.9):.0f}"],
        ["in-page loopback (no server)",
         f"{statistics.median(loop_total):.0f}", f"{percentile(loop_total, 0.9):.0f}"],
        ["ratio (app / loopback)",
         f"{statistics.median(app_total) / statistics.median(loop_total):.2f}x",
         f"{percentile(app_total, 0.9) / percentile(loop_total, 0.9):.2f}x"],
    ]))
    print("\nWhere the time goes (median ms from Join to each stage):")
    rows = [["stage", "this app", "loopback"]]
    for stage in [*STAGES[1:6], "(the first side's answering took)", *STAGES[6:]]:
        in_loop = [run[stage] for run in loop_runs if stage in run]
        rows.append([stage, f"{statistics.median(run[stage] for run in app_runs):.1f}",
                     f"{statistics.median(in_loop):.1f}" if in_loop else "-"])
    print(table(rows))
    if args.plot:
        save_boxplot({"this app": app_total, "in-page loopback": loop_total}, "Call set-up time",
                     "ms from Join to the first remote frame on both sides", args.plot)
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
