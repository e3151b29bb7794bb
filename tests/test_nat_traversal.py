"""STUN/TURN for real: time-limited TURN credentials, relay-only calls through a real
coturn (browsers and the Python peer), refused credentials said, and calls over HTTPS."""

import base64
import hashlib
import hmac
import time

import pytest
from playwright.sync_api import expect

from harness import SignalingClient, start_call, wait_until
from ice import turn_credentials

TWO_HOURS = 7200


def test_turn_credentials_follow_coturns_rest_api_scheme():
    username, password = turn_credentials("secret", "room#7", TWO_HOURS, now=1_800_000_000)
    assert username == "1800007200:room#7"
    expected = hmac.new(b"secret", username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(password) == expected


def test_each_person_gets_credentials_of_their_own_and_never_the_secret(start_server, turn_server, room):
    server = start_server(turn_server.config(TURN_CREDENTIAL_SECONDS=TWO_HOURS))
    first = SignalingClient(server.ws_url(room)).receive()
    second = SignalingClient(server.ws_url(room)).receive()
    assert first["iceTransportPolicy"] == "relay"
    (turn,), (other_turn,) = first["iceServers"], second["iceServers"]
    assert turn["urls"] == [turn_server.url]
    assert turn["username"] != other_turn["username"]
    expiry = int(turn["username"].split(":")[0])
    assert abs(expiry - (time.time() + TWO_HOURS)) < 60
    assert turn_server.SECRET not in repr(first) + repr(second)


def test_a_relay_only_call_goes_through_coturn(start_server, turn_server, meet):
    server = start_server(turn_server.config())
    for someone in meet(server.url):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
        someone.wait_for_sound()
        pair = someone.selected_candidate_pair()
        assert pair["local"] == "relay" and pair["remote"] == "relay", pair


@pytest.mark.parametrize("settings", [
    {"secret": "not-the-secret"},
    {"TURN_CREDENTIAL_SECONDS": -60},  # expired a minute ago
], ids=["wrong-secret", "expired"])
def test_refused_turn_credentials_are_said(start_server, turn_server, person, room, settings):
    server = start_server(turn_server.config(**settings))
    ana = person("ana", server.url).join(room)
    ana.expect_state("error")  # while still alone: her offer is made, and its relay refused
    ben = person("ben", server.url).join(room)
    for someone in (ana, ben):  # Ben's arrival does not hide it from Ana
        someone.expect_state("error")
        expect(someone.status).to_contain_text("refused this call's credentials (401")
        someone.forgive_errors("401")


def test_the_python_peer_uses_the_same_relay(start_server, turn_server, person, python_peer, room):
    server = start_server(turn_server.config())
    ana = person("ana", server.url).join(room)
    ana.expect_state("waiting")
    peer = python_peer(room, server=server.url)
    ana.expect_state("connected")
    ana.wait_for_remote_frames(30)
    assert ana.selected_candidate_pair()["remote"] == "relay"
    wait_until(lambda: peer.peer.received.video_frames >= 30, "frames at the Python peer")
    # Its latest description: its answer to the browser's offer.
    sdp = peer.peer.call.pc.localDescription.sdp
    assert " typ relay" in sdp and " typ host" not in sdp


def test_a_page_over_https_signals_over_wss(https_server, person, room):
    server = https_server
    assert server.url.startswith("https://")
    # Each person has clicked through the browser's warning about a self-signed certificate.
    ana, ben = (person(name, server.url, ignore_https_errors=True) for name in ("ana", "ben"))
    sockets = []
    ana.page.on("websocket", lambda socket: sockets.append(socket.url))
    start_call(ana, ben, room)
    assert sockets == [f"wss://127.0.0.1:{server.port}/ws/{room}"]
