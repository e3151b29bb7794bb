"""A small internet in network namespaces, for calls across real NATs: copy it to test
your own WebRTC app (root, iproute2, iptables, tc).

    internet  198.51.100.0/24, a bridge: coturn on .10, the app on .11 (port 443, as a
              site's https would be), the routers' WAN ports, the rest of the internet on .1
    home A    203.0.113.0/28 behind router A (WAN 198.51.100.21)
    home B    203.0.113.16/28 behind router B (WAN 198.51.100.22)

Each home holds one or more computers (a namespace each) on a LAN bridge in its router.
A router translates what leaves it (NAT) and, as home routers do, drops whatever arrives
unasked: without that, an early ICE check from the other home leaves a conntrack entry
that makes the router pick another port for the real mapping, and hole punching fails.

Only documentation addresses, and no link to the root namespace: nothing the lab sends can
leave it. Namespaces are named lab-<pid>-<n>-<role>; a lab whose process died is removed
by the next one.
"""

import ctypes
import importlib.util
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTERNET = "198.51.100"
SERVER_ADDRESS = f"{INTERNET}.10"
APP_ADDRESS = f"{INTERNET}.11"
INTERNET_GATEWAY = f"{INTERNET}.1"
ROUTER_WAN = {"a": f"{INTERNET}.21", "b": f"{INTERNET}.22"}
HOME_NETWORK = {"a": "203.0.113.0", "b": "203.0.113.16"}  # each a /28

# How a router translates and filters, as iptables rules in its namespace.
NATS = {
    # Endpoint-independent mapping: Linux keeps a flow's source port when it can, so one
    # local port maps to one public port whatever the destination.
    "masquerade": ["-t nat -A POSTROUTING -o wan -j MASQUERADE"],
    # Endpoint-dependent ("symmetric"): a random public port for each new destination,
    # as many mobile and office networks do.
    "symmetric": ["-t nat -A POSTROUTING -o wan -j MASQUERADE --random-fully"],
    # A firewall that lets only TCP to port 443 out (and the replies in).
    "tcp443": ["-t nat -A POSTROUTING -o wan -j MASQUERADE",
               "-A FORWARD -i lan -o wan -p tcp --dport 443 -j ACCEPT",
               "-A FORWARD -i lan -o wan -m conntrack --ctstate NEW -j DROP",
               "-A FORWARD -i lan -o wan -p udp -j DROP"],
}
# Every router, whatever its NAT: nothing from the internet starts a flow in.
UNSOLICITED = ["-A INPUT -i wan -m conntrack --ctstate NEW,INVALID -j DROP",
               "-A FORWARD -i wan -m conntrack --ctstate NEW,INVALID -j DROP"]

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def available():
    """None if a lab can be built here, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for command in ("ip", "iptables", "tc"):
        if not shutil.which(command):
            return f"`{command}` is not installed"
    probe = f"lab-{os.getpid()}-probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode:
        return f"`ip netns add` fails here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "delete", probe], check=True)
    return None


def run(*command, namespace=None, check=True):
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    done = subprocess.run([*prefix, *command], capture_output=True, text=True)
    if check and done.returncode:
        raise RuntimeError(f"{' '.join(command)} in {namespace}: {done.stderr.strip()}")
    return done.stdout


def remove_stale_labs():
    """Namespaces of labs whose process is gone (a test run that was killed), and what
    still runs in them (its coturn, its app)."""
    for name in run("ip", "netns", "list").split():
        match = re.fullmatch(r"lab-(\d+)-.*", name)
        if match and not Path(f"/proc/{match[1]}").exists():
            for pid in run("ip", "netns", "pids", name, check=False).split():
                os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def in_namespace(namespace, function):
    """Call `function` on a thread that has entered `namespace`'s network (a socket made
    there stays there); the thread ends with it."""
    def enter_and_call():
        with open(f"/run/netns/{namespace}") as handle:
            if _libc.setns(handle.fileno(), CLONE_NEWNET):
                raise OSError(ctypes.get_errno(), f"setns into {namespace}")
        return function()
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(enter_and_call).result()


def accepts(namespace, address, port):
    def connect():
        try:
            socket.create_connection((address, port), 0.2).close()
            return True
        except OSError:
            return False
    return in_namespace(namespace, connect)


def wait_for(condition, what, process=None, timeout=20):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process is None or process.poll() is None, f"{what}: the process exited"
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.05)


class Lab:
    """The internet segment, with coturn on it; homes and the app are added by the test."""

    _numbers = itertools.count()

    def __init__(self, directory, routed=True):
        """routed=False leaves out the rest of the internet (see add_rest_of_the_internet)."""
        remove_stale_labs()
        self.directory = Path(directory)
        self.prefix = f"lab-{os.getpid()}-{next(self._numbers)}"
        self.namespaces = []
        self.processes = []
        self.internet = self.namespace("net")
        run("ip", "link", "add", "br0", "type", "bridge", namespace=self.internet)
        for address in (SERVER_ADDRESS, APP_ADDRESS):
            run("ip", "addr", "add", f"{address}/24", "dev", "br0", namespace=self.internet)
        run("ip", "link", "set", "br0", "up", namespace=self.internet)
        self.routed = routed
        if routed:
            self.add_rest_of_the_internet()
            run("ip", "route", "add", "default", "via", INTERNET_GATEWAY, namespace=self.internet)
        self.homes = {}

    def namespace(self, role):
        name = f"{self.prefix}-{role}"
        run("ip", "netns", "add", name)
        self.namespaces.append(name)
        run("ip", "link", "set", "lo", "up", namespace=name)
        # IPv4 only: the lab's addresses are the only ones a browser may offer.
        run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", namespace=name)
        run("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1", namespace=name)
        return name

    def add_rest_of_the_internet(self):
        """A namespace at 198.51.100.1 that every other one routes to by default, and that
        forwards nothing: as on the internet, a packet to an address nobody routes (the
        other home's LAN) is sent and lost, and its sender learns nothing. Without it the
        sender's kernel refuses the send (ENETUNREACH), and coturn closes an allocation
        whose relay fails a send: every call whose relay checks a LAN candidate of the
        other home lost its relay within seconds."""
        sink = self.namespace("rest")
        run("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "rest",
            "netns", self.internet, namespace=sink)
        run("ip", "link", "set", "rest", "master", "br0", "up", namespace=self.internet)
        run("ip", "addr", "add", f"{INTERNET_GATEWAY}/24", "dev", "eth0", namespace=sink)
        run("ip", "link", "set", "eth0", "up", namespace=sink)
        run("iptables", "-A", "INPUT", "-j", "DROP", namespace=sink)

    def add_home(self, home, nat="masquerade", computers=1):
        """Router `home` ("a" or "b") with NAT kind `nat` (see NATS), and `computers`
        namespaces on its LAN; returns their names."""
        router = self.namespace(f"r{home}")
        # The router's WAN port, plugged into the internet's bridge.
        run("ip", "link", "add", "wan", "type", "veth", "peer", "name", f"{home}-wan",
            "netns", self.internet, namespace=router)
        run("ip", "link", "set", f"{home}-wan", "master", "br0", "up", namespace=self.internet)
        run("ip", "addr", "add", f"{ROUTER_WAN[home]}/24", "dev", "wan", namespace=router)
        run("ip", "link", "set", "wan", "up", namespace=router)
        network = HOME_NETWORK[home]
        base = int(network.rsplit(".", 1)[1])
        lan = lambda n: f"203.0.113.{base + n}"  # noqa: E731
        run("ip", "link", "add", "lan", "type", "bridge", namespace=router)
        run("ip", "addr", "add", f"{lan(1)}/28", "dev", "lan", namespace=router)
        run("ip", "link", "set", "lan", "up", namespace=router)
        run("sysctl", "-qw", "net.ipv4.ip_forward=1", namespace=router)
        if self.routed:
            run("ip", "route", "add", "default", "via", INTERNET_GATEWAY, namespace=router)
        for rule in [*NATS[nat], *UNSOLICITED]:
            run("iptables", *rule.split(), namespace=router)
        computers_made = []
        for n in range(computers):
            computer = self.namespace(f"{home}{n + 1}")
            run("ip", "link", "add", "eth0", "type", "veth", "peer", "name", f"port{n + 1}",
                "netns", router, namespace=computer)
            run("ip", "link", "set", f"port{n + 1}", "master", "lan", "up", namespace=router)
            run("ip", "addr", "add", f"{lan(n + 2)}/28", "dev", "eth0", namespace=computer)
            run("ip", "link", "set", "eth0", "up", namespace=computer)
            run("ip", "route", "add", "default", "via", lan(1), namespace=computer)
            computers_made.append(computer)
        self.homes[home] = (router, computers_made)
        return computers_made

    def impair(self, home, delay_ms, loss_percent, rate):
        """The home's uplink (what its router sends to the internet): a delay, a loss rate
        and a bandwidth, with tc netem. Where the kernel has no netem (some VM kernels),
        the loss is an iptables rule, the bandwidth a tbf qdisc and the delay
        tests/delay_line.py on a netfilter queue, if NetfilterQueue is installed; returns
        whether the delay is there."""
        router, _ = self.homes[home]
        netem = subprocess.run(
            ["ip", "netns", "exec", router, "tc", "qdisc", "add", "dev", "wan", "root", "netem",
             "delay", f"{delay_ms}ms", "loss", f"{loss_percent}%", "rate", rate, "limit", "1000"],
            capture_output=True, text=True)
        if netem.returncode == 0:
            return True
        run("iptables", "-A", "FORWARD", "-o", "wan", "-m", "statistic", "--mode", "random",
            "--probability", str(loss_percent / 100), "-j", "DROP", namespace=router)
        run("tc", "qdisc", "add", "dev", "wan", "root", "tbf", "rate", rate, "burst", "32kbit",
            "latency", "400ms", namespace=router)
        if importlib.util.find_spec("netfilterqueue") is None:
            return False
        line = self.start(router, [sys.executable, str(ROOT / "tests" / "delay_line.py"),
                                   "0", str(delay_ms)], log_name=f"delay-{home}.log")
        wait_for(lambda: "holding" in line.log.read_text(), "the delay line", line)
        run("iptables", "-A", "FORWARD", "-o", "wan", "-j", "NFQUEUE", "--queue-num", "0",
            namespace=router)
        return True

    def start(self, namespace, command, env=None, log_name=None, **options):
        """A process inside `namespace`, stopped when the lab closes; output to a log file."""
        log = self.directory / (log_name or f"{Path(command[0]).name}-{len(self.processes)}.log")
        with open(log, "wb") as output:
            process = subprocess.Popen(
                ["ip", "netns", "exec", namespace, *command], cwd=ROOT, stdout=output,
                stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                start_new_session=True, **options)
        process.log = log
        self.processes.append(process)
        return process

    def chromium_wrapper(self, namespace, chromium):
        """A script that starts `chromium` inside `namespace`: Playwright's executable_path."""
        wrapper = self.directory / f"chromium-{namespace}"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {namespace} {chromium} "$@"\n')
        wrapper.chmod(0o755)
        return str(wrapper)

    def stop(self, process):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def close(self):
        for process in reversed(self.processes):
            self.stop(process)
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)


class Coturn:
    """coturn on the internet segment with deploy/turnserver.conf, the production config:
    STUN and TURN on 3478 (UDP and TCP), TURN over TLS on 443 with a self-signed
    certificate. The config's own relay ranges apply (the lab's addresses are allowed)."""

    SECRET = "lab-turn-secret"

    def __init__(self, lab):
        from werkzeug.serving import make_ssl_devcert
        certificate, key = make_ssl_devcert(str(lab.directory / "turn"), host=SERVER_ADDRESS)
        self.certificate = certificate
        self.process = lab.start(lab.internet, [
            shutil.which("turnserver"), "-c", str(ROOT / "deploy" / "turnserver.conf"),
            f"--listening-ip={SERVER_ADDRESS}", f"--relay-ip={SERVER_ADDRESS}",
            f"--cert={certificate}", f"--pkey={key}", "--realm=lab.test",
            f"--static-auth-secret={self.SECRET}",
            f"--pidfile={lab.directory / 'turnserver.pid'}"], log_name="coturn.log")
        for port in (3478, 443):
            wait_for(lambda: accepts(lab.internet, SERVER_ADDRESS, port),
                     f"coturn on {SERVER_ADDRESS}:{port}", self.process)

    def log_text(self):
        return self.process.log.read_text(errors="replace")

    def trusted_by_chromium(self):
        """The flag that makes Chromium trust this self-signed certificate, and no other:
        its public key's SHA-256, as --ignore-certificate-errors-spki-list takes it."""
        import base64
        import hashlib
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        public_key = x509.load_pem_x509_certificate(Path(self.certificate).read_bytes()).public_key()
        spki = public_key.public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)
        return f"--ignore-certificate-errors-spki-list={base64.b64encode(hashlib.sha256(spki).digest()).decode()}"


STUN = {"urls": f"stun:{SERVER_ADDRESS}:3478"}
TURN_URLS = {
    "udp": f"turn:{SERVER_ADDRESS}:3478?transport=udp",
    "tcp": f"turn:{SERVER_ADDRESS}:3478?transport=tcp",
    "tls": f"turns:{SERVER_ADDRESS}:443?transport=tcp",
}


class App:
    """The app (`flask run`) on the internet segment, with the ICE settings given; on port
    443, which the strictest firewall lets out (plain http: the browsers treat the origin
    as secure, see test_network_lab.py)."""

    PORT = 443

    def __init__(self, lab, stun=True, turn=(), policy="all"):
        self.url = f"http://{APP_ADDRESS}:{self.PORT}"
        env = {
            "FLASK_TRUSTED_HOSTS": f'["{APP_ADDRESS}"]',
            "FLASK_ICE_SERVERS": repr([STUN] if stun else []).replace("'", '"'),
            "FLASK_ICE_TRANSPORT_POLICY": policy,
            "FLASK_JOINS_PER_MINUTE": "100000", "FLASK_SOCKETS_PER_ADDRESS": "100000",
        }
        if turn:
            env["FLASK_TURN_URLS"] = repr([TURN_URLS[kind] for kind in turn]).replace("'", '"')
            env["FLASK_TURN_SECRET"] = Coturn.SECRET
        self.process = lab.start(lab.internet, [
            sys.executable, "-m", "flask", "--app", "app", "run",
            "--host", APP_ADDRESS, "--port", str(self.PORT)], env, log_name="app.log")
        wait_for(lambda: accepts(lab.internet, APP_ADDRESS, self.PORT), "the app", self.process)
