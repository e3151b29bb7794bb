"""Every setting of the app, its default, and the check it must pass when the app starts.
Each can be given as FLASK_<NAME> in the environment (a JSON value where it is not a
string: FLASK_ICE_SERVERS='[{"urls": "stun:stun.example.org"}]')."""

import re

DEFAULTS = dict(
    # Signs the echo tokens. "" makes a random one at start: fine for one process; several
    # (REDIS_URL) need the same one.
    SECRET_KEY="",
    # RTCConfiguration.iceServers handed to every browser. Empty means host
    # candidates only: enough on one machine or one LAN, not across NATs.
    ICE_SERVERS=[],
    # TURN with time-limited credentials (coturn's use-auth-secret): its URLs, the
    # secret shared with coturn (static-auth-secret), and how long each pair lasts.
    TURN_URLS=[],
    TURN_SECRET="",
    TURN_CREDENTIAL_SECONDS=3600,
    # "relay" makes every browser use TURN only (to test TURN, or to hide addresses).
    ICE_TRANSPORT_POLICY="all",
    # Largest signaling message accepted, in bytes. An SDP is a few KiB.
    MAX_MESSAGE_BYTES=64 * 1024,
    # What may wait to be sent to one person, in bytes; more, and they are cut off.
    OUTBOX_BYTES=1024 * 1024,
    # Seconds a client may leave what we sent unacknowledged before it is cut off.
    STALL_SECONDS=5,
    # Seconds a new socket has to send its "join".
    JOIN_SECONDS=10,
    # Seconds between WebSocket pings; a peer that misses one is gone.
    PING_INTERVAL=25,
    # Pages on other origins allowed to open the WebSocket (the app's own always is),
    # each as scheme://host[:port].
    ALLOWED_ORIGINS=[],
    # The Host names this app answers to (Flask's TRUSTED_HOSTS): a name not listed is
    # refused, which stops DNS rebinding. None answers any (only behind a proxy that checks).
    TRUSTED_HOSTS=["localhost", "127.0.0.1", "[::1]"],
    # How many proxies in front set X-Forwarded-For and -Proto (0: trust no such header).
    PROXIES=0,
    # Flood control per socket: a burst, then a steady rate (messages per second).
    # A call's start is ~20 candidates and two descriptions; 200 leaves room to spare.
    MESSAGE_BURST=200,
    MESSAGE_RATE=50,
    # Per client address: new sockets and echo requests a minute, sockets open at once.
    JOINS_PER_MINUTE=30,
    SOCKETS_PER_ADDRESS=20,
    # The most people in a group room (/group/<room>): each sends their video to every
    # other (a mesh), so past about four a browser's upload and CPU run out.
    GROUP_SIZE=4,
    # What one process holds (each socket is a thread).
    MAX_ROOMS=500,
    MAX_PEOPLE=1000,
    # "Call the echo peer": how many may run at once (each a process), per address, and
    # for how many seconds each.
    ECHO_PEERS=4,
    ECHO_PEERS_PER_ADDRESS=1,
    ECHO_SECONDS=300,
    # An echo peer let in second leaves if the person waiting sends no offer this soon.
    ECHO_OFFER_SECONDS=10,
    # Where echo peers reach the signaling server; "" is this process, found from the
    # address it listens on. Behind gunicorn or a proxy, name it (e.g. ws://127.0.0.1:8000).
    ECHO_SERVER_URL="",
    # Share the rooms between processes through Redis (e.g. redis://127.0.0.1:6379/0);
    # "" keeps them in this process's memory. With Redis, a crashed process's people
    # are reported gone within REDIS_LEASE_SECONDS and a third.
    REDIS_URL="",
    REDIS_LEASE_SECONDS=3,
)

# What each setting must be: a type, and for numbers the smallest allowed.
LISTS = {"ICE_SERVERS", "TURN_URLS", "ALLOWED_ORIGINS"}
STRINGS = {"SECRET_KEY", "TURN_SECRET", "ICE_TRANSPORT_POLICY", "ECHO_SERVER_URL", "REDIS_URL"}
POSITIVE = {"MAX_MESSAGE_BYTES", "OUTBOX_BYTES", "STALL_SECONDS",
            "JOIN_SECONDS", "PING_INTERVAL", "MESSAGE_BURST", "MESSAGE_RATE", "JOINS_PER_MINUTE",
            "SOCKETS_PER_ADDRESS", "GROUP_SIZE", "MAX_ROOMS", "MAX_PEOPLE", "ECHO_SECONDS", "ECHO_OFFER_SECONDS", "REDIS_LEASE_SECONDS"}
NOT_NEGATIVE = {"PROXIES", "ECHO_PEERS", "ECHO_PEERS_PER_ADDRESS"}
NUMBERS = {"TURN_CREDENTIAL_SECONDS"}  # below 0 in a test of expired credentials


def origin_of(url):
    """scheme://host:port, with the scheme's default port written out; None if `url` is
    not an http(s) origin."""
    match = re.fullmatch(r"(https?)://([^/:]+|\[[^\]]+\])(?::(\d+))?/?", url.strip().lower())
    if not match:
        return None
    scheme, host, port = match.groups()
    return f"{scheme}://{host}:{port or (443 if scheme == 'https' else 80)}"


class SettingError(ValueError):
    """A setting the app cannot start with; the message names it and says why."""


# Their values never appear in a message (nor in a log).
SECRETS = {"SECRET_KEY", "TURN_SECRET", "ICE_SERVERS", "REDIS_URL"}


def _fail(name, text):
    raise SettingError(f"Setting {name} (FLASK_{name}): {text}")


def _shown(name, value):
    return f"a {type(value).__name__} (value not shown)" if name in SECRETS else repr(value)


def check_settings(config):
    """Stop the app at start, naming the setting, rather than fail in a call later."""
    for name in LISTS:
        if not isinstance(config[name], list):
            _fail(name, f"expected a JSON list, got {_shown(name, config[name])}")
    for name in STRINGS:
        if not isinstance(config[name], str):
            _fail(name, f"expected a string, got {_shown(name, config[name])}")
    for name in POSITIVE | NOT_NEGATIVE | NUMBERS:
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(name, f"expected a number, got {value!r}")
        if name in NUMBERS:
            continue
        if value < 0 or (name in POSITIVE and value == 0):
            _fail(name, f"must be {'more than 0' if name in POSITIVE else '0 or more'}, got {value}")
    hosts = config["TRUSTED_HOSTS"]
    if hosts is not None and not (isinstance(hosts, list) and all(isinstance(h, str) for h in hosts)):
        _fail("TRUSTED_HOSTS", f"expected a JSON list of host names, or null; got {hosts!r}")
    for origin in config["ALLOWED_ORIGINS"]:
        if not isinstance(origin, str) or origin_of(origin) is None:
            _fail("ALLOWED_ORIGINS", f"{origin!r} is not scheme://host[:port]")
    if not isinstance(config["GROUP_SIZE"], int) or not 3 <= config["GROUP_SIZE"] <= 8:
        _fail("GROUP_SIZE", f"a group is 3 to 8 people (each sends to every other), got {config['GROUP_SIZE']}")
    if config["ICE_TRANSPORT_POLICY"] not in ("all", "relay"):
        _fail("ICE_TRANSPORT_POLICY", "expected \"all\" or \"relay\"")
    if not all(isinstance(server, dict) and "urls" in server for server in config["ICE_SERVERS"]):
        _fail("ICE_SERVERS", 'expected a list of RTCIceServer objects like {"urls": "stun:..."}')
    if config["TURN_URLS"] and not config["TURN_SECRET"]:
        _fail("TURN_SECRET", "TURN_URLS are set, so the secret shared with coturn is needed")
    if config["REDIS_URL"] and not config["SECRET_KEY"]:
        _fail("SECRET_KEY", "with REDIS_URL, every process needs the same SECRET_KEY")
    if config["SECRET_KEY"] and len(config["SECRET_KEY"]) < 32:
        _fail("SECRET_KEY", "at least 32 characters, or echo tokens can be guessed "
              "(python -c 'import secrets; print(secrets.token_hex(32))')")
