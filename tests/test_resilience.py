"""Bad input and floods: every bad frame is answered, and no call drops."""

import json
import logging
import random

import pytest
import websocket

from firewall import candidate_ports, needs_iptables, ports_blocked
from harness import SignalingClient

# Every malformed frame we know of, and the error code the server must answer it with;
# none of these closes the socket.
MALFORMED = [
    ("not json at all", "bad-json"),
    ("", "bad-json"),
    ('{"type": "offer", "sdp": "v=0"', "bad-json"),
    ("[" * 50_000, "bad-json"),  # deeper than Python's recursion limit
    ('["offer"]', "bad-message"),
    ('"offer"', "bad-message"),
    ("42", "bad-message"),
    ("null", "bad-message"),
    ("{}", "bad-message"),
    ('{"type": 7}', "bad-message"),
    ('{"type": ["offer"]}', "bad-message"),
    ('{"type": "offer"}', "bad-message"),
    ('{"type": "answer", "sdp": 5}', "bad-message"),
    ('{"type": "answer", "sdp": {"v": 0}}', "bad-message"),
    ('{"type": "candidate"}', "bad-message"),
    ('{"type": "candidate", "candidate": 7}', "bad-message"),
    ('{"type": "candidate", "candidate": "a=candidate"}', "bad-message"),
    ('{"type": "candidate", "candidate": {"sdpMid": "0"}}', "bad-message"),
    ('{"type": "candidate", "candidate": {"candidate": "x", "sdpMLineIndex": "0"}}', "bad-message"),
    ('{"type": "candidate", "candidate": {"candidate": "", "sdpMLineIndex": -1}}', "bad-message"),
    ('{"type": "candidate", "candidate": {"candidate": "", "sdpMLineIndex": true}}', "bad-message"),
    ('{"type": "candidate", "candidate": {"candidate": "x", "sdpMid": 0}}', "bad-message"),
    (b"\x00binary", "bad-message"),
    (b"\x89PNG binary", "bad-message"),
    ('{"type": "dance"}', "unknown-type"),
    (json.dumps({"type": "hello", "padding": "x" * 60_000}), "unknown-type"),
    ('{"type": "welcome"}', "unknown-type"),
    ('{"type": "welcome", "peers": 0}', "unknown-type"),
    ('{"type": "peer-left"}', "unknown-type"),
]
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
FRAMES_PER_SOCKET = 200  # the default burst: one socket may send this many at once
SOCKETS = 50


def send(client, frame):
    if isinstance(frame, bytes):
        client.ws.send_binary(frame)
    else:
        client.send(frame)


@pytest.mark.parametrize("frame, code", MALFORMED,
                         ids=[f"{number}-{code}" for number, (_, code) in enumerate(MALFORMED)])
def test_a_bad_frame_gets_an_error_and_the_call_goes_on(live_server, room, frame, code):
    first = SignalingClient(live_server.ws_url(room))
    first.expect("welcome")
    second = SignalingClient(live_server.ws_url(room))
    second.expect("welcome")
    first.expect("peer-joined")
    send(second, frame)
    second.expect_error(code)
    second.send(OFFER)  # the socket is still open, and still relays
    assert first.receive() == OFFER
    for client in (first, second):
        client.close()


def test_ten_thousand_malformed_frames_during_a_call(call, live_server, room, caplog):
    ana, ben = call
    rng = random.Random(2026)
    answered = {}
    for number in range(SOCKETS):
        fuzzer = SignalingClient(live_server.ws_url(f"{room}-fuzz-{number}"))
        fuzzer.expect("welcome")
        frames = [rng.choice(MALFORMED) for _ in range(FRAMES_PER_SOCKET)]
        for frame, _ in frames:
            send(fuzzer, frame)
        for _, code in frames:
            fuzzer.expect_error(code)
            answered[code] = answered.get(code, 0) + 1
        fuzzer.close()
    print(f"malformed frames sent: {SOCKETS * FRAMES_PER_SOCKET} of {len(MALFORMED)} kinds; "
          f"answered: {answered}")
    assert sum(answered.values()) == SOCKETS * FRAMES_PER_SOCKET >= 10_000
    for someone in (ana, ben):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "the server logged errors"


def test_frames_that_close_the_socket_leave_the_call_up(call, live_server, room):
    ana, ben = call
    closing = [
        (json.dumps({"type": "offer", "sdp": "x" * 70_000}), "too-large", 1009),
        (json.dumps({"type": "offer", "sdp": "x" * 1_000_000}), None, 1009),  # past the hard cap
    ]
    for number, (frame, code, close_code) in enumerate(closing):
        fuzzer = SignalingClient(live_server.ws_url(f"{room}-closing-{number}"))
        fuzzer.expect("welcome")
        fuzzer.send(frame)
        if code:
            fuzzer.expect_error(code)
        assert fuzzer.expect_closed() == close_code
    invalid_utf8 = SignalingClient(live_server.ws_url(f"{room}-utf8"))
    invalid_utf8.expect("welcome")
    invalid_utf8.ws.send(b'{"type": "offer", "sdp": "\xff\xfe"}', opcode=websocket.ABNF.OPCODE_TEXT)
    assert invalid_utf8.expect_closed() == 1007  # RFC 6455: invalid UTF-8 fails the connection
    for someone in (ana, ben):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)


@needs_iptables
def test_ice_restart_recovers_a_failed_connection(call):
    ana, ben = call
    ports = candidate_ports(ana, ben)
    with ports_blocked(ports):
        # Chromium gives up on the cut paths after about 15 s of silence ("failed"); the
        # impolite side then restarts ICE, and the new candidates use new ports, which are
        # not blocked. The other side may be repaired by that restart before its own
        # "failed" comes: "disconnected" then "connected" is a recovery too.
        for someone in (ana, ben):
            someone.page.wait_for_function(
                """() => {
                     const states = harness.currentPeerConnection().connectionStates;
                     const lost = states.findIndex((s) => s === 'disconnected' || s === 'failed');
                     return lost >= 0 && states.slice(lost).includes('connected');
                   }""", timeout=60_000)
            someone.expect_state("connected")
    states = [someone.page.evaluate("harness.currentPeerConnection().connectionStates")
              for someone in (ana, ben)]
    assert any("failed" in each for each in states), states  # what started the restart
    for someone in (ana, ben):
        someone.wait_for_remote_frames(30)
        someone.wait_for_sound()
        assert someone.page.evaluate("harness.peerConnections.length") == 1, "restarted, not replaced"
        assert ("udp", someone.selected_candidate_pair()["localPort"]) not in ports  # a new path
