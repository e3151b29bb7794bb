"""peer.py, the aiortc peer: it calls browsers and other Python peers through the same
server, sends a test pattern and a tone or echoes, and reports what it receives."""

import signal
import subprocess
import sys
import time

import av
import pytest
from playwright.sync_api import expect

from servers import ROOT
from harness import SignalingClient, an_offer, room_path, secret_for, wait_until
from peer import PATTERN_SIZE, PeerError, PythonPeer, PeerThread



def in_room(thread):
    """Wait until the peer is welcomed into its room (an open socket is not yet a join)."""
    assert thread.peer.joined.wait(20), f"the peer did not join {thread.peer.room}: {thread.error}"
    return thread


def wait_for_media(thread, video_frames=30, loud_audio_frames=10):
    """Until the Python peer has received moving pictures and sound that is not silence."""
    peer = thread.peer
    wait_until(lambda: peer.received.video_frames >= video_frames
               and peer.received.loud_audio_frames >= loud_audio_frames,
               f"{video_frames} video frames and {loud_audio_frames} loud audio frames "
               f"(have {peer.received}; error {thread.error})")


def test_two_python_peers_call_each_other_without_a_browser(python_peer, room):
    first = in_room(python_peer(room))
    joined = time.monotonic()
    second = python_peer(room)
    wait_until(lambda: second.peer.connection_state == "connected", "the call to connect")
    print(f"join -> connected: {(time.monotonic() - joined) * 1000:.0f} ms")
    for thread in (first, second):
        wait_for_media(thread)
        assert thread.peer.received.size == PATTERN_SIZE


def test_a_waiting_peer_takes_an_offer_that_crosses_its_own(python_peer, live_server, room):
    in_room(python_peer(room))  # waits, so it offers when someone joins, and is polite
    client = SignalingClient(live_server.ws_url(room))
    client.expect("welcome")
    client.send({"type": "offer", "sdp": an_offer()})  # as if both offered at once
    client.expect("offer")  # its own, sent on peer-joined
    assert client.expect("answer")["sdp"].startswith("v=0")  # it dropped its offer for ours
    client.close()


@pytest.mark.parametrize("browser_first", [True, False], ids=["browser-first", "peer-first"])
def test_a_browser_and_the_python_peer_see_and_hear_each_other(person, python_peer, room,
                                                               browser_first):
    ana = person("ana")
    if browser_first:
        ana.join(room)
        ana.expect_state("waiting")
        peer = python_peer(room)
    else:
        peer = in_room(python_peer(room))
        ana.join(room)
    ana.expect_state("connected")
    ana.wait_for_remote_frames(30)
    ana.wait_for_remote_video_size(PATTERN_SIZE)
    ana.wait_for_sound()
    wait_for_media(peer)
    assert peer.peer.received.size == tuple(ana.camera_size())


def test_the_echo_button_brings_back_your_own_video_and_sound(person, live_server, room):
    ana = person("ana").join(room)
    ana.expect_state("waiting")
    ana.click("Call the echo peer")
    ana.expect_state("connected")
    ana.wait_for_remote_frames(30)
    ana.wait_for_remote_video_size(ana.camera_size())
    ana.wait_for_sound()  # the fake microphone's beep, back from the server's peer
    ana.click("Camera off")  # what comes back is what Ana sends now: black, then her camera
    ana.wait_for_remote_brightness("< 5")
    ana.click("Camera on")
    ana.wait_for_remote_brightness("> 40")
    ana.hang_up()
    echo_peers = live_server.app.extensions["echo_peers"]
    wait_until(lambda: not echo_peers.running(), "the echo peer to leave after the hang-up")


def test_the_echo_peer_sends_back_what_a_python_peer_sends(python_peer, room):
    caller = in_room(python_peer(room, picture=(320, 240)))  # not the echo's own pattern
    echo = python_peer(room, send="echo")
    wait_for_media(caller)
    assert caller.peer.received.size == (320, 240)
    assert echo.peer.received.video_frames > 0


def test_echo_peers_are_limited_and_only_join_someone_waiting(start_server, person, room):
    server = start_server({"ECHO_PEERS": 1})
    url = f"{server.url}/room/{room}/echo"
    ana = person("ana", server.url)
    assert ana.page.request.post(url).status == 403  # no token: whatever the room holds

    ana.join(room)
    ana.expect_state("waiting")
    ana.click("Call the echo peer")
    ana.expect_state("connected")
    ben = person("ben", server.url).join(f"{room}-2")
    ben.expect_state("waiting")
    ben.click("Call the echo peer")
    expect(ben.status).to_contain_text("All echo peers are busy")
    assert ben.forgive_errors("503") == 1  # the browser logs the refused request


def test_after_the_other_leaves_the_peer_waits_and_takes_the_next_call(python_peer, room):
    stayer = in_room(python_peer(room))
    first = python_peer(room)
    wait_for_media(stayer)
    first.stop()
    assert first.error is None
    wait_until(lambda: stayer.peer.call is None, "the stayer to end the call")
    assert stayer.is_alive()
    second = python_peer(room)
    wait_for_media(stayer)
    wait_for_media(second)
    assert stayer.peer.calls == 2


def test_a_peer_that_goes_once_leaves_with_the_other(python_peer, room):
    host = in_room(python_peer(room))
    guest = python_peer(room, stay=False)
    wait_for_media(host)
    host.stop()
    wait_until(lambda: not guest.is_alive(), "the guest to leave")
    assert guest.error is None


def run_until_error(room, server):
    thread = PeerThread(PythonPeer(room, server, secret=secret_for(room)))
    thread.thread.join(20)
    assert isinstance(thread.error, PeerError), thread.error
    return thread.error


def test_a_full_room_a_bad_room_and_no_server_are_clear_errors(python_peer, live_server, room):
    first, second = python_peer(room), python_peer(room)
    wait_until(lambda: second.peer.connection_state == "connected", "the call to connect")
    assert run_until_error(room, live_server.url).code == "room-full"
    assert run_until_error("no.dots", live_server.url).code == "bad-room"
    assert run_until_error(room, "http://127.0.0.1:9").code == "no-server"
    # The call in the room goes on.
    frames = first.peer.received.video_frames
    wait_until(lambda: first.peer.received.video_frames > frames + 30, "more frames")


@pytest.mark.parametrize("room_name, server, message", [
    ("no.dots", None, "A room name is 1 to 64 letters"),
    ("fine", "http://127.0.0.1:9", "Cannot reach the signaling server"),
])
def test_the_command_line_says_what_went_wrong_and_exits_1(live_server, room_name, server,
                                                           message):
    result = subprocess.run(
        [sys.executable, "peer.py", room_name, "--server", server or live_server.url],
        cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert message in result.stderr


def test_only_the_person_waiting_may_call_the_echo_peer(person, live_server, room):
    ana = person("ana").join(room)
    ana.expect_state("waiting")
    url = f"{live_server.url}/room/{room}/echo"
    for body in ({}, {"token": "guessed"}, {"token": 42}):
        refused = ana.page.request.post(url, data=body)
        assert refused.status == 403
        assert refused.json() == {"error": "Only the person waiting in this room may call the echo peer."}
    assert not live_server.app.extensions["echo_peers"].running()


def test_the_echo_peer_comes_over_https_too(https_server, person, room):
    # make run-lan's case: the server's own certificate is self-signed.
    ana = person("ana", https_server.url, ignore_https_errors=True).join(room)
    ana.expect_state("waiting")
    ana.click("Call the echo peer")
    ana.expect_state("connected")
    ana.wait_for_remote_frames(30)


def test_the_echo_route_refuses_other_sites_and_bad_tokens_alike(client):
    other_site = client.post("/room/fine/echo", headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403
    for path in ("/room/no.dots/echo", "/room/fine/echo"):  # the token is checked first
        refused = client.post(path, json={"token": "guessed"})
        assert refused.status_code == 403
        assert refused.get_json() == {"error": "Only the person waiting in this room may call the echo peer."}


def test_what_one_peer_records_another_can_play(python_peer, room, tmp_path):
    recording = tmp_path / "received.mp4"
    sender = in_room(python_peer(room))
    recorder = python_peer(room, record=str(recording))
    wait_for_media(recorder, video_frames=60)
    recorder.stop()  # the file is complete once the call has ended
    with av.open(str(recording)) as container:
        sizes = [(frame.width, frame.height) for frame in container.decode(video=0)]
        assert container.streams.audio, "no sound was recorded"
    assert len(sizes) >= 60 and set(sizes) == {PATTERN_SIZE}

    viewer = in_room(python_peer(f"{room}-play"))
    python_peer(f"{room}-play", send="play", play=str(recording))
    wait_for_media(viewer)
    assert viewer.peer.received.size == PATTERN_SIZE


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_command_line_leaves_cleanly_and_the_other_side_is_told(python_peer, live_server, room,
                                                                    signal_number):
    stayer = in_room(python_peer(room))
    process = subprocess.Popen([sys.executable, "peer.py", f"{live_server.url}{room_path(room)}"],
                               cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_media(stayer)
        process.send_signal(signal_number)
        _, log = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, log
    wait_until(lambda: stayer.peer.call is None, "the stayer to hear peer-left")
    assert "call ended; received" in log and "Traceback" not in log


def test_an_echo_peer_scales_a_large_picture_down_before_encoding_it(python_peer, room):
    caller = in_room(python_peer(room, picture=(1920, 1080)))
    python_peer(room, send="echo", max_picture=(1280, 720))  # echo.py's cap
    wait_for_media(caller)
    assert caller.peer.received.size == (1280, 720)
