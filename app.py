"""A 1:1 video call: the pages, and the WebSocket that introduces two browsers. A group
room (/group/<room>) does the same for up to GROUP_SIZE people, each pair connected.

Run it with `make run` (or `flask --app app run`) and open the printed URL in two tabs.
The media never passes through this server: it only relays the offer, the answer and
the ICE candidates (signaling.py), and the browsers then talk to each other directly.

A room's link is its secret: /room/<name>#<secret>. The part after "#" never leaves the
browser in a request (so never reaches a log or a Referer); the page gives it to the
server in its first WebSocket message. Whoever lacks it knocks (rooms.py).
"""

import hmac
import ipaddress
import logging
import re
import secrets

from flask import Flask, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_limiter import Limiter
from flask_sock import Sock
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

import languages
import signaling
from echo import EchoPeers
from guarded_socket import guard
from protocol import ProtocolError, is_valid_room
from rooms import MemoryRooms
from settings import DEFAULTS, check_settings, origin_of

log = logging.getLogger("app")


def client_address():
    """Whom the limits per address count: the client's address, or for IPv6 its /64, which
    one home or one host holds whole (it could take a fresh address per request)."""
    address = request.remote_addr or ""
    if ":" in address:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return address


sock = Sock()
WS_ENDPOINTS = {"__flask_sock.ws", "__flask_sock.ws_group"}  # flask-sock's names for the routes below
limiter = Limiter(client_address)

ADJECTIVES = ["quiet", "brave", "sunny", "gentle", "swift", "clever", "calm", "bright"]
ANIMALS = ["otter", "heron", "fox", "panda", "lynx", "whale", "robin", "koala"]
# Lobby names end in 8 random letters and digits (40 bits): readable, yet no scanner finds
# them. The secret in the link (128 bits) is what keeps strangers out.
MADE_NAME = re.compile(r"[a-z]+-[a-z]+-[a-z2-7]{8}")
NAME_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
BAD_ROOM_NAME = lazy_gettext("A room name is 1 to 64 letters, digits, '-' or '_'.")

# Browsers run only this site's own scripts, styles and connections on these pages, and
# no other site may frame them. 'self' covers ws:// and wss:// to the same host and port
# (CSP Level 3), which is where the signaling socket goes.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "connect-src": "'self'",
    "img-src": "'self' data:",
    "media-src": "'self' blob:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
PERMISSIONS_POLICY = "camera=(self), microphone=(self), display-capture=(self)"


def random_room_name():
    """A name that is easy to read aloud and impossible to guess, like quiet-otter-k7q2mfa3."""
    suffix = "".join(secrets.choice(NAME_ALPHABET) for _ in range(8))
    return f"{secrets.choice(ADJECTIVES)}-{secrets.choice(ANIMALS)}-{suffix}"


def is_allowed_origin(origin):
    """The app's own origin (scheme, host and port), or one listed in ALLOWED_ORIGINS.
    Clients that are not browsers send no Origin and are not asked."""
    own = origin_of(f"{request.scheme}://{request.host}")
    allowed = {own} | {origin_of(o) for o in current_app.config["ALLOWED_ORIGINS"]}
    return origin_of(origin) in allowed


def own_address():
    """Where this server listens, as its echo peer reaches it: never the request's Host
    header, which the client writes. Listening on every interface means loopback works."""
    host = request.environ["SERVER_NAME"]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{request.scheme}://{host}:{request.environ['SERVER_PORT']}"


def make_rooms(config):
    """Rooms in memory, or in Redis when REDIS_URL names one (to run several processes)."""
    if config["REDIS_URL"]:
        from redis_rooms import RedisRooms
        return RedisRooms(config["REDIS_URL"], config["MAX_ROOMS"], config["MAX_PEOPLE"],
                          config["REDIS_LEASE_SECONDS"])
    return MemoryRooms(config["MAX_ROOMS"], config["MAX_PEOPLE"])


def joins_limit():
    return f"{current_app.config['JOINS_PER_MINUTE']}/minute"


def create_app(test_config=None):
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    # FLASK_PING_INTERVAL=10, FLASK_ICE_SERVERS='[{"urls": "stun:..."}]' and so on.
    app.config.from_prefixed_env()
    if test_config:
        app.config.from_mapping(test_config)
    check_settings(app.config)
    if not app.config["SECRET_KEY"]:  # one process: a key of its own is enough
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    app.config.setdefault(
        "SOCK_SERVER_OPTIONS",
        {
            "ping_interval": app.config["PING_INTERVAL"],
            # flask-sock's own cap closes the socket without a word, so it sits
            # above ours: messages between the two get a "too-large" error first.
            "max_message_size": 4 * app.config["MAX_MESSAGE_BYTES"],
        },
    )
    if app.config["PROXIES"]:  # the client's address and scheme, as that many proxies say
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXIES"], x_proto=app.config["PROXIES"])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    Talisman(app, force_https=False, strict_transport_security=False,  # nginx does both
             session_cookie_secure=False, frame_options="DENY",
             content_security_policy=CONTENT_SECURITY_POLICY,
             referrer_policy="no-referrer", permissions_policy=PERMISSIONS_POLICY)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Redis out of reach: count in this process's memory meanwhile rather than fail.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
    Babel(app, locale_selector=languages.choose_language)
    app.json.ensure_ascii = False  # Korean as itself in the page's JSON, not \uXXXX escapes
    script_words = languages.script_words()
    if not languages.is_compiled():
        log.warning("the Korean catalog is not compiled: pages stay English until `make translations`")

    @app.context_processor
    def page_language():
        language = str(get_locale())
        return {"language": language, "languages": languages.LANGUAGES,
                "script_words": script_words[language]}

    @app.after_request
    def vary_by_language(response):
        """Pages differ by the browser's language and the switch's cookie: a cache must
        keep one copy per language."""
        if response.mimetype == "text/html":
            response.vary.update(("Accept-Language", "Cookie"))
        return response

    @app.errorhandler(429)
    def too_many_requests(error):
        return {"error": "rate-limited", "message": _(
            "Too many new calls from your address (at most %(limit)s a minute). Try again in a minute.",
            limit=app.config["JOINS_PER_MINUTE"])}, 429

    @app.before_request
    def refuse_foreign_origins():
        """A page on another site must not use a visitor's browser to join our rooms
        (cross-site WebSocket hijacking) or to send them echo peers: refuse it before
        the WebSocket upgrade or the POST."""
        origin = request.headers.get("Origin")
        reaches_rooms = request.path.startswith("/ws/") or request.method == "POST"
        if reaches_rooms and origin and not is_allowed_origin(origin):
            abort(403, "This origin may not reach the rooms.")

    @app.before_request
    def hold_a_socket():
        """At most SOCKETS_PER_ADDRESS signaling sockets from one address at once, and the
        socket guarded (guarded_socket.py) before flask-sock takes it."""
        if request.endpoint not in WS_ENDPOINTS:
            return
        if not app.config["PROXIES"] and "X-Forwarded-For" in request.headers and not app.extensions.get("proxy_warned"):
            app.extensions["proxy_warned"] = True
            log.warning("requests come with X-Forwarded-For but PROXIES is 0: behind a proxy, every "
                        "client has the proxy's address and shares its limits; set FLASK_PROXIES")
        if not app.extensions["sockets"].take(client_address()):
            return {"error": "too-many", "message": _("Too many open calls from your address.")}, 429
        g.holds_socket = True
        guard(request.environ, app.config["MAX_MESSAGE_BYTES"])

    @app.teardown_request
    def release_socket(error=None):
        if g.pop("holds_socket", False):
            app.extensions["sockets"].give_back(client_address())

    @app.get("/")
    def lobby():
        return render_template("lobby.html")

    @app.get("/new")
    def new_room():
        """A room nobody can find; the page adds the secret to its link."""
        return redirect(url_for("room", room=random_room_name()))

    @app.get("/new-group")
    def new_group():
        return redirect(url_for("group", room=random_room_name()))

    @app.get("/join")
    def join():
        room = request.args.get("room", "").strip()
        if not is_valid_room(room):
            return render_template("lobby.html", error=BAD_ROOM_NAME, room=room), 400
        return redirect(url_for("room", room=room))

    @app.get("/room/<room>")
    def room(room):
        if not is_valid_room(room):  # the lobby, saying why, in the page's language
            return render_template("lobby.html", error=BAD_ROOM_NAME, room=room), 404
        return render_template("room.html", room=room, guessable=not MADE_NAME.fullmatch(room))

    @app.get("/group/<room>")
    def group(room):
        if not is_valid_room(room):
            return render_template("lobby.html", error=BAD_ROOM_NAME, room=room), 404
        return render_template("group.html", room=room, size=app.config["GROUP_SIZE"],
                               guessable=not MADE_NAME.fullmatch(room))

    @app.get("/tutorial/<int:step>")
    def tutorial(step):
        """The pages of tutorial/: steps 1 and 2 stand alone; step 3 is the call page
        with a live list of its signaling messages."""
        if step in (1, 2):
            return render_template(f"tutorial/step{step}.html")
        if step != 3:
            abort(404)
        room = request.args.get("room")
        if not room:  # a shareable address for the second tab
            return redirect(url_for("tutorial", step=3, room=random_room_name()))
        if not is_valid_room(room):
            return render_template("lobby.html", error=BAD_ROOM_NAME, room=room), 404
        return render_template("room.html", room=room, signal_log=True,
                               guessable=not MADE_NAME.fullmatch(room))

    @app.post("/room/<room>/echo")
    @limiter.shared_limit(joins_limit, scope="joins")
    def call_echo_peer(room):
        """Bring a Python peer (peer.py) into the room that sends back what it receives:
        a person alone sees and hears themselves through a real WebRTC round trip.
        It runs in a process of its own (echo.py). Only the person waiting may ask: the
        request carries the echoToken of their welcome, an HMAC of the room's name and
        secret. Every request without it gets the same 403, at the same cost (one lookup,
        one HMAC), whether the room is empty, has someone waiting or is full."""
        token = (request.get_json(silent=True) or {}).get("token")
        try:
            secret = app.extensions["rooms"].waiting_secret(room) if is_valid_room(room) else None
        except ProtocolError:  # Redis unreachable
            return {"error": _("The server cannot reach its rooms just now. Try again in a moment.")}, 503
        expected = signaling.echo_token(app.config["SECRET_KEY"], room, secret or "")
        matches = hmac.compare_digest((token if isinstance(token, str) else "").encode(), expected.encode())
        if secret is None or not matches:
            return {"error": _("Only the person waiting in this room may call the echo peer.")}, 403
        server = app.config["ECHO_SERVER_URL"] or own_address()
        if not app.extensions["echo_peers"].start(f"{server}/room/{room}#{secret}", client_address(),
                                                  insecure=not app.config["ECHO_SERVER_URL"]):
            return {"error": _("All echo peers are busy. Try again in a few minutes.")}, 503
        return {"room": room}, 202

    app.extensions["echo_peers"] = EchoPeers(app.config["ECHO_PEERS"], app.config["ECHO_PEERS_PER_ADDRESS"],
                                             app.config["ECHO_SECONDS"], app.config["ECHO_OFFER_SECONDS"])
    app.extensions["sockets"] = signaling.SocketsPerAddress(app.config["SOCKETS_PER_ADDRESS"])
    app.extensions["rooms"] = make_rooms(app.config)
    sock.init_app(app)
    # New signaling sockets count against the same limit as echo requests.
    for endpoint in WS_ENDPOINTS:
        app.view_functions[endpoint] = limiter.shared_limit(joins_limit, scope="joins")(
            app.view_functions[endpoint])
    return app


@sock.route("/ws/<room>")
def ws(connection, room):
    signaling.serve(connection, room, current_app.extensions["rooms"], current_app.config)


@sock.route("/ws/group/<room>")
def ws_group(connection, room):
    signaling.serve(connection, room, current_app.extensions["rooms"], current_app.config, group=True)
