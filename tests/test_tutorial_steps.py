"""The build-along steps of tutorial/steps/: each folder is run the way its page says
(`flask --app tutorial/steps/<step>/server run`) and driven in Chromium with fake media.
"""

import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError

from servers import free_port, wait_for_port
from harness import wait_until

ROOT = Path(__file__).resolve().parent.parent
STEPS = ROOT / "tutorial" / "steps"
sys.path.insert(0, str(ROOT / "scripts"))
from step_diffs import DIFF_BLOCK, real_diff  # noqa: E402


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
    see_and_hear_each_other(first, second)


def see_and_hear_each_other(*people):
    for someone in people:
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
        someone.wait_for_sound()


def test_step_3_connects_two_browsers_through_the_server(run_step, person):
    url = run_step("03-signaling")
    call(open_step(person, url, "ana"), open_step(person, url, "ben"))
    cleo = open_step(person, url, "cleo")
    cleo.click("Join")
    cleo.expect_state("closed")
    assert cleo.status.text_content() == "Two people are already in this room."


def test_step_4_hangs_up_and_takes_a_second_caller(run_step, person):
    url = run_step("04-call")
    ana, ben = open_step(person, url, "ana"), open_step(person, url, "ben")
    call(ana, ben)
    ben.click("Hang up")
    ben.expect_state("idle")
    ana.expect_state("waiting")
    cleo = open_step(person, url, "cleo")
    cleo.click("Join")
    see_and_hear_each_other(ana, cleo)


REMOTE_IDS = "[...document.querySelectorAll('#videos video[data-id]')].map((video) => video.dataset.id)"


def see_others(someone, count):
    """`someone` has a video of `count` other people, all connected, with frames arriving
    in each; returns their ids."""
    try:
        someone.page.wait_for_function(f"n => {REMOTE_IDS}.length === n", arg=count)
        someone.expect_state("connected")
    except (TimeoutError, AssertionError) as timeout:
        raise AssertionError(f"{someone.name}: not {count} calls up: " + someone.page.evaluate(
            f"JSON.stringify([document.querySelector('#status').textContent, {REMOTE_IDS}, peerConnections.map("
            "(pc) => [pc.signalingState, pc.connectionState])])")) from timeout
    ids = set(someone.page.evaluate(REMOTE_IDS))
    for id in ids:
        someone.wait_for_frames(f'#videos video[data-id="{id}"]', 10)
    return ids


def see_each_other(*people):
    """Each of `people` sees all the others; and the ids add up: each person misses a
    different one of them (their own)."""
    seen = [see_others(someone, len(people) - 1) for someone in people]
    everyone = set.union(*seen)
    assert len(everyone) == len(people)
    assert len({frozenset(everyone - ids) for ids in seen}) == len(people), seen


def test_step_6_a_mesh_of_four_refuses_a_fifth_and_goes_on_when_one_leaves(run_step, person):
    """Few browsers and frames: four pages with three calls each load two shared cores."""
    url = run_step("06-group")
    ana, ben, cleo = (open_step(person, url, name) for name in ("ana", "ben", "cleo"))
    ana.click("Join")
    ana.expect_state("waiting")
    ben.click("Join")
    cleo.click("Join")
    see_each_other(ana, ben, cleo)
    dan = open_step(person, url, "dan")
    dan.click("Join")
    see_others(dan, 3)
    eve = open_step(person, url, "eve")
    eve.click("Join")
    eve.expect_state("closed")
    assert eve.status.text_content() == "Four people are already in this room."
    ben.click("Hang up")
    ben.expect_state("idle")
    see_each_other(ana, cleo, dan)


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


def test_break_step_6_relayed_to_everyone_a_third_person_breaks_the_call(run_broken_step, person):
    url = run_broken_step("06-group")
    ana, ben, cleo = (open_step(person, url, name) for name in ("ana", "ben", "cleo"))
    ana.click("Join")
    ana.expect_state("waiting")
    ben.click("Join")
    see_each_other(ana, ben)  # with two, "everyone else" is the one `to` names
    cleo.click("Join")
    # Ana's offer for Cleo reaches Ben too, as a new offer of Ana's: Ben takes it, and
    # their call breaks.
    ana.expect_state("failed")
    ben.expect_state("failed")
    for someone in (ana, ben, cleo):
        someone.page.close()  # the mix-up could go on: stop it here
        # Each also got answers meant for someone else, which fit none of their calls.
        someone.forgive_errors("Failed to set remote answer sdp: Called in wrong state: stable")


REMOTE_UFRAG = "harness.currentPeerConnection().currentRemoteDescription.sdp.match(/a=ice-ufrag:(\\S+)/)[1]"
# While window.heldMessages is an array, the page's socket messages wait in it.
HOLD_MESSAGES = """
  window.heldMessages = null;
  window.WebSocket = class extends window.WebSocket {
    set onmessage(handle) {
      super.onmessage = (event) => (heldMessages ? heldMessages.push(event) : handle(event));
      this.handleHeld = handle;
    }
  };
"""
RELEASE_MESSAGES = "const held = heldMessages; heldMessages = null; held.forEach((event) => event.target.handleHeld(event))"


def test_step_4_both_sides_offer_at_once_and_both_offers_complete(run_step, person):
    """Perfect negotiation: both restart ICE while neither hears the other, so that their
    offers cross; the polite side takes the other's, and both restarts complete. Only the
    impolite side's picture is checked: Chromium leaves the polite side's remote video
    frozen after that rollback (frames decoded, none shown), as step 4's page says."""
    url = run_step("04-call")
    people = ana, ben = person("ana"), person("ben")
    for someone in people:
        someone.page.add_init_script(HOLD_MESSAGES)
        someone.page.goto(f"{url}/")
    call(ana, ben)
    before = [someone.page.evaluate(REMOTE_UFRAG) for someone in people]
    for someone in people:
        someone.page.evaluate("heldMessages = []")
    for someone in people:
        someone.page.evaluate("harness.currentPeerConnection().restartIce()")
        someone.page.wait_for_function(
            "harness.currentPeerConnection().signalingState === 'have-local-offer'")
    for someone in people:
        someone.page.evaluate(RELEASE_MESSAGES)
    for someone, old_ufrag in zip(people, before):
        someone.page.wait_for_function(
            f"""old => harness.currentPeerConnection().signalingState === 'stable'
                && {REMOTE_UFRAG} !== old""", arg=old_ufrag)
        someone.expect_state("connected")
    ana.wait_for_remote_frames(30)


def test_step_4_an_offer_right_after_an_answer_is_answered(run_step, person):
    """Ben answers Ana's offer and at once makes his own; Ana gets both together. She
    must apply the answer before she looks at the offer, or it looks like a collision
    and she, impolite, ignores it."""
    url = run_step("04-call")
    people = ana, ben = person("ana"), person("ben")
    for someone in people:
        someone.page.add_init_script(HOLD_MESSAGES)
        someone.page.goto(f"{url}/")
    call(ana, ben)
    ana.page.evaluate("heldMessages = []")
    ana.page.evaluate("harness.currentPeerConnection().restartIce()")
    for offer in range(2):  # Ana's, then Ben's; Ben answers the first
        old_ufrag = ben.page.evaluate(REMOTE_UFRAG)
        if offer:
            ben.page.evaluate("harness.currentPeerConnection().restartIce()")
            ana.page.wait_for_function(  # Ben's answer, then his offer
                "heldMessages.some((event) => JSON.parse(event.data).type === 'offer')")
            ana.page.evaluate(RELEASE_MESSAGES)
        ben.page.wait_for_function(
            f"""old => harness.currentPeerConnection().signalingState === 'stable'
                && {REMOTE_UFRAG} !== old""", arg=old_ufrag)
    for someone in people:
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)


def test_flask_run_at_the_root_loads_neither_aiortc_nor_redis(tmp_path):
    """The root app runs without aiortc (the echo peer's) or redis (the Redis registry's)
    loaded: they are imported only where those are used."""
    port = free_port()
    # flask's own command line, in a process that says which of them it loaded when asked
    # (SIGUSR1): not at its exit, which once took over 20 s after Ctrl+C in a full run.
    report = ("import signal, sys; signal.signal(signal.SIGUSR1, lambda *_: print('loaded:', "
              "[name for name in ('aiortc', 'redis') if name in sys.modules], flush=True)); "
              "from flask.cli import main; main()")
    server = subprocess.Popen(
        [sys.executable, "-c", report, "--app", "app", "run", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, server, "flask run")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as page:
            assert page.status == 200
        server.send_signal(signal.SIGUSR1)
        output = next(line for line in server.stdout if line.startswith("loaded:"))
    finally:
        server.kill()
        server.wait()
    assert "loaded: []" in output, output


# The step pages. ```js file=tutorial/steps/04-call/peer.js shows that whole file.
FOLDERS = sorted(path for path in STEPS.iterdir() if path.is_dir())
PAGES = sorted(STEPS.glob("*/README*.md"))
WHOLE_FILE = re.compile(r"^```\w+ file=(\S+)\n(.*?)^```$", re.S | re.M)
CODE_BLOCK = re.compile(r"^```.*?^```$", re.S | re.M)
HEADING = re.compile(r"^(#+) ", re.M)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def step_id(path):
    return str(path.relative_to(STEPS))


@pytest.mark.parametrize("page", PAGES, ids=step_id)
def test_a_file_shown_on_a_step_page_is_that_file(page):
    for path, shown in WHOLE_FILE.findall(page.read_text()):
        assert shown == (ROOT / path).read_text(), f"{step_id(page)} shows an old {path}"


@pytest.mark.parametrize("page", PAGES, ids=step_id)
def test_a_diff_on_a_step_page_is_the_real_diff(page):
    """`python scripts/step_diffs.py` writes them anew."""
    for block in DIFF_BLOCK.finditer(page.read_text()):
        assert block.group(0) == f"```diff\n{real_diff(*block.groups())}```", (
            f"{step_id(page)}: the diff of {block.group(2)} is stale")


@pytest.mark.parametrize("folder", FOLDERS, ids=step_id)
def test_every_file_of_a_step_is_shown_or_unchanged(folder):
    page = (folder / "README.md").read_text()
    shown = {path for path, _ in WHOLE_FILE.findall(page)}
    diffed = {new for _, new in DIFF_BLOCK.findall(page)}
    # The step before: the nearest earlier folder with a program (05-the-app has none).
    before = ([earlier for earlier in FOLDERS[:FOLDERS.index(folder)]
               if (earlier / "server.py").is_file()] or [None])[-1]
    for file in sorted(folder.iterdir()):
        if file.name.startswith("README") or file.suffix == ".png" or not file.is_file():
            continue
        unchanged = before and (before / file.name).is_file() and (
            (before / file.name).read_text() == file.read_text())
        assert (f"tutorial/steps/{step_id(file)}" in shown or step_id(file) in diffed
                or unchanged), f"{step_id(file)} is neither shown nor unchanged"


@pytest.mark.parametrize("patch", sorted(STEPS.glob("*/break-it.patch")), ids=step_id)
def test_a_break_it_patch_still_applies_exactly(patch):
    with open(patch) as diff:
        subprocess.run(["patch", "--dry-run", "--fuzz=0", "-d", str(patch.parent), "-p1"],
                       stdin=diff, check=True, capture_output=True)


@pytest.mark.parametrize("folder", FOLDERS, ids=step_id)
def test_a_step_page_in_korean_has_the_same_code_headings_and_links(folder):
    english, korean = folder / "README.md", folder / "README.ko.md"
    assert CODE_BLOCK.findall(korean.read_text()) == CODE_BLOCK.findall(english.read_text())
    assert HEADING.findall(korean.read_text()) == HEADING.findall(english.read_text())
    # The Korean page links to the Korean pages (README.ko.md, ../../ko/) where there are.
    links = [sorted(target.replace("README.ko.md", "README.md").replace("../../ko/", "../../")
                    for target in LINK.findall(CODE_BLOCK.sub("", page.read_text())))
             for page in (english, korean)]
    assert links[0] == links[1]


@pytest.mark.parametrize("page", PAGES, ids=step_id)
def test_links_on_a_step_page_lead_to_files_that_exist(page):
    for target in LINK.findall(CODE_BLOCK.sub("", page.read_text())):
        if "://" not in target:
            assert (page.parent / target).exists(), f"{step_id(page)} links to a missing {target}"
