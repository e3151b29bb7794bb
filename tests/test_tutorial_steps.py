"""The build-along steps of tutorial/steps/: each folder is run the way its page says
(`flask --app tutorial/steps/<step>/server run`) and driven in Chromium with fake media.
"""

import sys
from pathlib import Path

import pytest

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


def open_step(person, url, name):
    someone = person(name)
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
