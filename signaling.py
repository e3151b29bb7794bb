"""The signaling server: rooms of two, and a relay between the two people in a room.

Every frame is a JSON object with a string "type" (the wire protocol in README.md).
flask-sock gives each socket its own thread; the code here keeps three promises:
- a room admits at most two people, however many join at the same instant;
- a socket is written by one thread at a time (flask-sock #85), and
- each person sees events in the order they happened (peer-left before a new peer-joined).
"""

import itertools
import json
import logging
import re
import secrets
import socket
import threading
import time

from simple_websocket import ConnectionClosed
from wsproto.utilities import LocalProtocolError

from ice import ice_servers

ROOM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
BAD_ROOM_MESSAGE = "A room name is 1 to 64 letters, digits, '-' or '_'."
CLOSE_HANDSHAKE_SECONDS = 5
# The errors after which the server closes the socket, with their WebSocket close codes
# (RFC 6455: 1008 policy violation, 1009 message too big, 1013 try again later).
CLOSING_ERRORS = {"bad-room": 1008, "room-full": 1008, "server-full": 1013,
                  "too-large": 1009, "rate-limited": 1008, "unavailable": 1013}

log = logging.getLogger("signaling")
connection_ids = itertools.count(1)


def is_valid_room(name):
    return ROOM_NAME.fullmatch(name) is not None


class PrefixedLog(logging.LoggerAdapter):
    """Prefixes each line with the room and connection, like "[quiet-otter-42#7] joined"."""

    def process(self, msg, kwargs):
        return f"{self.extra['prefix']} {msg}", kwargs


class SignalingError(Exception):
    """A frame that breaks the protocol: `code` for programs, the message for people."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Peer:
    """One person's socket, written by one thread at a time."""

    def __init__(self, connection, room):
        self.connection = connection
        self.room = room
        self.send_lock = threading.Lock()
        self.gone = False  # a send failed: the rest would fail too
        self.name = f"{room}#{next(connection_ids)}"
        self.log = PrefixedLog(log, {"prefix": f"[{self.name}]"})
        # Proves a request for the echo peer comes from this person (app.py).
        self.echo_token = secrets.token_urlsafe(16)

    def send(self, text):
        with self.send_lock:
            self.send_locked(text)

    def send_locked(self, text):
        """Send while the caller already holds send_lock (to keep events in order)."""
        if self.gone:
            return
        try:
            self.connection.send(text)
        except (ConnectionClosed, LocalProtocolError, OSError):
            # Closing or gone (its TCP connection may die before its thread notices);
            # its own thread sees the close and leaves the room.
            self.gone = True
            self.log.info("gone before a message reached it")

    def refuse(self, error):
        """Tell the client what was wrong, and close if that error closes."""
        self.log.info("refused: %s", error.code)
        self.send(json.dumps({"type": "error", "code": error.code, "message": str(error)}))
        if error.code in CLOSING_ERRORS:
            self.close(CLOSING_ERRORS[error.code], error.code)

    def close(self, code=1000, reason=""):
        try:
            self.connection.close(code, reason)
        except (ConnectionClosed, LocalProtocolError, OSError):
            pass  # the other end closed first

    def finish(self):
        """End the visit cleanly: let the close handshake finish, then end the TCP
        connection ourselves. Otherwise Werkzeug's server writes an HTTP response into
        the finished WebSocket, which browsers report as "Invalid frame header"."""
        self.close()
        self.connection.thread.join(CLOSE_HANDSHAKE_SECONDS)
        self.cut_off()

    def cut_off(self):
        """End the TCP connection at once, without writing to it (it may be stuck)."""
        try:
            self.connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already gone


def room_full():
    return SignalingError("room-full", "This room already has two people in a call. Try another room.")


def server_full():
    return SignalingError("server-full", "The server is at its limit of calls. Try again in a few minutes.")


def check_capacity(people, rooms, opens_a_room, max_people, max_rooms):
    """Refuse one more person if this process holds `max_people` already, or `max_rooms`
    when that person would open a room of their own. Both room registries use it."""
    if people >= max_people or (opens_a_room and rooms >= max_rooms):
        raise server_full()


class Rooms:
    """Who is in which room, in this process's memory (redis_rooms.RedisRooms shares
    them between processes). The lock guards membership only, never a socket write."""

    def __init__(self, max_rooms, max_people):
        self._lock = threading.Lock()
        self._members = {}  # room name -> list of at most two Peers
        self._people = 0
        self.max_rooms = max_rooms
        self.max_people = max_people

    def join(self, peer, welcome):
        """Admit `peer`, send it welcome(peers_already_there), tell the other one.

        The newcomer's send lock is held until its welcome is out, so nothing relayed
        to it can overtake the welcome."""
        with peer.send_lock:
            with self._lock:
                self._check_capacity(peer.room)
                members = self._members.setdefault(peer.room, [])
                members.append(peer)
                self._people += 1
                other = members[0] if len(members) == 2 else None
            peer.send_locked(json.dumps(welcome(1 if other else 0)))
        if other:
            other.send(json.dumps({"type": "peer-joined"}))

    def _check_capacity(self, room):
        members = self._members.get(room, [])
        if len(members) == 2:
            raise room_full()
        check_capacity(self._people, len(self._members), not members, self.max_people, self.max_rooms)

    def waiting_token(self, room):
        """The echoToken of the one person waiting in `room`; None if it is empty or full."""
        with self._lock:
            members = self._members.get(room, [])
            return members[0].echo_token if len(members) == 1 else None

    def relay(self, peer, frame):
        """Pass `frame` to the other person in the room, if there is one."""
        other = self.partner(peer)
        if other is not None:
            other.send(frame)

    def partner(self, peer):
        with self._lock:
            members = self._members.get(peer.room, [])
            return next((p for p in members if p is not peer), None)

    def leave(self, peer):
        """Remove `peer` and tell the one who stays.

        The stayer's send lock is taken before the slot is freed, so a newcomer's
        peer-joined cannot reach the stayer ahead of this peer-left."""
        stayer = self.partner(peer)
        if stayer is None:
            self._remove(peer)
            return
        with stayer.send_lock:
            self._remove(peer)
            stayer.send_locked(json.dumps({"type": "peer-left"}))

    def _remove(self, peer):
        with self._lock:
            members = self._members.get(peer.room, [])
            if peer in members:
                members.remove(peer)
                self._people -= 1
            if not members:
                self._members.pop(peer.room, None)


def _require(condition, message):
    if not condition:
        raise SignalingError("bad-message", message)


def _is_optional(value, kind):
    return value is None or (isinstance(value, kind) and not isinstance(value, bool))


def _check_description(message):
    _require(isinstance(message.get("sdp"), str), f'A "{message["type"]}" needs an "sdp" string.')


def _check_candidate(message):
    _require("candidate" in message, 'A "candidate" message needs a "candidate" field (null for the end).')
    candidate = message["candidate"]
    if candidate is None:
        return
    _require(isinstance(candidate, dict), '"candidate" must be an object like RTCIceCandidate.toJSON() gives, or null.')
    _require(isinstance(candidate.get("candidate"), str), '"candidate.candidate" must be a string.')
    _require(_is_optional(candidate.get("sdpMid"), str), '"candidate.sdpMid" must be a string or null.')
    index = candidate.get("sdpMLineIndex")
    _require(_is_optional(index, int) and (index is None or index >= 0),
             '"candidate.sdpMLineIndex" must be a whole number or null.')
    _require(_is_optional(candidate.get("usernameFragment"), str),
             '"candidate.usernameFragment" must be a string or null.')


RELAYED_TYPES = {"offer": _check_description, "answer": _check_description, "candidate": _check_candidate}


def check_message(frame, max_bytes):
    """Raise SignalingError unless `frame` is a message worth relaying."""
    if not isinstance(frame, str):
        raise SignalingError("bad-message", "Send JSON in text frames, not binary frames.")
    if len(frame.encode()) > max_bytes:
        raise SignalingError("too-large", f"A message may be at most {max_bytes} bytes.")
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        raise SignalingError("bad-json", "That was not valid JSON.") from None
    _require(isinstance(message, dict), "A message must be a JSON object.")
    _require(isinstance(message.get("type"), str), 'A message needs a string "type".')
    check = RELAYED_TYPES.get(message["type"])
    if check is None:
        raise SignalingError("unknown-type", f'Unknown type {message["type"][:40]!r}: '
                             f'expected one of {", ".join(RELAYED_TYPES)}.')
    check(message)


def serve(connection, room, rooms, config):
    """One person's whole visit: join, relay until they leave, then tell the other."""
    # Send each message at once: with Nagle's algorithm on, the tail of an offer waits
    # for the browser's delayed ACK, 40 ms on Linux, twice per offer/answer round trip.
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    peer = Peer(connection, room)
    try:
        visit(peer, rooms, config)
    except ConnectionClosed:
        pass
    finally:
        peer.finish()


def visit(peer, rooms, config):
    if not is_valid_room(peer.room):
        peer.refuse(SignalingError("bad-room", BAD_ROOM_MESSAGE))
        return

    def welcome(peers):
        # The one already there is polite: it yields when both offer at once.
        return {"type": "welcome", "room": peer.room, "peers": peers, "polite": peers == 0,
                "iceServers": ice_servers(config, peer.name),
                "iceTransportPolicy": config["ICE_TRANSPORT_POLICY"], "echoToken": peer.echo_token}

    try:
        rooms.join(peer, welcome)
    except SignalingError as error:
        peer.refuse(error)
        return
    peer.log.info("joined")
    try:
        relay(peer, rooms, config)
    finally:
        rooms.leave(peer)
        peer.log.info("left")


class RateLimit:
    """A token bucket: `burst` messages at once, then `rate` per second."""

    def __init__(self, rate, burst):
        self.rate = rate
        self.burst = self.tokens = burst
        self.last = time.monotonic()

    def allow(self):
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def relay(peer, rooms, config):
    """Pass each valid frame, unchanged, to the other person; answer bad ones with an error."""
    limit = RateLimit(config["MESSAGE_RATE"], config["MESSAGE_BURST"])
    while True:
        frame = peer.connection.receive()  # raises ConnectionClosed when they leave
        try:
            if not limit.allow():
                raise SignalingError("rate-limited", "Too many messages too fast; "
                                     "this connection is closed.")
            check_message(frame, config["MAX_MESSAGE_BYTES"])
            rooms.relay(peer, frame)
        except SignalingError as error:
            peer.refuse(error)
            if error.code in CLOSING_ERRORS:
                return
