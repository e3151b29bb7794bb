"""Private calls: a room's link is its secret. Whoever brings it goes straight in; anyone
else knocks, and gets nothing from the room until the person waiting lets them in.
The protocol tests run against both registries: memory, and Redis with the two people on
two processes."""

import logging
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import websocket
from playwright.sync_api import expect

from harness import SignalingClient as Client, http, room_path, secret_for, wait_until

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
CANDIDATE = {"type": "candidate", "candidate": {
    "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
    "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"}}
STRANGER = "a-secret-of-someone-else-00"


@pytest.fixture(params=["memory", "redis"])
def servers(request, live_server):
    """Where the first and the second person connect: one process keeping its rooms in
    memory, or two processes sharing them through Redis."""
    if request.param == "memory":
        return live_server, live_server
    return request.getfixturevalue("scaled_out")


@pytest.fixture
def clients():
    opened = []

    def connect(server, room, secret=""):
        opened.append(Client(server.ws_url(room), secret))
        return opened[-1]

    yield connect
    for client in opened:
        client.close()


@pytest.fixture
def waiting_and_knocking(servers, clients, room):
    """Ana waits in `room` (on the first process); Ben, without its secret, knocks (on the
    second); each has read what they were told."""
    ana = clients(servers[0], room)
    assert ana.expect("welcome")["peers"] == 0
    ben = clients(servers[1], room, STRANGER)
    ben.expect("knocking")
    ana.expect("knock")
    return ana, ben


def test_with_the_secret_two_people_meet_unasked(servers, clients, room):
    ana = clients(servers[0], room)
    ana.expect("welcome")
    ben = clients(servers[1], room)
    welcome = ben.expect("welcome")
    assert welcome["peers"] == 1 and "secret" not in welcome  # Ben brought it
    ana.expect("peer-joined")


def test_nothing_of_the_room_reaches_a_knocker_until_admitted(waiting_and_knocking):
    ana, ben = waiting_and_knocking
    ana.send(OFFER)  # what a page that made its offer early would send: it must not pass
    ana.send(CANDIDATE)
    ben.send(OFFER)  # nor the knocker's own
    ben.send({"type": "nonsense"})
    ben.expect_error("unknown-type")  # so his offer was handled (dropped) before the admit
    ana.send({"type": "admit"})
    # Events keep their order, so had the offer passed it would come before the welcome.
    welcome = ben.expect("welcome")
    assert welcome["peers"] == 1 and welcome["secret"] == secret_for(welcome["room"])
    ana.expect("peer-joined")  # and not Ben's offer
    ana.send(OFFER)
    assert ben.receive() == OFFER
    ben.send({"type": "answer", "sdp": "v=0\r\n"})
    assert ana.receive() == {"type": "answer", "sdp": "v=0\r\n"}


def test_a_declined_knocker_is_told_and_closed_and_the_room_stays(servers, clients, room,
                                                                  waiting_and_knocking):
    ana, ben = waiting_and_knocking
    ana.send({"type": "decline"})
    ben.expect_error("declined")
    assert ben.expect_closed() == 1008
    cara = clients(servers[1], room, "yet-another-secret-0000000")  # may knock in turn
    cara.expect("knocking")
    ana.expect("knock")
    dan = clients(servers[1], room)  # the link still works, and beats Cara's knock
    assert dan.expect("welcome")["peers"] == 1
    cara.expect_error("room-full")
    assert [ana.receive()["type"] for _ in range(2)] == ["knock-ended", "peer-joined"]


def test_a_knocker_who_leaves_is_forgotten(servers, clients, room, waiting_and_knocking):
    ana, ben = waiting_and_knocking
    ben.close()
    ana.expect("knock-ended")
    ana.send({"type": "admit"})  # too late: nothing happens
    cara = clients(servers[1], room)
    assert cara.expect("welcome")["peers"] == 1
    ana.expect("peer-joined")


def test_one_knock_at_a_time(servers, clients, room, waiting_and_knocking):
    cara = clients(servers[1], room, "yet-another-secret-0000000")
    cara.expect_error("room-full")


def test_a_knocker_whose_host_leaves_is_told(waiting_and_knocking):
    ana, ben = waiting_and_knocking
    ana.close()
    ben.expect_error("nobody-there")


def test_a_secret_opens_its_own_room_only(servers, clients, room):
    clients(servers[0], f"{room}-a").expect("welcome")  # its secret: secret_for(room-a)
    clients(servers[0], f"{room}-b").expect("welcome")
    ana_b = clients(servers[1], f"{room}-b", secret_for(f"{room}-a"))
    ana_b.expect("knocking")


def test_an_admitted_knocker_rejoins_with_the_secret_given(servers, clients, room, waiting_and_knocking):
    ana, ben = waiting_and_knocking
    ana.send({"type": "admit"})
    secret = ben.expect("welcome")["secret"]
    ana.expect("peer-joined")
    ben.close()
    ana.expect("peer-left")
    again = clients(servers[1], room, secret)
    assert again.expect("welcome")["peers"] == 1


def test_a_join_must_come_first_and_carry_a_real_secret(start_server, room):
    server = start_server({"JOIN_SECONDS": 0.5})
    silent = Client(server.ws_url(room), secret=None)
    silent.expect_error("too-slow")
    assert silent.expect_closed() == 1008
    weak = Client(server.ws_url(room), secret="1234")  # too short to be unguessable
    weak.expect_error("bad-join")
    offer_first = Client(server.ws_url(room), secret=None)
    offer_first.send(OFFER)
    offer_first.expect_error("bad-join")


def test_no_secret_reaches_a_log_line_or_a_turn_username(start_server, turn_server, caplog, room):
    caplog.set_level(logging.DEBUG)
    server = start_server(turn_server.config())
    ana = Client(server.ws_url(room))
    welcome = ana.expect("welcome")
    ben = Client(server.ws_url(room), STRANGER)
    ben.expect("knocking")
    ana.expect("knock")
    ana.send({"type": "admit"})
    secret = ben.expect("welcome")["secret"]
    for client in (ana, ben):
        client.close()
    wait_until(lambda: any("left" in r.getMessage() for r in caplog.records), "the leaves to be logged")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert room in logged  # the log does speak of the room
    assert secret not in logged and STRANGER not in logged
    username = welcome["iceServers"][-1]["username"]
    assert re.fullmatch(r"\d+:[0-9a-f]{16}", username), username  # expiry:random, no room


def test_the_log_cannot_be_forged_through_a_room_name(live_server, caplog):
    caplog.set_level(logging.INFO)
    forged = "x%0a2026-01-01%2000:00:00,000%20signaling%20%5Bother-room%231%5D%20joined"
    client = Client(live_server.ws_url(forged), secret=None)
    client.expect_error("bad-room")
    lines = [record.getMessage() for record in caplog.records if record.name == "signaling"]
    assert not any("\n" in line or "other-room" in line for line in lines), lines


# What a person sees.

@pytest.fixture(params=["memory", "redis"])
def page_servers(request):
    """Where Ana's and Ben's pages come from: the session's server, or two processes
    sharing the rooms through Redis."""
    if request.param == "memory":
        return "", ""
    return tuple(server.url for server in request.getfixturevalue("scaled_out"))


def test_a_page_without_the_secret_knocks_and_is_let_in(person, room, page_servers):
    ana, ben = person("ana", page_servers[0]), person("ben", page_servers[1])
    ana.join(room)
    ana.expect_state("waiting")
    received = []  # every frame that reaches Ben's page
    ben.page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: received.append(payload)))
    ben.join(room, secret=None)  # typed the name
    ben.expect_state("knocking")
    expect(ana.page.get_by_role("alertdialog")).to_contain_text("asks to join")
    # While he knocks, nothing but "knocking" reaches him, and no picture either way.
    assert [frame for frame in received] == ['{"type": "knocking"}']
    for someone in (ana, ben):
        assert someone.page.evaluate("harness.presentedFrames('#remote-video')") == 0
    ana.click("Admit")
    expect(ana.page.get_by_role("alertdialog")).to_be_hidden()
    for someone in (ana, ben):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
        someone.wait_for_sound()
    # Ben's address bar now holds the room's link: his Copy link invites straight in.
    assert ben.page.url.endswith(room_path(room))


def test_a_declined_page_says_so_and_the_room_is_free_for_the_link(person, room):
    ana, ben, cara = person("ana"), person("ben"), person("cara")
    ana.join(room)
    ana.expect_state("waiting")
    ben.join(room, secret=None)
    ben.expect_state("knocking")
    ana.click("Decline")
    ben.expect_state("declined")
    expect(ben.status).to_contain_text("did not let you in")
    cara.join(room)
    for someone in (ana, cara):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(10)


def test_a_python_peer_without_the_link_knocks_and_says_so(person, python_peer, room, caplog):
    caplog.set_level(logging.INFO, logger="peer")
    ana = person("ana").join(room)
    ana.expect_state("waiting")
    knocker = python_peer(room, secret=None)
    wait_until(knocker.peer.knocking.is_set, "the Python peer to knock")
    assert any("waiting for them to let us in" in r.getMessage() for r in caplog.records)
    ana.click("Admit")
    ana.expect_state("connected")
    ana.wait_for_remote_frames(30)


def test_a_python_peer_takes_the_rooms_link(person, live_server, room):
    from peer import PythonPeer
    peer = PythonPeer.from_link(f"{live_server.url}{room_path(room)}")
    assert (peer.server, peer.room, peer.secret) == (live_server.url, room, secret_for(room))
    bare = PythonPeer.from_link(room, server=live_server.url)
    assert bare.room == room and not bare.has_link


# A scanner.

def test_a_scanner_finds_none_of_the_lobbys_rooms_and_learns_nothing(start_server):
    from app import ADJECTIVES, ANIMALS, random_room_name
    server = start_server({})  # the test config: no limit per address, to scan it all
    in_use = [random_room_name() for _ in range(2)]  # as Start a call makes them
    waiting = Client(server.ws_url(in_use[0]))
    waiting.expect("welcome")
    full = [Client(server.ws_url(in_use[1])) for _ in range(2)]
    guesses = [f"{a}-{b}-{n}" for a in ADJECTIVES for b in ANIMALS for n in range(100)]
    assert len(guesses) == 6400

    def ask_echo(name):
        answer = http("POST", f"{server.url}/room/{name}/echo", {"token": "0" * 64})
        return answer.status_code, answer.body

    def probe(name):
        scanner = Client(server.ws_url(name), STRANGER)
        try:
            return scanner.receive()
        finally:
            scanner.close()

    with ThreadPoolExecutor(8) as pool:
        # Even knowing the names of the rooms in use, a wrong token learns nothing.
        answers = set(pool.map(ask_echo, guesses + in_use))
        assert answers == {(403, b'{"error":"Only the person waiting in this room may call the echo peer."}\n')}
        found = [message for message in pool.map(probe, guesses)
                 if message != {**message, "type": "welcome", "peers": 0}]
    assert found == []  # every guess is an empty room: none of those in use
    print(f"{len(guesses)} guessed names, by echo request and by WebSocket: none of the "
          f"{len(in_use)} rooms in use found; every echo answer the same")
    for client in (waiting, *full):
        client.close()


def test_guessing_is_slow(start_server, room):
    server = start_server({"JOINS_PER_MINUTE": 30})  # the default
    for n in range(30):
        Client(server.ws_url(f"{room}-{n}"), STRANGER).close()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        Client(server.ws_url(f"{room}-31"), STRANGER)
    assert refused.value.status_code == 429
    echo = http("POST", f"{server.url}/room/{room}/echo", {"token": "0" * 64})
    assert echo.status_code == 429 and echo.json()["error"] == "rate-limited"


def test_an_echo_token_from_an_earlier_visit_is_worthless(live_server, room):
    earlier = Client(live_server.ws_url(room), "the-first-visitors-secret-0")
    kept = earlier.expect("welcome")["echoToken"]
    earlier.close()
    wait_until(lambda: live_server.app.extensions["rooms"].waiting_secret(room) is None, "the room to empty")
    now = Client(live_server.ws_url(room), "someone-elses-secret-now-00")
    now.expect("welcome")
    stale = http("POST", f"{live_server.url}/room/{room}/echo", {"token": kept})
    assert stale.status_code == 403  # no echo peer walks in on someone else
    now.close()
