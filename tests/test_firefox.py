"""Firefox (Debian's firefox-esr, driven over WebDriver BiDi: tests/firefox.py) in calls
with Chromium, with itself and with the Python peer: what each side sees and hears, the
controls seen from the other engine, chat, hang-up, ICE restarts and offers that cross,
TURN, the stats panel, camera errors and the tutorial's step pages.

Both engines are measured by the same harness.js. Firefox's fake camera shows a picture
that changes colour (640×480) and its fake microphone a steady tone; Chromium's a moving
test pattern (640×480) and a beep."""

import re

import pytest

from firewall import candidate_ports, needs_iptables, ports_blocked
from harness import start_call, wait_until
from peer import PATTERN_SIZE  # the Python peer's test pattern

# Both join orders: the first one in waits, is polite, and makes the offer.
ORDERS = pytest.mark.parametrize("firefox_first", [True, False], ids=["firefox-first", "chromium-first"])


def firefox_and_chromium(firefox_person, person, firefox_first):
    """Fay at Firefox and Cole at Chromium, in the order they join."""
    fay, cole = firefox_person("fay"), person("cole")
    return (fay, cole) if firefox_first else (cole, fay)


def status_text(someone):
    return someone.page.evaluate("document.querySelector('#status').textContent")


def received_codecs(someone):
    """The codecs of what this side receives, as getStats names them."""
    return someone.page.evaluate("""async () => {
        const report = await harness.currentPeerConnection().getStats();
        return [...report.values()].filter((s) => s.type === 'inbound-rtp')
          .map((s) => report.get(s.codecId)?.mimeType).sort();
      }""")


def wait_for_remote_shape(someone, size):
    """Until the remote picture has the shape of a camera of `size`: its size ramps up with
    the bitrate, its shape does not. (Firefox sends a quarter of its camera's pixels at
    first, and reached full size at Chromium only after about 15 s here.)"""
    someone.page.wait_for_function(
        "ratio => { const v = document.querySelector('#remote-video');"
        " return v.videoHeight > 0 && Math.abs(v.videoWidth / v.videoHeight - ratio) < 0.02; }",
        arg=size[0] / size[1])


def sees_and_hears(someone, other):
    someone.wait_for_remote_frames(30)
    wait_for_remote_shape(someone, other.camera_size())
    someone.wait_for_sound()


@ORDERS
def test_firefox_and_chromium_see_and_hear_each_other(firefox_person, person, room, firefox_first):
    first, second = start_call(*firefox_and_chromium(firefox_person, person, firefox_first), room)
    for someone, other in ((first, second), (second, first)):
        sees_and_hears(someone, other)
        # The first codec both offer: VP8 and Opus, whichever engine offered.
        assert received_codecs(someone) == ["audio/opus", "video/VP8"], someone.name
        pair = someone.selected_candidate_pair()
        assert pair["local"] in ("host", "prflx") and pair["remote"] in ("host", "prflx"), pair


def test_two_firefoxes_see_and_hear_each_other(firefox_person, room):
    fay, finn = start_call(firefox_person("fay"), firefox_person("finn"), room)
    for someone, other in ((fay, finn), (finn, fay)):
        sees_and_hears(someone, other)


@pytest.mark.parametrize("firefox_first", [True, False], ids=["firefox-first", "peer-first"])
def test_firefox_and_the_python_peer_see_and_hear_each_other(firefox_person, python_peer, room,
                                                             firefox_first):
    fay = firefox_person("fay")
    if firefox_first:
        fay.join(room)
        fay.expect_state("waiting")
        peer = python_peer(room)
    else:
        peer = python_peer(room)
        assert peer.peer.joined.wait(20), f"the peer did not join: {peer.error}"
        fay.join(room)
    fay.expect_state("connected")
    fay.wait_for_remote_frames(30)
    fay.wait_for_remote_video_size(PATTERN_SIZE)
    fay.wait_for_sound()
    received = peer.peer.received
    wait_until(lambda: received.video_frames >= 30 and received.loud_audio_frames >= 10,
               f"frames and sound from Firefox at the Python peer (have {received})")
    camera = tuple(fay.camera_size())
    wait_until(lambda: received.size == camera, f"Firefox's picture at its full size {camera}")


@pytest.mark.parametrize("actor", ["firefox", "chromium"])
def test_mute_and_camera_off_are_seen_from_the_other_engine(firefox_person, person, room, actor):
    fay, cole = start_call(firefox_person("fay"), person("cole"), room)
    acting, seeing = (fay, cole) if actor == "firefox" else (cole, fay)
    seeing.wait_for_sound()
    acting.click("Mute")
    acting.page.wait_for_function("document.querySelector('#mute-button').textContent === 'Unmute'")
    seeing.wait_for_silence()
    acting.click("Unmute")
    seeing.wait_for_sound()
    seeing.wait_for_remote_brightness("> 40")
    acting.click("Camera off")
    seeing.wait_for_remote_brightness("< 5")
    acting.click("Camera on")
    seeing.wait_for_remote_brightness("> 40")
    seeing.wait_for_remote_frames(30)
    acting.wait_for_sound()  # the other side was never muted


def say(someone, text):
    someone.page.fill("#chat-input", text)
    someone.page.press("#chat-input", "Enter")


def wait_for_chat(someone, selector, texts):
    someone.page.wait_for_function(
        "([selector, texts]) => JSON.stringify([...document.querySelectorAll(selector)]"
        ".map((item) => item.textContent)) === JSON.stringify(texts)",
        arg=[f"#chat-messages {selector}", texts])


def test_chat_between_firefox_and_chromium_both_ways(firefox_person, person, room):
    fay, cole = start_call(firefox_person("fay"), person("cole"), room)
    for someone in (fay, cole):
        someone.click("Chat")
        someone.page.wait_for_function("!document.querySelector('#chat-input').disabled")
    for text in ("one", "two", "three"):
        say(fay, text)
    say(cole, "got them all")
    wait_for_chat(cole, "li.them", ["one", "two", "three"])
    wait_for_chat(fay, "li.them", ["got them all"])
    wait_for_chat(fay, "li.me.delivered", ["one", "two", "three"])
    wait_for_chat(cole, "li.me.delivered", ["got them all"])


@pytest.mark.parametrize("leaver", ["firefox", "chromium"])
def test_after_a_hang_up_the_one_left_takes_a_second_caller(firefox_person, person, room, leaver):
    fay, cole = start_call(firefox_person("fay"), person("cole"), room)
    leaving, staying = (fay, cole) if leaver == "firefox" else (cole, fay)
    leaving.hang_up()
    leaving.expect_state("idle")
    staying.expect_state("waiting")
    staying.page.wait_for_function("!document.querySelector('#remote-video').srcObject")
    # The second caller is of the other engine than the one who stayed.
    second = person("cara") if staying is fay else firefox_person("flo")
    second.join(room)
    for someone, other in ((staying, second), (second, staying)):
        someone.expect_state("connected")
        sees_and_hears(someone, other)


def ice_ufrags(someone):
    """The ICE username fragments of this side's local and remote descriptions."""
    return someone.page.evaluate("""() => {
        const pc = harness.currentPeerConnection();
        const ufrag = (description) => description.sdp.match(/^a=ice-ufrag:(.*)$/m)[1];
        return [ufrag(pc.localDescription), ufrag(pc.remoteDescription)];
      }""")


@needs_iptables
@ORDERS
def test_an_ice_restart_across_engines_keeps_the_call(firefox_person, person, room, firefox_first):
    # Firefox first: Firefox made the first offer and is the DTLS server; Chromium restarts,
    # and the DTLS roles of the first exchange must hold. Chromium first: Firefox restarts.
    # The page restarts ICE when its connection has failed, so the test first cuts the
    # call's paths as a failed network would. Over a path that still works, the side that
    # restarts (now the controlling ICE agent) may nominate a pair of one of its new
    # candidates with one of the other side's old ones: the old ICE session there answers
    # the checks, the new one drops the media, and both engines say "connected" while one
    # side gets nothing, for minutes (seen 1 restart in 8, in both directions).
    first, second = start_call(*firefox_and_chromium(firefox_person, person, firefox_first), room)
    before = {someone.name: ice_ufrags(someone) for someone in (first, second)}
    # What the page does when its connection fails: the impolite side, the second one in,
    # restarts ICE. The other side takes the new offer and answers with new credentials.
    with ports_blocked(candidate_ports(first, second)):
        second.page.evaluate("harness.currentPeerConnection().restartIce()")
        for someone in (first, second):
            someone.page.wait_for_function(
                """old => { const pc = harness.currentPeerConnection();
                            return pc.signalingState === 'stable' && !pc.remoteDescription.sdp.includes(old); }""",
                arg=f"a=ice-ufrag:{before[someone.name][1]}\r")
        for someone in (first, second):
            now = ice_ufrags(someone)
            assert now[0] != before[someone.name][0] and now[1] != before[someone.name][1], someone.name
            someone.expect_state("connected")
            someone.wait_for_remote_frames(30)
            someone.wait_for_sound()
            assert someone.page.evaluate("harness.peerConnections.length") == 1, "restarted, not replaced"


# Incoming signaling held back, as a slow network would hold it, so that two offers cross
# for certain. The app sets socket.onmessage; what it is given is delivered late while held.
HOLD_SIGNALS = """
  window.signalsHeld = null;  // an array of held messages while holding
  window.WebSocket = class extends WebSocket {
    set onmessage(handler) {
      super.onmessage = (event) => window.signalsHeld
        ? window.signalsHeld.push({ type: JSON.parse(event.data).type, deliver: () => handler.call(this, event) })
        : handler.call(this, event);
    }
    get onmessage() { return super.onmessage; }
  };
  window.holdSignals = () => { window.signalsHeld = []; };
  window.releaseSignals = () => {
    const held = window.signalsHeld;
    window.signalsHeld = null;
    held.forEach(({ deliver }) => deliver());
  };
"""

WATCH_SIGNALING_STATES = """() => {
    const pc = harness.currentPeerConnection();
    window.signalingStates = [];
    pc.addEventListener('signalingstatechange', () => signalingStates.push(pc.signalingState));
  }"""


@ORDERS
def test_offers_that_cross_between_engines_end_in_one_call(firefox_person, person, room, firefox_first):
    polite, impolite = firefox_and_chromium(firefox_person, person, firefox_first)
    for someone in (polite, impolite):
        someone.page.add_init_script(HOLD_SIGNALS)
    start_call(polite, impolite, room)
    for someone in (polite, impolite):
        someone.page.evaluate(WATCH_SIGNALING_STATES)
        someone.page.evaluate("holdSignals()")
    # Both renegotiate at once (each adds a transceiver): each makes an offer, which waits
    # at the other side. (Not ICE restarts: test_an_ice_restart_across_engines_keeps_the_call
    # says why those are not reliable with Chromium controlling.)
    for someone in (polite, impolite):
        someone.page.evaluate("harness.currentPeerConnection().addTransceiver('audio', { direction: 'recvonly' })")
    for someone in (polite, impolite):
        someone.page.wait_for_function(
            "harness.currentPeerConnection().signalingState === 'have-local-offer'"
            " && signalsHeld.some((message) => message.type === 'offer')")
    for someone in (polite, impolite):
        someone.page.evaluate("releaseSignals()")
    # The impolite side ignores the offer it got; the polite one drops its own, answers,
    # then offers its transceiver again. Both end with all four negotiated.
    for someone in (polite, impolite):
        someone.page.wait_for_function("""() => { const pc = harness.currentPeerConnection();
            return pc.signalingState === 'stable' && pc.getTransceivers().length === 4
              && pc.getTransceivers().every((transceiver) => transceiver.currentDirection); }""")
    states = {someone.name: someone.page.evaluate("signalingStates") for someone in (polite, impolite)}
    assert states[impolite.name][:2] == ["have-local-offer", "stable"], states  # its offer won
    assert "have-remote-offer" in states[polite.name], states  # it took the other's offer
    for someone in (polite, impolite):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
        someone.wait_for_sound()
        assert someone.page.evaluate("harness.peerConnections.length") == 1


def test_a_relay_only_call_between_firefox_and_chromium_goes_through_coturn(
        firefox_person, person, start_server, turn_server, room):
    server = start_server(turn_server.config())
    # Firefox reaches no address on the loopback interface unless told to; the test's
    # coturn listens there (a deployment's has a public address).
    fay = firefox_person("fay", server.url, prefs={"media.peerconnection.ice.loopback": True})
    for someone in start_call(fay, person("cole", server.url), room):
        someone.wait_for_sound()
        pair = someone.selected_candidate_pair()
        assert pair["local"] == "relay" and pair["remote"] == "relay", (someone.name, pair)


def stats_panel(someone):
    return someone.page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('[data-stat]')]"
        ".map((field) => [field.dataset.stat, field.textContent]))")


def test_the_stats_panel_reads_firefoxs_getstats(firefox_person, person, room):
    fay, _ = start_call(firefox_person("fay"), person("cole"), room)
    fay.click("Stats")
    # Every line filled, and the loss line's packet count growing: the panel is live.
    fay.page.wait_for_function(
        "[...document.querySelectorAll('[data-stat]')].every((field) => field.textContent !== '…')")
    before = stats_panel(fay)
    fay.page.wait_for_function("loss => document.querySelector('[data-stat=loss]').textContent !== loss",
                               arg=before["loss"])
    shown = stats_panel(fay)
    assert re.fullmatch(r"(host|prflx) ↔ (host|prflx) \(udp\)", shown["path"]), shown
    assert re.fullmatch(r"\d+ ms", shown["rtt"]), shown
    assert re.fullmatch(r"[1-9]\d*×[1-9]\d*, \d+ frames/s", shown["picture"]), shown
    assert shown["codecs"] in ("audio/opus, video/VP8", "video/VP8, audio/opus"), shown
    assert re.fullmatch(r"\d+ of \d+ \(\d+\.\d %\)", shown["loss"]), shown
    for name in ("sending", "receiving"):
        assert re.fullmatch(r"[1-9]\d* kbit/s", shown[name]), shown


@pytest.mark.parametrize("prefs, says", [
    ({"media.getusermedia.camera.deny": True}, "access was refused"),  # NotAllowedError
    ({"media.navigator.streams.fake": False}, "No camera or microphone was found"),  # NotFoundError
], ids=["refused", "no-camera"])
def test_firefoxs_camera_errors_are_explained_by_name(firefox_person, room, prefs, says):
    # A Firefox of its own, set up as a computer that refuses the camera or has none.
    fay = firefox_person("fay", prefs=prefs)
    fay.join(room)
    fay.expect_state("error")
    assert says in status_text(fay)
    fay.page.wait_for_function("!document.querySelector('#join-button').disabled")


def test_firefoxs_one_fake_camera_and_microphone_are_listed_with_nothing_to_choose(firefox_person, room):
    # Firefox's fake devices are one camera and one microphone (Chromium can fake three
    # cameras): switching devices mid-call is tested in Chromium only.
    fay = firefox_person("fay").join(room)
    fay.expect_state("waiting")
    fay.page.wait_for_function("document.querySelector('#camera-select').options.length > 0")
    lists = fay.page.evaluate("""[...document.querySelectorAll('.devices select')].map((select) =>
        [select.id, select.disabled, [...select.options].map((option) => option.text)])""")
    assert lists == [["camera-select", True, [lists[0][2][0]]],
                     ["microphone-select", True, [lists[1][2][0]]]], lists


def test_a_screen_share_firefox_cannot_start_leaves_the_camera_on(firefox_person, person, room):
    # Headless Firefox has no screen to share: getDisplayMedia fails (NotFoundError), as
    # when a person closes the picker. The call goes on with the camera.
    fay, cole = start_call(firefox_person("fay"), person("cole"), room)
    fay.click("Share screen")
    fay.page.wait_for_function("""() => {
        const button = document.querySelector('#share-button');
        return button.textContent === 'Share screen' && button.getAttribute('aria-pressed') === 'false';
      }""")
    cole.wait_for_remote_frames(30)
    wait_for_remote_shape(cole, fay.camera_size())  # the camera's 4:3, not a screen


def test_tutorial_step_1_names_firefoxs_camera(firefox_person):
    fay = firefox_person("fay")
    fay.page.goto("/tutorial/1")
    fay.click("Start camera")
    fay.expect_state("on")
    assert re.fullmatch(r"Camera on: .+ \(640×480\); microphone: .+\.", status_text(fay))
    fay.wait_for_frames("#local-video")
    fay.click("Stop camera")
    fay.expect_state("idle")
    assert fay.page.evaluate("document.querySelector('#local-video').srcObject") is None


def test_tutorial_step_2_connects_two_peer_connections_in_firefox(firefox_person):
    fay = firefox_person("fay")
    fay.page.goto("/tutorial/2")
    fay.click("Call")
    fay.expect_state("connected")
    fay.wait_for_frames("#remote-video")
    log = fay.page.evaluate("[...document.querySelectorAll('#signal-log li')].map((li) => li.textContent)")
    assert log[0].startswith("caller → callee: offer (SDP"), log
    assert sum("callee → caller: answer" in line for line in log) == 1, log
    assert sum("candidate: null (no more candidates)" in line for line in log) == 2, log
    # Firefox also ends each m= section's candidates with an empty one.
    assert any('candidate: "" (no more for m= section' in line for line in log), log
    fay.click("Hang up")
    fay.expect_state("idle")


def test_tutorial_step_3_logs_the_signaling_of_two_firefox_tabs(firefox_person):
    fay, finn = firefox_person("fay"), firefox_person("finn")
    fay.page.goto("/tutorial/3")
    fay.click("Join")
    fay.expect_state("waiting")
    finn.page.goto(fay.page.url)  # the room's link, as the page tells the learner
    finn.click("Join")
    for someone in (fay, finn):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
    logs = [someone.page.evaluate("[...document.querySelectorAll('#signal-log li')].map((li) => li.textContent)")
            for someone in (fay, finn)]
    assert logs[0][:2] == ["← received welcome (0 already here; polite)", "← received peer-joined"], logs[0]
    assert logs[0][2].startswith("→ sent offer"), logs[0]
    assert logs[1][0] == "← received welcome (1 already here; impolite)", logs[1]
    assert any(line.startswith("→ sent answer") for line in logs[1]), logs[1]
    for log in logs:
        # Firefox writes the protocol in capitals ("UDP"), Chromium in small letters.
        assert any(line.startswith("→ sent candidate UDP") for line in log), log
        assert any(line.startswith("← received candidate UDP") for line in log), log

