import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from chromium import find_chromium
import harness
from harness import Person
from peer import PeerThread, PythonPeer

ROOT = Path(__file__).resolve().parent.parent

# Chromium answers getUserMedia itself with a moving test picture and a beep, and says yes
# to the permission prompt: two tabs can call each other with no camera and no person.
FAKE_MEDIA_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


# The limits per client address would stop a test suite, whose every socket comes from
# 127.0.0.1; the tests of those limits set their own.
TEST_CONFIG = {"TESTING": True, "JOINS_PER_MINUTE": 100_000, "SOCKETS_PER_ADDRESS": 100_000}
TEST_ENV = {"FLASK_JOINS_PER_MINUTE": "100000", "FLASK_SOCKETS_PER_ADDRESS": "100000"}


@pytest.fixture
def app():
    return create_app(TEST_CONFIG)


@pytest.fixture
def client(app):
    return app.test_client()


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


@pytest.fixture(scope="session")
def live_server():
    server = LiveServer(create_app(TEST_CONFIG))
    yield server
    server.stop()


@pytest.fixture
def start_server():
    """Start a live server with its own config (for tests that need other limits)."""
    servers = []

    def start(config):
        server = LiveServer(create_app({**TEST_CONFIG, **config}))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


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


@pytest.fixture
def server_process():
    """server_process(env={}, args=(), command=None) starts the app on a free port (see
    ServerProcess); all are killed afterwards."""
    processes = []

    def start(env=None, args=(), command=None):
        processes.append(ServerProcess(free_port(), env or {}, args, command))
        return processes[-1]

    yield start
    for process in processes:
        process.kill()


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


@pytest.fixture(scope="session")
def turn_server():
    """A real coturn; skipped, with the reason, where `make test` could not install it."""
    server = TurnServer(installed("turnserver", "coturn"))
    yield server
    server.stop()


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


@pytest.fixture
def redis_server():
    """A real Redis; skipped, with the reason, where `make test` could not install it."""
    server = RedisServer(installed("redis-server", "redis-server"))
    yield server
    server.stop()


@pytest.fixture
def scale_out(redis_server, server_process):
    """scale_out(lease_seconds=3) starts two app processes sharing the rooms through
    `redis_server`, as two hosts (or two gunicorn workers) would, and returns both."""

    def start(lease_seconds=3):
        env = {"FLASK_REDIS_URL": redis_server.url, "FLASK_REDIS_LEASE_SECONDS": str(lease_seconds),
               "FLASK_SECRET_KEY": "the same on every process, 32 or more"}
        return server_process(env), server_process(env)

    return start


@pytest.fixture
def scaled_out(scale_out):
    return scale_out()


@pytest.fixture(scope="session")
def base_url(live_server):
    """pytest-playwright gives every context this base URL: page.goto('/room/x') works."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Add the fake media flags and the installed Chromium to the plugin's own options
    (so --headed, --slowmo and --browser-channel still work)."""
    args = {**browser_type_launch_args}
    args["args"] = [*args.get("args", []), *FAKE_MEDIA_ARGS]
    executable = find_chromium()
    if executable and "channel" not in args:
        args["executable_path"] = executable
    return args


@pytest.fixture
def person(new_context):
    """person("ana") is someone at their own computer: a browser context of their own
    (with Playwright's context options, if given), using the session's live server unless
    server_url names another.
    Any uncaught exception or console error in their page fails the test.
    Playwright's wait_for_function runs its predicate through eval in the page, which the
    app's Content-Security-Policy forbids (no 'unsafe-eval'): people set the policy aside
    unless bypass_csp=False (test_hostile_clients.py makes a call with it in force)."""
    people = []

    def make(name, server_url="", **context_options):
        context_options.setdefault("bypass_csp", True)
        people.append(Person(new_context(**context_options), name, server_url))
        return people[-1]

    yield make
    for someone in people:
        assert not someone.errors, f"{someone.name}'s page logged errors: {someone.errors}"


@pytest.fixture
def python_peer(live_server):
    """python_peer(room, **options) starts peer.py's PythonPeer in a thread of its own,
    on the session's live server unless server= names another; all leave afterwards."""
    threads = []

    def start(room, server=None, **options):
        options.setdefault("secret", harness.secret_for(room))
        threads.append(PeerThread(PythonPeer(room, server or live_server.url, **options)))
        return threads[-1]

    yield start
    for thread in threads:
        thread.stop()
        assert not thread.is_alive(), f"the Python peer in {thread.peer.room} did not leave"


@pytest.fixture
def person_in_browser(launch_browser, live_server):
    """person_in_browser(name, *chromium_args): someone whose browser is set up otherwise."""
    browsers = []

    people = []

    def make(name, *args):
        browser = launch_browser(args=list(args))
        browsers.append(browser)
        people.append(Person(browser.new_context(base_url=live_server.url, bypass_csp=True), name))
        return people[-1]

    yield make
    for browser in browsers:
        browser.close()
    for someone in people:
        assert not someone.errors, f"{someone.name}'s page logged errors: {someone.errors}"


@pytest.fixture
def room(request):
    """A room name no other test uses."""
    readable = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40]
    return f"{readable}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def meet(person, room):
    """meet(server_url="") has Ana wait in `room` and Ben join her there, and returns both:
    what happens next is the test's."""

    def meet_on(server_url=""):
        return harness.meet(person("ana", server_url), person("ben", server_url), room)

    return meet_on


@pytest.fixture
def call(person, room):
    """Ana and Ben in a call in `room`: both connected, frames arriving on both sides."""
    return harness.start_call(person("ana"), person("ben"), room, frames=10)


# Firefox people (firefox_person) and their fixtures: tests/firefox.py.
pytest_plugins = ["firefox"]
