"""A 1:1 video call: the pages, and the WebSocket that introduces two browsers.

Run it with `make run` (or `flask --app app run`) and open the printed URL in two tabs.
The media never passes through this server: it only relays the offer, the answer and
the ICE candidates (signaling.py), and the browsers then talk to each other directly.
"""

import logging
import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, redirect, render_template, request, url_for
from flask_sock import Sock

import signaling
from peer import PeerPool, PythonPeer
from redis_rooms import RedisRooms

sock = Sock()

ADJECTIVES = ["quiet", "brave", "sunny", "gentle", "swift", "clever", "calm", "bright"]
ANIMALS = ["otter", "heron", "fox", "panda", "lynx", "whale", "robin", "koala"]


def random_room_name():
    """A name that is easy to read aloud, like quiet-otter-42."""
    pick = secrets.choice
    return f"{pick(ADJECTIVES)}-{pick(ANIMALS)}-{secrets.randbelow(100)}"


def is_allowed_origin(origin):
    """The app's own origin, or one listed in ALLOWED_ORIGINS. Clients that are not
    browsers send no Origin and are not asked."""
    return urlsplit(origin).netloc == request.host or origin in current_app.config["ALLOWED_ORIGINS"]


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
        return RedisRooms(config["REDIS_URL"], config["MAX_ROOMS"], config["MAX_PEOPLE"],
                          config["REDIS_LEASE_SECONDS"])
    return signaling.Rooms(config["MAX_ROOMS"], config["MAX_PEOPLE"])


def create_app(test_config=None):
    app = Flask(__name__)
    app.config.from_mapping(
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
        # Seconds between WebSocket pings; a peer that misses one is gone.
        PING_INTERVAL=25,
        # Pages on other origins allowed to open the WebSocket (the app's own always is).
        ALLOWED_ORIGINS=[],
        # Flood control per socket: a burst, then a steady rate (messages per second).
        # A call's start is ~20 candidates and two descriptions; 200 leaves room to spare.
        MESSAGE_BURST=200,
        MESSAGE_RATE=50,
        # What one process holds (each socket is a thread).
        MAX_ROOMS=500,
        MAX_PEOPLE=1000,
        # "Call the echo peer": how many may run at once, and for how many seconds each.
        ECHO_PEERS=4,
        ECHO_SECONDS=300,
        # Where echo peers reach the signaling server; "" is this process, found from the
        # address it listens on. Behind gunicorn or a proxy, name it (e.g. ws://127.0.0.1:8000).
        ECHO_SERVER_URL="",
        # Share the rooms between processes through Redis (e.g. redis://127.0.0.1:6379/0);
        # "" keeps them in this process's memory. With Redis, a crashed process's people
        # are reported gone within REDIS_LEASE_SECONDS and a third.
        REDIS_URL="",
        REDIS_LEASE_SECONDS=3,
    )
    # FLASK_PING_INTERVAL=10, FLASK_ICE_SERVERS='[{"urls": "stun:..."}]' and so on.
    app.config.from_prefixed_env()
    if test_config:
        app.config.from_mapping(test_config)
    app.config.setdefault(
        "SOCK_SERVER_OPTIONS",
        {
            "ping_interval": app.config["PING_INTERVAL"],
            # flask-sock's own cap closes the socket without a word, so it sits
            # above ours: messages between the two get a "too-large" error first.
            "max_message_size": 4 * app.config["MAX_MESSAGE_BYTES"],
        },
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("aioice").setLevel(logging.WARNING)  # the echo peers' ICE checks

    @app.before_request
    def refuse_foreign_origins():
        """A page on another site must not use a visitor's browser to join our rooms
        (cross-site WebSocket hijacking) or to send them echo peers: refuse it before
        the WebSocket upgrade or the POST."""
        origin = request.headers.get("Origin")
        reaches_rooms = request.path.startswith("/ws/") or request.method == "POST"
        if reaches_rooms and origin and not is_allowed_origin(origin):
            abort(403, "This origin may not reach the rooms.")

    @app.get("/")
    def lobby():
        return render_template("lobby.html", suggestion=random_room_name())

    @app.get("/join")
    def join():
        room = request.args.get("room", "").strip() or random_room_name()
        if not signaling.is_valid_room(room):
            return render_template("lobby.html", suggestion=random_room_name(),
                                   error=signaling.BAD_ROOM_MESSAGE, room=room), 400
        return redirect(url_for("room", room=room))

    @app.get("/room/<room>")
    def room(room):
        if not signaling.is_valid_room(room):
            abort(404, signaling.BAD_ROOM_MESSAGE)
        return render_template("room.html", room=room)

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
        if not signaling.is_valid_room(room):
            abort(404, signaling.BAD_ROOM_MESSAGE)
        return render_template("room.html", room=room, signal_log=True)

    @app.post("/room/<room>/echo")
    def call_echo_peer(room):
        """Bring a Python peer (peer.py) into the room that sends back what it receives:
        a person alone sees and hears themselves through a real WebRTC round trip.
        It runs on its own asyncio loop in a thread of this process, and leaves when
        the person does or after ECHO_SECONDS. Only the person waiting may ask: the
        request carries the echoToken of their welcome."""
        if not signaling.is_valid_room(room):
            abort(404, signaling.BAD_ROOM_MESSAGE)
        try:
            waiting_token = app.extensions["rooms"].waiting_token(room)
        except signaling.SignalingError as error:  # Redis unreachable
            return {"error": str(error)}, 503
        if waiting_token is None:
            return {"error": "The echo peer only joins a room where one person waits."}, 409
        token = (request.get_json(silent=True) or {}).get("token")
        if not isinstance(token, str) or not secrets.compare_digest(token, waiting_token):
            return {"error": "Only the person waiting in this room may call the echo peer."}, 403
        echo = PythonPeer(room, app.config["ECHO_SERVER_URL"] or own_address(),
                          send="echo", stay=False, lifetime=app.config["ECHO_SECONDS"],
                          verify_tls=bool(app.config["ECHO_SERVER_URL"]))
        if not app.extensions["echo_peers"].start(echo):
            return {"error": "All echo peers are busy. Try again in a few minutes."}, 503
        return {"room": room}, 202

    app.extensions["echo_peers"] = PeerPool(app.config["ECHO_PEERS"])
    app.extensions["rooms"] = make_rooms(app.config)
    sock.init_app(app)
    return app


@sock.route("/ws/<room>")
def ws(connection, room):
    signaling.serve(connection, room, current_app.extensions["rooms"], current_app.config)
