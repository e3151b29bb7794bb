"""Hostile clients: each costs a bounded amount, gets a clear answer, and leaves everyone
else's call up. Attacks run against live servers on loopback only."""

import base64
import fcntl
import json
import os
import socket
import subprocess
import struct
import sys
import termios
import threading
import time

import pytest
import websocket
from playwright.sync_api import expect

from app import create_app
from harness import SignalingClient as Client, an_offer, http, room_path, wait_until
from settings import SettingError

BIG_OFFER = json.dumps({"type": "offer", "sdp": "v=0\r\n" + "a=x" * 20_000})  # 60 KB


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def welcome_or_error(url):
    """Join `url` (a newcomer with the link) and return what it is told first."""
    client = Client(url)
    try:
        first = client.receive()
        return first.get("code", first["type"])
    finally:
        client.close()


def test_a_stalled_reader_costs_little_and_is_cut_off_within_seconds(server_process, room):
    server = server_process({"FLASK_STALL_SECONDS": "3"})
    pid = server.process.pid
    flooder = Client(server.ws_url(room))
    flooder.expect("welcome")
    # The stalled reader: a 4 KiB receive buffer it never reads.
    stalled = Client(server.ws_url(room), sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)])
    flooder.expect("peer-joined")
    before = rss_mb(pid)
    started = time.monotonic()
    sent = []

    def flood():
        try:
            for _ in range(1500):
                flooder.ws.send(BIG_OFFER)
                sent.append(time.monotonic())
        except (OSError, websocket.WebSocketException):
            pass  # cut off for flooding: what arrives is counted, however stuck the relay

    flooding = threading.Thread(target=flood)
    flooding.start()
    # The stalled reader is cut off as well, and the room is free for the link's holders.
    wait_until(lambda: _room_is_empty(server, room), "the room to be freed", timeout=15)
    freed_after = time.monotonic() - started
    flooding.join()
    grown = rss_mb(pid) - before
    print(f"the flooder got {len(sent)} offers of 60 KB out; the room was free {freed_after:.1f} s "
          f"after the flood began (STALL_SECONDS 3); the server grew {grown:.1f} MB")
    assert len(sent) < 1500, "a flooder was never stopped"
    assert grown < 30


def _room_is_empty(server, room):
    probe = Client(server.ws_url(room))
    try:
        first = probe.receive()
        return first["type"] == "welcome" and first["peers"] == 0
    finally:
        probe.close()


def raw_handshake(port, path, extra_headers="", host="127.0.0.1"):
    sock = socket.create_connection(("127.0.0.1", port), 5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"{extra_headers}\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(4096)
    return sock, response.decode("latin-1")


def masked_frame(payload, rsv1=False, opcode=1):
    mask = os.urandom(4)
    head = bytes([0x80 | (0x40 if rsv1 else 0) | opcode])
    length = len(payload)
    if length < 126:
        head += bytes([0x80 | length])
    elif length < 65536:
        head += bytes([0x80 | 126]) + length.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + length.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_compression_is_never_agreed_and_a_compressed_bomb_is_refused(live_server, room):
    port = live_server.server.port
    sock, response = raw_handshake(port, f"/ws/{room}",
                                   "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")
    assert response.startswith("HTTP/1.1 101")
    assert "sec-websocket-extensions" not in response.lower()
    # A deflated frame (RSV1 set) of 1 MB of zeros fits in about a kilobyte: without the
    # extension it is a protocol error, and the socket closes at once.
    import zlib
    squeezer = zlib.compressobj(wbits=-15)
    bomb = squeezer.compress(json.dumps({"type": "join", "secret": "x" * 1_000_000}).encode())
    bomb += squeezer.flush(zlib.Z_SYNC_FLUSH)[:-4]
    assert len(bomb) < 2000
    sock.sendall(masked_frame(bomb, rsv1=True))
    sock.settimeout(5)
    closing = sock.recv(2)
    assert closing[0] & 0x0F == 0x8, closing  # a close frame
    sock.close()


def test_frames_are_written_whole_to_a_slow_reader_under_gevent(server_process, room):
    """gunicorn's gevent worker: a socket's send() may write part of a frame when the
    other end is slow; each frame must still arrive whole and in order."""
    port_holder = {}

    def gunicorn(port):
        port_holder["port"] = port
        return [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "--worker-class", "gevent",
                "--bind", f"127.0.0.1:{port}", "app:create_app()"]

    server = server_process(command=gunicorn)
    sender = Client(server.ws_url(room))
    sender.expect("welcome")
    reader = Client(server.ws_url(room), sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)])
    sender.expect("peer-joined")
    reader.expect("welcome")
    offers = [json.dumps({"type": "offer", "sdp": f"v=0\r\n{n:03d}" + "a=y" * 15_000}) for n in range(12)]
    for offer in offers:  # 540 KB: within the sender's budget, far beyond the reader's buffer
        sender.ws.send(offer)
    # The scenario: a reader on a slow link, whose buffer fills before it reads a byte.
    wait_until(lambda: unread_bytes(reader) >= 4096, "the reader's buffer to fill")
    for offer in offers:
        assert reader.ws.recv() == offer


def unread_bytes(client):
    """What has arrived at `client`'s socket and waits to be read (FIONREAD)."""
    return struct.unpack("i", fcntl.ioctl(client.ws.sock, termios.FIONREAD, b"\0" * 4))[0]


def test_sockets_and_new_joins_are_limited_per_address(start_server, room):
    server = start_server({"SOCKETS_PER_ADDRESS": 3, "JOINS_PER_MINUTE": 100})
    held = [Client(server.ws_url(f"{room}-{n}")) for n in range(3)]
    for client in held:
        client.expect("welcome")
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        Client(server.ws_url(f"{room}-4"))
    assert refused.value.status_code == 429
    held.pop().close()
    wait_until(lambda: _accepted(server, f"{room}-5"), "a freed socket to be reusable")
    for client in held:
        client.close()


def _accepted(server, room):
    try:
        client = Client(server.ws_url(room))
    except websocket.WebSocketBadStatusException:
        return False
    client.expect("welcome")
    client.close()
    return True


def test_new_sockets_and_echo_requests_share_a_rate_per_address(start_server, room):
    server = start_server({"JOINS_PER_MINUTE": 5})
    for n in range(4):
        Client(server.ws_url(f"{room}-{n}")).close()
    assert http("POST", f"{server.url}/room/{room}/echo", {"token": "x"}).status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        Client(server.ws_url(f"{room}-late"))
    assert refused.value.status_code == 429
    echo = http("POST", f"{server.url}/room/{room}/echo", {"token": "x"})
    assert echo.status_code == 429 and echo.json()["error"] == "rate-limited"


def test_the_address_comes_from_a_proxy_header_only_when_proxies_are_trusted(start_server, room):
    def exhaust(server, forwarded_for):
        headers = {"X-Forwarded-For": forwarded_for}
        return [http("POST", f"{server.url}/room/{room}/echo", {}, headers).status_code
                for _ in range(3)]

    trusting = start_server({"JOINS_PER_MINUTE": 2, "PROXIES": 1})
    assert exhaust(trusting, "198.51.100.1") == [403, 403, 429]
    assert exhaust(trusting, "198.51.100.2") == [403, 403, 429]  # another client behind the proxy
    direct = start_server({"JOINS_PER_MINUTE": 2})
    assert exhaust(direct, "198.51.100.1") == [403, 403, 429]
    assert exhaust(direct, "198.51.100.2") == [429, 429, 429]  # a forged header changes nothing


def test_an_echo_peer_without_an_offer_leaves(start_server, room):
    server = start_server({"ECHO_OFFER_SECONDS": 2})
    waiting = Client(server.ws_url(room))
    token = waiting.expect("welcome")["echoToken"]
    answer = http("POST", f"{server.url}/room/{room}/echo", {"token": token})
    assert answer.status_code == 202
    waiting.ws.settimeout(20)
    waiting.expect("peer-joined")
    joined_at = time.monotonic()
    waiting.expect("peer-left")  # we never sent our offer
    print(f"the echo peer left {time.monotonic() - joined_at:.1f} s after joining without an offer")
    wait_until(lambda: not server.app.extensions["echo_peers"].running(), "the echo process to end")
    waiting.close()


PAGES = ["/", room_path("quiet-otter-42"), "/tutorial/1", "/tutorial/2", "/tutorial/3?room=calm-fox-abcdefgh",
         "/static/js/call.js"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path.split("#")[0])
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    for directive in ["default-src 'self'", "connect-src 'self'", "img-src 'self' data:",
                      "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"]:
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["Permissions-Policy"] == "camera=(self), microphone=(self), display-capture=(self)"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_a_rebinding_host_is_refused(live_server, room):
    port = live_server.server.port
    rebound = http("GET", f"{live_server.url}/", headers={"Host": f"rebind.attacker.example:{port}"})
    assert rebound.status_code == 400
    # DNS rebinding: the attacker's name now points here, so Host and Origin agree.
    sock, response = raw_handshake(port, f"/ws/{room}", f"Origin: http://rebind.attacker.example:{port}\r\n",
                                   host="rebind.attacker.example")
    sock.close()
    assert response.startswith("HTTP/1.1 400"), response.splitlines()[0]


def test_the_origin_is_compared_by_scheme_host_and_port(start_server, room):
    server = start_server({"ALLOWED_ORIGINS": ["https://call.example.com"]})
    port = server.server.port
    for origin in [f"https://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}", "http://call.example.com",
                   "https://call.example.co", "https://call.example.com.evil.example"]:
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            Client(server.ws_url(room), origin=origin)
        assert refused.value.status_code == 403, origin
    for origin in [f"http://127.0.0.1:{port}", "https://call.example.com", "https://call.example.com:443"]:
        client = Client(server.ws_url(room), origin=origin)
        client.expect("welcome")
        client.close()


@pytest.mark.parametrize("name, value, complaint", [
    ("ALLOWED_ORIGINS", "https://call.example.com", "expected a JSON list"),
    ("TURN_URLS", "turn:turn.example.com", "expected a JSON list"),
    ("MAX_PEOPLE", "lots", "expected a number"),
    ("ICE_TRANSPORT_POLICY", "relay-only", '"all" or "relay"'),
    ("TRUSTED_HOSTS", "call.example.com", "list of host names"),
    ("GROUP_SIZE", "2", "a group is 3 to 8 people"),
    ("GROUP_SIZE", "50", "a group is 3 to 8 people"),
])
def test_a_wrong_setting_stops_the_app_at_start_and_names_itself(monkeypatch, name, value, complaint):
    monkeypatch.setenv(f"FLASK_{name}", value)
    with pytest.raises(SettingError) as refused:
        create_app({"TESTING": True})
    assert f"FLASK_{name}" in str(refused.value) and complaint in str(refused.value)


def test_several_processes_need_a_shared_secret_key():
    with pytest.raises(SettingError, match="SECRET_KEY"):
        create_app({"TESTING": True, "REDIS_URL": "redis://127.0.0.1:1/0"})


CHANNELS_SCRIPT = """
  const create = RTCPeerConnection.prototype.createDataChannel;
  window.dataChannels = [];
  RTCPeerConnection.prototype.createDataChannel = function (...args) {
    const channel = create.apply(this, args);
    window.dataChannels.push(channel);
    return channel;
  };
"""


def test_a_chat_flood_leaves_the_page_bounded(person, room):
    ana, ben = person("ana"), person("ben")
    ana.context.add_init_script(CHANNELS_SCRIPT)  # Ana's page becomes the attacker's
    ana.join(room)
    ana.expect_state("waiting")
    ben.join(room)
    for someone in (ana, ben):
        someone.expect_state("connected")
    ana.page.wait_for_function("window.dataChannels.at(-1)?.readyState === 'open'")
    ana.page.evaluate("""() => {
        const channel = window.dataChannels.at(-1);
        const long = 'x'.repeat(3000);  // longer than a message may be
        const huge = 'y'.repeat(200_000);  // longer than a frame may be
        for (let id = 1; id <= 3000; id++) {
          const text = id % 10 === 1 ? long : id % 100 === 2 ? huge : `flood ${id}`;
          channel.send(JSON.stringify({ type: 'text', id, text }));
        }
    }""")
    ana.page.evaluate("window.dataChannels.at(-1).send(JSON.stringify({type: 'text', id: 9999, text: 'last'}))")
    ben.click("Chat")
    shown = ben.page.locator("#chat-messages li.them")
    expect(shown.first).to_be_visible()
    wait_until(lambda: ben.page.evaluate("harness.currentPeerConnection().sctp.transport.state") == "connected",
               "the page to answer")
    count = shown.count()
    longest = ben.page.evaluate(
        "Math.max(...[...document.querySelectorAll('#chat-messages li')].map((li) => li.textContent.length))")
    print(f"3,000 chat messages sent in a burst: {count} shown, the longest {longest} characters")
    assert count <= 200 and longest == 1000  # the long ones cut to size
    ben.wait_for_remote_frames(30)  # and the call goes on


VIOLATIONS_SCRIPT = """
  window.violations = [];
  document.addEventListener('securitypolicyviolation', (event) => {
    window.violations.push(`${event.violatedDirective} ${event.blockedURI}`);
  });
"""


def frames_grow(someone, count=30):
    """Like Person.wait_for_remote_frames, without wait_for_function (it needs eval)."""
    start = someone.page.evaluate("harness.presentedFrames('#remote-video')")
    wait_until(lambda: someone.page.evaluate("harness.presentedFrames('#remote-video')") >= start + count,
               f"{someone.name} to see {count} frames")


def test_a_full_call_under_the_content_security_policy_breaks_none_of_it(person, room):
    ana, ben, cara = (person(name, bypass_csp=False) for name in ("ana", "ben", "cara"))
    for someone in (ana, ben, cara):
        someone.context.add_init_script(VIOLATIONS_SCRIPT)
    ana.join(room)
    ana.expect_state("waiting")
    ben.join(room)
    for someone in (ana, ben):
        someone.expect_state("connected")
        frames_grow(someone)
    ana.click("Chat")
    ana.page.get_by_label("Message").fill("hello under CSP")
    ana.click("Send")
    ben.click("Chat")
    expect(ben.page.locator("#chat-messages li.them")).to_have_text(["hello under CSP"])
    ben.click("Stats")
    expect(ben.page.locator('[data-stat="path"]')).not_to_have_text("…")
    ana.click("Share screen")
    expect(ana.page.get_by_role("button", name="Stop sharing")).to_be_visible()
    frames_grow(ben)
    cara.join(f"{room}-echo")
    cara.expect_state("waiting")
    cara.click("Call the echo peer")
    cara.expect_state("connected")
    frames_grow(cara)
    ana.page.goto("/")  # the lobby and the tutorial's pages, too
    ben.page.goto("/tutorial/1")
    cara.page.goto("/tutorial/2")
    for someone in (ana, ben, cara):
        assert someone.page.evaluate("window.violations") == [], someone.name


def test_sockets_refused_at_the_door_cost_little_however_they_keep_sending(server_process, room):
    server = server_process()
    pid = server.process.pid
    before = rss_mb(pid)
    sockets = []
    for n in range(20):
        client = Client(server.ws_url(f"{room}-{n}"), secret=None)
        client.send({"type": "offer", "sdp": "not a join"})  # refused: bad-join, then a close
        sockets.append(client)
    frame = json.dumps({"type": "offer", "sdp": "x" * 60_000})
    for client in sockets:  # each keeps sending what its budget allows
        try:
            for _ in range(30):
                client.ws.send(frame)
        except (OSError, websocket.WebSocketException):
            pass
    grown = rss_mb(pid) - before
    print(f"20 refused sockets sent up to 1.8 MB each: the server grew {grown:.1f} MB")
    assert grown < 10  # what a closing socket still sends is dropped, not queued
    for client in sockets:
        client.close()


def eth0_address():
    for line in subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                               capture_output=True, text=True).stdout.splitlines():
        return line.split()[3].split("/")[0]
    pytest.skip("no global IPv4 address to stand for a caller's")


def test_an_echo_peer_sends_no_checks_to_the_servers_own_loopback(live_server, room):
    """A caller's SDP names the addresses an echo peer sends ICE checks to: it must not aim
    the server's packets at its own loopback."""
    loopback = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    loopback.bind(("127.0.0.1", 0))
    outside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    outside.bind((eth0_address(), 0))
    waiting = Client(live_server.ws_url(room))
    token = waiting.expect("welcome")["echoToken"]
    assert http("POST", f"{live_server.url}/room/{room}/echo", {"token": token}).status_code == 202
    waiting.ws.settimeout(20)
    waiting.expect("peer-joined")
    offer = "".join(line + "\r\n" for line in an_offer().splitlines()
                    if not line.startswith(("a=candidate", "a=end-of-candidates")))
    waiting.send({"type": "offer", "sdp": offer})
    waiting.expect("answer")
    for number, (address, port) in enumerate([loopback.getsockname(), outside.getsockname()]):
        waiting.send({"type": "candidate", "candidate": {
            "candidate": f"candidate:{number} 1 udp 2130706431 {address} {port} typ host",
            "sdpMid": "0", "sdpMLineIndex": 0}})
    outside.settimeout(20)
    outside.recvfrom(2048)  # the echo peer checks the address it may check...
    outside.recvfrom(2048)  # ...and checks again: by now the other had its turn too
    loopback.setblocking(False)
    with pytest.raises(BlockingIOError):
        loopback.recvfrom(2048)  # ...and never this one
    waiting.close()
