"""Signaling relay: latency and throughput of the app's WebSocket relay at N rooms.

N rooms of two clients bounce SDP-sized (6 KB) offers through the server; each message
carries its send time, so the receiver knows the relay latency. The same clients run
against the app under `flask run`, under gunicorn (threads, and gevent), with the rooms in
Redis (one process, and two with each room's people on different ones), and against a bare
asyncio relay (bench/bare_relay.py), all on this machine in the same run. Nothing may be lost:
sent and received are counted.

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/relay.py --rooms 10 100 250 1000 --plot bench/relay.png
"""

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import websockets

from plot import save_boxplot

ROOT = Path(__file__).resolve().parent.parent
PADDING = "a=x-padding\r\n" * 470  # about 6 KB, the size of a real offer
RECEIVE_TIMEOUT = 60
# Limits high enough that the benchmark measures the relay, not the flood control.
APP_ENV = {"FLASK_MESSAGE_RATE": "1000000", "FLASK_MESSAGE_BURST": "1000000",
           "FLASK_MAX_ROOMS": "100000", "FLASK_MAX_PEOPLE": "100000",
           # Every socket comes from 127.0.0.1: no limits per address here.
           "FLASK_JOINS_PER_MINUTE": "100000000", "FLASK_SOCKETS_PER_ADDRESS": "100000000",
           "FLASK_SECRET_KEY": "the same on every process, 32 or more"}
# Both people of a room hold its link, as they would.
JOIN = json.dumps({"type": "join", "secret": "bench-room-secret-000000"})


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_gevent(port):
    return [sys.executable, "-m", "gunicorn", "-k", "gevent", "--worker-connections", "2500",
            "-w", "1", "-b", f"127.0.0.1:{port}", "--log-level", "warning", "app:create_app()"]


# Each: (command for a port, how many processes, whether they share the rooms through Redis).
# With two processes, each room's first person is on one and the second on the other.
SERVERS = {
    "flask run (Werkzeug, a thread per socket)":
        (lambda port: [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)],
         1, False),
    "gunicorn gthread (1 worker, 2,500 threads)":
        (lambda port: [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "2500",
                       "--worker-connections", "2500", "-w", "1", "-b", f"127.0.0.1:{port}",
                       "--log-level", "warning", "app:create_app()"], 1, False),
    "gunicorn gevent, Redis, rooms across 2 processes": (gunicorn_gevent, 2, True),
    "gunicorn gevent, Redis, 1 process": (gunicorn_gevent, 1, True),
    "gunicorn gevent (1 worker, greenlets)": (gunicorn_gevent, 1, False),
    "bare asyncio relay (reference)":
        (lambda port: [sys.executable, str(Path(__file__).with_name("bare_relay.py")), str(port)],
         1, False),
}


def start(command_for, env=None):
    port = free_port()
    process = subprocess.Popen(command_for(port), cwd=ROOT,
                               env={**os.environ, **APP_ENV, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"server did not start: {command_for(port)}")


def p50_p99(latencies):
    """The median and the 99th percentile of relay latencies (NaN if none arrived)."""
    if not latencies:
        return float("nan"), float("nan")
    return statistics.median(latencies), sorted(latencies)[int(0.99 * (len(latencies) - 1))]


async def receive(socket):
    """The next message; a server that stops answering is an error, not a hung benchmark."""
    return json.loads(await asyncio.wait_for(socket.recv(), RECEIVE_TIMEOUT))


async def expect(socket, message_type):
    message = await receive(socket)
    if message["type"] != message_type:
        raise RuntimeError(f"expected {message_type}, got {message}")


async def open_pair(ports, room):
    first = await websockets.connect(f"ws://127.0.0.1:{ports[0]}/ws/{room}", max_size=None,
                                     compression=None, open_timeout=60)
    await first.send(JOIN)
    await expect(first, "welcome")
    second = await websockets.connect(f"ws://127.0.0.1:{ports[-1]}/ws/{room}", max_size=None,
                                      compression=None, open_timeout=60)
    await second.send(JOIN)
    await expect(second, "welcome")
    await expect(first, "peer-joined")
    return first, second


async def bounce(pair, bounces, latencies, counts):
    sender, receiver = pair
    for _ in range(bounces):
        await sender.send(json.dumps({"type": "offer", "sdp": f"{time.perf_counter()}\n{PADDING}"}))
        counts["sent"] += 1
        message = await receive(receiver)
        latencies.append((time.perf_counter() - float(message["sdp"].split("\n", 1)[0])) * 1000)
        counts["received"] += 1
        sender, receiver = receiver, sender


async def measure(ports, rooms, bounces):
    """Open every room first, then time only the bouncing, all rooms at once."""
    opened = await asyncio.gather(*(open_pair(ports, f"bench-{rooms}-{n}") for n in range(rooms)),
                                  return_exceptions=True)
    pairs = [pair for pair in opened if not isinstance(pair, Exception)]
    latencies, counts = [], {"sent": 0, "received": 0}
    started = time.perf_counter()
    results = await asyncio.gather(*(bounce(pair, bounces, latencies, counts) for pair in pairs),
                                   return_exceptions=True)
    elapsed = time.perf_counter() - started
    counts["errors"] = sum(isinstance(result, Exception) for result in [*opened, *results])
    await asyncio.gather(*(socket.close() for pair in pairs for socket in pair))
    return latencies, counts, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, nargs="+", default=[10, 100, 250, 1000])
    parser.add_argument("--bounces", type=int, default=20, help="messages per room (default 20)")
    parser.add_argument("--plot", help="write a PNG of the latency distributions here")
    parser.add_argument("--only", default="", help="only the servers whose name has this text "
                        "(the reference always runs), e.g. --only Redis")
    args = parser.parse_args()

    rows = [["server", "rooms", "sockets", "p50 ms", "p99 ms", "messages/s", "sent", "received",
             "errors", "p50 vs bare"]]
    bare_p50 = {}
    distributions = {}
    redis_server = shutil.which("redis-server")
    for name, (command_for, processes, shares_rooms) in reversed(SERVERS.items()):  # reference first
        if args.only not in name and "reference" not in name:
            continue
        if shares_rooms and not redis_server:
            print(f"skipped {name}: redis-server is not installed")
            continue
        started, env = [], {}
        if shares_rooms:
            started.append(start(lambda port: [redis_server, "--port", str(port), "--save", "",
                                               "--appendonly", "no"]))
            env = {"FLASK_REDIS_URL": f"redis://127.0.0.1:{started[0][1]}/0"}
        app = [start(command_for, env) for _ in range(processes)]
        started += app
        try:
            for rooms in args.rooms:
                latencies, counts, elapsed = asyncio.run(
                    measure([port for _, port in app], rooms, args.bounces))
                p50, p99 = p50_p99(latencies)
                bare_p50.setdefault(rooms, p50)
                distributions[(name, rooms)] = latencies
                rows.append([name, rooms, 2 * rooms, f"{p50:.2f}", f"{p99:.2f}",
                             f"{counts['received'] / elapsed:.0f}", counts["sent"],
                             counts["received"], counts["errors"], f"{p50 / bare_p50[rooms]:.2f}x"])
                print(" | ".join(map(str, rows[-1])), flush=True)
        finally:
            for process, _ in started:
                process.kill()
                process.wait()
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    print("\nSignaling relay, 6 KB messages, " + f"{args.bounces} per room")
    for row in rows:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths)))
    if args.plot:
        labels = {f"{name.split(' (')[0]}, {rooms} rooms": latencies
                  for (name, rooms), latencies in distributions.items()}
        save_boxplot(labels, "Signaling relay latency", "relay latency, ms (log scale)",
                     args.plot, log_scale=True)
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
