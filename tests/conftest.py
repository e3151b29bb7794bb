"""The fixtures every test file may ask for. What they start is in servers.py (the app,
coturn, redis-server), chromium.py (the browser) and harness.py (a person in it); test
files import those modules, never this one."""

import uuid

import pytest
from werkzeug.serving import make_ssl_devcert

from app import create_app
from chromium import FAKE_MEDIA_ARGS, find_chromium
import harness
from harness import Person
from peer import GroupPeer, PeerThread, PythonPeer
from servers import (TEST_CONFIG, LiveServer, RedisServer, ServerProcess, TurnServer, free_port,
                     installed, shared_rooms_env)


@pytest.fixture
def app():
    return create_app(TEST_CONFIG)


@pytest.fixture
def client(app):
    return app.test_client()


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


@pytest.fixture(scope="session")
def https_server(tmp_path_factory):
    """The app over https with a self-signed certificate, made as `make run-lan` makes its
    own, for the session (the tests on it only meet in rooms of their own)."""
    certificate, key = make_ssl_devcert(str(tmp_path_factory.mktemp("tls") / "cert"), host="*")
    server = ServerProcess(free_port(), {}, args=["--cert", certificate, "--key", key])
    yield server
    server.kill()


@pytest.fixture(scope="session")
def turn_server():
    """A real coturn; skipped, with the reason, where `make test` could not install it."""
    server = TurnServer(installed("turnserver", "coturn"))
    yield server
    server.stop()


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
        env = shared_rooms_env(redis_server, lease_seconds)
        return server_process(env), server_process(env)

    return start


@pytest.fixture(scope="session")
def scaled_out():
    """Two app processes sharing the rooms through one Redis, for the whole session: the
    tests that use them meet in rooms of their own and leave them, as strangers on one
    deployment do. A test that stops Redis or kills a process starts its own (scale_out)."""
    redis = RedisServer(installed("redis-server", "redis-server"))
    processes = [ServerProcess(free_port(), shared_rooms_env(redis)) for _ in range(2)]
    yield tuple(processes)
    for process in processes:
        process.kill()
    redis.stop()


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
def group_peer(live_server):
    """group_peer(room, **options) starts peer.py's GroupPeer in the group room `room`, in a
    thread of its own, as python_peer does; all leave afterwards."""
    threads = []

    def start(room, server=None, **options):
        options.setdefault("secret", harness.secret_for(room))
        threads.append(PeerThread(GroupPeer(room, server or live_server.url, **options)))
        return threads[-1]

    yield start
    for thread in threads:
        thread.stop()
        assert not thread.is_alive(), f"the group peer in {thread.peer.room} did not leave"


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
