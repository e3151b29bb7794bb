"""Rooms shared through a real Redis by two app processes (redis_rooms.py): two people on
different processes call each other, and a crashed process or a lost Redis costs no call."""

import time
import urllib.request

import redis
import websocket
from playwright.sync_api import expect

from harness import REJOIN_MS, SLACK_S, SignalingClient as Client, an_offer, start_call

OFFER = {"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 1200}  # ~6 KB, an SDP's size


def meet_across(first_server, second_server, room):
    """The first person waits in `room` on one process, then the second joins on the other;
    their welcomes and peer-joined are read."""
    first = Client(first_server.ws_url(room))
    first.expect("welcome")
    second = Client(second_server.ws_url(room))
    assert second.expect("welcome")["peers"] == 1
    first.expect("peer-joined")
    return first, second


def test_without_redis_two_processes_keep_apart_rooms_of_the_same_name(server_process, room):
    one, two = server_process(), server_process()  # each with its rooms in its own memory
    first, second = Client(one.ws_url(room)), Client(two.ws_url(room))
    assert first.expect("welcome")["peers"] == second.expect("welcome")["peers"] == 0
    for client in (first, second):  # both wait for each other, for ever
        client.close()


def test_a_call_across_two_processes(scaled_out, person, room):
    one, two = scaled_out
    ana, ben = start_call(person("ana", one.url), person("ben", two.url), room)
    for someone in (ana, ben):
        someone.wait_for_sound()
    ben.hang_up()
    ana.expect_state("waiting")  # peer-left crossed from process two to process one
    cara = person("cara", two.url).join(room)
    for someone in (ana, cara):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)


def test_messages_cross_processes_whole_and_in_order(scaled_out, room):
    one, two = scaled_out
    first, second = meet_across(one, two, room)
    count = 150  # under MESSAGE_BURST: a flood would be cut off
    for i in range(count):
        first.send({**OFFER, "i": i})
    received = [second.receive() for _ in range(count)]
    assert [message["i"] for message in received] == list(range(count))
    assert all(message["sdp"] == OFFER["sdp"] for message in received)
    second.send(OFFER)
    assert first.receive() == OFFER  # and first got no echo of its own
    print(f"{count} offers of {len(OFFER['sdp'])} bytes crossed processes, in order, none lost")
    for client in (first, second):
        client.close()


def test_a_person_who_stops_reading_holds_up_nobody_else(scaled_out, room):
    one, two = scaled_out
    sender, stalled = meet_across(one, two, room)  # stalled reads nothing more
    ana, ben = meet_across(one, two, room + "-b")
    big = {"type": "offer", "sdp": "a" * 60_000}
    # 200 ms per round: 300 KB/s, under what a socket may send (8 of the largest a second).
    sender.ws.settimeout(0.2)
    started = time.monotonic()
    for sent in range(1, 301):  # until process two cuts off the one who stopped reading
        sender.send(big)
        ana.send({**OFFER, "i": sent})
        assert ben.receive()["i"] == sent  # the other call's messages never wait
        try:
            if sender.receive() == {"type": "peer-left"}:
                break
        except websocket.WebSocketTimeoutException:
            pass
    else:
        raise AssertionError("300 messages of 60 KB, and the one who stopped reading is still there")
    print(f"the one who stopped reading was cut off after {sent} messages of 60 KB, "
          f"{time.monotonic() - started:.1f} s")
    for client in (sender, stalled, ana, ben):
        client.close()


def test_a_killed_process_is_reported_and_its_slot_freed(scale_out, room):
    lease = 1  # short, to wait less; the other tests keep the default, which suits a busy machine
    one, two = scale_out(lease_seconds=lease)
    stayer, doomed = meet_across(one, two, room)
    two.kill()  # doomed's process: no close frame, no leave; only its lease in Redis tells
    stayer.ws.settimeout(lease * 4 / 3 + SLACK_S)  # the stated delay, on a busy machine
    assert stayer.receive() == {"type": "peer-left"}
    newcomer = Client(one.ws_url(room))
    assert newcomer.expect("welcome")["peers"] == 1
    stayer.expect("peer-joined")
    for client in (stayer, doomed, newcomer):
        client.close()


def test_the_echo_peer_answers_someone_waiting_on_another_process(scaled_out, room):
    one, two = scaled_out
    waiting = Client(two.ws_url(room))
    token = waiting.expect("welcome")["echoToken"]
    request = urllib.request.Request(f"{one.url}/room/{room}/echo", method="POST",
                                     data=f'{{"token": "{token}"}}'.encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 202
    waiting.expect("peer-joined")  # process one's echo peer, in process two's room
    waiting.send({"type": "offer", "sdp": an_offer()})  # the one waiting offers
    assert waiting.expect("answer")["sdp"].startswith("v=0")
    waiting.close()


def test_a_redis_outage_refuses_joins_clearly_and_calls_go_on(scale_out, redis_server, person, room):
    one, two = scale_out()
    ana, ben = start_call(person("ana", one.url), person("ben", two.url), room)
    redis_server.stop()
    newcomer = Client(one.ws_url(room + "-new"))
    newcomer.expect_error("unavailable")
    assert newcomer.expect_closed() == 1013  # try again later
    for someone in (ana, ben):
        someone.expect_state("reconnecting")
        expect(someone.status).to_contain_text("Your call goes on")
        someone.wait_for_remote_frames(30)  # media never went through the server
    for server in (one, two):
        with urllib.request.urlopen(server.url) as response:  # neither process crashed
            assert response.status == 200
    redis_server.start()  # empty: every room was lost with it
    for someone in (ana, ben):
        someone.expect_state("connected", timeout=REJOIN_MS)  # rejoined, the same call
    for someone in (ana, ben):
        someone.wait_for_remote_frames(30)
        assert someone.page.evaluate("harness.peerConnections.length") == 1, "call torn down"
    first, second = meet_across(one, two, room + "-after")
    for client in (newcomer, first, second):
        client.close()


def test_a_lost_subscription_sends_both_to_rejoin_and_the_call_goes_on(
        scale_out, redis_server, person, room):
    one, two = scale_out()
    ana, ben = start_call(person("ana", one.url), person("ben", two.url), room)
    # Redis stays up and keeps the rooms; only the processes' pub/sub connections drop,
    # as a proxy or a NAT between them might do. What was published meanwhile is lost.
    assert redis.Redis.from_url(redis_server.url).client_kill_filter(_type="pubsub") == 2
    lost_at = time.monotonic()
    for someone in (ana, ben):
        someone.expect_state("reconnecting")
    for someone in (ana, ben):
        someone.expect_state("connected")
    print(f"both pages rejoined {time.monotonic() - lost_at:.2f} s after the subscriptions dropped")
    for someone in (ana, ben):
        someone.wait_for_remote_frames(30)
        assert someone.page.evaluate("harness.peerConnections.length") == 1, "call torn down"
    ben.hang_up()
    ana.expect_state("waiting")  # peer-left flows again
