"""Rooms shared through Redis, for when several processes (gunicorn workers, hosts behind
a load balancer) serve one site and the two people in a room may land on different ones.

The contract and promises of rooms.py, kept across processes:
- Admission (and a knock, and its answer) is one Lua script, which Redis runs alone: three
  people joining at the same instant on three processes still make exactly two members.
- Everything meant for a person goes through Redis pub/sub, on one channel per process
  (not per room or per connection): a process subscribes once, before it admits anyone,
  so nothing published to a newcomer can arrive before its subscription exists. Redis
  delivers in the order it ran the scripts, so peer-left still comes before a new
  peer-joined; what arrives for a newcomer waits until their welcome is in their mailbox.
- Each member (and knocker) holds a lease that its process renews every third of REDIS_LEASE_SECONDS.
  If the process dies, the lease lapses and the one who stays is told peer-left.

When Redis is unreachable, new joins get an "unavailable" error. Sockets whose messages
may have been lost are closed with the same error; pages reconnect by themselves and
rejoin without dropping their call (the media never went through here).
"""

import logging
import secrets
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from protocol import ProtocolError, declined, message, nobody_there, nobody_with, room_full
from rooms import JOINED, KNOCKING, check_capacity

log = logging.getLogger("signaling.redis")
# Connections to Redis per process, shared by all its sockets (Redis runs one command at a time).
REDIS_CONNECTIONS = 50

# The Lua scripts share this prelude. A room is a hash: each member is a field
# "<room key>#<id>@<process>" whose value is "<process> <lease end, ms>"; ":secret" holds
# the room's secret, ":size" its size, and ":knock" the knocker, "<member> <process> <lease end, ms>".
# Besides JSON frames, a process may be told "!admitted <secret> <ids already there>" (its
# knocker is in) or "!refuse <error code>" (say that error to its person, and close).
PRELUDE = """
local room = KEYS[1]
local group = string.find(room, '^signaling:room:group/') ~= nil
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)

-- 2, or GROUP_SIZE for a group room: set by whoever opened it.
local function room_size()
  return tonumber(redis.call('HGET', room, ':size'))
end

local function id_of(member)
  return string.match(member, '#(%x+)@')
end

-- peer-joined or peer-left: in a group room it says who (protocol.peer_event).
local function event(kind, member)
  if group then return '{"type":"' .. kind .. '","id":"' .. id_of(member) .. '"}' end
  return '{"type":"' .. kind .. '"}'
end

local function tell_at(process, member, frame)
  redis.call('PUBLISH', 'signaling:process:' .. process, member .. '\\n' .. frame)
end

local function tell(member, value, frame)
  tell_at(string.match(value, '^(%S+)'), member, frame)
end

-- The members whose lease runs; lapsed ones are removed and the others told peer-left.
local function live_members()
  local fields = redis.call('HGETALL', room)
  local live, lapsed = {}, {}
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 1) ~= ':' then
      if tonumber(string.match(fields[i + 1], '^%S+ (%d+)')) < now then
        redis.call('HDEL', room, fields[i])
        lapsed[#lapsed + 1] = fields[i]
      else
        live[#live + 1] = {fields[i], fields[i + 1]}
      end
    end
  end
  for _, gone in ipairs(lapsed) do
    for _, member in ipairs(live) do tell(member[1], member[2], event('peer-left', gone)) end
  end
  return live
end

local function ids(live)
  local found = {}
  for _, member in ipairs(live) do found[#found + 1] = id_of(member[1]) end
  return found
end

-- The knocker, {member, process}, if their lease runs; a lapsed knock ends.
local function live_knock(live)
  local value = redis.call('HGET', room, ':knock')
  if not value then return nil end
  local member, process, lease = string.match(value, '^(%S+) (%S+) (%d+)$')
  if tonumber(lease) < now then
    redis.call('HDEL', room, ':knock')
    for _, m in ipairs(live) do tell(m[1], m[2], '{"type":"knock-ended"}') end
    return nil
  end
  return {member, process}
end

local function end_knock(knock, code)
  redis.call('HDEL', room, ':knock')
  tell_at(knock[2], knock[1], '!refuse ' .. code)
end
"""

# ARGV: member, process, lease ms, secret, the room's size if it opens. Returns {-1} (full), {-2} (knocking),
# or {the number of people already there, their ids}.
JOIN = PRELUDE + """
local live = live_members()
local knock = live_knock(live)
if #live == 0 then
  if knock then end_knock(knock, 'nobody-there') end
  redis.call('DEL', room)
  redis.call('HSET', room, ':secret', ARGV[4], ':size', ARGV[5])
elseif redis.call('HGET', room, ':secret') ~= ARGV[4] then
  if #live >= room_size() or knock then return {-1} end
  redis.call('HSET', room, ':knock', ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. (now + ARGV[3]))
  redis.call('PEXPIRE', room, ARGV[3])
  for _, member in ipairs(live) do tell(member[1], member[2], '{"type":"knock"}') end
  return {-2}
elseif #live >= room_size() then
  return {-1}
end
if knock then
  end_knock(knock, 'room-full')
  for _, member in ipairs(live) do tell(member[1], member[2], '{"type":"knock-ended"}') end
end
redis.call('HSET', room, ARGV[1], ARGV[2] .. ' ' .. (now + ARGV[3]))
redis.call('PEXPIRE', room, ARGV[3])
for _, member in ipairs(live) do tell(member[1], member[2], event('peer-joined', ARGV[1])) end
return {#live, unpack(ids(live))}
"""

# ARGV: member, "admit" or "decline", lease ms.
ANSWER = PRELUDE + """
local live = live_members()
local knock = live_knock(live)
if not knock or redis.call('HEXISTS', room, ARGV[1]) == 0 then return 0 end
for _, member in ipairs(live) do
  if member[1] ~= ARGV[1] then tell(member[1], member[2], '{"type":"knock-ended"}') end
end
if ARGV[2] ~= 'admit' then
  end_knock(knock, 'declined')
  return 0
end
if #live >= room_size() then
  end_knock(knock, 'room-full')
  return 0
end
redis.call('HDEL', room, ':knock')
redis.call('HSET', room, knock[1], knock[2] .. ' ' .. (now + ARGV[3]))
tell_at(knock[2], knock[1], table.concat({'!admitted', redis.call('HGET', room, ':secret'), unpack(ids(live))}, ' '))
for _, member in ipairs(live) do tell(member[1], member[2], event('peer-joined', knock[1])) end
return 1
"""

# ARGV: member, frame, and in a group room the id it is for. Returns -1 if the sender is
# no longer a member, -2 if nobody has that id.
RELAY = PRELUDE + """
if redis.call('HEXISTS', room, ARGV[1]) == 0 then return -1 end
local to = ARGV[3]
local fields = redis.call('HGETALL', room)
for i = 1, #fields, 2 do
  if fields[i] ~= ARGV[1] and string.sub(fields[i], 1, 1) ~= ':' and (not to or id_of(fields[i]) == to) then
    tell(fields[i], fields[i + 1], ARGV[2])
    if to then return 0 end
  end
end
if to then return -2 end
return 0
"""

# ARGV: member, "quiet" to leave without telling the other (they will see it rejoin; in
# a group room it comes back with a new id, so the others are always told).
LEAVE = PRELUDE + """
local live = live_members()
local knock = live_knock(live)
if knock and knock[1] == ARGV[1] then
  redis.call('HDEL', room, ':knock')
  for _, member in ipairs(live) do tell(member[1], member[2], '{"type":"knock-ended"}') end
elseif redis.call('HDEL', room, ARGV[1]) == 1 then
  local live = live_members()
  if ARGV[2] ~= 'quiet' or group then
    for _, member in ipairs(live) do tell(member[1], member[2], event('peer-left', ARGV[1])) end
  end
  if #live == 0 and knock then end_knock(knock, 'nobody-there') end
end
return 0
"""

# ARGV: lease ms, then this process's members and knockers in the room. Returns those not found.
RENEW = PRELUDE + """
local knock = live_knock(live_members())
local missing = {}
for i = 2, #ARGV do
  local value = redis.call('HGET', room, ARGV[i])
  if value then
    redis.call('HSET', room, ARGV[i], string.match(value, '^(%S+)') .. ' ' .. (now + ARGV[1]))
  elseif knock and knock[1] == ARGV[i] then
    redis.call('HSET', room, ':knock', knock[1] .. ' ' .. knock[2] .. ' ' .. (now + ARGV[1]))
  else
    missing[#missing + 1] = ARGV[i]
  end
end
redis.call('PEXPIRE', room, ARGV[1])
return missing
"""

# Returns the room's secret if one person waits there, or false.
WAITING = PRELUDE + """
local live = live_members()
if #live ~= 1 then return false end
return redis.call('HGET', room, ':secret')
"""

REFUSALS = {"declined": declined, "nobody-there": nobody_there}  # and room-full, which needs a size


def parse_admitted(frame):
    """"!admitted <secret> <ids already there>" -> (secret, ids)."""
    _, secret, *others = frame.split(" ")
    return secret, others


def unavailable():
    return ProtocolError("unavailable", "The server cannot reach its room registry just now. "
                         "Your page will try again in a moment.")


def room_key(room):
    """The Redis hash of a room (the scripts' KEYS[1])."""
    return f"signaling:room:{room}"


class Person:
    """Someone connected to this process, and where they stand with Redis: "new" until the
    join script has run, then "in" or "knocking". What Redis delivers for a new person
    waits until their own first message (welcome or knocking) is in their mailbox."""

    def __init__(self, member):
        self.member = member
        self.state = "new"
        self.quiet = False  # leaves without a "peer-left": they are coming straight back
        self._held = []
        self._lock = threading.Lock()

    @property
    def renewed(self):
        return self.state != "new"

    def settle(self, state, first_frame):
        with self._lock:
            self.member.send(first_frame)
            self.state = state
            held, self._held = self._held, []
            for frame in held:
                self._pass(frame)

    def deliver(self, frame):
        with self._lock:
            if self.state == "new":
                self._held.append(frame)
            else:
                self._pass(frame)

    def _pass(self, frame):
        if frame.startswith("!admitted "):
            self.state = "in"
            secret, others = parse_admitted(frame)
            self.member.send(self.member.welcome(others, secret))
        elif frame.startswith("!refuse "):
            code = frame.split(" ", 1)[1]
            self.member.refuse(room_full(self.member.room_size) if code == "room-full" else REFUSALS[code]())
        else:
            self.member.send(frame)

    def send_away(self):
        """Close their socket with "unavailable" (after what is already in their mailbox);
        their page reconnects and rejoins, and the other person's page keeps the call."""
        self.quiet = True
        self.member.refuse(unavailable())


class RedisRooms:
    def __init__(self, url, max_rooms, max_people, lease_seconds):
        # No silent retries: a lost connection must be seen, since pub/sub messages sent
        # while it was down are gone (everyone here then rejoins). Sockets beyond the
        # pool's connections wait their turn for one instead of failing. Each idle
        # connection is pinged, so that a subscription dropped on the way is noticed.
        options = dict(socket_timeout=2, socket_connect_timeout=2, socket_keepalive=True,
                       health_check_interval=lease_seconds, retry=Retry(NoBackoff(), 0))
        self.redis = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
            url, max_connections=REDIS_CONNECTIONS, timeout=2, **options))
        # Leases are renewed on a connection of their own, never queued behind the sockets.
        self.renewer = redis.Redis.from_url(url, single_connection_client=True, **options)
        self.scripts = {name: self.redis.register_script(body) for name, body in
                        [("join", JOIN), ("answer", ANSWER), ("relay", RELAY), ("leave", LEAVE),
                         ("renew", RENEW), ("waiting", WAITING)]}
        self.max_rooms = max_rooms
        self.max_people = max_people
        self.lease_ms = int(lease_seconds * 1000)
        self.process = secrets.token_hex(6)
        self.channel = f"signaling:process:{self.process}"
        self._lock = threading.Lock()
        self._local = {}  # member -> Person, everyone connected to this process
        self._pending_leaves = {}  # member -> (room, quiet): leaves Redis has not taken yet
        self._subscribed = threading.Event()
        self._subscriptions = 0  # how many times we subscribed: a join spanning two lost messages
        threading.Thread(target=self._deliver, daemon=True).start()
        threading.Thread(target=self._renew_leases, daemon=True).start()
        # Admit no one before the subscription exists; if Redis is down, start anyway
        # and say "unavailable" until it is back.
        if not self._subscribed.wait(5):
            log.warning("Redis is unreachable; joins fail until it answers")

    def _key(self, member):
        return f"{member.name}@{self.process}"

    def _run(self, script, room, *args, client=None):
        try:
            return self.scripts[script](keys=[room_key(room)], args=args, client=client)
        except redis.RedisError as error:
            self._warn("Redis: %s in %s failed: %s", script, room, error)
            raise unavailable() from None

    def _warn(self, *message):
        """Log a failure, unless it is part of an outage _deliver has already reported."""
        if self._subscribed.is_set():
            log.warning(*message)

    def join(self, member, secret):
        """As rooms.MemoryRooms.join; the capacity limits count this process's people."""
        subscription = self._subscriptions
        if not self._subscribed.is_set():
            raise unavailable()
        key = self._key(member)
        with self._lock:
            rooms_here = {person.member.room_key for person in self._local.values()}
            check_capacity(len(self._local), len(rooms_here), member.room_key not in rooms_here,
                           self.max_people, self.max_rooms)
            person = self._local[key] = Person(member)  # before Redis knows it, for deliveries
        try:
            self._finish_pending_leaves()
            try:
                found = self._run("join", member.room_key, key, self.process, self.lease_ms, secret,
                                  member.room_size)
            except ProtocolError:
                # It may have run before the connection failed: take it back, quietly.
                self._leave_later(key, member.room_key, quiet=True)
                raise
            if found[0] == -1:
                raise room_full(member.room_size)
            if subscription != self._subscriptions or not self._subscribed.is_set():
                # The subscription was lost meanwhile, and messages for us with it.
                self._leave_later(key, member.room_key, quiet=True)
                raise unavailable()
        except ProtocolError:
            with self._lock:
                self._local.pop(key)
            raise
        if found[0] == -2:
            person.settle("knocking", message("knocking"))
            return KNOCKING
        person.settle("in", member.welcome([other.decode() for other in found[1:]]))
        return JOINED

    def answer_knock(self, member, admit):
        self._run("answer", member.room_key, self._key(member), "admit" if admit else "decline",
                  self.lease_ms)

    def relay(self, member, frame, to=None):
        key = self._key(member)
        if self._local[key].state != "in":
            return  # a knocker's frames reach nobody
        try:
            relayed = self._run("relay", member.room_key, key, frame, *([] if to is None else [to]))
        except ProtocolError:
            relayed = -1
        if relayed == -2:
            raise nobody_with(to)
        if relayed == -1:  # Redis was lost, or lost this membership: come back afresh
            self._local[key].quiet = True
            raise unavailable()

    def leave(self, member):
        key = self._key(member)
        with self._lock:
            person = self._local.pop(key, None)
        if person is None:  # refused at the door
            return
        try:
            self._run("leave", member.room_key, key, "quiet" if person.quiet else "")
        except ProtocolError:
            self._leave_later(key, member.room_key, person.quiet)

    def waiting_secret(self, room):
        secret = self._run("waiting", room)
        return secret.decode() if secret else None

    def _leave_later(self, member, room, quiet):
        """Retry a leave until Redis takes it; were the membership left to lapse, the other
        person would hear "peer-left" after this one had already rejoined."""
        with self._lock:
            self._pending_leaves[member] = (room, quiet)

    def _finish_pending_leaves(self, client=None):
        if not self._pending_leaves:  # nearly always: a join then takes no lock for it
            return
        with self._lock:
            pending = list(self._pending_leaves.items())
        for member, (room, quiet) in pending:
            self._run("leave", room, member, "quiet" if quiet else "", client=client)
            with self._lock:  # the other thread may have finished it first
                self._pending_leaves.pop(member, None)

    def _deliver(self):
        """Pass what is published for this process's people to their outboxes."""
        outage_said = False
        while True:
            pubsub = self.redis.pubsub()
            try:
                pubsub.subscribe(self.channel)
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        # Leaves left over from an outage go first: the people they
                        # belong to are about to rejoin the same rooms.
                        self._finish_pending_leaves()
                        self._subscriptions += 1
                        self._subscribed.set()
                        outage_said = False
                        log.info("Redis: listening on %s", self.channel)
                    elif message["type"] == "message":
                        key, frame = message["data"].decode().split("\n", 1)
                        person = self._local.get(key)
                        if person is not None:
                            person.deliver(frame)
            except (redis.RedisError, ProtocolError) as error:
                if not outage_said:  # once per outage, not at every try
                    log.warning("Redis: lost the subscription: %s; trying again every second", error)
                    outage_said = True
            except Exception:  # never let deliveries stop for good
                log.exception("Redis: deliveries failed")
            finally:
                self._subscribed.clear()
                pubsub.close()
            # Messages published meanwhile are gone: everyone here starts afresh.
            with self._lock:
                everyone = list(self._local.values())
            for person in everyone:
                person.send_away()
            time.sleep(1)

    def _renew_leases(self):
        """Every third of a lease, renew this process's members, and send away those
        Redis no longer has (it restarted, or their lease lapsed while it was out of reach)."""
        interval = self.lease_ms / 3000
        while True:
            time.sleep(interval)
            try:
                self._renew()
            except (redis.RedisError, ProtocolError) as error:
                self._warn("Redis: could not renew leases: %s", error)
            except Exception:  # never let leases lapse for good
                log.exception("Redis: renewing leases failed")

    def _renew(self):
        with self._lock:
            rooms = {}
            for key, person in self._local.items():
                if person.renewed:
                    rooms.setdefault(person.member.room_key, []).append(key)
        pipe = self.renewer.pipeline(transaction=False)
        for room, members in rooms.items():
            self.scripts["renew"](keys=[room_key(room)],
                                  args=[self.lease_ms, *members], client=pipe)
        missing = [member.decode() for result in pipe.execute() for member in result]
        for key in missing:
            person = self._local.get(key)
            if person is not None:
                person.send_away()
        self._finish_pending_leaves(client=self.renewer)
