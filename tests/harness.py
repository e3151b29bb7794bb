"""A person in a browser tab, for tests: join a room, then check what they see and hear;
and a bare signaling client, for tests of the protocol.

Everything is measured in the page (harness.js) from what the browser really renders
and receives; nothing in the app is mocked or asked to cooperate.
"""

import asyncio
import base64
import hashlib
import json
import re
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import websocket
from aiortc import RTCPeerConnection
from playwright.sync_api import TimeoutError, expect

HARNESS_JS = Path(__file__).with_name("harness.js")
TIMEOUT_MS = 20_000
# Sound, in getStats' totalAudioEnergy (the sum of level² × seconds): more than this. A
# muted sender's "silence" still carries one bit of noise (level 3e-5, 1e-9 a second); the
# fake beep or tone at a level of 0.1 brings 0.01 a second.
SOUND_ENERGY = 1e-6
# The one bound on time the tests allow themselves: a delay the app promises (a ping
# interval, a lease, a retry) may run this much longer on a loaded 2-core machine, with
# browsers and servers running beside the test. Past it, the mechanism is broken.
SLACK_S = 3
# A page that lost its signaling socket tries again at most 2 s apart (signaling.js).
REJOIN_MS = (2 + SLACK_S) * 1000


def wait_until(condition, what, timeout=TIMEOUT_MS / 1000):
    """Wait for state outside any page (a Python peer's, say) by asking every 20 ms."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.02)


def meet(first, second, room):
    """`first` waits alone in `room`, then `second` joins there."""
    first.join(room)
    first.expect_state("waiting")
    second.join(room)
    return first, second


def start_call(first, second, room, frames=30):
    """meet(), then until both are connected and see `frames` of the other."""
    for someone in meet(first, second, room):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(frames)
    return first, second


def secret_for(room):
    """The secret the people of a test share for `room` (as if one had sent the other its
    link): made from the name, so that every test's rooms have different ones."""
    digest = hashlib.sha256(f"test secret of {room}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:22]


def room_path(room, secret=""):
    """The path of `room`'s page, as its link gives it to the people invited; secret=None
    leaves the secret out (a typed name: the page makes one, and knocks where someone is)."""
    if secret is None:
        return f"/room/{room}"
    return f"/room/{room}#{secret or secret_for(room)}"


class Person:
    def __init__(self, context, name, server_url=""):
        """server_url "" means the context's base_url."""
        self.name = name
        self.server_url = server_url
        self.context = context
        context.add_init_script(path=HARNESS_JS)
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.errors = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught {error}"))

    def _on_console(self, message):
        # The page's console goes to the test output: pytest shows it when a test fails.
        print(f"[{self.name}] {message.text}")
        if message.type == "error":
            self.errors.append(message.text)

    def forgive_errors(self, text):
        """Drop the console errors that contain `text` (expected in this test); return how many."""
        expected = [error for error in self.errors if text in error]
        self.errors = [error for error in self.errors if text not in error]
        return len(expected)

    # What a person does.

    def open_room(self, room, secret=""):
        """Open `room`'s link (secret=None: its bare name, as if typed)."""
        self.page.goto(f"{self.server_url}{room_path(room, secret)}")
        return self

    def join(self, room=None, secret=""):
        if room is not None:
            self.open_room(room, secret)
        self.click("Join")
        return self

    def click(self, button_name):
        self.page.get_by_role("button", name=button_name, exact=True).click()

    def hang_up(self):
        self.click("Hang up")

    # What a person sees and hears.

    @property
    def status(self):
        return self.page.locator("#status")

    def expect_state(self, state, timeout=TIMEOUT_MS):
        expect(self.status).to_have_attribute("data-state", state, timeout=timeout)

    def wait_for_remote_frames(self, count=30):
        """Wait until `count` more frames of the other person are on screen."""
        self.wait_for_frames("#remote-video", count)

    def wait_for_frames(self, video, count=30):
        """Wait until the <video> matching the selector `video` presents `count` more frames."""
        start = self.page.evaluate("selector => harness.presentedFrames(selector)", video)
        try:
            self.page.wait_for_function(
                "([selector, target]) => harness.presentedFrames(selector) >= target",
                arg=[video, start + count])
        except TimeoutError as timeout:
            raise AssertionError(f"{self.name}: fewer than {count} new frames in {video}; "
                                 f"{self.diagnosis(video)}") from timeout

    def diagnosis(self, video="#remote-video"):
        """What the call looks like from here (the connection `video` shows), for a failure message."""
        return self.page.evaluate("selector => harness.diagnosis(selector)", video)

    def longest_frame_gap(self):
        """The longest wait (ms) between two remote frames since the last call."""
        return self.page.evaluate("harness.longestFrameGap('#remote-video')")

    def camera_size(self):
        """The width and height this person's camera captures."""
        return self.page.evaluate("harness.cameraSize()")

    def remote_video_size(self):
        return self.page.evaluate("harness.videoSize('#remote-video')")

    def wait_for_remote_video_size(self, size):
        """WebRTC starts small and scales up as bandwidth estimates grow: wait for `size`."""
        self.page.wait_for_function(
            "(size) => harness.videoSize('#remote-video').join() === size.join()", arg=size)

    def remote_brightness(self):
        return self.page.evaluate("harness.brightness('#remote-video')")

    def wait_for_remote_brightness(self, condition):
        """Wait until the remote picture's mean brightness (0-255) meets `condition`, e.g. '< 10'."""
        self.page.wait_for_function(f"() => harness.brightness('#remote-video') {condition}")

    def inbound(self, kind):
        return self.page.evaluate("kind => harness.inboundStats(kind)", kind)

    def wait_for_check(self, check, arg=None, what="a check", timeout=TIMEOUT_MS):
        """Wait until the page code `check`, which may be async, gives a truthy value.
        Playwright's wait_for_function takes the Promise of an async function for a truthy
        value and returns at once, so checks that await (getStats) are asked from here,
        one at a time, every 20 ms."""
        deadline = time.monotonic() + timeout / 1000
        while not self.page.evaluate(check, arg):
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: waited {timeout} ms for {what}")
            time.sleep(0.02)

    def wait_for_sound(self):
        """Wait until more audio bytes arrive and they carry sound (the fake beep or tone)."""
        start = self.inbound("audio")
        self.wait_for_check("([start, least]) => harness.soundSince(start, least)",
                            [start, SOUND_ENERGY], "sound from the other side")

    def wait_for_silence(self, packets=100):
        """Wait until `packets` audio packets in a row (2 s of Opus) arrive with no sound."""
        self.page.evaluate("harness.startSilenceCount()")
        self.wait_for_check(
            "([packets, least]) => harness.silentPackets(least).then((count) => count >= packets)",
            [packets, SOUND_ENERGY], f"{packets} audio packets in a row with no sound")

    def selected_candidate_pair(self):
        return self.page.evaluate("harness.selectedCandidatePair()")


class SignalingClient:
    """A program speaking the wire protocol over a real WebSocket (websocket-client). It
    joins with `secret` (by default the test's secret for the room in `url`; None: send
    nothing, the test speaks first)."""

    def __init__(self, url, secret="", **options):
        self.ws = websocket.create_connection(url, timeout=10, **options)
        if secret is not None:
            room = url.rsplit("/", 1)[-1]
            self.send({"type": "join", "secret": secret or secret_for(room)})

    def send(self, message):
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def receive(self):
        return json.loads(self.ws.recv())

    def expect(self, message_type):
        message = self.receive()
        assert message["type"] == message_type, message
        return message

    def expect_error(self, code):
        message = self.expect("error")
        assert message["code"] == code, message
        assert len(message["message"]) > 10, "the message is meant for a person"
        return message

    def expect_closed(self):
        opcode, frame = self.ws.recv_data_frame()
        assert opcode == websocket.ABNF.OPCODE_CLOSE, (opcode, frame)
        return int.from_bytes(frame.data[:2], "big")

    def close(self):
        self.ws.close()


class Answer:
    def __init__(self, status, body):
        self.status_code = status
        self.body = body

    def json(self):
        return json.loads(self.body)


def http(method, url, body=None, headers=None):
    """A plain HTTP request (urllib): its status and body, errors included."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read())


def an_offer():
    """A real SDP offer, aiortc's, for a SignalingClient to send. It is made on a thread of
    its own: the test may run inside Playwright's event loop."""
    async def make():
        pc = RTCPeerConnection()
        for kind in ("audio", "video"):
            pc.addTransceiver(kind)
        await pc.setLocalDescription(await pc.createOffer())
        await pc.close()
        return pc.localDescription.sdp
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(make())).result()


def join_at_once(urls):
    """Open a signaling socket to each of `urls` at the same instant; return the clients
    (each with the message it was told `first`) and what that was: "welcome", or the code
    of the error."""
    start = threading.Barrier(len(urls))
    clients = [None] * len(urls)
    answers = [None] * len(urls)

    def join(i):
        start.wait()
        clients[i] = SignalingClient(urls[i])
        first = clients[i].first = clients[i].receive()
        answers[i] = first.get("code", first["type"])

    threads = [threading.Thread(target=join, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return clients, answers


def group_path(room, secret=""):
    """The path of group room `room`'s page, as its link gives it (secret=None: typed)."""
    if secret is None:
        return f"/group/{room}"
    return f"/group/{room}#{secret or secret_for(room)}"


class GroupPerson(Person):
    """A person on the group call page: a tile for each other member (data-peer-id), each
    with a connection of its own, measured one by one."""

    def open_group(self, room, secret=""):
        self.page.goto(f"{self.server_url}{group_path(room, secret)}")
        return self

    def join_group(self, room, secret=""):
        self.open_group(room, secret)
        self.click("Join")
        return self

    def leave(self):
        self.click("Leave")

    @property
    def id(self):
        """The id the room knows this person by, as their own tile's caption shows it."""
        expect(self.page.locator("#local-name")).to_have_text(re.compile(r"[0-9a-f]{8}"))
        return re.search(r"[0-9a-f]{8}", self.page.locator("#local-name").inner_text())[0]

    @staticmethod
    def video_of(other):
        return f'[data-peer-id="{other.id}"] video'

    def tiles(self):
        """The ids on the tiles of the others, in the order shown."""
        return self.page.locator("[data-peer-id]").evaluate_all(
            "tiles => tiles.map((tile) => tile.dataset.peerId)")

    def expect_tiles(self, others):
        expect(self.page.locator("[data-peer-id]")).to_have_count(len(others))
        assert sorted(self.tiles()) == sorted(other.id for other in others)

    def expect_people(self, count):
        """Connected to everyone, and the status line says how many are in the call."""
        self.expect_state("connected")
        expect(self.status).to_contain_text(str(count))

    def wait_for_frames_from(self, other, count=30):
        self.page.locator(self.video_of(other)).wait_for()
        self.wait_for_frames(self.video_of(other), count)

    def wait_for_sound_from(self, other):
        video = self.video_of(other)
        start = self.page.evaluate("selector => harness.inboundStats('audio', selector)", video)
        self.wait_for_check("([start, least, selector]) => harness.soundSince(start, least, selector)",
                            [start, SOUND_ENERGY, video], f"sound from {other.name}")

    def wait_for_silence_from(self, other, packets=100):
        video = self.video_of(other)
        self.page.evaluate("selector => harness.startSilenceCount(selector)", video)
        self.wait_for_check(
            "([packets, least, selector]) => harness.silentPackets(least, selector).then((n) => n >= packets)",
            [packets, SOUND_ENERGY, video], f"{packets} silent audio packets from {other.name}")

    def sees_and_hears(self, others, frames=30):
        """Frames and sound from each of `others`, each on its own tile and connection."""
        for other in others:
            self.wait_for_frames_from(other, frames)
            self.wait_for_sound_from(other)
