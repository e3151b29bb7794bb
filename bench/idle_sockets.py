"""Idle sockets: how much memory one signaling process spends per WebSocket that waits.

N sockets join N/2 rooms (two people each, as calls that are up: after their offer and answer
nothing more is said until they leave) and stay open. The server's resident memory (RSS of
its processes, from /proc) is read before the first socket and once all have their welcome;
the difference over N is the cost of one idle socket. Then, with all of them still open,
--active-rooms rooms relay as bench/relay.py's do (6 KB offers back and forth): the relay's
latency beside the idle crowd. The same clients run against the app under gunicorn's gevent
worker (the rooms in memory, and in Redis) and against the bare asyncio relay of
bench/bare_relay.py, in the same run.

    .venv/bin/python bench/idle_sockets.py --sockets 10000 --active-rooms 100
"""

import argparse
import asyncio
import resource
import shutil
import sys
import time
from pathlib import Path

import websockets

import relay
from relay import APP_ENV, JOIN, SERVERS, expect, p50_p99, start


def gunicorn_gevent(connections):
    return lambda port: [sys.executable, "-m", "gunicorn", "-k", "gevent", "--worker-connections",
                         str(connections), "-w", "1", "-b", f"127.0.0.1:{port}", "--log-level",
                         "warning", "app:create_app()"]


# What to measure: (name, the server's command for a port, whether its rooms are in Redis).
MEASURED = [
    ("bare asyncio relay (reference)", lambda sockets: SERVERS["bare asyncio relay (reference)"][0], False),
    ("gunicorn gevent, rooms in memory", gunicorn_gevent, False),
    ("gunicorn gevent, rooms in Redis", gunicorn_gevent, True),
]
OPENING_AT_ONCE = 200  # sockets being opened at the same time


def allow_descriptors(count):
    """Raise this process's limit of open files (its children inherit it): each socket is
    one here, and one in the server."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:  # root may raise the hard limit too
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, count), max(hard, count)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count)), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def resident_kb(pid):
    """Resident memory of a process and all its descendants, in KB (gunicorn: the
    arbiter and its worker)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, StopIteration, ProcessLookupError):
            continue
        todo += [int(child) for child in children]
    return total


async def settled_kb(pid):
    """RSS once it stops moving (a greenlet's stack, a buffer freed a moment later)."""
    last = resident_kb(pid)
    for _ in range(20):
        await asyncio.sleep(0.25)
        now = resident_kb(pid)
        if abs(now - last) < 256:
            return now
        last = now
    return last


async def open_room(port, room, retried):
    """Two people in `room`. A join answered "unavailable" (Redis busy: its pool waits 2 s
    for a connection) is tried again a second later, as the page does; `retried` counts them."""
    while True:
        people = []
        try:
            for _ in range(2):
                socket = await websockets.connect(f"ws://127.0.0.1:{port}/ws/{room}", compression=None,
                                                  open_timeout=60, ping_interval=None)
                people.append(socket)
                await socket.send(JOIN)
                await expect(socket, "welcome")
            await expect(people[0], "peer-joined")
            return people
        except RuntimeError as error:
            if "'unavailable'" not in str(error):
                raise
            await asyncio.gather(*(socket.close() for socket in people))
            retried[0] += 1
            await asyncio.sleep(1)


async def measure(pid, port, sockets, active_rooms, bounces):
    before = await settled_kb(pid)
    gate = asyncio.Semaphore(OPENING_AT_ONCE // 2)
    retried = [0]

    async def one(n):
        async with gate:
            return await open_room(port, f"idle-{n}", retried)

    started = time.perf_counter()
    rooms = await asyncio.gather(*(one(n) for n in range(sockets // 2)))
    opening = time.perf_counter() - started
    after = await settled_kb(pid)
    latencies, counts, _ = await relay.measure([port], active_rooms, bounces) if active_rooms \
        else ([], {}, 0)
    await asyncio.gather(*(socket.close() for room in rooms for socket in room))
    return before, after, opening, latencies, counts, retried[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10000, help="an even number (default 10,000)")
    parser.add_argument("--active-rooms", type=int, default=0,
                        help="rooms that relay while the idle sockets stay open (default none)")
    parser.add_argument("--bounces", type=int, default=20, help="messages per active room")
    args = parser.parse_args()
    sockets = args.sockets - args.sockets % 2
    held = sockets + 2 * args.active_rooms  # every socket open at once, idle and active
    limit = allow_descriptors(held + 1000)  # in this process, and in the server's
    if limit < sockets + 100:
        sys.exit(f"only {limit} open files allowed here; {sockets} sockets need {sockets + 100}")
    # The app's own cap on what one process holds must not be what is measured.
    APP_ENV.update(FLASK_MAX_PEOPLE=str(2 * held), FLASK_MAX_ROOMS=str(held))
    redis_server = shutil.which("redis-server")
    rows, notes, bare = [], [], None
    for name, command_for_sockets, in_redis in MEASURED:
        command_for = command_for_sockets(held + 100)
        if in_redis and not redis_server:
            print(f"skipped {name}: redis-server is not installed")
            continue
        started, env = [], {}
        if in_redis:
            started.append(start(lambda port: [redis_server, "--port", str(port), "--save", "",
                                               "--appendonly", "no"]))
            env = {"FLASK_REDIS_URL": f"redis://127.0.0.1:{started[0][1]}/0"}
        process, port = start(command_for, env)
        started.append((process, port))
        try:
            before, after, opening, latencies, counts, retried = asyncio.run(
                measure(process.pid, port, sockets, args.active_rooms, args.bounces))
        finally:
            for running, _ in started:
                running.kill()
                running.wait()
        per_socket = (after - before) / sockets
        bare = bare if bare is not None else per_socket
        ratio = f"{per_socket / bare:.1f}x" if bare > 0 else "n/a"  # too few sockets to see
        rows.append([name, sockets, f"{before / 1024:.0f}", f"{after / 1024:.0f}",
                     f"{per_socket:.1f}", ratio, f"{opening:.1f}"])
        if args.active_rooms:
            p50, p99 = p50_p99(latencies)
            rows[-1] += [f"{p50:.1f}", f"{p99:.1f}", f"{counts['received']}/{counts['sent']}",
                         counts["errors"]]
        print(" | ".join(map(str, rows[-1])), flush=True)
        if retried:
            notes.append(f"{name}: {retried} rooms answered unavailable while opening, and tried again")
    header = ["server", "sockets", "RSS before MB", "RSS after MB", "KB per socket", "vs bare",
              "opening s"]
    if args.active_rooms:
        header += ["active p50 ms", "p99 ms", "received/sent", "errors"]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(f"\nIdle sockets: {sockets} in {sockets // 2} rooms of two, one process each" + (
        f"; then {args.active_rooms} rooms relay {args.bounces} messages each" if args.active_rooms else ""))
    for row in [header, *rows]:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths)))
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
