"""Group rooms on the wire (protocol.py, "Group rooms"): ids, messages addressed with "to",
admission of at most GROUP_SIZE, spoken by real WebSocket clients to live servers. Each test
runs against both registries: this process's memory, and Redis shared by two processes
(people then alternate between the two)."""

import json

import pytest

from harness import SignalingClient as Client, join_at_once

GROUP_SIZE = 4  # the default
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}


@pytest.fixture(params=["memory", "redis"])
def servers(request):
    if request.param == "memory":
        one = request.getfixturevalue("live_server")
        return one, one
    return request.getfixturevalue("scaled_out")


@pytest.fixture
def connect(servers):
    """connect(room) opens a socket to the group room `room`, on the servers in turn."""
    clients = []

    def connect_to(room, secret=""):
        server = servers[len(clients) % 2]
        clients.append(Client(server.ws_url(f"group/{room}"), secret))
        return clients[-1]

    yield connect_to
    for client in clients:
        client.close()


@pytest.fixture
def three(connect, room):
    """Ana, Ben and Cara in a group room, in that order; returns them and their ids, with
    every welcome and peer-joined read."""
    people, ids = [], []
    for _ in range(3):
        person = connect(room)
        ids.append(person.expect("welcome")["id"])
        for earlier in people:
            assert earlier.expect("peer-joined") == {"type": "peer-joined", "id": ids[-1]}
        people.append(person)
    return people, ids


def test_a_welcome_gives_your_id_and_who_is_there(connect, room):
    ana = connect(room)
    welcome = ana.receive()
    ana_id = welcome.pop("id")
    assert len(ana_id) == 8
    assert welcome == {"type": "welcome", "room": room, "members": [], "size": GROUP_SIZE,
                       "iceServers": [], "iceTransportPolicy": "all"}
    ben = connect(room)
    ben_welcome = ben.expect("welcome")
    assert ben_welcome["members"] == [ana_id] and ben_welcome["id"] != ana_id
    assert ana.receive() == {"type": "peer-joined", "id": ben_welcome["id"]}


def test_a_message_reaches_only_the_one_it_is_for_saying_whom_from(three):
    (ana, ben, cara), (ana_id, ben_id, cara_id) = three
    ana.send({**OFFER, "to": ben_id})
    ana.send({**OFFER, "sdp": "for cara", "to": cara_id})
    assert ben.receive() == {"type": "offer", "from": ana_id, "sdp": OFFER["sdp"]}
    # Cara's first message is hers: Ben's offer never reached her.
    assert cara.receive() == {"type": "offer", "from": ana_id, "sdp": "for cara"}
    cara.send({"type": "candidate", "candidate": None, "to": ana_id, "from": ben_id})  # a lie
    assert ana.receive() == {"type": "candidate", "from": cara_id, "candidate": None}


def test_a_message_for_nobody_gets_an_error_and_the_socket_stays(three):
    (ana, ben, _), (_, ben_id, _) = three
    ana.send({**OFFER, "to": "0123abcd"})
    assert "0123abcd" in ana.expect_error("bad-message")["message"]
    for to in (None, "", "everyone", 7):  # a group room's messages must say whom they are for
        ana.send({**OFFER, "to": to})
        assert '"to"' in ana.expect_error("bad-message")["message"], to
    ana.send({**OFFER, "to": ben_id})
    assert ben.expect("offer")["sdp"] == OFFER["sdp"]


def test_only_what_a_message_must_hold_is_passed_on_and_no_larger(three):
    (ana, ben, _), (ana_id, ben_id, _) = three
    sdp = "v=0 " + "😀" * 1000
    ana.send('{"type": "offer", "to": "%s", "sdp": "%s", "id": "zz", "peers": 9}' % (ben_id, sdp))
    frame = ben.ws.recv()
    assert json.loads(frame) == {"type": "offer", "sdp": sdp, "from": ana_id}
    assert len(frame.encode()) < len(sdp.encode()) + 60
    ana.send('{"type": "candidate", "to": "%s", "candidate": NaN}' % ben_id)  # not JSON
    ana.expect_error("bad-json")


def test_the_others_are_told_who_left_and_go_on(three):
    (ana, ben, cara), (ana_id, ben_id, cara_id) = three
    ben.close()
    for stayer in (ana, cara):
        assert stayer.receive() == {"type": "peer-left", "id": ben_id}
    ana.send({**OFFER, "to": cara_id})
    assert cara.expect("offer")["from"] == ana_id
    ana.send({**OFFER, "to": ben_id})
    ana.expect_error("bad-message")


def test_past_the_group_size_the_next_person_is_turned_away(three, connect, room):
    people, _ = three
    dan = connect(room)
    dan_id = dan.expect("welcome")["id"]
    for member in people:
        member.expect("peer-joined")
    eve = connect(room)
    assert "4 people" in eve.expect_error("room-full")["message"]
    assert eve.expect_closed() == 1008
    dan.close()
    for member in people:  # the next they hear is of Dan: nothing of Eve
        assert member.receive() == {"type": "peer-left", "id": dan_id}


def test_a_group_room_is_apart_from_the_call_of_the_same_name(servers, connect, room):
    pair = [Client(servers[0].ws_url(room)), Client(servers[1].ws_url(room))]
    for person in pair:
        person.expect("welcome")
    group_first = connect(room)
    assert group_first.expect("welcome")["members"] == []
    for person in pair:
        person.close()


def test_any_member_answers_a_knock_and_the_others_hear_it_ended(three, connect, room):
    (ana, ben, cara), ids = three
    dan = connect(room, secret="someone-without-the-link-00")
    dan.expect("knocking")
    for member in (ana, ben, cara):
        member.expect("knock")
    ben.send({"type": "admit"})  # not the first one there
    welcome = dan.expect("welcome")
    assert sorted(welcome["members"]) == sorted(ids)
    assert welcome["secret"]  # to rejoin by itself
    for member in (ana, cara):
        member.expect("knock-ended")
    for member in (ana, ben, cara):
        assert member.expect("peer-joined")["id"] == welcome["id"]


def test_five_joining_at_once_admit_exactly_four_in_one_order(servers, room):
    """However five joins interleave, four get in, and they agree on one order: each one's
    welcome lists exactly those who came before (whom it is polite toward)."""
    for round_ in range(30):
        urls = [servers[i % 2].ws_url(f"group/{room}-{round_}") for i in range(GROUP_SIZE + 1)]
        clients, answers = join_at_once(urls)
        assert sorted(answers) == ["room-full"] + ["welcome"] * GROUP_SIZE, f"round {round_}: {answers}"
        welcomes = sorted((client.first for client in clients if client.first["type"] == "welcome"),
                          key=lambda welcome: len(welcome["members"]))
        for place, welcome in enumerate(welcomes):
            assert sorted(welcome["members"]) == sorted(earlier["id"] for earlier in welcomes[:place]), \
                f"round {round_}: {welcomes}"
        for client in clients:
            client.close()
