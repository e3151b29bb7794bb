"""The wire protocol, spoken by a real WebSocket client to a live server (no browser)."""

import json
import re

import pytest
import websocket

from harness import SLACK_S, SignalingClient as Client, join_at_once

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
CANDIDATE = {"type": "candidate", "candidate": {
    "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
    "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"}}


@pytest.fixture
def connect(live_server):
    clients = []

    def connect_to(room):
        client = Client(live_server.ws_url(room))
        clients.append(client)
        return client

    yield connect_to
    for client in clients:
        client.close()


@pytest.fixture
def pair(connect, room):
    """Two people in a room, welcomes and peer-joined already read."""
    first = connect(room)
    first.expect("welcome")
    second = connect(room)
    second.expect("welcome")
    first.expect("peer-joined")
    return first, second


def test_first_person_is_welcomed_alone_and_polite(connect, room):
    welcome = connect(room).receive()
    assert len(welcome.pop("echoToken")) >= 20  # theirs alone, to ask for the echo peer
    assert welcome == {"type": "welcome", "room": room, "peers": 0, "polite": True, "iceServers": [],
                       "iceTransportPolicy": "all"}


def test_second_person_is_welcomed_impolite_and_the_first_is_told(connect, room):
    first = connect(room)
    first.expect("welcome")
    second = connect(room)
    welcome = second.receive()
    welcome.pop("echoToken")
    assert welcome == {"type": "welcome", "room": room, "peers": 1, "polite": False,
                       "iceServers": [], "iceTransportPolicy": "all"}
    assert first.receive() == {"type": "peer-joined"}


def test_messages_reach_the_other_unchanged_and_never_echo(pair):
    first, second = pair
    offer_text = json.dumps(OFFER, indent=1)  # odd formatting must survive the relay
    second.send(offer_text)
    assert first.ws.recv() == offer_text
    first.send({"type": "answer", "sdp": "v=0\r\n"})
    first.send(CANDIDATE)
    first.send({"type": "candidate", "candidate": None})
    assert second.receive()["type"] == "answer"  # not its own offer: nothing was echoed
    assert second.receive() == CANDIDATE
    assert second.receive() == {"type": "candidate", "candidate": None}
    second.send(CANDIDATE)
    assert first.receive() == CANDIDATE  # and first got no echo of its own three


def test_the_one_who_stays_is_told_when_the_other_leaves(pair, connect, room):
    first, second = pair
    second.close()
    assert first.receive() == {"type": "peer-left"}
    newcomer = connect(room)
    assert newcomer.expect("welcome")["peers"] == 1
    first.expect("peer-joined")


def test_a_third_person_is_turned_away_and_the_call_goes_on(pair, connect, room):
    first, second = pair
    third = connect(room)
    third.expect_error("room-full")
    third.expect_closed()
    second.send(OFFER)
    assert first.receive() == OFFER


def test_a_bad_room_name_is_refused(connect):
    client = connect("no.dots-allowed")
    client.expect_error("bad-room")
    client.expect_closed()
    client = connect("x" * 65)
    client.expect_error("bad-room")


def test_a_too_large_message_gets_an_error_then_a_close(pair, connect, room):
    first, second = pair
    second.send({"type": "offer", "sdp": "x" * 70_000})
    second.expect_error("too-large")
    assert second.expect_closed() == 1009
    assert first.receive() == {"type": "peer-left"}


def test_an_sdp_sized_message_is_fine(pair):
    first, second = pair
    offer = {"type": "offer", "sdp": "a" * 60_000}  # 60 KB, under the 64 KiB limit
    second.send(offer)
    assert first.receive() == offer


@pytest.mark.parametrize("registry", ["memory", "redis"])
def test_three_simultaneous_joins_admit_exactly_two(registry, request, room):
    """Whichever keeps the rooms: this process's memory, or Redis shared by two processes
    (the third person then comes through one process or the other)."""
    if registry == "memory":
        one = two = request.getfixturevalue("live_server")
    else:
        one, two = request.getfixturevalue("scaled_out")
    for round_ in range(50):
        third = (one, two)[round_ % 2]
        urls = [server.ws_url(f"{room}-{round_}") for server in (one, two, third)]
        clients, answers = join_at_once(urls)
        assert sorted(answers) == ["room-full", "welcome", "welcome"], f"round {round_}: {answers}"
        for client in clients:
            client.close()


def test_a_burst_of_candidates_is_relayed_whole(pair):
    first, second = pair
    for _ in range(150):  # far more than a real call gathers at once
        second.send(CANDIDATE)
    for _ in range(150):
        assert first.receive() == CANDIDATE


def test_a_flooding_client_is_closed_and_the_other_stays(start_server, room):
    server = start_server({"MESSAGE_BURST": 20, "MESSAGE_RATE": 0.001})  # no refill while it floods
    first = Client(server.ws_url(room))
    first.expect("welcome")  # joined (the handshake alone does not say who joins first)
    flooder = Client(server.ws_url(room))
    flooder.expect("welcome")
    first.expect("peer-joined")
    for _ in range(40):
        flooder.send(CANDIDATE)
    flooder.expect_error("rate-limited")  # the first message it gets back: 20 passed
    assert flooder.expect_closed() == 1008
    received = [first.receive() for _ in range(21)]
    assert received == [CANDIDATE] * 20 + [{"type": "peer-left"}]
    newcomer = Client(server.ws_url(room))  # the room is usable again
    assert newcomer.expect("welcome")["peers"] == 1
    for client in (first, flooder, newcomer):
        client.close()


def test_the_server_refuses_people_and_rooms_past_its_limits(start_server, room):
    server = start_server({"MAX_PEOPLE": 3, "MAX_ROOMS": 2})
    one, two = Client(server.ws_url(room)), Client(server.ws_url(room))
    three = Client(server.ws_url(room + "-b"))
    for client in (one, two, three):
        client.expect("welcome")
    fourth = Client(server.ws_url(room + "-b"))
    fourth.expect_error("server-full")
    assert fourth.expect_closed() == 1013
    three.close()
    other_room = Client(server.ws_url(room + "-c"))  # a slot and a room were freed
    other_room.expect("welcome")
    one.close()  # `room` still has `two`: two rooms are open, room and -c
    past_rooms = Client(server.ws_url(room + "-d"))
    past_rooms.expect_error("server-full")
    for client in (two, other_room, past_rooms, fourth):
        client.close()


def test_a_vanished_peer_is_noticed_by_ping_and_reported(start_server, room):
    interval = 1
    server = start_server({"PING_INTERVAL": interval})
    stayer = Client(server.ws_url(room))
    stayer.expect("welcome")
    # websocket-client answers pings only inside recv(): a client that never reads is a
    # peer whose network vanished (no close frame, no FIN). It answers no ping from the start.
    vanished = Client(server.ws_url(room))
    stayer.expect("peer-joined")
    # Only the ping can tell: the vanished socket stays open, so without it nothing comes.
    stayer.ws.settimeout(2 * interval + SLACK_S)
    assert stayer.receive() == {"type": "peer-left"}
    newcomer = Client(server.ws_url(room))  # its slot is free again
    assert newcomer.expect("welcome")["peers"] == 1
    for client in (vanished, stayer, newcomer):
        client.close()


def test_a_foreign_origin_is_refused_before_the_upgrade(live_server, room):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(live_server.ws_url(room), origin="https://evil.example")
    assert refused.value.status_code == 403
    same_site = live_server.url
    client = Client(live_server.ws_url(room), origin=same_site)
    assert client.receive()["type"] == "welcome"
    client.close()


def test_configured_origins_may_connect(start_server, room):
    server = start_server({"ALLOWED_ORIGINS": ["https://friend.example"]})
    client = Client(server.ws_url(room), origin="https://friend.example")
    assert client.receive()["type"] == "welcome"
    client.close()


def test_ice_servers_come_from_the_environment(monkeypatch, start_server, room):
    servers = [{"urls": "stun:stun.example.org:3478"}]
    monkeypatch.setenv("FLASK_ICE_SERVERS", json.dumps(servers))
    server = start_server({})
    client = Client(server.ws_url(room))
    assert client.receive()["iceServers"] == servers
    client.close()


def test_the_lobby_starts_a_call_or_goes_to_a_named_room(client):
    page = client.get("/")
    assert page.status_code == 200
    assert b'name="room"' in page.data and b'href="/new"' in page.data
    response = client.get("/join", query_string={"room": "quiet-otter-42"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/room/quiet-otter-42"
    names = {client.get("/new").headers["Location"] for _ in range(50)}
    assert len(names) == 50 and all(re.fullmatch(r"/room/[a-z]+-[a-z]+-[a-z2-7]{8}", n) for n in names)


def test_bad_room_names_get_a_clear_page(client):
    response = client.get("/join", query_string={"room": "a room with spaces"})
    assert response.status_code == 400
    assert b"1 to 64 letters" in response.data
    assert client.get("/room/bad.name").status_code == 404
    assert client.get("/room/quiet-otter-42").status_code == 200
