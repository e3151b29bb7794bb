"""The original post's code, run as written in Chromium (tutorial/original/), with the
failure each erratum of tutorial/errata.md describes; and the fix doing better.

The snippets are served at /post/ by Playwright's routing and added to a page of the
app, as a learner pastes them into a page: no change of ours in between."""

from pathlib import Path

import pytest

from harness import secret_for

ORIGINAL = Path(__file__).resolve().parent.parent / "tutorial" / "original"
SNIPPETS = ["1-get-user-media.js", "2-peer-connection.js", "3-signaling.js"]
# Records what the post's WebSocket sends and receives, without touching its handlers.
RECORD_SOCKETS = """
  window.socketLog = { sent: [], received: [], handled: [] };
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', ({ data }) => socketLog.received.push(JSON.parse(data)));
    }
    send(data) { socketLog.sent.push(JSON.parse(data)); super.send(data); }
    // "handled": the page's own onmessage has finished with that message.
    set onmessage(handler) {
      super.onmessage = async (event) => {
        await handler.call(this, event);
        socketLog.handled.push(JSON.parse(event.data).type);
      };
    }
    get onmessage() { return super.onmessage; }
  };
"""


@pytest.fixture
def post_page(new_context):
    """post_page(*snippets, code=None, init=None) opens a page of the app's (a secure origin) and adds
    the post's snippets to it as classic <script src>s, or `code` as one inline script (and
    `init` before anything of the page runs);
    returns the page and the errors it raised."""

    def open_page(*snippets, code=None, init=None):
        context = new_context(bypass_csp=True)  # the post's code is an inline script
        context.add_init_script(RECORD_SOCKETS + (init or ""))
        context.route("**/post/*.js", lambda route: route.fulfill(
            content_type="text/javascript",
            body=(ORIGINAL / route.request.url.rsplit("/", 1)[1]).read_text()))
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
        page.goto("/")
        for name in snippets:
            page.add_script_tag(url=f"/post/{name}")
        if code:
            page.add_script_tag(content=code)
        return page, errors

    return open_page


def with_stream(code):
    """The post's step 2 (and 3) after a stream exists: what its step 1 never hands over."""
    return ("navigator.mediaDevices.getUserMedia({ video: true, audio: true })"
            f".then((stream) => {{ window.stream = stream; {code} }});")


def step_2_in_view():
    """The post's step 2, its connection made global so that the test can look at it."""
    step2 = (ORIGINAL / "2-peer-connection.js").read_text()
    assert step2.count("const peerConnection") == 1
    return step2.replace("const peerConnection", "window.peerConnection")


def runnable_signaling(server_ws_url, secret):
    """The post's step 3 with the three least changes that let it run: `async` on the two
    handlers that use await, a real server address, and the room's secret sent first (our
    server's join). Everything else is as written."""
    code = (ORIGINAL / "3-signaling.js").read_text()
    join = f"socket.send(JSON.stringify({{ type: 'join', secret: '{secret}' }}));"
    fixed = (code.replace("socket.onopen = () => {", f"socket.onopen = async () => {{ {join}")
                 .replace("socket.onmessage = (event) =>", "socket.onmessage = async (event) =>")
                 .replace("ws://signaling-server-url", server_ws_url))
    assert fixed.count("async") == 2 and server_ws_url in fixed and join in fixed
    return fixed


def test_await_in_a_handler_that_is_not_async_stops_the_whole_script(post_page):
    page, errors = post_page(*SNIPPETS)
    assert "SyntaxError: await is only valid in async functions and the top level bodies of modules" in errors
    # Nothing of step 3 ran: not even the socket was opened.
    assert page.evaluate("socketLog.sent.length + socketLog.received.length") == 0
    assert page.evaluate("typeof socket") == "undefined"


def test_stream_does_not_exist_where_step_2_uses_it(post_page):
    _, errors = post_page("1-get-user-media.js", "2-peer-connection.js")
    assert errors == ["ReferenceError: stream is not defined"]


def test_the_second_onicecandidate_replaces_the_first(post_page):
    page, errors = post_page(code=with_stream(step_2_in_view()))
    page.wait_for_function("window.peerConnection")
    assert errors == []
    handler = page.evaluate("peerConnection.onicecandidate.toString()")
    assert "원격 ICE candidate 처리" in handler  # the second one: "handle a remote candidate"
    assert "상대에게 전송" not in handler      # the first one, "send to the other side", is gone


def test_icecandidate_events_carry_only_this_sides_candidates(post_page):
    page, _ = post_page(code=with_stream(step_2_in_view()))
    page.wait_for_function("window.peerConnection")
    seen = page.evaluate("""async () => {
      const pc = peerConnection, found = [];
      const done = new Promise((resolve) => pc.addEventListener('icecandidate', ({ candidate }) => {
        if (candidate) found.push(candidate.candidate); else resolve();
      }));
      await pc.setLocalDescription(await pc.createOffer());
      await done;  // gathering complete: no other side exists at all
      return { found, local: pc.localDescription.sdp };
    }""")
    assert seen["found"], "no candidates were gathered"
    for candidate in seen["found"]:
        address, port = candidate.split()[4:6]
        assert f" {address} {port} typ " in seen["local"]  # each one is this page's own


def test_the_posts_call_never_connects_offer_too_early_and_no_callee(live_server, room, post_page):
    code = with_stream(step_2_in_view() + runnable_signaling(live_server.ws_url(room), secret_for(room)))
    first, first_errors = post_page(code=code)
    # The first tab's offer goes out as soon as its socket opens, into an empty room.
    first.wait_for_function("socketLog.sent.length === 2")
    second, second_errors = post_page(code=code)
    second.wait_for_function("socketLog.sent.length === 2")
    # The second tab's offer reaches the first tab, whose handler knows no "offer": once it
    # has finished with it, nothing was answered.
    first.wait_for_function("socketLog.handled.includes('offer')")
    assert [m["type"] for m in first.evaluate("socketLog.sent")] == ["join", "offer"]
    assert [m["type"] for m in second.evaluate("socketLog.received")] == ["welcome"]  # lost offer
    for page in (first, second):
        assert page.evaluate("peerConnection.signalingState") == "have-local-offer"
        assert page.evaluate("peerConnection.connectionState") == "new"
    assert first_errors == second_errors == []


def test_the_candidate_message_shape_is_undefined(post_page):
    page, _ = post_page()
    outcome = page.evaluate("""async () => {
      const pc = new RTCPeerConnection();
      pc.createDataChannel('any');
      const candidate = await new Promise((resolve) => {
        pc.onicecandidate = ({ candidate }) => candidate && resolve(candidate);
        pc.setLocalDescription();
      });
      // Sent as JSON.stringify(candidate): the receiver's `type === 'candidate'` never matches.
      const bare = JSON.parse(JSON.stringify(candidate));
      // Flat, {type: 'candidate', ...candidate.toJSON()}: works, the constructor ignores `type`.
      const flat = new RTCIceCandidate({ type: 'candidate', ...candidate.toJSON() }).candidate
        === candidate.candidate;
      // Wrapped as {type, candidate}: the post's `new RTCIceCandidate(signalingData)` throws.
      let wrapped;
      try {
        new RTCIceCandidate({ type: 'candidate', candidate: candidate.toJSON() });
        wrapped = 'accepted';
      } catch (error) {
        wrapped = `${error.name}: ${error.message}`;
      }
      return { bareType: bare.type ?? null, flat, wrapped };
    }""")
    assert outcome["bareType"] is None
    assert outcome["flat"] is True
    assert outcome["wrapped"] == ("TypeError: Failed to construct 'RTCIceCandidate': "
                                  "sdpMid and sdpMLineIndex are both null.")


CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.77 50000 typ host",
             "sdpMid": "0", "sdpMLineIndex": 0}


def test_a_candidate_before_the_remote_description_fails_and_peer_js_queues_it(post_page):
    page, _ = post_page()
    raw = page.evaluate("""async (candidate) => {
      try { await new RTCPeerConnection().addIceCandidate(candidate); return 'added'; }
      catch (error) { return `${error.name}: ${error.message}`; }
    }""", CANDIDATE)
    assert raw == ("InvalidStateError: Failed to execute 'addIceCandidate' on "
                   "'RTCPeerConnection': The remote description was null")
    # A candidate added while setRemoteDescription is still in flight waits for it: both go
    # through the connection's operations chain, in the order they were called.
    in_flight = page.evaluate("""async (candidate) => {
      const caller = new RTCPeerConnection();
      caller.createDataChannel('any');
      await caller.setLocalDescription();
      const callee = new RTCPeerConnection();
      const described = callee.setRemoteDescription(caller.localDescription);  // not awaited
      try { await callee.addIceCandidate(candidate); await described; return 'added'; }
      catch (error) { return `${error.name}: ${error.message}`; }
    }""", CANDIDATE)
    assert in_flight == "added"

    fixed = page.evaluate("""async (candidate) => {
      const { Peer } = await import('/static/js/peer.js');
      const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      const caller = new RTCPeerConnection();
      stream.getTracks().forEach((track) => caller.addTrack(track, stream));
      await caller.setLocalDescription();
      const problems = [];
      const callee = new Peer({ polite: true, localStream: stream, sendSignal: () => {},
                                onRemoteStream: () => {}, log: (text) => problems.push(text) });
      await callee.handleCandidate(candidate);        // too early: queued
      await callee.handleDescription(caller.localDescription);
      return { problems: problems.filter((text) => text.startsWith('could not')),
               applied: callee.pc.remoteDescription.sdp.includes('192.0.2.77 50000') };
    }""", CANDIDATE)
    assert fixed == {"problems": [], "applied": True}


def test_hang_up_stops_the_camera_and_tells_the_other(call):
    ana, ben = call
    ben.hang_up()
    assert ben.page.evaluate("""harness.peerConnections.length > 0 && harness.peerConnections.every(
        (pc) => pc.signalingState === 'closed'
          && pc.getSenders().every((sender) => !sender.track || sender.track.readyState === 'ended'))""")
    ana.expect_state("waiting")


def test_ws_from_an_https_page_is_blocked_as_mixed_content(https_server, new_context):
    # The person has clicked through the browser's warning about the self-signed certificate;
    # the post's page has no Content-Security-Policy (the app's would block the socket too).
    page = new_context(ignore_https_errors=True, bypass_csp=True).new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(https_server.url + "/")
    opening = (ORIGINAL / "3-signaling.js").read_text().splitlines()[0]
    assert opening == "const socket = new WebSocket('ws://signaling-server-url');"
    outcome = page.evaluate("""(opening) => {
      try { new Function(opening)(); return 'opened'; }
      catch (error) { return `${error.name}: ${error.message}`; }
    }""", opening)
    assert outcome == ("SecurityError: Failed to construct 'WebSocket': An insecure WebSocket "
                       "connection may not be initiated from a page loaded over HTTPS.")
    assert any(line.startswith("Mixed Content:") and "This request has been blocked" in line
               for line in console), console
    # Loopback is exempt, which is why the bug hides until the site is deployed.
    assert page.evaluate("new WebSocket('ws://127.0.0.1:9/').url") == "ws://127.0.0.1:9/"
    # The fix: the scheme follows the page's, so an https page signals over wss://.
    url = page.evaluate("""async () => (await import('/static/js/signaling.js')).signalingUrl('r')""")
    assert url == https_server.url.replace("https:", "wss:") + "/ws/r"


# The permission prompt is up: getUserMedia answers only when the person clicks Allow.
SLOW_PERMISSION = """
  const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) =>
    new Promise((resolve) => setTimeout(resolve, 1500)).then(() => ask(constraints));
"""


def test_the_posts_offer_can_have_no_media_sections(live_server, room, post_page):
    # The post's three steps as a learner fixes bugs 1 and 2: the tracks are added where the
    # stream exists, and the socket opens at once, as the post's step 3 does.
    step2 = step_2_in_view()
    tracks = "stream.getTracks().forEach(track => {\n  peerConnection.addTrack(track, stream);\n});\n"
    assert tracks in step2
    code = (step2.replace(tracks, "")
            + "navigator.mediaDevices.getUserMedia({ video: true, audio: true })"
            + f".then((stream) => {{ window.stream = stream; {tracks} }});\n"
            + runnable_signaling(live_server.ws_url(room), secret_for(room)))
    page, errors = post_page(code=code, init=SLOW_PERMISSION)
    page.wait_for_function("socketLog.sent.length === 2")
    offer = page.evaluate("socketLog.sent[1]")
    assert offer["type"] == "offer" and "\nm=" not in offer["sdp"]  # nothing to send or receive
    # Allowed: the tracks arrive, after the offer was sent; nothing offers them again.
    page.wait_for_function("window.stream")
    assert page.evaluate("peerConnection.getSenders().length") == 2
    assert "\nm=" not in page.evaluate("peerConnection.localDescription.sdp")
    assert errors == []
