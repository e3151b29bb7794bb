"""The build-along steps of tutorial/steps/: each folder is run the way its page says
(`flask --app tutorial/steps/<step>/server run`) and driven in Chromium with fake media.
"""

import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from harness import wait_until

STEPS = Path(__file__).resolve().parent.parent / "tutorial" / "steps"


@pytest.fixture
def run_step(server_process):
    """run_step("03-signaling") serves that step folder (or any folder with a server.py)
    with the command its page gives; returns the server's URL."""
    def run(step):
        folder = STEPS / step if isinstance(step, str) else step
        server = server_process(command=lambda port: [
            sys.executable, "-m", "flask", "--app", str(folder / "server"), "run",
            "--port", str(port)])
        return server.url
    return run


@pytest.fixture
def run_broken_step(run_step, tmp_path):
    """Serve a copy of a step with its break-it.patch applied, as its page says."""
    def run(step):
        copy = tmp_path / step
        shutil.copytree(STEPS / step, copy)
        with open(STEPS / step / "break-it.patch") as patch:
            subprocess.run(["patch", "-d", str(copy), "-p1"], stdin=patch, check=True)
        return run_step(copy)
    return run


# Keeps every RTCPeerConnection a page makes, for the tests that look at more than one.
KEEP_PEER_CONNECTIONS = """
  window.peerConnections = [];
  window.RTCPeerConnection = class extends window.RTCPeerConnection {
    constructor(...args) { super(...args); window.peerConnections.push(this); }
  };
"""


def open_step(person, url, name):
    someone = person(name)
    someone.page.add_init_script(KEEP_PEER_CONNECTIONS)
    someone.page.goto(f"{url}/")
    return someone


def test_step_1_shows_the_camera(run_step, person):
    ana = open_step(person, run_step("01-camera"), "ana")
    ana.click("Start")
    ana.expect_state("on")
    ana.wait_for_frames("#local-video", 30)


def test_step_2_connects_two_peer_connections_in_one_page(run_step, person):
    ana = open_step(person, run_step("02-peer-connection"), "ana")
    ana.click("Start")
    ana.expect_state("connected")
    ana.wait_for_remote_frames(30)


def call(first, second):
    """`first` joins and waits; `second` joins; both see and hear each other."""
    first.click("Join")
    first.expect_state("waiting")
    second.click("Join")
    for someone in (first, second):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
        someone.wait_for_sound()


def test_step_3_connects_two_browsers_through_the_server(run_step, person):
    url = run_step("03-signaling")
    call(open_step(person, url, "ana"), open_step(person, url, "ben"))


def test_step_4_hangs_up_and_takes_a_second_caller(run_step, person):
    url = run_step("04-call")
    ana, ben = open_step(person, url, "ana"), open_step(person, url, "ben")
    call(ana, ben)
    ben.click("Hang up")
    ben.expect_state("idle")
    ana.expect_state("waiting")
    cleo = open_step(person, url, "cleo")
    cleo.click("Join")
    for someone in (ana, cleo):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
        someone.wait_for_sound()


def test_break_step_1_stream_is_not_defined_outside_then(run_broken_step, person):
    ana = open_step(person, run_broken_step("01-camera"), "ana")
    ana.click("Start")
    ana.expect_state("error")
    assert ana.status.text_content() == "ReferenceError: stream is not defined"


def test_break_step_2_a_second_onicecandidate_sends_no_candidates(run_broken_step, person):
    ana = open_step(person, run_broken_step("02-peer-connection"), "ana")
    ana.click("Start")
    # Once both have found all their candidates, nothing more can happen: none was sent.
    ana.page.wait_for_function("""() => peerConnections.length === 2
        && peerConnections.every((pc) => pc.iceGatheringState === 'complete')""")
    states = ana.page.evaluate("peerConnections.map((pc) => pc.iceConnectionState)")
    assert states == ["new", "new"]
    ana.expect_state("on")
    assert ana.status.text_content() == "The camera is on."


def test_break_step_3_await_outside_async_stops_the_whole_script(run_broken_step, person):
    ana = open_step(person, run_broken_step("03-signaling"), "ana")
    wait_until(lambda: ana.errors, "the page's error")
    assert ana.forgive_errors("Unexpected reserved word") == 1
    ana.click("Join")
    assert ana.page.evaluate("peerConnections.length") == 0
    ana.expect_state("idle")


def test_break_step_4_without_peer_left_the_picture_freezes(run_broken_step, person):
    url = run_broken_step("04-call")
    ana, ben = open_step(person, url, "ana"), open_step(person, url, "ben")
    call(ana, ben)
    ben.click("Hang up")
    ana.expect_state("failed")
    assert ana.page.evaluate("document.querySelector('#remote-video').srcObject !== null")


def test_flask_run_at_the_root_loads_neither_aiortc_nor_redis(tmp_path):
    """The root app runs without aiortc (the echo peer's) or redis (the Redis registry's)
    loaded: they are imported only where those are used."""
    from conftest import ROOT, free_port, wait_for_port
    port = free_port()
    # flask's own command line, in a process that says at its exit which of them it loaded.
    report = ("import atexit, sys; atexit.register(lambda: print('loaded:', "
              "[name for name in ('aiortc', 'redis') if name in sys.modules])); "
              "from flask.cli import main; main()")
    server = subprocess.Popen(
        [sys.executable, "-c", report, "--app", "app", "run", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, server, "flask run")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as page:
            assert page.status == 200
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=20)
    assert "loaded: []" in output, output
