"""The echo peers behind the page's "Call the echo peer" button: each is peer.py --echo in
a process of its own, so that decoding and encoding someone's video never holds up
signaling (a thread here would share the web process's GIL), and at a lower priority
(nice 10), so that when the CPU is short the kernel serves signaling first. At most
`limit` run at once, `per_address` for one client address, each for at most `seconds`; one
that gets no offer within `offer_seconds` leaves (peer.py --offer-seconds)."""

import os
import subprocess
import sys
import threading
from pathlib import Path

PEER = Path(__file__).with_name("peer.py")
NICENESS = 10
# Echo peers re-encode what they are sent: a picture beyond this is scaled down first.
MAX_PICTURE = "1280x720"


class EchoPeers:
    def __init__(self, limit, per_address, seconds, offer_seconds):
        self.limit = limit
        self.offer_seconds = offer_seconds
        self.per_address = per_address
        self.seconds = seconds
        self._lock = threading.Lock()
        self._running = []  # (process, client address)

    def start(self, link, address, insecure=False):
        """Send an echo peer to `link` (a room link with its secret); False if too many run."""
        with self._lock:
            self._running = [(p, a) for p, a in self._running if p.poll() is None]
            mine = sum(1 for _, a in self._running if a == address)
            if len(self._running) >= self.limit or mine >= self.per_address:
                return False
            command = [sys.executable, str(PEER), "--echo", "--once", "--lifetime", str(self.seconds),
                       "--offer-seconds", str(self.offer_seconds), "--max-picture", MAX_PICTURE]
            if insecure:  # our own server, with its self-signed certificate (make run-lan)
                command.append("--insecure")
            # The link holds the room's secret: in the environment, which only this user
            # can read, not on the command line, which anyone can (ps). Nothing else of the
            # app's environment (its secret key, TURN secret, Redis address) goes with it:
            # the peer decodes what strangers send.
            environment = {name: os.environ[name] for name in ("PATH", "LANG", "HOME") if name in os.environ}
            process = subprocess.Popen(command, env={**environment, "PEER_LINK": link},
                                       stdin=subprocess.DEVNULL)
            os.setpriority(os.PRIO_PROCESS, process.pid, NICENESS)
            self._running.append((process, address))
            return True

    def running(self):
        with self._lock:
            return [p for p, _ in self._running if p.poll() is None]

    def stop_all(self):
        for process in self.running():
            process.terminate()
        for process in self.running():
            process.wait(10)
