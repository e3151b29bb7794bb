"""Signaling latency while echo peers work: does video re-encoding starve the relay?

The app runs under `flask run` (as `make run` does). Rooms of two clients bounce 6 KB
offers through it (bench/relay.py's clients), first with no echo call, then while CALLS
echo calls run: in each, a Python peer sends its test pattern (480x360, 30 fps) to an echo
peer, which decodes and re-encodes it. Echo peers are processes of their own (echo.py), so
the relay should barely notice; the ratio of the two p99s, measured in the same run, says.

    .venv/bin/python bench/echo_load.py --calls 4 --rooms 10 --bounces 50
"""

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
import urllib.request

from relay import APP_ENV, ROOT, measure, p50_p99, start

sys.path.insert(0, str(ROOT))
from signaling import echo_token  # noqa: E402

SECRET = "bench-room-secret-000000"


def flask_run(port):
    return [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)]


def start_echo_call(port, room):
    """A Python peer waiting in `room`, and the echo peer the app sends it; returns the
    caller's process once its call is connected (it says so on its log)."""
    # The callers stand for people on other computers: on this one, they take what CPU is left.
    caller = subprocess.Popen(["nice", "-n", "19", sys.executable, "peer.py",
                               f"http://127.0.0.1:{port}/room/{room}#{SECRET}"],
                              cwd=ROOT, stderr=subprocess.PIPE, text=True)
    for line in caller.stderr:
        if "waiting for someone" in line:
            break
    token = echo_token(APP_ENV["FLASK_SECRET_KEY"], room, SECRET)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/room/{room}/echo", method="POST",
                                     data=json.dumps({"token": token}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 202, response.status
    for line in caller.stderr:
        if "connection connected" in line:
            break
    threading.Thread(target=caller.stderr.read, daemon=True).start()  # never let its log block it
    return caller


def summary(name, latencies, counts, reference):
    p50, p99 = p50_p99(latencies)
    return [name, f"{p50:.2f}", f"{p99:.2f}", counts["sent"], counts["received"], counts["errors"],
            f"{p99 / reference:.2f}x" if reference else "1.00x"], p99


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4, help="echo calls at once (default 4)")
    parser.add_argument("--rooms", type=int, default=10, help="signaling rooms (default 10)")
    parser.add_argument("--bounces", type=int, default=50, help="messages per room (default 50)")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds the echo calls run before measuring (default 5)")
    args = parser.parse_args()

    server, port = start(flask_run, {"FLASK_ECHO_PEERS": str(args.calls),
                                     "FLASK_ECHO_PEERS_PER_ADDRESS": str(args.calls)})
    callers = []
    rows = [["echo calls", "p50 ms", "p99 ms", "sent", "received", "errors", "p99 vs none"]]
    try:
        latencies, counts, _ = asyncio.run(measure([port], args.rooms, args.bounces))
        row, reference = summary("none", latencies, counts, None)
        rows.append(row)
        callers = [start_echo_call(port, f"echo-load-{n}") for n in range(args.calls)]
        time.sleep(args.settle)  # the scenario itself: the echo calls are under way
        latencies, counts, _ = asyncio.run(measure([port], args.rooms, args.bounces))
        rows.append(summary(f"{args.calls} running", latencies, counts, reference)[0])
    finally:
        for process in [*callers, server]:
            process.kill()
            process.wait()
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    print(f"\nSignaling relay while echo calls run: {args.rooms} rooms, {args.bounces} messages of 6 KB each")
    for row in rows:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths)))


if __name__ == "__main__":
    main()
