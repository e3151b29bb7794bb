"""A Python peer: joins a room of the call app exactly as a browser does, with aiortc.

    python peer.py 'http://host:5000/room/NAME#SECRET'   # the room's link: goes straight in
    python peer.py NAME --server http://host:5000        # no secret: knocks if someone is there
    python peer.py LINK --echo                           # sends back what the other person sends
    python peer.py LINK --play film.mp4 --record call.mp4
    python peer.py NAME --admit                          # lets in whoever knocks
    python peer.py 'http://host:5000/group/NAME#SECRET'  # a group room: a call with everyone
    python peer.py NAME --group --server http://host:5000

Without --play or --echo it sends a moving test pattern and a 440 Hz tone. The link can
also come from the environment (PEER_LINK), where other users cannot read it.

It speaks the wire protocol of protocol.py (README.md). Two things differ from the
browser's peer.js, both because of aiortc: setLocalDescription waits until every local
candidate is gathered and writes them into the SDP, so this peer never trickles its own
candidates (it only adds the browser's); and it never renegotiates on its own, so the
only collision to handle is an offer that crosses its first one.

In a group room (group-spec.md) it is a GroupPeer: one Call, one RTCPeerConnection, with
each other member, all sent the same test pattern and tone (or file).
"""

import argparse
import asyncio
import ipaddress
import json
import logging
import os
import secrets
import signal
import ssl
import sys
import threading
from array import array
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from aiortc import (MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCIceTransportPolicy,
                    RTCPeerConnection, RTCSessionDescription)
from aiortc.contrib.media import MediaPlayer, MediaRecorder, MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, InvalidHandshake, InvalidURI

from protocol import CLOSING_ERRORS

# ffmpeg's lavfi makes the picture and the sound: no file needed, and it plays in real time.
# Its size differs from Chromium's fake camera (640x480), so that a test can tell whose
# picture came back from an echo.
PATTERN_SIZE = (480, 360)


def pattern(width, height):
    return f"testsrc2=size={width}x{height}:rate=30[out0];sine=frequency=440:sample_rate=48000[out1]"

# An audio frame whose loudest sample passes this (of full scale) is not silence.
LOUD = 0.01
REPORT_SECONDS = 5

log = logging.getLogger("peer")


class PeerError(Exception):
    """Why the peer had to give up: `code` is the server's error code, or "no-server"."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


@dataclass
class Received:
    """What came from the other person in the current call: for logs and for tests."""
    video_frames: int = 0
    width: int = 0
    height: int = 0
    audio_frames: int = 0
    loud_audio_frames: int = 0

    @property
    def size(self):
        return self.width, self.height

    def __str__(self):
        return (f"{self.video_frames} video frames ({self.width}x{self.height}), "
                f"{self.audio_frames} audio frames ({self.loud_audio_frames} not silent)")


def peak_level(frame):
    """The loudest sample of a signed 16-bit audio frame, from 0 to 1."""
    samples = array("h", bytes(frame.planes[0]))[: frame.samples * len(frame.layout.channels)]
    return max(map(abs, samples), default=0) / 32768


def parse_link(link, server="http://127.0.0.1:5000"):
    """'http://host:5000/room/NAME#SECRET' -> (server, NAME, SECRET); a bare NAME -> (server,
    NAME, None): no secret, so the peer knocks where someone is."""
    parts = urlsplit(link)
    if not parts.scheme:
        return server, link, None
    room = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return f"{parts.scheme}://{parts.netloc}", room, parts.fragment or None


def is_group_link(link):
    """Whether `link` is a group room's: http://host:5000/group/NAME#SECRET."""
    return urlsplit(link).path.rstrip("/").split("/")[-2:-1] == ["group"]


def websocket_url(server, room, group=False):
    """http://host:5000 -> ws://host:5000/ws/ROOM, or /ws/group/ROOM (https -> wss)."""
    return f"{server.rstrip('/').replace('http', 'ws', 1)}/ws/{'group/' if group else ''}{room}"


def ice_configuration(welcome):
    """The browser's iceServers and iceTransportPolicy, from `welcome`, in aiortc's classes."""
    return RTCConfiguration(
        iceServers=[RTCIceServer(**{key: server[key] for key in server
                                    if key in ("urls", "username", "credential")})
                    for server in welcome["iceServers"]],
        iceTransportPolicy=RTCIceTransportPolicy(welcome.get("iceTransportPolicy", "all")))


def parse_candidate(fields):
    """The browser's RTCIceCandidate.toJSON() as aiortc's RTCIceCandidate; None (or an
    empty candidate string) means the browser has no more candidates."""
    if not fields or not fields.get("candidate"):
        return None
    candidate = candidate_from_sdp(fields["candidate"].removeprefix("candidate:"))
    candidate.sdpMid = fields.get("sdpMid")
    candidate.sdpMLineIndex = fields.get("sdpMLineIndex")
    return candidate


def is_public_enough(address):
    """Whether an echo peer may send ICE checks to `address`: not this machine's loopback,
    nor link-local, multicast or unspecified addresses, where a caller's SDP could aim the
    server's own packets. (mDNS .local names and LAN addresses stay: calls on a LAN.)"""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True  # a name, like an mDNS .local one
    return not (ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified)


def without_unsafe_candidates(sdp):
    """`sdp` without the a=candidate lines an echo peer must not check (is_public_enough)."""
    return "".join(line for line in sdp.splitlines(keepends=True)
                   if not line.startswith("a=candidate:")
                   or is_public_enough(candidate_from_sdp(line[len("a=candidate:"):].strip()).ip))


class Echo(MediaStreamTrack):
    """Sends back the other person's track of the same kind, once it arrives. It exists
    from the start so that it is in the offer even when this peer offers first. A picture
    larger than `max_picture` (width, height) is scaled down before it is encoded again."""

    def __init__(self, kind, max_picture=None):
        super().__init__()
        self.kind = kind
        self.max_picture = max_picture
        self.source = asyncio.get_running_loop().create_future()

    async def recv(self):
        source = await self.source
        frame = await source.recv()
        if self.kind == "video" and self.max_picture:
            width, height = self.max_picture
            scale = min(width / frame.width, height / frame.height)
            if scale < 1:
                resized = frame.reformat(width=int(frame.width * scale) // 2 * 2,
                                         height=int(frame.height * scale) // 2 * 2)
                resized.pts, resized.time_base = frame.pts, frame.time_base
                return resized
        return frame


class Call:
    """One RTCPeerConnection with one other person: what it sends, receives and records.

    name: the other person's, for the logs (a group peer has a Call with each)."""

    def __init__(self, configuration, send, play, record, max_picture=None, picture=PATTERN_SIZE,
                 name=None, report_seconds=REPORT_SECONDS):
        self.log = logging.getLogger(f"peer.{name}") if name else log
        self.pc = RTCPeerConnection(configuration)
        self.relay = MediaRelay()  # one incoming track may feed the counter, echo and recorder
        self.received = Received()
        self.pending_candidates = []
        self.tasks = set()
        self.player = None
        self.echoes = {}
        self.recorder = MediaRecorder(record) if record else None
        self.max_picture = max_picture
        self.picture = picture
        self.report_seconds = report_seconds
        self.add_outgoing_tracks(send, play)
        self.pc.on("track", self.handle_track)
        self.pc.on("connectionstatechange", self.handle_connection_state)

    def add_outgoing_tracks(self, send, play):
        if send == "echo":
            self.echoes = {kind: Echo(kind, self.max_picture) for kind in ("audio", "video")}
            tracks = self.echoes.values()
        else:
            self.player = (MediaPlayer(play, loop=True) if send == "play"
                           else MediaPlayer(pattern(*self.picture), format="lavfi"))
            tracks = [self.player.audio, self.player.video]
        for track in tracks:
            if track:  # a file may have no audio or no video
                self.pc.addTrack(track)

    def handle_track(self, track):
        self.log.info("receiving %s", track.kind)
        self.start(self.count(self.relay.subscribe(track, buffered=False)))
        if track.kind in self.echoes:
            self.echoes[track.kind].source.set_result(self.relay.subscribe(track, buffered=False))
        if self.recorder:
            self.recorder.addTrack(self.relay.subscribe(track))

    async def handle_connection_state(self):
        state = self.pc.connectionState
        self.log.info("connection %s", state)
        if state == "connected":
            if self.recorder:
                await self.recorder.start()
            self.start(self.report())
        elif state == "failed":
            await self.pc.close()  # aiortc cannot restart ICE: the next offer starts anew

    def start(self, coroutine):
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def count(self, track):
        received = self.received
        try:
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    received.video_frames += 1
                    received.width, received.height = frame.width, frame.height
                else:
                    received.audio_frames += 1
                    received.loud_audio_frames += peak_level(frame) > LOUD
        except MediaStreamError:
            pass  # the call ended

    async def report(self):
        while True:
            await asyncio.sleep(self.report_seconds)
            self.log.info("received so far: %s", self.received)

    async def make_offer(self):
        # aiortc returns from setLocalDescription once gathering is complete: the
        # offer already holds every candidate.
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription

    async def accept(self, description):
        """Take the other side's offer or answer; return our answer to an offer."""
        if self.echoes:
            description = RTCSessionDescription(without_unsafe_candidates(description.sdp), description.type)
        await self.pc.setRemoteDescription(description)
        for candidate in self.pending_candidates:
            await self.pc.addIceCandidate(candidate)
        self.pending_candidates.clear()
        if description.type == "offer":
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            return self.pc.localDescription

    async def add_candidate(self, fields):
        candidate = parse_candidate(fields)
        if self.echoes and candidate and not is_public_enough(candidate.ip):
            self.log.info("ignored a candidate at %s: an echo peer checks no such address", candidate.ip)
            return
        # aiortc drops candidates that come before the remote description: keep them.
        if self.pc.remoteDescription is None:
            self.pending_candidates.append(candidate)
        else:
            await self.pc.addIceCandidate(candidate)

    async def close(self):
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.recorder:
            await self.recorder.stop()
        await self.pc.close()
        for track in (self.player.audio, self.player.video) if self.player else ():
            if track:
                track.stop()
        self.log.info("call ended; received %s", self.received)


class RoomPeer:
    """What every Python peer does with the signaling server: connect, join with the room's
    secret, let in whoever knocks (with admit) or log it, and stay until stopped or for
    `lifetime` seconds. Its subclasses make the calls: PythonPeer in a 1:1 room, GroupPeer
    in a group room.

    secret: the room's, from its link (None: one of its own, so it knocks where someone is).
    verify_tls=False: wss:// to a self-signed server (our own)."""

    group = False
    report_seconds = REPORT_SECONDS  # how often each call logs what has arrived

    def __init__(self, room, server, secret, lifetime, verify_tls, admit):
        self.room = room
        self.server = server.rstrip("/")
        self.url = websocket_url(server, room, self.group)
        self.secret = secret or secrets.token_urlsafe(16)
        self.has_link = secret is not None
        self.lifetime = lifetime
        self.verify_tls = verify_tls
        self.admit = admit
        self.configuration = RTCConfiguration()
        self.socket = None
        self.closing = None
        self.stopping = False
        self.joined = threading.Event()  # set at the welcome: for code in other threads
        self.knocking = threading.Event()  # set while it waits to be let in

    @classmethod
    def from_link(cls, link, **options):
        server, room, secret = parse_link(link, options.pop("server", "http://127.0.0.1:5000"))
        return cls(room, server, secret=secret, **options)

    @property
    def link(self):
        """The room's link, which lets its holder straight in."""
        return f"{self.server}/{'group' if self.group else 'room'}/{self.room}#{self.secret}"

    async def run(self):
        try:
            self.socket = await connect(self.url, open_timeout=5, **self.tls_options())
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as error:
            raise PeerError("no-server", f"Cannot reach the signaling server at {self.url}: "
                            f"{str(error) or type(error).__name__}") from None
        try:
            try:
                await self.socket.send(json.dumps({"type": "join", "secret": self.secret}))
            except ConnectionClosedError:
                pass  # refused at once (a bad room name): the server's error is still to be read
            async with asyncio.timeout(self.lifetime):
                async for frame in self.socket:
                    if self.stopping or await self.handle(json.loads(frame)) == "leave":
                        break
        except TimeoutError:
            log.info("stayed %s s, the most allowed: leaving", self.lifetime)
        except ConnectionClosedError as error:
            raise PeerError("server-gone", f"The signaling server went away: {error}") from None
        finally:
            await self.leave()
            await self.socket.close()

    def tls_options(self):
        """No options (websockets verifies the certificate), or, with verify_tls=False, a
        TLS context that takes a self-signed one: the app's own, as its echo peer."""
        if not self.url.startswith("wss:") or self.verify_tls:
            return {}
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return {"ssl": context}

    def stop(self):
        """Leave the room (the others get peer-left). Call it on the peer's loop."""
        self.stopping = True
        if self.socket:
            self.closing = asyncio.ensure_future(self.socket.close())

    async def handle(self, message):
        raise NotImplementedError

    async def leave(self):
        """End every call: the peer is leaving the room."""
        raise NotImplementedError

    def welcomed(self, message):
        """What every welcome brings: let in, maybe with the room's secret; the ICE servers."""
        self.knocking.clear()
        if "secret" in message:  # let in by a knock: now we hold the link
            self.secret = message["secret"]
        self.configuration = ice_configuration(message)
        self.joined.set()

    async def handle_knock(self):
        if self.admit:
            log.info("someone knocks: letting them in")
            await self.socket.send(json.dumps({"type": "admit"}))
        else:
            log.info("someone without the link knocks (start with --admit to let them in)")

    def handle_server_error(self, message):
        if message["code"] in CLOSING_ERRORS and message["code"] != "unavailable":
            raise PeerError(message["code"], message["message"])
        log.warning("the server says %s: %s", message["code"], message["message"])


class PythonPeer(RoomPeer):
    """A person who joins a 1:1 ROOM and takes every call that comes, until stopped.

    send: "pattern", "echo" or "play" (the file `play`); record: a file for what arrives.
    stay=False leaves when the other person does; lifetime caps the visit in seconds;
    offer_seconds: leave if, let in second, no offer comes within that many seconds.
    admit: let in whoever knocks (otherwise knocks are only logged)."""

    def __init__(self, room, server="http://127.0.0.1:5000", send="pattern", play=None,
                 record=None, stay=True, lifetime=None, verify_tls=True, secret=None,
                 offer_seconds=None, admit=False, max_picture=None, picture=PATTERN_SIZE):
        super().__init__(room, server, secret, lifetime, verify_tls, admit)
        self.send_mode, self.play, self.record = send, play, record
        self.stay = stay
        self.offer_seconds = offer_seconds
        self.max_picture = max_picture
        self.picture = picture  # the test pattern's size
        self.polite = False
        self.call = None
        self.calls = 0
        self.offer_timer = None

    @property
    def received(self):
        return self.call.received if self.call else Received()

    @property
    def connection_state(self):
        return self.call.pc.connectionState if self.call else "new"

    async def leave(self):
        if self.offer_timer:
            self.offer_timer.cancel()
        await self.end_call()

    async def leave_without_offer(self):
        await asyncio.sleep(self.offer_seconds)
        log.info("no offer in %s s: leaving", self.offer_seconds)
        self.stop()

    async def handle(self, message):
        match message["type"]:
            case "welcome":
                return await self.handle_welcome(message)
            case "knocking":
                self.knocking.set()
                log.info("someone is in %s: waiting for them to let us in", self.room)
            case "knock":
                return await self.handle_knock()
            case "knock-ended":
                log.info("the knock ended")
            case "peer-joined":
                return await self.handle_peer_joined()
            case "peer-left":
                return await self.handle_peer_left()
            case "offer":
                return await self.handle_offer(message)
            case "answer":
                if self.call:
                    await self.call.accept(RTCSessionDescription(message["sdp"], "answer"))
            case "candidate":
                if self.call:
                    await self.call.add_candidate(message["candidate"])
            case "error":
                return self.handle_server_error(message)
            case other:
                log.warning("ignored a message of unknown type %r", other)

    async def handle_welcome(self, message):
        self.welcomed(message)
        self.polite = message["polite"]
        if message["peers"] == 0:
            log.info("joined %s: waiting for someone", self.room)
        else:
            log.info("joined %s: waiting for the offer of the person there", self.room)
            if self.offer_seconds and not self.offer_timer:
                self.offer_timer = asyncio.ensure_future(self.leave_without_offer())

    async def handle_peer_joined(self):
        # The one who was waiting offers, as in the browser.
        log.info("someone joined: calling them")
        self.polite = True  # we were there first (after a signaling outage, too)
        await self.end_call()
        self.new_call()
        offer = await self.call.make_offer()
        await self.send(offer)

    async def handle_offer(self, message):
        if self.offer_timer:
            self.offer_timer.cancel()
        if self.call and self.call.pc.connectionState in ("failed", "closed"):
            await self.end_call()
        if self.call and self.call.pc.signalingState != "stable":
            if not self.polite:
                log.info("offer collision: ignoring their offer (we are impolite)")
                return
            # aiortc cannot roll our offer back: the polite side drops it, call and all.
            log.info("offer collision: taking their offer (we are polite)")
            await self.end_call()
        if not self.call:
            self.new_call()
        try:
            answer = await self.call.accept(RTCSessionDescription(message["sdp"], "offer"))
        except Exception as error:  # the other side's SDP is input like any other: one line, not a crash
            log.warning("could not take their offer: %s: %s", type(error).__name__, error)
            return await self.end_call()
        await self.send(answer)

    async def handle_peer_left(self):
        await self.end_call()
        self.polite = True  # the one who stays was there first
        if not self.stay:
            return "leave"
        log.info("the other person left: waiting for the next one")

    def new_call(self):
        self.calls += 1
        self.call = Call(self.configuration, self.send_mode, self.play, self.recording_path(),
                         self.max_picture, self.picture, report_seconds=self.report_seconds)
        return self.call

    def recording_path(self):
        """--record call.mp4 writes the first call there, the next to call-2.mp4 and so on."""
        if not self.record or self.calls == 1:
            return self.record
        path = Path(self.record)
        return str(path.with_name(f"{path.stem}-{self.calls}{path.suffix}"))

    async def end_call(self):
        if self.call:
            call, self.call = self.call, None
            await call.close()

    async def send(self, description):
        log.info("sending %s", description.type)
        await self.socket.send(json.dumps({"type": description.type, "sdp": description.sdp}))


class GroupPeer(RoomPeer):
    """A person in a group ROOM (group-spec.md): a Call with every other member, each sent
    a test pattern and tone (send="pattern") or the file `play` (send="play"), until stopped.

    The mesh's rules, as in the browser: on peer-joined it offers to the newcomer; it
    answers the first offer of each member who was there before it, and is polite toward
    them. What arrives is counted per member: received_from(id)."""

    group = True

    def __init__(self, room, server="http://127.0.0.1:5000", send="pattern", play=None,
                 lifetime=None, verify_tls=True, secret=None, admit=False, picture=PATTERN_SIZE):
        if send not in ("pattern", "play"):
            raise ValueError(f"a group peer sends a pattern or plays a file, not {send!r}")
        super().__init__(room, server, secret, lifetime, verify_tls, admit)
        self.send_mode, self.play, self.picture = send, play, picture
        self.id = None  # ours, from the welcome
        self.calls = {}  # a member's id -> our Call with them
        self.polite_toward = set()  # who was there before us

    @property
    def members(self):
        """The ids of the others we have a call with, in the order the calls began."""
        return list(self.calls)

    def received_from(self, member):
        call = self.calls.get(member)
        return call.received if call else Received()

    def connection_state_with(self, member):
        call = self.calls.get(member)
        return call.pc.connectionState if call else "new"

    async def handle(self, message):
        match message["type"]:
            case "welcome":
                return await self.handle_welcome(message)
            case "peer-joined":
                return await self.handle_peer_joined(message["id"])
            case "peer-left":
                log.info("%s left", message["id"])
                self.polite_toward.discard(message["id"])
                return await self.end_call(message["id"])
            case "offer":
                return await self.handle_offer(message["from"], message["sdp"])
            case "answer":
                if call := self.calls.get(message["from"]):
                    await call.accept(RTCSessionDescription(message["sdp"], "answer"))
            case "candidate":
                if call := self.calls.get(message["from"]):
                    await call.add_candidate(message["candidate"])
            case "knocking":
                self.knocking.set()
                log.info("someone is in %s: waiting for them to let us in", self.room)
            case "knock":
                return await self.handle_knock()
            case "knock-ended":
                log.info("the knock ended")
            case "error" if message["code"] == "bad-message":
                log.info("the server says: %s (they may have just left)", message["message"])
            case "error":
                return self.handle_server_error(message)
            case other:
                log.warning("ignored a message of unknown type %r", other)

    async def handle_welcome(self, message):
        await self.leave()  # a fresh welcome (a new id): the others offer again
        self.id = message["id"]
        self.polite_toward = set(message["members"])
        self.welcomed(message)
        log.info("joined group %s as %s, with %s of at most %s", self.room, self.id,
                 len(message["members"]), message["size"])

    async def handle_peer_joined(self, member):
        # Those already there offer to the newcomer, as in the browser.
        log.info("%s joined: calling them", member)
        await self.end_call(member)
        call = self.new_call(member)
        await self.send(member, await call.make_offer())

    async def handle_offer(self, member, sdp):
        call = self.calls.get(member)
        if call and call.pc.connectionState in ("failed", "closed"):
            await self.end_call(member)
        elif call and call.pc.signalingState != "stable":
            if member not in self.polite_toward:
                log.info("offer collision with %s: ignoring theirs (we are impolite)", member)
                return
            # aiortc cannot roll our offer back: the polite side drops it, call and all.
            log.info("offer collision with %s: taking theirs (we are polite)", member)
            await self.end_call(member)
        call = self.calls.get(member) or self.new_call(member)
        try:
            answer = await call.accept(RTCSessionDescription(sdp, "offer"))
        except Exception as error:  # their SDP is input like any other: one line, not a crash
            log.warning("could not take the offer of %s: %s: %s", member, type(error).__name__, error)
            return await self.end_call(member)
        await self.send(member, answer)

    def new_call(self, member):
        # A player of its own for each call: making the pattern costs little next to
        # encoding it, which every call does anyway.
        self.calls[member] = Call(self.configuration, self.send_mode, self.play, None,
                                  picture=self.picture, name=member,
                                  report_seconds=self.report_seconds)
        return self.calls[member]

    async def end_call(self, member):
        if call := self.calls.pop(member, None):
            await call.close()

    async def leave(self):
        for member in self.members:
            await self.end_call(member)

    async def send(self, member, description):
        log.info("sending %s to %s", description.type, member)
        await self.socket.send(json.dumps({"type": description.type, "to": member,
                                           "sdp": description.sdp}))


class PeerThread:
    """Runs a PythonPeer on an asyncio loop in a thread of its own, for code that is not
    async: the app's "Call the echo peer" button, and the tests."""

    def __init__(self, peer):
        self.peer = peer
        self.error = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=f"peer {peer.room}", daemon=True)
        self.thread.start()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.peer.run())
        except Exception as error:  # kept for whoever started it; the thread just ends
            self.error = error
            log.info("peer in %s ended: %s", self.peer.room, error)
        finally:  # what asyncio.run does: end what is left, then close
            leftover = asyncio.all_tasks(self.loop)
            for task in leftover:
                task.cancel()
            if leftover:
                self.loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def is_alive(self):
        return self.thread.is_alive()

    def stop(self, timeout=10):
        try:
            self.loop.call_soon_threadsafe(self.peer.stop)
        except RuntimeError:
            pass  # its loop is closed: the peer has left already
        self.thread.join(timeout)


def picture_size(text):
    width, _, height = text.partition("x")
    return int(width), int(height)


def main():
    parser = argparse.ArgumentParser(description="Join a room of the call app from Python.")
    parser.add_argument("link", nargs="?", default=os.environ.get("PEER_LINK"),
                        help="the room's link, http://host:5000/room/NAME#SECRET (or $PEER_LINK); "
                             "a bare NAME knocks where someone is; a /group/NAME link is a group room")
    parser.add_argument("--server", default="http://127.0.0.1:5000",
                        help="the app's address, for a bare room NAME")
    parser.add_argument("--group", action="store_true",
                        help="a bare NAME is a group room (a call with everyone in it)")
    sending = parser.add_mutually_exclusive_group()
    sending.add_argument("--pattern", dest="send", action="store_const", const="pattern",
                         help="send a moving test pattern and a tone (the default)")
    sending.add_argument("--echo", dest="send", action="store_const", const="echo",
                         help="send back the video and audio that arrive")
    sending.add_argument("--play", metavar="FILE", help="send a media file, looped")
    parser.add_argument("--record", metavar="FILE", help="write what arrives to a file")
    parser.add_argument("--once", action="store_true",
                        help="leave when the other person leaves, instead of waiting for the next")
    parser.add_argument("--admit", action="store_true", help="let in whoever knocks")
    parser.add_argument("--lifetime", type=float, metavar="SECONDS", help="leave after this long")
    parser.add_argument("--offer-seconds", type=float, metavar="SECONDS",
                        help="let in second, leave if no offer comes within this long")
    parser.add_argument("--picture", type=picture_size, metavar="WxH", default=PATTERN_SIZE,
                        help="the test pattern's size (default %dx%d)" % PATTERN_SIZE)
    parser.add_argument("--report-seconds", type=float, metavar="SECONDS", default=REPORT_SECONDS,
                        help="log what has arrived this often (default %(default)s)")
    parser.add_argument("--max-picture", type=picture_size, metavar="WxH",
                        help="with --echo, scale larger pictures down to this first")
    parser.add_argument("--insecure", action="store_true",
                        help="take the server's self-signed certificate (wss://)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log aiortc's details too")
    args = parser.parse_args()
    if not args.link:
        parser.error("give the room's link (or set PEER_LINK)")

    send = "play" if args.play else args.send or "pattern"
    options = dict(server=args.server, send=send, play=args.play, lifetime=args.lifetime,
                   verify_tls=not args.insecure, admit=args.admit, picture=args.picture)
    if args.group or is_group_link(args.link):
        if send == "echo" or args.record or args.once or args.offer_seconds or args.max_picture:
            parser.error("--echo, --record, --once, --offer-seconds and --max-picture "
                         "are for 1:1 rooms")
        peer = GroupPeer.from_link(args.link, **options)
    else:
        peer = PythonPeer.from_link(
            args.link, record=args.record, stay=not args.once, offer_seconds=args.offer_seconds,
            max_picture=args.max_picture, **options)
    peer.report_seconds = args.report_seconds
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format=f"%(asctime)s [{peer.room}] %(name)s %(message)s")
    if not args.verbose:
        logging.getLogger("aioice").setLevel(logging.WARNING)  # a line per ICE check
    if not peer.has_link:
        log.info("no secret in the link: opening %s, or knocking if someone is there "
                 "(this peer's own link: share it only with whom you call)", peer.room)

    async def run():
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signal_number, peer.stop)
        await peer.run()

    try:
        asyncio.run(run())
    except PeerError as error:
        log.error("%s (%s)", error, error.code)
        sys.exit(1)


if __name__ == "__main__":
    main()
