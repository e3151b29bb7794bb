"""A group call as it grows from 2 people to 4: what one person's browser spends and sends.

People join a group room one at a time. At each size, once every member gets frames from
every other, it measures over --seconds:
- the CPU of the first person's browser (a Chromium of its own, fake camera and
  microphone): the user and system time of its whole process tree, from /proc, in % of
  one core;
- the upload of each person: outbound-rtp bytesSent summed over all of their connections
  (getStats; aiortc's for a Python peer), in kbit/s;
and, when that size was reached, the set-up time of the one who came last: from their Join
(a click, or a Python peer's start) to video frames decoded from every other member.

The others are pages too, in a second Chromium (--others browsers, the default), or
peer.py's GroupPeer (--others python): a test pattern and a tone, sent from this process.

    .venv/bin/python bench/group_call.py --seconds 10
"""

import argparse
import asyncio
import logging
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from playwright.sync_api import sync_playwright  # noqa: E402

from app import create_app  # noqa: E402
from call_setup import THINK_TIME_S, open_page, table  # noqa: E402
from chromium import FAKE_MEDIA_ARGS, find_chromium  # noqa: E402
from harness import secret_for, wait_until  # noqa: E402
from peer import GroupPeer, PeerThread  # noqa: E402
from servers import TEST_CONFIG, LiveServer  # noqa: E402

# In the page: resolves, at the moment it is so, when `count` connections are connected and
# each has decoded a video frame. It asks getStats every 20 ms: a cost the page measured
# pays only while someone joins, not while its CPU is measured.
FRAMES_FROM_EVERYONE = """async (count) => {
  const now = () => performance.timeOrigin + performance.now();
  for (;;) {
    const open = window.harness.peerConnections.filter((pc) => pc.connectionState === 'connected');
    let decoding = 0;
    for (const pc of open) {
      const stats = [...(await pc.getStats()).values()];
      decoding += stats.some((s) => s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0);
    }
    if (decoding >= count) return now();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}"""
BYTES_SENT = """async () => {
  let bytes = 0;
  for (const pc of window.harness.peerConnections.filter((pc) => pc.signalingState !== 'closed')) {
    for (const stats of (await pc.getStats()).values()) {
      if (stats.type === 'outbound-rtp') bytes += stats.bytesSent;
    }
  }
  return bytes;
}"""


def now_ms():
    return time.time() * 1000  # the epoch clock, as the pages' performance.timeOrigin


def processes():
    """{pid: (parent pid, CPU seconds so far, command line)} of every process we can read."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # it ended while we looked
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (name) "
        found[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks, command)
    return found


def tree_cpu_seconds(tag):
    """CPU seconds so far of the browser started with `tag` and of all it started since
    (renderers, GPU, network: Chromium's process tree)."""
    table_now = processes()
    tree = {pid for pid, (_, _, command) in table_now.items()
            if tag in command and "--type=" not in command}
    grew = True
    while grew:
        children = {pid for pid, (parent, _, _) in table_now.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    return sum(table_now[pid][1] for pid in tree)


class PagePerson:
    """Someone at a page of the app's group room."""

    def __init__(self, browser, server, room):
        self.context, self.page = open_page(browser, server, f"/group/{room}#{secret_for(room)}")
        self.page.wait_for_timeout(THINK_TIME_S * 1000)  # a person reads the page first

    def join(self):
        """Click Join; return the epoch ms of the click."""
        start = now_ms()
        self.page.get_by_role("button", name="Join").click()
        return start

    def frames_from(self, count):
        """Wait until video decodes from `count` others; return the epoch ms it first did."""
        return self.page.evaluate(FRAMES_FROM_EVERYONE, count)

    def bytes_sent(self):
        return self.page.evaluate(BYTES_SENT)

    def leave(self):
        self.context.close()


class PythonPerson:
    """peer.py's GroupPeer, on a loop of its own."""

    def __init__(self, browser, server, room):
        self.thread = None
        self.room, self.server = room, server

    def join(self):
        start = now_ms()
        self.thread = PeerThread(GroupPeer(self.room, self.server.url, secret=secret_for(self.room)))
        return start

    def frames_from(self, count):
        peer = self.thread.peer
        wait_until(lambda: len(peer.members) >= count
                   and all(peer.received_from(member).video_frames for member in peer.members),
                   f"frames from {count} others (error {self.thread.error})", timeout=60)
        return now_ms()

    def bytes_sent(self):
        async def total():
            sent = 0
            for call in list(self.thread.peer.calls.values()):
                for stats in (await call.pc.getStats()).values():
                    sent += getattr(stats, "bytesSent", 0) if stats.type == "outbound-rtp" else 0
            return sent
        return asyncio.run_coroutine_threadsafe(total(), self.thread.loop).result(10)

    def leave(self):
        self.thread.stop()


def measure(server, playwright, others, most, seconds):
    """One row per group size, from 2 to `most`."""
    tag = f"--bench-measured={uuid.uuid4().hex}"  # finds the measured browser's processes
    measured = playwright.chromium.launch(executable_path=find_chromium(),
                                          args=[*FAKE_MEDIA_ARGS, tag])
    rest = (playwright.chromium.launch(executable_path=find_chromium(), args=FAKE_MEDIA_ARGS)
            if others == "browsers" else None)
    room = f"bench-group-{uuid.uuid4().hex[:8]}"
    people = [PagePerson(measured, server, room)]
    people[0].join()
    rows = []
    try:
        for size in range(2, most + 1):
            newcomer = (PagePerson if others == "browsers" else PythonPerson)(rest, server, room)
            start = newcomer.join()
            people.append(newcomer)
            set_up = newcomer.frames_from(size - 1) - start
            for person in people[:-1]:
                person.frames_from(size - 1)  # everyone has everyone before it is measured
            sent, cpu = [person.bytes_sent() for person in people], tree_cpu_seconds(tag)
            time.sleep(seconds)
            cpu = tree_cpu_seconds(tag) - cpu
            sent = [person.bytes_sent() - before for person, before in zip(people, sent)]
            rows.append((size, set_up, 100 * cpu / seconds, [8 * bytes / seconds / 1000 for bytes in sent]))
    finally:
        for person in people:
            person.leave()
        measured.close()
        if rest:
            rest.close()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--others", choices=("browsers", "python"), default="browsers",
                        help="the people besides the measured browser (default browsers)")
    parser.add_argument("--most", type=int, default=4, help="the largest group (default 4)")
    parser.add_argument("--seconds", type=float, default=10,
                        help="how long CPU and upload are measured at each size (default 10)")
    args = parser.parse_args()
    logging.getLogger("peer").setLevel(logging.WARNING)  # the Python peers' calls, one by one

    server = LiveServer(create_app({**TEST_CONFIG, "GROUP_SIZE": max(args.most, 3)}))
    with sync_playwright() as playwright:
        rows = measure(server, playwright, args.others, args.most, args.seconds)
    server.stop()

    others = "pages in a second Chromium" if args.others == "browsers" else "Python peers (peer.py)"
    print(f"\nA group call growing to {args.most}: person 1 is the measured browser, the others "
          f"{others}; CPU and upload over {args.seconds:g} s at each size")
    header = ["people", "set-up of the last ms", "browser CPU %"] + [
        f"upload {number} kbit/s" for number in range(1, args.most + 1)]
    print(table([header] + [
        [size, f"{set_up:.0f}", f"{cpu:.0f}"] + [f"{kbits:.0f}" for kbits in upload]
        + [""] * (args.most - size) for size, set_up, cpu, upload in rows]))


if __name__ == "__main__":
    main()
