"""peer.py's GroupPeer in a group room (group-spec.md): a call with every other member,
frames and sound counted per member, so that a test can ask what came from whom."""

import signal
import subprocess
import sys
from types import SimpleNamespace

import pytest

from harness import GroupPerson, secret_for, wait_until
from peer import GroupPeer, PeerError, PeerThread
from servers import ROOT

# A picture size per peer, small (12 encoders run at once with four peers on a 2-core
# machine), and different, so that what arrives from a member shows it is theirs.
PICTURES = [(160, 120), (192, 144), (224, 168), (256, 192)]


def in_room(thread):
    """Wait until the peer is welcomed into its group room (it then has its id)."""
    assert thread.peer.joined.wait(20), f"the peer did not join {thread.peer.room}: {thread.error}"
    return thread


def media_from(thread, member, video_frames=30, loud_audio_frames=10):
    """Until `thread`'s peer has received moving pictures and sound from the member whose
    id is `member`."""
    peer = thread.peer
    wait_until(lambda: peer.received_from(member).video_frames >= video_frames
               and peer.received_from(member).loud_audio_frames >= loud_audio_frames,
               f"{peer.id} to get {video_frames} video frames and {loud_audio_frames} loud audio "
               f"frames from {member} (have {peer.received_from(member)}; error {thread.error})")
    return peer.received_from(member)


def group_of(group_peer, room, count):
    """`count` peers who join `room` one after another, each with its own picture size."""
    return [in_room(group_peer(room, picture=PICTURES[number])) for number in range(count)]


def test_three_python_peers_each_see_and_hear_both_others(group_peer, room):
    peers = group_of(group_peer, room, 3)
    for thread in peers:
        others = [other for other in peers if other is not thread]
        wait_until(lambda: set(thread.peer.members) == {other.peer.id for other in others},
                   f"{thread.peer.id} to have a call with each of the others")
        for other in others:
            assert media_from(thread, other.peer.id).size == other.peer.picture


@pytest.fixture
def group_person(new_context):
    """group_person("ana"): someone on the group call page in a browser of their own; an
    uncaught exception or console error in their page fails the test."""
    people = []

    def make(name):
        people.append(GroupPerson(new_context(bypass_csp=True), name))  # see conftest's person
        return people[-1]

    yield make
    for someone in people:
        assert not someone.errors, f"{someone.name}'s page logged errors: {someone.errors}"


def test_a_browser_and_two_python_peers_see_and_hear_each_other(group_person, group_peer, room):
    ana = group_person("ana").join_group(room)
    ana.expect_state("waiting")
    peers = group_of(group_peer, room, 2)
    # What GroupPerson asks of the others: their id, and a name for its messages.
    others = [SimpleNamespace(id=thread.peer.id, name=f"peer {thread.peer.id}") for thread in peers]
    ana.expect_people(3)
    ana.expect_tiles(others)
    ana.sees_and_hears(others)
    for thread, other in zip(peers, others):
        ana.page.wait_for_function(  # each tile shows that peer's own picture size
            "([selector, size]) => harness.videoSize(selector).join() === size.join()",
            arg=[ana.video_of(other), list(thread.peer.picture)])
        # (Not the camera's size: a loaded Chromium sends two streams smaller at first.)
        media_from(thread, ana.id)


def test_when_one_leaves_the_other_two_go_on_without_a_new_call(group_peer, room):
    first, second, third = group_of(group_peer, room, 3)
    for thread, other in ((second, third), (third, second)):
        media_from(thread, first.peer.id)
        media_from(thread, other.peer.id)
    calls = second.peer.calls[third.peer.id], third.peer.calls[second.peer.id]
    first.stop()
    assert first.error is None
    for thread, other in ((second, third), (third, second)):
        wait_until(lambda: thread.peer.members == [other.peer.id], "the one who left to go")
        before = thread.peer.received_from(other.peer.id)
        media_from(thread, other.peer.id, before.video_frames + 30, before.loud_audio_frames + 10)
    assert (second.peer.calls[third.peer.id], third.peer.calls[second.peer.id]) == calls


def test_a_fifth_peer_finds_the_group_full(group_peer, live_server, room):
    first, *_ = group_of(group_peer, room, 4)
    wait_until(lambda: len(first.peer.members) == 3, "the first to call the three others")
    fifth = PeerThread(GroupPeer(room, live_server.url, secret=secret_for(room)))
    fifth.thread.join(20)
    assert isinstance(fifth.error, PeerError) and fifth.error.code == "room-full", fifth.error
    assert fifth.peer.id is None and len(first.peer.members) == 3


def test_a_group_link_on_the_command_line_joins_and_leaves_cleanly(group_peer, live_server, room):
    stayer = in_room(group_peer(room))
    process = subprocess.Popen(
        [sys.executable, "peer.py", f"{live_server.url}/group/{room}#{secret_for(room)}"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: len(stayer.peer.members) == 1, "the command line's peer to join")
        member = stayer.peer.members[0]
        wait_until(lambda: stayer.peer.received_from(member).loud_audio_frames >= 10
                   and stayer.peer.received_from(member).video_frames >= 30, "its pattern and tone")
        process.send_signal(signal.SIGINT)
        _, log = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, log
    wait_until(lambda: stayer.peer.members == [], "the stayer to hear peer-left")
    assert f"joined group {room} as " in log and "Traceback" not in log


def test_the_command_line_refuses_one_to_one_options_for_a_group():
    result = subprocess.run([sys.executable, "peer.py", "http://127.0.0.1:9/group/fine#x", "--echo"],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "are for 1:1 rooms" in result.stderr
