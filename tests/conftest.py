import threading
import uuid

import pytest
from werkzeug.serving import make_server

from app import create_app
from chromium import find_chromium
from harness import Person

# Chromium answers getUserMedia itself with a moving test picture and a beep, and says yes
# to the permission prompt: two tabs can call each other with no camera and no person.
FAKE_MEDIA_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


@pytest.fixture
def app():
    return create_app({"TESTING": True})


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
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def live_server():
    server = LiveServer(create_app({"TESTING": True}))
    yield server
    server.stop()


@pytest.fixture
def start_server():
    """Start a live server with its own config (for tests that need other limits)."""
    servers = []

    def start(config):
        server = LiveServer(create_app({"TESTING": True, **config}))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


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
    """person("ana") is someone at their own computer: a browser context of their own.
    Any uncaught exception or console error in their page fails the test."""
    people = []

    def make(name):
        people.append(Person(new_context(), name))
        return people[-1]

    yield make
    for someone in people:
        assert not someone.errors, f"{someone.name}'s page logged errors: {someone.errors}"


@pytest.fixture
def room(request):
    """A room name no other test uses."""
    readable = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40]
    return f"{readable}-{uuid.uuid4().hex[:8]}"
