"""The deployment command of the README and `make serve`: gunicorn's gevent worker. A call
and an echo peer go through it as through `flask run`."""

import sys

import pytest


def gunicorn_gevent(port):
    """What `make serve` runs (Makefile), on a test port."""
    return [sys.executable, "-m", "gunicorn", "--worker-class", "gevent",
            "--worker-connections", "100", "--workers", "1", "--bind", f"127.0.0.1:{port}",
            "app:create_app()"]


@pytest.fixture
def gunicorn_server(server_process):
    return server_process(command=gunicorn_gevent)


def test_a_call_through_gunicorns_gevent_worker(gunicorn_server, meet):
    for someone in meet(gunicorn_server.url):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
        someone.wait_for_sound()


def test_the_echo_peer_under_gunicorns_gevent_worker(gunicorn_server, person, room):
    ana = person("ana", gunicorn_server.url).join(room)
    ana.expect_state("waiting")
    ana.click("Call the echo peer")
    ana.expect_state("connected")
    ana.wait_for_remote_frames(30)
    ana.wait_for_sound()
