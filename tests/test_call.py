"""Two people in two browsers: a real call, seen and heard on both sides."""

import json
import re

from playwright.sync_api import expect

from harness import REJOIN_MS, SLACK_S


def test_two_people_see_and_hear_each_other(call):
    ana, ben = call
    for someone, other in ((ana, ben), (ben, ana)):
        someone.wait_for_remote_frames(30)
        someone.wait_for_remote_video_size(other.camera_size())
        someone.wait_for_sound()


def test_the_second_person_can_arrive_later(person, room):
    ana, ben = person("ana"), person("ben")
    sent = []  # what Ana's page sends on its WebSocket
    ana.page.on("websocket", lambda socket: socket.on(
        "framesent", lambda payload: sent.append(json.loads(payload))))
    ana.join(room)
    ana.expect_state("waiting")
    # While she waits, Ana's offer is made and its candidates gathered, but nothing leaves.
    ana.page.wait_for_function("""harness.currentPeerConnection()?.localDescription?.type === 'offer'
        && harness.currentPeerConnection().iceGatheringState === 'complete'""")
    # Its origin line (session id and version) names it; the SDP itself has since gained
    # the candidates gathered.
    origin = ana.page.evaluate(
        "harness.currentPeerConnection().localDescription.sdp.match(/^o=.*$/m)[0]")
    ana.expect_state("waiting")
    assert [message["type"] for message in sent] == ["join"]  # the room's secret, then nothing
    ben.join(room)  # Ben arrives after all that: Ana has nothing more to do alone
    for someone in (ana, ben):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
    # Frames are recorded in the order they were sent: a candidate that left while Ana
    # waited would come before the offer. What leaves when Ben comes is that very offer,
    # then its candidates; Ana answers nothing.
    assert sent.pop(0)["type"] == "join"
    assert sent[0]["type"] == "offer" and origin in sent[0]["sdp"].splitlines()
    types = [message["type"] for message in sent]
    assert "candidate" in types and "answer" not in types
    assert ana.page.evaluate("harness.peerConnections.length") == 1


def test_after_hang_up_the_other_waits_and_a_new_person_can_call(call, person, room):
    ana, ben = call
    ben.hang_up()
    ben.expect_state("idle")
    ana.expect_state("waiting")
    expect_remote_video_empty(ana)
    cara = person("cara").join(room)
    for someone in (ana, cara):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
        someone.wait_for_sound()


def test_a_reloaded_tab_calls_again(call):
    ana, ben = call
    ben.page.reload()
    ben.expect_state("idle")
    ana.expect_state("waiting")
    ben.join()
    for someone in (ana, ben):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)


def test_a_third_person_is_told_the_room_is_full(call, person, room):
    ana, ben = call
    cara = person("cara").join(room)
    cara.expect_state("full")
    assert "full" in cara.status.inner_text()
    for someone in (ana, ben):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)


# A browser that has not been allowed the camera on this page yet: it would ask the person
# at Join (the fake UI then says yes at once). The page's questions and camera requests are
# counted as they are made, and each stream getUserMedia gives is kept, to see when cameras
# turn on and off. `window.cameraHeldBack`, if a test sets it, makes a slow camera.
NOT_ALLOWED_YET = """
  window.permissionQueries = window.cameraRequests = 0;
  navigator.permissions.query = async () => {
    permissionQueries += 1;
    return { state: 'prompt' };
  };
  window.openedStreams = [];
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    cameraRequests += 1;
    const stream = await getUserMedia(constraints);
    openedStreams.push(stream);
    await window.cameraHeldBack;
    return stream;
  };
"""
SLOW_CAMERA = """
  window.cameraHeldBack = new Promise((resolve) => { window.releaseCamera = resolve; });
"""
LIVE_CAMERAS = "openedStreams.filter((s) => s.getTracks().some((t) => t.readyState === 'live')).length"


def test_a_person_who_allowed_the_camera_before_sees_themselves_before_joining(person, room):
    # Playwright's Chromium here answers the permission prompt itself: to the page, the
    # camera is allowed, as for someone who said yes on an earlier visit.
    ana = person("ana").open_room(room)
    ana.wait_for_frames("#local-video")
    expect(ana.status).to_have_text("Your camera is on: only you see it. Press Join to enter the room.")
    stream = ana.page.evaluate_handle("document.querySelector('#local-video').srcObject")
    ana.click("Join")
    ana.expect_state("waiting")
    # Join took the camera that was already on, and the waiting Peer sends its two tracks.
    assert ana.page.evaluate("""(stream) => {
        const senders = harness.currentPeerConnection().getSenders();
        return stream === document.querySelector('#local-video').srcObject && senders.length === 2
          && senders.every((sender) => stream.getTracks().includes(sender.track));
      }""", stream)


def test_a_preview_whose_camera_was_taken_away_starts_again_at_join(person, room):
    ana, ben = person("ana").open_room(room), person("ben")
    ana.wait_for_frames("#local-video")
    # As when a phone's system takes the camera from a tab in the background: it ends.
    ana.page.evaluate("document.querySelector('#local-video').srcObject.getVideoTracks()[0].stop()")
    ana.click("Join")
    ana.expect_state("waiting")
    ben.join(room)
    for someone in (ana, ben):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)


def test_a_person_can_join_with_the_microphone_and_the_camera_off(person, room):
    ana, ben = person("ana").open_room(room), person("ben")
    ana.wait_for_frames("#local-video")
    ana.click("Mute")
    ana.click("Camera off")
    expect(ana.page.get_by_role("button", name="Unmute")).to_have_attribute("aria-pressed", "true")
    expect(ana.page.get_by_role("button", name="Camera on")).to_have_attribute("aria-pressed", "true")
    ana.click("Join")
    ana.expect_state("waiting")
    ben.join(room)
    ben.expect_state("connected")
    ben.wait_for_remote_brightness("< 5")
    ben.wait_for_silence()
    ana.click("Camera on")
    ana.click("Unmute")
    ben.wait_for_remote_brightness("> 40")
    ben.wait_for_sound()


def test_a_first_visit_turns_the_camera_on_only_at_join(person, room):
    ben = person("ben")
    ben.context.add_init_script(NOT_ALLOWED_YET)
    ben.open_room(room)
    # The page has its answer (camera, then microphone) and has acted on it: no camera.
    ben.page.wait_for_function("permissionQueries === 2")
    assert ben.page.evaluate("cameraRequests") == 0
    expect(ben.status).to_have_text("Press Join to turn on your camera and enter the room.")
    ben.click("Join")
    ben.expect_state("waiting")
    ben.wait_for_frames("#local-video")
    assert ben.page.evaluate("cameraRequests") == 1


def test_a_camera_that_starts_after_the_room_turned_us_away_goes_off(call, person, room):
    cara = person("cara")
    cara.context.add_init_script(NOT_ALLOWED_YET + SLOW_CAMERA)
    cara.join(room)
    cara.expect_state("full")
    cara.page.wait_for_function("openedStreams.length === 1")
    cara.page.evaluate("releaseCamera()")
    cara.page.wait_for_function(f"{LIVE_CAMERAS} === 0")
    expect(cara.status).to_contain_text("This room is full")
    expect(cara.page.get_by_role("button", name="Join")).to_be_enabled()
    expect(cara.page.get_by_role("button", name="Hang up")).to_be_disabled()
    assert cara.page.evaluate("document.querySelector('#local-video').srcObject") is None


def test_joining_again_while_the_first_camera_still_starts_ends_in_the_call(call, person, room):
    ana, ben = call
    cara = person("cara")
    cara.context.add_init_script(NOT_ALLOWED_YET + SLOW_CAMERA)
    cara.join(room)
    cara.expect_state("full")
    ben.hang_up()
    ana.expect_state("waiting")
    cara.click("Join")  # the first Join's camera is still starting
    cara.page.wait_for_function("openedStreams.length === 2")
    cara.page.evaluate("releaseCamera()")
    for someone in (ana, cara):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
    assert cara.page.evaluate(LIVE_CAMERAS) == 1  # the first one went off


def test_mute_silences_the_other_side_and_unmute_brings_it_back(call):
    ana, ben = call
    ben.wait_for_sound()
    ana.click("Mute")
    ana.page.get_by_role("button", name="Unmute").wait_for()
    ben.wait_for_silence()
    ana.click("Unmute")
    ben.wait_for_sound()
    ana.wait_for_sound()  # Ben was never muted


def test_camera_off_turns_the_other_side_black(call):
    ana, ben = call
    ben.wait_for_remote_brightness("> 40")
    ana.click("Camera off")
    ana.page.get_by_role("button", name="Camera on").wait_for()
    ben.wait_for_remote_brightness("< 5")
    ana.click("Camera on")
    ben.wait_for_remote_brightness("> 40")
    ben.wait_for_remote_frames(30)


def expect_remote_video_empty(someone):
    someone.page.wait_for_function("!document.querySelector('#remote-video').srcObject")


def test_a_call_survives_a_signaling_server_restart(meet, person, server_process, room):
    server = server_process()
    ana, ben = meet(server.url)
    for someone in (ana, ben):
        someone.expect_state("connected")
    for someone in (ana, ben):
        someone.wait_for_remote_frames(30)
        someone.longest_frame_gap()  # start measuring freezes here
    server.kill()
    for someone in (ana, ben):
        someone.expect_state("reconnecting")
        expect(someone.status).to_contain_text("Your call goes on")
        someone.wait_for_remote_frames(60)  # media flows between the browsers, not via the server
        someone.wait_for_sound()
    server.start()
    for someone in (ana, ben):
        someone.expect_state("connected", timeout=REJOIN_MS)  # back in the room, the same call
    for someone in (ana, ben):
        someone.wait_for_remote_frames(30)
        assert someone.forgive_errors("ERR_CONNECTION_REFUSED") >= 1  # tries while it was down
    # The picture kept moving through it all: no stall longer than a busy machine makes.
    gaps = [someone.longest_frame_gap() for someone in (ana, ben)]
    assert max(gaps) < SLACK_S * 1000, gaps
    assert ana.page.evaluate("harness.peerConnections.length") == 1, "the call was not torn down"
    ben.hang_up()  # and signaling works again
    ana.expect_state("waiting")
    cara = person("cara", server.url).join(room)
    for someone in (ana, cara):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)


def test_a_call_lost_on_one_side_during_an_outage_is_made_again(meet, server_process, room):
    server = server_process()
    ana, ben = meet(server.url)
    for someone in (ana, ben):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
    server.kill()
    for someone in (ana, ben):
        someone.expect_state("reconnecting")
    # Ben's side of the call fails while the server is away; to Ana, hers still looks up.
    ben.page.evaluate("harness.currentPeerConnection().close()")
    server.start()
    for someone in (ana, ben):
        someone.wait_for_remote_frames(30)
        someone.expect_state("connected")
        assert someone.page.evaluate("harness.peerConnections.length") == 2, someone.name
        assert someone.forgive_errors("ERR_CONNECTION_REFUSED") >= 1  # tries while it was down


def test_an_unreachable_signaling_server_is_said(person, server_process, room):
    server = server_process()
    ana = person("ana", server.url).open_room(room)
    server.kill()
    ana.click("Join")
    ana.expect_state("error")
    expect(ana.status).to_contain_text("Cannot reach the signaling server")
    expect(ana.page.get_by_role("button", name="Join")).to_be_enabled()
    assert any("WebSocket connection" in error for error in ana.errors)
    ana.errors.clear()  # Chromium's own console line for the refused socket: expected here


def test_the_lobby_starts_a_call_whose_link_is_its_secret(person):
    ana, ben = person("ana"), person("ben")
    ana.page.goto("/")
    ana.page.get_by_role("link", name="Start a call").click()
    # A name no scanner finds, and 128 random bits after "#", which no request carries.
    ana.page.wait_for_url(re.compile(r"/room/[a-z]+-[a-z]+-[a-z2-7]{8}#[A-Za-z0-9_-]{22}$"))
    expect(ana.page.locator("#guessable")).to_have_count(0)
    ana.join()
    ana.expect_state("waiting")
    link = ana.page.url
    expect(ana.status).to_contain_text(link)  # the link to share
    ben.page.goto(link)
    ben.join()
    for someone in (ana, ben):
        someone.expect_state("connected")  # no knock: the link lets Ben straight in
        someone.wait_for_remote_frames(10)


def test_a_typed_room_name_gets_a_secret_and_warns_it_can_be_guessed(person, room):
    ana = person("ana")
    ana.page.goto("/")
    ana.page.get_by_label("Or go to a room by its name").fill(room)
    ana.page.get_by_role("button", name="Go to the room").click()
    ana.page.wait_for_url(re.compile(rf"/room/{room}#[A-Za-z0-9_-]{{22}}$"))
    expect(ana.page.locator("#guessable")).to_contain_text("can guess it")
