"""Echo peers: the CPU of one echo call, how many two cores hold, and signaling meanwhile.

The app runs under `flask run` (as `make run` does). For each count in --calls, that many
echo calls run at once: in each, a Python peer (the caller) sends its test pattern (640x480,
30 frames/s, and a tone) to an echo peer, which decodes it and encodes it again, and the
caller counts the frames that come back. Over --seconds, each step measures the frames per
second every caller gets back, the CPU of every echo peer (a process of its own, echo.py) and
of every caller, and the latency of rooms bouncing 6 KB offers through the app (bench/relay.py's
clients), against the same rooms with no echo call, in the same run.

A step holds when every call comes back at full frame rate (27 frames/s or more, 90 % of
what is sent) and signaling's p99 stays under 50 ms. The callers stand for people on other
computers, but run on these same cores (nice 19, below the echo peers' nice 10): the
last line also says how many echo calls the echo peers' CPU alone would fit.

    .venv/bin/python bench/echo_load.py --calls 1 2 3 4 --seconds 10
"""

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from relay import APP_ENV, ROOT, measure, p50_p99, start

sys.path.insert(0, str(ROOT))
from signaling import echo_token  # noqa: E402

SECRET = "bench-room-secret-000000"
FRAME_RATE = 30  # what the callers' pattern sends
FULL_RATE = 0.9 * FRAME_RATE
SIGNALING_P99_MS = 50  # the target of bench/idle_sockets.py's active rooms, too
CORES = os.cpu_count()
TICKS = os.sysconf("SC_CLK_TCK")


def flask_run(port):
    return [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)]


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command's name: state, parent, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid):
    """User and system CPU a process has used so far."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def echo_peers(server):
    """The echo peer processes the app started (its children running peer.py --echo)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int(stat_fields(entry.name)[1]) == server.pid \
                    and b"--echo" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):
            pass  # it ended while we looked
    return found


class Caller:
    """A Python peer waiting in `room`, then in a call with the echo peer the app sends it.
    It logs what has come back every second; `frames` keeps (time, video frames so far)."""

    def __init__(self, port, room, picture):
        self.frames = []
        self.process = subprocess.Popen(
            ["nice", "-n", "19", sys.executable, "peer.py", "--picture", picture, "--report-seconds", "1",
             f"http://127.0.0.1:{port}/room/{room}#{SECRET}"],
            cwd=ROOT, stderr=subprocess.PIPE, text=True)
        self.wait_for("waiting for someone")
        token = echo_token(APP_ENV["FLASK_SECRET_KEY"], room, SECRET)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/room/{room}/echo", method="POST",
                                         data=json.dumps({"token": token}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as response:
            assert response.status == 202, response.status
        self.wait_for("connection connected")
        threading.Thread(target=self.count, daemon=True).start()  # never let its log block it

    def wait_for(self, text):
        for line in self.process.stderr:
            if text in line:
                return
        raise RuntimeError(f"the caller ended before it said {text!r}")

    def count(self):
        for line in self.process.stderr:
            if match := re.search(r"received so far: (\d+) video frames", line):
                self.frames.append((time.monotonic(), int(match[1])))

    def frame_rate(self, since, until):
        """Frames per second that came back between two times (NaN: too few reports)."""
        inside = [(t, n) for t, n in self.frames if since <= t <= until]
        if len(inside) < 2:
            return float("nan")
        (t0, n0), (t1, n1) = inside[0], inside[-1]
        return (n1 - n0) / (t1 - t0)


def cpu_percent(pids, before, seconds):
    """Each process's share of one core since `before` (their cpu_seconds then), as a list."""
    return [100 * (cpu_seconds(pid) - before[pid]) / seconds for pid in pids]


def mean(values):
    return sum(values) / len(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[1, 2, 3, 4],
                        help="echo calls at once, one step each (default 1 2 3 4)")
    parser.add_argument("--picture", default="640x480", help="the callers' pattern (default 640x480)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="how long each step is measured (default 10)")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds new echo calls run before their step is measured (default 5)")
    parser.add_argument("--rooms", type=int, default=10, help="signaling rooms (default 10)")
    parser.add_argument("--bounces", type=int, default=50, help="messages per room (default 50)")
    args = parser.parse_args()

    most = max(args.calls)
    server, port = start(flask_run, {"FLASK_ECHO_PEERS": str(most), "FLASK_ECHO_PEERS_PER_ADDRESS": str(most)})
    callers = []
    rows = [["echo calls", "frames/s back", "echo peer CPU", "caller CPU", "p50 ms", "p99 ms",
             "sent", "received", "errors", "p99 vs none", "holds"]]
    held = previous = 0  # a count holds only if every smaller one did
    first_cpu = None  # each echo peer's CPU at the first step
    try:
        latencies, counts, _ = asyncio.run(measure([port], args.rooms, args.bounces))
        p50, reference = p50_p99(latencies)
        rows.append(["none", "", "", "", f"{p50:.2f}", f"{reference:.2f}", counts["sent"],
                     counts["received"], counts["errors"], "1.00x", ""])
        for calls in sorted(args.calls):
            while len(callers) < calls:
                callers.append(Caller(port, f"echo-load-{len(callers)}", args.picture))
            time.sleep(args.settle)  # the scenario itself: the new calls are under way
            echo_pids, caller_pids = echo_peers(server), [caller.process.pid for caller in callers]
            since = time.monotonic()
            before = {pid: cpu_seconds(pid) for pid in [*echo_pids, *caller_pids]}
            latencies, counts, _ = asyncio.run(measure([port], args.rooms, args.bounces))
            time.sleep(max(0.0, since + args.seconds - time.monotonic()))
            until = time.monotonic()
            echo_cpu = mean(cpu_percent(echo_pids, before, until - since))
            caller_cpu = mean(cpu_percent(caller_pids, before, until - since))
            rates = [caller.frame_rate(since, until) for caller in callers]
            p50, p99 = p50_p99(latencies)
            holds = min(rates) >= FULL_RATE and p99 < SIGNALING_P99_MS and not counts["errors"]
            held, previous = calls if holds and held == previous else held, calls
            first_cpu = first_cpu or (calls, echo_cpu)
            rows.append([calls, f"{min(rates):.1f}", f"{echo_cpu:.0f}%", f"{caller_cpu:.0f}%",
                         f"{p50:.2f}", f"{p99:.2f}", counts["sent"], counts["received"],
                         counts["errors"], f"{p99 / reference:.2f}x", "yes" if holds else "no"])
            print(" | ".join(map(str, rows[-1])), flush=True)
    finally:
        for process in [*(c.process for c in callers), server]:
            process.kill()
            process.wait()
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    print(f"\nEcho calls ({args.picture} at {FRAME_RATE} frames/s) and the signaling relay meanwhile: "
          f"{args.rooms} rooms, {args.bounces} messages of 6 KB each; CPU in % of one core, the mean per process")
    for row in rows:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths)).rstrip())
    calls, cpu = first_cpu
    print(f"\n{CORES} cores, callers included, held {held} echo calls at full frame rate with signaling "
          f"p99 under {SIGNALING_P99_MS} ms. With {calls} running, each echo peer used {cpu:.0f}% of a core: "
          f"the echo peers alone would fill {CORES} cores at about {CORES * 100 / max(cpu, 1):.0f} calls.")


if __name__ == "__main__":
    main()
