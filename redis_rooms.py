"""Rooms shared through Redis, for when several processes (gunicorn workers, hosts behind
a load balancer) serve one site and the two people in a room may land on different ones.

The same methods and promises as signaling.Rooms, kept across processes:
- Admission is one Lua script, which Redis runs alone: three people joining at the same
  instant on three processes still make exactly two members.
- Everything meant for a person goes through Redis pub/sub, on one channel per process
  (not per room or per connection): a process subscribes once, before it admits anyone,
  so nothing published to a newcomer can arrive before its subscription exists. Redis
  delivers in the order it ran the scripts, so peer-left still comes before a new
  peer-joined, and the newcomer's welcome before anything relayed to it (its send lock).
- Each member holds a lease that its process renews every third of REDIS_LEASE_SECONDS.
  If the process dies, the lease lapses and the one who stays is told peer-left.

When Redis is unreachable, new joins get an "unavailable" error. Sockets whose messages
may have been lost are closed with the same error; pages reconnect by themselves and
rejoin without dropping their call (the media never went through here).
"""

import json
import logging
import queue
import secrets
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from signaling import SignalingError, check_capacity, room_full

log = logging.getLogger("signaling.redis")
# Connections to Redis per process, shared by all its sockets (Redis runs one command at a time).
REDIS_CONNECTIONS = 50
# Messages waiting for one person; a person this far behind has stopped reading, and is cut off.
OUTBOX_LIMIT = 200

# The Lua scripts share this prelude. A member is a hash field of its room; its value is
# "<process> <lease end, ms> <echo token>".
PRELUDE = """
local room = KEYS[1]
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)

local function tell(member, value, frame)
  local process = string.match(value, '^(%S+)')
  redis.call('PUBLISH', 'signaling:process:' .. process, member .. '\\n' .. frame)
end

-- The members whose lease runs; lapsed ones are removed and the others told peer-left.
local function live_members()
  local fields = redis.call('HGETALL', room)
  local live, lapsed = {}, false
  for i = 1, #fields, 2 do
    if tonumber(string.match(fields[i + 1], '^%S+ (%d+)')) < now then
      redis.call('HDEL', room, fields[i])
      lapsed = true
    else
      live[#live + 1] = {fields[i], fields[i + 1]}
    end
  end
  if lapsed then
    for _, member in ipairs(live) do tell(member[1], member[2], '{"type":"peer-left"}') end
  end
  return live
end
"""

# ARGV: member, process, echo token, lease ms. Returns the people already there, or -1: full.
JOIN = PRELUDE + """
local live = live_members()
if #live >= 2 then return -1 end
redis.call('HSET', room, ARGV[1], ARGV[2] .. ' ' .. (now + ARGV[4]) .. ' ' .. ARGV[3])
redis.call('PEXPIRE', room, ARGV[4])
for _, member in ipairs(live) do tell(member[1], member[2], '{"type":"peer-joined"}') end
return #live
"""

# ARGV: member, frame. Returns -1 if the sender is no longer a member.
RELAY = PRELUDE + """
if redis.call('HEXISTS', room, ARGV[1]) == 0 then return -1 end
local fields = redis.call('HGETALL', room)
for i = 1, #fields, 2 do
  if fields[i] ~= ARGV[1] then tell(fields[i], fields[i + 1], ARGV[2]) end
end
return 0
"""

# ARGV: member, "quiet" to leave without telling the other (they will see it rejoin).
LEAVE = PRELUDE + """
if redis.call('HDEL', room, ARGV[1]) == 1 and ARGV[2] ~= 'quiet' then
  for _, member in ipairs(live_members()) do tell(member[1], member[2], '{"type":"peer-left"}') end
end
return 0
"""

# ARGV: lease ms, then this process's members in the room. Returns those not found.
RENEW = PRELUDE + """
live_members()
local missing = {}
for i = 2, #ARGV do
  local value = redis.call('HGET', room, ARGV[i])
  if value then
    local process, token = string.match(value, '^(%S+) %d+ (%S*)')
    redis.call('HSET', room, ARGV[i], process .. ' ' .. (now + ARGV[1]) .. ' ' .. token)
  else
    missing[#missing + 1] = ARGV[i]
  end
end
redis.call('PEXPIRE', room, ARGV[1])
return missing
"""

# Returns the echo token of the one person waiting in the room, or false.
WAITING = PRELUDE + """
local live = live_members()
if #live ~= 1 then return false end
return string.match(live[1][2], '^%S+ %d+ (%S*)')
"""


def unavailable():
    return SignalingError("unavailable", "The server cannot reach its room registry just now. "
                          "Your page will try again in a moment.")


def room_key(room):
    """The Redis hash of a room's members (the scripts' KEYS[1])."""
    return f"signaling:room:{room}"


class Person:
    """Someone connected to this process, and where they stand with Redis. What Redis
    delivers for them waits in their outbox, which a thread of their own writes to their
    socket: a person whose network stalls holds up their own messages, nobody else's."""

    def __init__(self, peer):
        self.peer = peer
        self.admitted = False  # by the join script: their lease is renewed from then on
        self.quiet = False  # leaves without a "peer-left": they are coming straight back
        self.outbox = queue.Queue()
        threading.Thread(target=self._send_all, daemon=True).start()

    def deliver(self, frame):
        if self.outbox.qsize() >= OUTBOX_LIMIT:
            self.peer.log.info("cut off: %d messages wait for it", OUTBOX_LIMIT)
            self.peer.cut_off()  # its own thread sees the end, and leaves the room
            return
        self.outbox.put(frame)

    def send_away(self):
        """Close their socket with "unavailable" (after what is already in their outbox);
        their page reconnects and rejoins, and the other person's page keeps the call."""
        self.quiet = True
        self.outbox.put(unavailable())

    def gone(self):
        self.outbox.put(None)

    def _send_all(self):
        while (item := self.outbox.get()) is not None:
            if isinstance(item, SignalingError):
                self.peer.refuse(item)
            else:
                self.peer.send(item)


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
                        [("join", JOIN), ("relay", RELAY), ("leave", LEAVE),
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

    def _member(self, peer):
        return f"{peer.name}@{self.process}"

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

    def join(self, peer, welcome):
        """As signaling.Rooms.join; the capacity limits count this process's people."""
        subscription = self._subscriptions
        if not self._subscribed.is_set():
            raise unavailable()
        member = self._member(peer)
        with self._lock:
            rooms_here = {person.peer.room for person in self._local.values()}
            check_capacity(len(self._local), len(rooms_here), peer.room not in rooms_here,
                           self.max_people, self.max_rooms)
            person = self._local[member] = Person(peer)  # before Redis knows it, for deliveries
        with peer.send_lock:  # until the welcome is out, nothing relayed overtakes it
            try:
                self._finish_pending_leaves()
                try:
                    peers = self._run("join", peer.room, member, self.process, peer.echo_token,
                                      self.lease_ms)
                except SignalingError:
                    # It may have run before the connection failed: take it back, quietly.
                    self._leave_later(member, peer.room, quiet=True)
                    raise
                if peers < 0:
                    raise room_full()
                if subscription != self._subscriptions or not self._subscribed.is_set():
                    # The subscription was lost meanwhile, and messages for us with it.
                    self._leave_later(member, peer.room, quiet=True)
                    raise unavailable()
            except SignalingError:
                with self._lock:
                    self._local.pop(member).gone()
                raise
            person.admitted = True
            peer.send_locked(json.dumps(welcome(peers)))

    def relay(self, peer, frame):
        member = self._member(peer)
        try:
            in_room = self._run("relay", peer.room, member, frame) == 0
        except SignalingError:
            in_room = False
        if not in_room:  # Redis was lost, or lost this membership: come back afresh
            self._local[member].quiet = True
            raise unavailable()

    def leave(self, peer):
        member = self._member(peer)
        with self._lock:
            person = self._local.pop(member)
        person.gone()
        try:
            self._run("leave", peer.room, member, "quiet" if person.quiet else "")
        except SignalingError:
            self._leave_later(member, peer.room, person.quiet)

    def waiting_token(self, room):
        token = self._run("waiting", room)
        return token.decode() if token else None

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
                        member, frame = message["data"].decode().split("\n", 1)
                        person = self._local.get(member)
                        if person is not None:
                            person.deliver(frame)
            except (redis.RedisError, SignalingError) as error:
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
            except (redis.RedisError, SignalingError) as error:
                self._warn("Redis: could not renew leases: %s", error)
            except Exception:  # never let leases lapse for good
                log.exception("Redis: renewing leases failed")

    def _renew(self):
        with self._lock:
            rooms = {}
            for member, person in self._local.items():
                if person.admitted:
                    rooms.setdefault(person.peer.room, []).append(member)
        pipe = self.renewer.pipeline(transaction=False)
        for room, members in rooms.items():
            self.scripts["renew"](keys=[room_key(room)],
                                  args=[self.lease_ms, *members], client=pipe)
        missing = [member.decode() for result in pipe.execute() for member in result]
        for member in missing:
            person = self._local.get(member)
            if person is not None:
                person.send_away()
        self._finish_pending_leaves(client=self.renewer)
