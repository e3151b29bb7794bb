"""Call set-up time: from the second person's Join to the first remote frame on both sides.

The app is timed twice: as for someone who allowed the camera on an earlier visit (the
page turns it on as it opens, so it is on before Join; Chromium's fake UI allows it), and
as for a first visit, where Join turns the camera on (the permission prompt answered at
once). References, measured in the same run and the same browser: an in-page loopback (two
RTCPeerConnections in one page, no server; bench/loopback.js) from getUserMedia to its
first remote frames; and the same call as the app's through the same server, in two bare
pages (bench/bare_call.js; camera on before their Join, like the app's), which shows what
the app's page itself adds. Prints medians, p90, the ratios, and where the time goes:
every mark of both pages (bench/marks.js) on one clock.

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
from chromium import FAKE_MEDIA_ARGS, find_chromium  # noqa: E402
from harness import room_path  # noqa: E402
from plot import save_boxplot  # noqa: E402
from servers import TEST_CONFIG, LiveServer  # noqa: E402

HARNESS = ROOT / "tests" / "harness.js"
MARKS = Path(__file__).with_name("marks.js")
LOOPBACK = Path(__file__).with_name("loopback.js").read_text()
BARE_CALL = Path(__file__).with_name("bare_call.js").read_text()

# A person reads the page before pressing Join: nobody joins within milliseconds of the
# page loading. Without this pause the page's own start-up overlaps the call's.
THINK_TIME_S = 1.0
# A first visit: the browser has not been allowed the camera here yet, so the page waits
# for Join to turn it on (and the fake UI says yes at once).
FIRST_VISIT = "navigator.permissions.query = async () => ({ state: 'prompt' });"
# The bare pages turn their camera on as they open, as the app does when it is allowed.
BARE_PREVIEW = ("window.bareCamera = navigator.mediaDevices?.getUserMedia("
                "{ video: true, audio: true });")
# The loopback's marks, under the names of the same moments in the app's timeline.
LOOPBACK_STAGES = {"camera ready": "camera ready", "sent offer": "first side: sent offer",
                   "received answer": "first side: received answer",
                   "ICE connected": "ICE connected", "DTLS connected": "DTLS connected",
                   "first frame": "first frame"}


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def open_page(browser, server, path, *scripts):
    """A page in a context of its own (as a person's browser), with the scripts that
    measure it, after `scripts`."""
    # wait_for_function evaluates its predicate, which the app's CSP forbids (tests/conftest.py).
    context = browser.new_context(base_url=server.url, bypass_csp=True)
    for script in scripts:
        context.add_init_script(script)
    context.add_init_script(path=HARNESS)
    context.add_init_script(path=MARKS)
    page = context.new_page()
    page.goto(path)
    return context, page


def one_call(browser, server, number, think_time=THINK_TIME_S, scripts=()):
    """Milliseconds from the second person's Join to each mark of both people (the
    first's prefixed with "first side: "), and "first frame": the later of the two
    sides' first remote frames. `scripts` run in both pages before the app's."""
    room = f"bench-{number}"
    first_context, first = open_page(browser, server, room_path(room), *scripts)
    first.get_by_role("button", name="Join").click()
    first.wait_for_function("document.querySelector('#status').dataset.state === 'waiting'")
    second_context, second = open_page(browser, server, room_path(room), *scripts)
    for page in (first, second):
        page.evaluate("benchWatchFirstFrame('#remote-video')")
    second.wait_for_timeout(think_time * 1000)
    second.get_by_role("button", name="Join").click()
    for page in (first, second):
        page.evaluate("benchFirstFrame")
    marks = second.evaluate("benchMarks")
    marks.update({f"first side: {name}": time for name, time in first.evaluate("benchMarks").items()})
    marks["first frame"] = max(marks["first frame #remote-video"],
                               marks["first side: first frame #remote-video"])
    first_context.close()
    second_context.close()
    return since_join(marks)


def loopback(browser, server, think_time=THINK_TIME_S):
    """The loopback's marks, in ms since its start, under the app's names."""
    context = browser.new_context(base_url=server.url, bypass_csp=True)
    page = context.new_page()
    page.goto("/")  # a secure (localhost) origin for getUserMedia
    page.wait_for_timeout(think_time * 1000)
    marks = page.evaluate(LOOPBACK)
    context.close()
    return since_join({LOOPBACK_STAGES.get(name, name): time for name, time in marks.items()})


def bare_call(browser, server, number, think_time=THINK_TIME_S):
    """Ms from the second bare page's start to the later of the two first remote frames."""
    room = f"bare-{number}"
    # The same measuring scripts as the app's pages.
    first_context, first = open_page(browser, server, "/", BARE_PREVIEW)
    first.evaluate(BARE_CALL, ["first", room])
    second_context, second = open_page(browser, server, "/", BARE_PREVIEW)
    second.wait_for_timeout(think_time * 1000)
    second.evaluate(BARE_CALL, ["second", room])
    first_marks, second_marks = (page.evaluate("bareCall") for page in (first, second))
    first_context.close()
    second_context.close()
    return max(first_marks["first frame"], second_marks["first frame"]) - second_marks["join clicked"]


def since_join(marks):
    """Milliseconds from Join to each mark; marks from before it (the first person's own
    Join, camera and welcome) are left out."""
    join = marks["join clicked"]
    return {name: time - join for name, time in marks.items() if time >= join}


def median_of(runs, stage):
    """The median of `stage` over the runs that have it, as the table prints it."""
    times = [run[stage] for run in runs if stage in run]
    return f"{statistics.median(times):.1f}" if times else "-"


def table(rows):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths))
                     for row in rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="calls of each kind (default 20)")
    parser.add_argument("--think-time", type=float, default=THINK_TIME_S, metavar="SECONDS",
                        help=f"from a page loading to its Join (default {THINK_TIME_S})")
    parser.add_argument("--plot", help="write a PNG of the distributions here")
    args = parser.parse_args()

    server = LiveServer(create_app(TEST_CONFIG))
    app_runs, first_visit_runs, loop_runs, bare_totals = [], [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=FAKE_MEDIA_ARGS)
        for number in range(args.calls):  # interleaved, so that noise hits both alike
            app_runs.append(one_call(browser, server, number, args.think_time))
            first_visit_runs.append(one_call(browser, server, f"first-visit-{number}",
                                             args.think_time, [FIRST_VISIT]))
            loop_runs.append(loopback(browser, server, args.think_time))
            bare_totals.append(bare_call(browser, server, number, args.think_time))
        browser.close()
    server.stop()

    app_total = [run["first frame"] for run in app_runs]
    first_visit_total = [run["first frame"] for run in first_visit_runs]
    loop_total = [run["first frame"] for run in loop_runs]
    print(f"\nCall set-up, {args.calls} calls each, {args.think_time} s from page load to Join, "
          f"Chromium {find_chromium() or 'Playwright'}")
    rows = [["", "median ms", "p90 ms"]]
    for name, totals in (("this app: second Join -> first frame on both sides", app_total),
                         ("this app, first visit: the camera starts at Join", first_visit_total),
                         ("in-page loopback (no server)", loop_total),
                         ("bare pages, same flow and server", bare_totals)):
        rows.append([name, f"{statistics.median(totals):.0f}", f"{percentile(totals, 0.9):.0f}"])
    for name, totals, reference in (("ratio (app / loopback)", app_total, loop_total),
                                    ("ratio (app, first visit / loopback)", first_visit_total, loop_total),
                                    ("ratio (bare pages / loopback)", bare_totals, loop_total),
                                    ("ratio (app / bare pages)", app_total, bare_totals)):
        rows.append([name, f"{statistics.median(totals) / statistics.median(reference):.2f}x",
                     f"{percentile(totals, 0.9) / percentile(reference, 0.9):.2f}x"])
    print(table(rows))
    print("\nWhere the time goes (median ms from the second Join to each mark of either page):")
    # A first visit has every mark the app has, and the camera's too.
    stages = [name for name in first_visit_runs[0] if all(name in run for run in first_visit_runs)]
    stages.sort(key=lambda name: statistics.median(run[name] for run in first_visit_runs))
    rows = [["mark", "this app", "first visit", "loopback"]]
    for stage in stages:
        rows.append([stage] + [median_of(runs, stage) for runs in (app_runs, first_visit_runs, loop_runs)])
    print(table(rows))
    if args.plot:
        save_boxplot({"this app": app_total, "first visit": first_visit_total,
                      "in-page loopback": loop_total,
                      "bare pages": bare_totals}, "Call set-up time",
                     "ms from Join to the first remote frame on both sides", args.plot)
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
