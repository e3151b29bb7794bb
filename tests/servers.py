"""The servers the tests and the benchmarks start: the app in a thread (LiveServer) or in a
process of its own (ServerProcess), a real coturn and a real redis-server, each on a free
loopback port; and how to find the programs they need. Fixtures are in conftest.py."""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent

# The limits per client address would stop a test suite, whose every socket comes from
# 127.0.0.1; the tests of those limits set their own.
TEST_CONFIG = {"TESTING": True, "JOINS_PER_MINUTE": 100_000, "SOCKETS_PER_ADDRESS": 100_000}
TEST_ENV = {"FLASK_JOINS_PER_MINUTE": "100000", "FLASK_SOCKETS_PER_ADDRESS": "100000"}


def find_program(variable, names):
    """The path in $`variable` (which must exist), else the first of `names` on the PATH,
    else None."""
    configured = os.environ.get(variable)
    if configured:
        if not Path(configured).is_file():
            raise FileNotFoundError(f"{variable}={configured} does not exist")
        return configured
    return next(filter(None, map(shutil.which, names)), None)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def installed(command, package):
    """Where `command` is; where it is missing, skip the test and say how to install it."""
    path = shutil.which(command)
    if not path:
        pytest.skip(f"{command} is not installed: `make test` installs it as root with "
                    f"apt-get; elsewhere run `apt-get install {package}`")
    return path


def wait_for_port(port, process, what):
    """Until `process` accepts TCP connections on `port` (it must not exit meanwhile)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            assert process.poll() is None, f"{what} exited at start"
            assert time.monotonic() < deadline, f"{what} did not start in 20 s"
            time.sleep(0.05)


def shared_rooms_env(redis, lease_seconds=3):
    """The settings of app processes that share their rooms through `redis` (a RedisServer)."""
    return {"FLASK_REDIS_URL": redis.url, "FLASK_REDIS_LEASE_SECONDS": str(lease_seconds),
            "FLASK_SECRET_KEY": "the same on every process, 32 or more"}


class ServerProcess:
    """The app in a process of its own, which a test can kill: `flask run` with `args`
    (e.g. ["--cert", "adhoc"] for https), or `command(port)` instead."""

    def __init__(self, port, env, args=(), command=None):
        self.port = port
        self.env = {**os.environ, **TEST_ENV, **env}
        self.args = list(args)
        self.command = command or (lambda port: [
            sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port), *self.args])
        scheme = "https" if "--cert" in self.args else "http"
        self.url = f"{scheme}://127.0.0.1:{port}"
        self.start()

    def ws_url(self, room):
        return f"{self.url.replace('http', 'ws', 1)}/ws/{room}"

    def start(self):
        self.process = subprocess.Popen(self.command(self.port), cwd=ROOT, env=self.env)
        wait_for_port(self.port, self.process, "the server")

    def kill(self):
        """Die at once, as a crash or a power cut would: no close frames are sent."""
        self.process.kill()
        self.process.wait()


class LiveServer:
    """The app served by Werkzeug's threaded server on a free port, in a thread."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ws_url(self, room):
        return f"ws://127.0.0.1:{self.server.port}/ws/{room}"

    def stop(self):
        self.app.extensions["echo_peers"].stop_all()
        self.server.shutdown()
        self.server.server_close()


class TurnServer:
    """coturn on loopback with a TURN REST API secret (use-auth-secret), as a deployment
    would run it, but allowed to relay to loopback peers."""

    SECRET = "test-turn-secret"

    def __init__(self, executable):
        self.port = free_port()
        self.url = f"turn:127.0.0.1:{self.port}?transport=udp"
        self.process = subprocess.Popen(
            [executable, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
             f"--listening-port={self.port}", "--use-auth-secret",
             f"--static-auth-secret={self.SECRET}", "--realm=video-call.test",
             "--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint",
             "--log-file=stdout", "--simple-log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process, "coturn")

    def config(self, secret=SECRET, **more):
        """The app settings for relay-only calls through this server."""
        return {"TURN_URLS": [self.url], "TURN_SECRET": secret, "ICE_TRANSPORT_POLICY": "relay",
                **more}

    def stop(self):
        self.process.terminate()
        self.process.wait()


class RedisServer:
    """A real redis-server on a free loopback port, keeping nothing on disk: stopping it
    loses every room, as a crashed Redis without persistence does."""

    def __init__(self, executable):
        self.executable = executable
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self):
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        wait_for_port(self.port, self.process, "redis-server")

    def stop(self):
        self.process.kill()
        self.process.wait()
