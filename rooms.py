"""Who is in which room: the contract every room registry keeps, and the one that keeps
rooms in this process's memory (redis_rooms.RedisRooms keeps the same contract across
processes).

The promises, whoever implements them:
- a room has at most two members (a group room at most GROUP_SIZE), however many join at
  the same instant;
- a room's secret is set by whoever opens it (finds it empty), and only that secret lets
  someone in unasked; anyone else knocks, and is let in only when a member admits them;
  until then nothing from the room reaches them;
- one knock at a time, which every member hears and any may answer; a knocker who
  leaves is forgotten, a link holder who arrives meanwhile goes in and the knocker is
  told the room is full;
- each person gets events in the order they happened (peer-left before a new
  peer-joined, their welcome before anything relayed to them).
Messages go into the members' mailboxes, which never block: the lock here guards
membership, never a socket.

A member (signaling.Member) brings what the registry needs to know of it: `room_key`
(the room's name, or "group/<name>": group rooms are apart from 1:1 rooms of the same
name), `room_size` (2, or GROUP_SIZE), `group` and `id`.
"""

import secrets
import threading
from dataclasses import dataclass, field
from typing import Optional, Protocol

from protocol import declined, message, nobody_there, nobody_with, peer_event, room_full, server_full

JOINED = "joined"
KNOCKING = "knocking"


class Registry(Protocol):
    def join(self, member, secret: str) -> str:
        """Let `member` in (JOINED: they got their welcome) or have them knock (KNOCKING:
        they got "knocking", the member waiting got "knock"); ProtocolError otherwise."""

    def answer_knock(self, member, admit: bool) -> None:
        """`member` lets the knocker in, or sends them away; nothing if nobody knocks. The
        other members (in a group room) hear "knock-ended": one answer is enough."""

    def relay(self, member, frame: str, to: Optional[str] = None) -> None:
        """Pass `frame` to the other member, or in a group room to the member whose id is
        `to` (ProtocolError bad-message if nobody has it); nothing if `member` is not a
        member."""

    def leave(self, member) -> None:
        """Take `member` out (a member, a knocker, or neither) and tell who stays."""

    def waiting_secret(self, room: str) -> Optional[str]:
        """The secret of `room` if exactly one person waits there, else None."""


def check_capacity(people, rooms, opens_a_room, max_people, max_rooms):
    """Refuse one more person if this process holds `max_people` already, or `max_rooms`
    when that person would open a room of their own. Both registries use it."""
    if people >= max_people or (opens_a_room and rooms >= max_rooms):
        raise server_full()


def same_secret(a, b):
    return secrets.compare_digest(a.encode(), b.encode())


@dataclass
class Room:
    secret: str
    size: int
    members: list = field(default_factory=list)
    knocker: object = None


class MemoryRooms:
    def __init__(self, max_rooms, max_people):
        self._lock = threading.Lock()
        self._rooms = {}  # name -> Room
        self._people = 0
        self.max_rooms = max_rooms
        self.max_people = max_people

    def join(self, member, secret):
        with self._lock:
            room = self._rooms.get(member.room_key)
            if room is not None and not same_secret(room.secret, secret):
                return self._knock(room, member)
            opens = room is None
            check_capacity(self._people, len(self._rooms), opens, self.max_people, self.max_rooms)
            if opens:
                room = self._rooms[member.room_key] = Room(secret, member.room_size)
            elif len(room.members) >= room.size:
                raise room_full(room.size)
            if room.knocker is not None:  # someone with the link beats the knock
                room.knocker.refuse(room_full(room.size))
                room.knocker = None
                for other in room.members:
                    other.send(message("knock-ended"))
            self._add(room, member)
            return JOINED

    def _knock(self, room, member):
        if len(room.members) >= room.size or room.knocker is not None:
            raise room_full(room.size)
        room.knocker = member
        member.send(message("knocking"))
        for other in room.members:
            other.send(message("knock"))
        return KNOCKING

    def _add(self, room, member, secret=None):
        others = [other.id for other in room.members]
        room.members.append(member)
        self._people += 1
        member.send(member.welcome(others, secret))
        for other in room.members[:-1]:
            other.send(peer_event("peer-joined", member.id, member.group))

    def answer_knock(self, member, admit):
        with self._lock:
            room = self._rooms.get(member.room_key)
            if room is None or member not in room.members or room.knocker is None:
                return  # it ended meanwhile
            knocker, room.knocker = room.knocker, None
            for other in room.members:
                if other is not member:
                    other.send(message("knock-ended"))
            if not admit:
                knocker.refuse(declined())
                return
            # The one let in gets the secret: their page then rejoins by itself.
            self._add(room, knocker, room.secret)

    def relay(self, member, frame, to=None):
        with self._lock:
            room = self._rooms.get(member.room_key)
            if room is None or member not in room.members:
                return
            for other in room.members:
                if other is not member and to in (None, other.id):
                    other.send(frame)
                    if to is not None:
                        return
            if to is not None:
                raise nobody_with(to)

    def leave(self, member):
        with self._lock:
            room = self._rooms.get(member.room_key)
            if room is None:
                return
            if room.knocker is member:
                room.knocker = None
                for other in room.members:
                    other.send(message("knock-ended"))
                return
            if member not in room.members:
                return
            room.members.remove(member)
            self._people -= 1
            for other in room.members:
                other.send(peer_event("peer-left", member.id, member.group))
            if not room.members:
                if room.knocker is not None:
                    room.knocker.refuse(nobody_there())
                del self._rooms[member.room_key]

    def waiting_secret(self, room):
        with self._lock:
            found = self._rooms.get(room)  # a 1:1 room: the echo peer joins no group
            return found.secret if found is not None and len(found.members) == 1 else None
