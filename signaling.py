"""One person's visit to the signaling server: their join (with the room's secret), their
knock if they lack it, then the relay of their offer, answer and candidates to the other
person (in a group room, to the member they name), until they leave. The messages are those of protocol.py; who is in which room is
the registry's job (rooms.py, redis_rooms.py).

flask-sock gives each socket a thread of its own. That thread only reads; what the person
is sent waits in their mailbox (mailbox.py), written by another thread of their own, so a
stalled socket holds up nobody else.
"""

import hashlib
import hmac
import logging
import secrets
import socket
import threading
import time

from simple_websocket import ConnectionClosed

from ice import ice_servers
from mailbox import Mailbox
from protocol import (KNOCK_ANSWERS, RELAYED, ProtocolError, addressed, bad_room, is_valid_room,
                      message, parse, parse_join, rate_limited)
from rooms import KNOCKING

CLOSE_HANDSHAKE_SECONDS = 5
SEND_BUFFER_BYTES = 64 * 1024

log = logging.getLogger("signaling")


def echo_token(secret_key, room, room_secret):
    """What a member's page shows to call the echo peer into `room`. It is bound to the
    room's secret, so it is worth nothing once the room is someone else's (app.py)."""
    message = f"echo\0{room}\0{room_secret}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


class SocketsPerAddress:
    """How many signaling sockets each client address holds, up to `limit` each: one
    client cannot fill the server's rooms or threads for everyone else."""

    def __init__(self, limit):
        self.limit = limit
        self._lock = threading.Lock()
        self._held = {}

    def take(self, address):
        with self._lock:
            if self._held.get(address, 0) >= self.limit:
                return False
            self._held[address] = self._held.get(address, 0) + 1
            return True

    def give_back(self, address):
        with self._lock:
            self._held[address] -= 1
            if not self._held[address]:
                del self._held[address]


class PrefixedLog(logging.LoggerAdapter):
    """Prefixes each line with the room and connection, like "[quiet-otter-42#a1b2c3] joined"."""

    def process(self, msg, kwargs):
        return f"{self.extra['prefix']} {msg}", kwargs


class Member:
    """One person's socket: what they are sent goes through their mailbox."""

    def __init__(self, connection, room, config, group=False):
        self.connection = connection
        # Checked before it reaches a log line: no client input may forge or split one.
        self.room = room if is_valid_room(room) else None
        self.group = group
        # Where the registries keep the room: a group room is apart from a 1:1 room of its name.
        self.room_key = f"group/{self.room}" if group and self.room else self.room
        self.room_size = config["GROUP_SIZE"] if group else 2
        self.id = secrets.token_hex(4)  # protocol.MEMBER_ID
        self.name = f"{self.room_key or '(bad room name)'}#{self.id}"
        self.log = PrefixedLog(log, {"prefix": f"[{self.name}]"})
        self.config = config
        self.mailbox = Mailbox(connection, config["OUTBOX_BYTES"], self.cut_off, self.log)
        self.secret = None  # the one it brought in its join

    def send(self, frame):
        self.mailbox.put(frame)

    def welcome(self, others, secret=None):
        """You are in, with `others` (their ids) already there. `secret` goes to someone
        let in by a knock, who did not bring it."""
        config = self.config
        ice = dict(iceServers=ice_servers(config), iceTransportPolicy=config["ICE_TRANSPORT_POLICY"])
        if self.group:  # for each pair, the one who came later is polite
            fields = dict(room=self.room, id=self.id, members=others, size=self.room_size, **ice)
        else:  # the one already there is polite: it yields when both offer at once
            fields = dict(room=self.room, peers=len(others), polite=not others, **ice,
                          echoToken=echo_token(config["SECRET_KEY"], self.room, secret or self.secret))
        if secret is not None:
            fields["secret"] = secret
        return message("welcome", **fields)

    def refuse(self, error):
        """Tell the client what was wrong, and close if that error closes."""
        self.log.info("refused: %s", error.code)
        self.send(error.frame())
        if error.closes:
            self.mailbox.close(error.close_code, error.code)
            self.stop_reading()

    def stop_reading(self):
        """Take little more from a client we are closing (its close reply): past that, its
        socket is cut rather than its frames queued by simple-websocket's reader."""
        stop_taking = getattr(self.connection.sock, "stop_taking", None)
        if stop_taking:
            stop_taking()

    def finish(self):
        """End the visit cleanly: send what waits, let the close handshake finish, then end
        the TCP connection ourselves. Otherwise Werkzeug's server writes an HTTP response
        into the finished WebSocket, which browsers report as "Invalid frame header"."""
        self.mailbox.close()
        self.mailbox.join(CLOSE_HANDSHAKE_SECONDS)
        self.connection.thread.join(CLOSE_HANDSHAKE_SECONDS)
        self.cut_off()

    def cut_off(self):
        """End the TCP connection at once, without writing to it (it may be stuck). Its
        reading thread then sees the end, and leaves the room."""
        try:
            self.connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already gone


def serve(connection, room, rooms, config, group=False):
    """One person's whole visit: join, relay until they leave, then tell the other (in a
    group room, the others)."""
    raw = connection.sock
    # Send each message at once: with Nagle's algorithm on, the tail of an offer waits
    # for the browser's delayed ACK, 40 ms on Linux, twice per offer/answer round trip.
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # A client that stops taking data (reading nothing, or gone without a word) is cut
    # off once what we sent waits this long unacknowledged, stalled write or not. (Linux
    # only; elsewhere the mailbox's cap and the pings find them.)
    if hasattr(socket, "TCP_USER_TIMEOUT"):
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(config["STALL_SECONDS"] * 1000))
    # What waits for a slow reader stays in their mailbox, counted, not in kernel buffers
    # that grow to megabytes on their own.
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
    member = Member(connection, room, config, group)
    try:
        visit(member, rooms, config)
    except ConnectionClosed:
        pass
    finally:
        member.finish()


def visit(member, rooms, config):
    if member.room is None:
        member.refuse(bad_room())
        return
    try:
        member.secret = parse_join(receive(member, config["JOIN_SECONDS"]))
        joined = rooms.join(member, member.secret)
    except ProtocolError as error:
        member.refuse(error)
        return
    member.log.info("knocks" if joined == KNOCKING else "joined")
    try:
        relay(member, rooms, config)
    finally:
        rooms.leave(member)
        member.log.info("left")


def receive(member, timeout):
    frame = member.connection.receive(timeout)  # raises ConnectionClosed when they leave
    if frame is None:
        raise ProtocolError("too-slow", f'Send {{"type": "join", "secret": ...}} within {timeout} s.')
    return frame


class RateLimit:
    """A token bucket: `burst` at once, then `rate` per second (messages, or bytes)."""

    def __init__(self, rate, burst):
        self.rate = rate
        self.burst = self.tokens = burst
        self.last = time.monotonic()

    def allow(self, count=1):
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < count:
            return False
        self.tokens -= count
        return True


EXPECTED = {**RELAYED, **KNOCK_ANSWERS}


def relay(member, rooms, config):
    """Pass each valid frame, unchanged, to the other person (in a group room, to the one
    it names, saying whom it is from); answer bad ones with an error. Admit and decline
    answer a knock. A knocker's own frames reach nobody."""
    limit = RateLimit(config["MESSAGE_RATE"], config["MESSAGE_BURST"])
    while True:
        frame = member.connection.receive()  # raises ConnectionClosed when they leave
        try:
            if not limit.allow():
                raise rate_limited()
            parsed = parse(frame, config["MAX_MESSAGE_BYTES"], EXPECTED)
            if parsed["type"] in KNOCK_ANSWERS:
                rooms.answer_knock(member, admit=parsed["type"] == "admit")
            elif member.group:
                to, addressed_frame = addressed(parsed, member.id)
                rooms.relay(member, addressed_frame, to)
            else:
                rooms.relay(member, frame)
        except ProtocolError as error:
            member.refuse(error)
            if error.closes:
                return
