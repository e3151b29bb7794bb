"""deploy/turnserver.conf with the real coturn: every line taken, relays toward private,
loopback, link-local and other non-internet addresses refused (403 Forbidden IP) while
relays toward other addresses work, TCP relays and a credential's 13th allocation refused,
a relay-only call between two Python peers through it, turns: over TLS 1.2 or newer, and no
secret in its log.

The peers of a relay must be at an address the config allows, and loopback is denied:
they use this machine's own address outside the denied ranges (found with `ip -4 addr`),
or, as root on a machine without one, 203.0.113.7 (a documentation address) on a dummy
interface of the test's own or on lo, which routes nowhere and is removed afterwards."""

import asyncio
import contextlib
import datetime
import ipaddress
import os
import re
import shutil
import socket
import ssl
import subprocess
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
from aioice import stun
from aioice.turn import TCP_TRANSPORT, UDP_TRANSPORT, TurnClientTcpProtocol, TurnClientUdpProtocol
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from servers import ROOT, installed
from harness import wait_until
from ice import turn_credentials

CONFIG = ROOT / "deploy" / "turnserver.conf"
LAB_INTERFACE, LAB_ADDRESS = "turnlab0", "203.0.113.7"

# REQUESTED-ADDRESS-FAMILY (RFC 8656), which aioice's STUN code does not know: it asks
# coturn for an IPv6 relay. Its value is the family (0x02, IPv6) and three zero bytes.
REQUESTED_ADDRESS_FAMILY = (0x0017, "REQUESTED-ADDRESS-FAMILY", stun.pack_unsigned,
                            stun.unpack_unsigned)
stun.ATTRIBUTES_BY_TYPE.setdefault(REQUESTED_ADDRESS_FAMILY[0], REQUESTED_ADDRESS_FAMILY)
stun.ATTRIBUTES_BY_NAME.setdefault(REQUESTED_ADDRESS_FAMILY[1], REQUESTED_ADDRESS_FAMILY)
IPV6 = 0x02 << 24


def config_values(name):
    """The values of the config's `name=value` lines, in order."""
    values = []
    for line in CONFIG.read_text().splitlines():
        key, _, value = line.strip().partition("=")
        if key == name:
            values.append(value)
    return values


def denied(address):
    """Whether one of the config's denied-peer-ip ranges (first-last) holds `address`."""
    address = ipaddress.ip_address(address)
    for value in config_values("denied-peer-ip"):
        first, _, last = value.partition("-")
        try:
            first, last = ipaddress.ip_address(first), ipaddress.ip_address(last or first)
        except ValueError:
            continue  # coturn skips it too (test_coturn_takes_every_line_of_the_config)
        if first.version == address.version and first <= address <= last:
            return True
    return False


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def lab_address():
    """An IPv4 address of this machine where coturn may relay: not a denied one."""
    if not shutil.which("ip"):
        pytest.skip("`ip` (iproute2) is missing: cannot find an address for the relay's peers")
    output = ip("-o", "-4", "addr", "show", "scope", "global").stdout
    for address in re.findall(r"\binet ([0-9.]+)/", output):
        if not denied(address):
            yield address
            return
    if os.geteuid() != 0 or denied(LAB_ADDRESS):
        pytest.skip("no address of this machine is outside deploy/turnserver.conf's denied "
                    f"ranges, and only root can add one ({LAB_ADDRESS})")
    # On a dummy interface of its own; where the kernel has none, on lo (still not a
    # loopback address: coturn tells those by their 127/8).
    interface = LAB_INTERFACE
    if ip("link", "add", interface, "type", "dummy", check=False).returncode:
        interface = "lo"
    added = ip("addr", "add", f"{LAB_ADDRESS}/32", "dev", interface, check=False)
    if added.returncode:
        pytest.skip(f"no allowed address, and {LAB_ADDRESS} cannot be added: "
                    f"{added.stderr.strip()}")
    try:
        ip("link", "set", interface, "up")
        yield LAB_ADDRESS
    finally:
        if interface == LAB_INTERFACE:
            ip("link", "delete", interface, check=False)
        else:
            ip("addr", "del", f"{LAB_ADDRESS}/32", "dev", interface, check=False)


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port(address):
    """A port free for both TCP and UDP on `address` (coturn's listener takes both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((address, 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((address, port))
                    return port
                except OSError:
                    continue


def make_certificate(directory, address):
    """A self-signed certificate for `address`, which the test's TLS clients trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "turn.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    certificate_path, key_path = directory / "turn.crt", directory / "turn.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return certificate_path, key_path


class ProductionTurn:
    """coturn started with deploy/turnserver.conf (-c). coturn reads the file, then its
    command line, whose options override the file's: the test gives only what a test must,
    its ports, the address it listens and relays on (plus ::1 for IPv6 relays), a certificate
    of its own, a secret it knows and a pid file of its own. (static-auth-secret adds a
    secret to the file's placeholder rather than replacing it.)"""

    SECRET = "turn-config-test-secret"

    def __init__(self, executable, address, directory):
        self.address = address
        self.port = self.tls_port = free_port(address)
        while self.tls_port == self.port:
            self.tls_port = free_port(address)
        self.certificate, key = make_certificate(directory, address)
        self.log = directory / "coturn.log"
        self.ipv6 = ipv6_loopback()
        command = [
            executable, "-c", str(CONFIG),
            f"--listening-ip={address}", f"--relay-ip={address}",
            *(["--relay-ip=::1"] if self.ipv6 else []),
            f"--listening-port={self.port}", f"--tls-listening-port={self.tls_port}",
            f"--cert={self.certificate}", f"--pkey={key}",
            f"--static-auth-secret={self.SECRET}", f"--pidfile={directory / 'turnserver.pid'}"]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            for port in (self.port, self.tls_port):
                wait_until(lambda: self.accepts(port), f"coturn listening on {address}:{port}")
        except BaseException:
            self.stop()
            raise
        self.credentials_made = 0
        self.client_ports = set()

    def accepts(self, port):
        assert self.process.poll() is None, f"coturn exited at start:\n{self.log_text()}"
        try:
            socket.create_connection((self.address, port), 0.2).close()
            return True
        except OSError:
            return False

    def log_text(self):
        return self.log.read_text(errors="replace")

    def new_client_socket(self):
        """A UDP socket connected to coturn from a port no earlier client used: coturn keeps
        an allocation a second after it is deleted (10 min if it is not), and an Allocate
        from the same address and port meanwhile gets 437 Allocation Mismatch."""
        taken = []
        try:
            while True:
                client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                client.bind((self.address, 0))
                port = client.getsockname()[1]
                if port not in self.client_ports:
                    self.client_ports.add(port)
                    client.connect((self.address, self.port))
                    return client
                taken.append(client)  # held open, so that the next bind gets another port
        finally:
            for client in taken:
                client.close()

    def credentials(self):
        """A username and password of a person of their own, as the app makes them."""
        self.credentials_made += 1
        return turn_credentials(self.SECRET, f"turn-config-test#{self.credentials_made}", 600)

    def stop(self):
        self.process.terminate()
        self.process.wait()


@pytest.fixture(scope="module")
def turnserver():
    """coturn's executable; skipped, with the reason, where `make test` could not install it."""
    return installed("turnserver", "coturn")


@pytest.fixture(scope="module")
def coturn(turnserver, lab_address, tmp_path_factory):
    server = ProductionTurn(turnserver, lab_address, tmp_path_factory.mktemp("coturn"))
    yield server
    server.stop()


# --- A TURN client: aioice's, which aiortc uses ---------------------------------------------

@contextlib.asynccontextmanager
async def turn_client(coturn, credentials=None, tls=None):
    """aioice's TURN client protocol connected to coturn: over UDP, or TLS with `tls`.
    Its allocation, if any, is deleted at the end, as clients do."""
    loop = asyncio.get_running_loop()
    username, password = credentials or coturn.credentials()
    server = (coturn.address, coturn.tls_port if tls else coturn.port)

    def client(kind):
        return lambda: kind(server, username=username, password=password, lifetime=600,
                            channel_refresh_time=500)

    if tls:
        _, protocol = await loop.create_connection(client(TurnClientTcpProtocol), *server, ssl=tls)
    else:
        _, protocol = await loop.create_datagram_endpoint(client(TurnClientUdpProtocol),
                                                          sock=coturn.new_client_socket())
    try:
        yield protocol
    finally:
        request = stun.Message(message_method=stun.Method.REFRESH,
                               message_class=stun.Class.REQUEST)
        request.attributes["LIFETIME"] = 0
        await refusal(protocol.request_with_retry(request))  # 437 where there is none
        protocol.transport.close()


async def allocate(client, transport=UDP_TRANSPORT, family=None):
    """An Allocate request; the relayed address coturn gives."""
    request = stun.Message(message_method=stun.Method.ALLOCATE, message_class=stun.Class.REQUEST)
    request.attributes["LIFETIME"] = 600
    request.attributes["REQUESTED-TRANSPORT"] = transport
    if family:
        request.attributes["REQUESTED-ADDRESS-FAMILY"] = family
    response, _ = await client.request_with_retry(request)
    return response.attributes["XOR-RELAYED-ADDRESS"]


async def create_permission(client, peer):
    request = stun.Message(message_method=stun.Method.CREATE_PERMISSION,
                           message_class=stun.Class.REQUEST)
    request.attributes["XOR-PEER-ADDRESS"] = peer
    await client.request_with_retry(request)


async def refusal(request):
    """coturn's (code, reason) for a request it refused, None for one it granted."""
    try:
        await request
    except stun.TransactionFailed as failure:
        return failure.response.attributes["ERROR-CODE"]
    return None


class Inbox(asyncio.DatagramProtocol):
    """Datagrams as they arrive, (data, sender) in a queue."""

    def __init__(self):
        self.queue = asyncio.Queue()

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.queue.put_nowait((data, addr))


async def echo_through(client, address):
    """Send a datagram through `client`'s allocation to an echo socket at `address`; return
    where the echo socket saw it come from, once the echo is back through the relay."""
    loop = asyncio.get_running_loop()
    echo_transport, echo = await loop.create_datagram_endpoint(Inbox, local_addr=(address, 0))
    replies = Inbox()
    client.receiver = replies
    peer = echo_transport.get_extra_info("sockname")
    try:
        await client.send_data(b"through the relay", peer)
        data, sender = await asyncio.wait_for(echo.queue.get(), 5)
        echo_transport.sendto(data, sender)
        assert await asyncio.wait_for(replies.queue.get(), 5) == (b"through the relay", peer)
        return sender
    finally:
        echo_transport.close()


def run(coroutine):
    """Run `coroutine` to its end (20 s at most) on an event loop of its own, in a thread of
    its own: a browser test before this one leaves Playwright's loop running in this one."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(asyncio.wait_for(coroutine, 20))).result()


# --- The config as coturn reads it -----------------------------------------------------------

def test_coturn_takes_every_line_of_the_config(coturn):
    log = coturn.log_text()
    # What coturn says, and goes on, when it skips a line: a misspelt option or a range it
    # cannot read (a CIDR "/8") would leave a hole in the rules without stopping it.
    for complaint in ("Bad configuration format", "Wrong address", "CONFIG ERROR",
                      "Unknown argument", "allow_loopback_peers"):
        assert complaint not in log, f"coturn: {complaint}\n{log}"
    ranges = config_values("denied-peer-ip")
    assert ranges
    for value in ranges:
        assert f"Black listing: {value}\n" in log
    assert f"{config_values('max-bps')[0]} bytes per second allowed per session" in log
    assert "--no-tcp-relay: TCP relay endpoints are not allowed" in log
    assert "RFC5780 disabled" in log


# --- Where coturn relays, and where it does not ----------------------------------------------

DENIED_IPV4 = [
    "0.0.0.1", "10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.255.254", "192.168.0.1",
    "192.168.255.254", "100.64.0.1", "100.127.255.254", "127.0.0.1", "127.255.255.254",
    "169.254.169.254", "192.0.0.1", "198.18.0.1", "198.19.255.254", "224.0.0.1",
    "239.255.255.250", "240.0.0.1", "255.255.255.255",
]
DENIED_IPV6 = [
    "::1", "::", "fe80::1", "febf::1", "fc00::1", "fd00::2", "fdff::1", "::ffff:127.0.0.1",
    "::ffff:10.0.0.1", "::ffff:8.8.8.8", "64:ff9b::a00:1", "ff02::1", "ff0e::1",
]
# Just outside the denied ranges, and a public address: permissions only, no data is sent.
ALLOWED_IPV4 = ["9.255.255.254", "11.0.0.1", "100.63.255.254", "100.128.0.1", "169.253.255.254",
                "169.255.0.1", "172.15.255.254", "172.32.0.1", "192.167.255.254", "192.169.0.1",
                "198.17.255.254", "198.20.0.1", "223.255.255.254", "1.1.1.1"]
ALLOWED_IPV6 = ["2001:db8::1", "2606:4700:4700::1111", "fbff::1", "fe00::1", "fec0::1"]


@pytest.mark.parametrize("address", DENIED_IPV4 + DENIED_IPV6)
def test_a_relay_toward_a_denied_address_is_refused(coturn, address):
    ipv6 = ":" in address
    if ipv6 and not coturn.ipv6:
        pytest.skip("no IPv6 loopback address for an IPv6 relay")
    peer = (address, 9)

    async def scenario():
        async with turn_client(coturn) as client:
            await allocate(client, family=IPV6 if ipv6 else None)
            return (await refusal(create_permission(client, peer)),
                    await refusal(client.channel_bind(0x4000, peer)))

    assert run(scenario()) == ((403, "Forbidden IP"), (403, "Forbidden IP"))


@pytest.mark.parametrize("address", ALLOWED_IPV4 + ALLOWED_IPV6)
def test_a_permission_toward_an_address_on_the_internet_is_granted(coturn, address):
    ipv6 = ":" in address
    if ipv6 and not coturn.ipv6:
        pytest.skip("no IPv6 loopback address for an IPv6 relay")

    async def scenario():
        async with turn_client(coturn) as client:
            await allocate(client, family=IPV6 if ipv6 else None)
            return await refusal(create_permission(client, (address, 9)))

    assert run(scenario()) is None


def test_data_reaches_an_allowed_peer_through_the_relay_and_comes_back(coturn):
    async def scenario():
        async with turn_client(coturn) as client:
            relayed = await allocate(client)
            return relayed, await echo_through(client, coturn.address)

    relayed, sender = run(scenario())
    assert relayed[0] == coturn.address
    assert sender == relayed  # the peer saw the relay, not the client


def test_tcp_relays_are_refused(coturn):
    async def scenario():
        async with turn_client(coturn) as client:
            return await refusal(allocate(client, transport=TCP_TRANSPORT))

    assert run(scenario())[0] == 442  # Unsupported Transport Protocol


def test_one_credential_gets_user_quota_allocations_and_no_more(coturn):
    quota = int(config_values("user-quota")[0])
    credentials = coturn.credentials()

    async def scenario():
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(turn_client(coturn, credentials))
                       for _ in range(quota + 1)]
            return [await refusal(allocate(client)) for client in clients]

    results = run(scenario())
    assert results[:quota] == [None] * quota
    assert results[quota][0] == 486  # Allocation Quota Reached


def test_the_log_holds_no_secret_nor_password(coturn):
    username, password = credentials = coturn.credentials()

    async def scenario():
        async with turn_client(coturn, (username, "not-the-password")) as wrong:
            assert (await refusal(allocate(wrong)))[0] == 401
        async with turn_client(coturn, credentials) as client:
            await allocate(client)
            denial = await refusal(create_permission(client, ("10.1.2.3", 9)))
            assert denial == (403, "Forbidden IP")

    run(scenario())
    # The denial comes last: once it is in the log, all coturn says of the credentials is.
    wait_until(lambda: "A peer IP 10.1.2.3 denied" in coturn.log_text(), "the denial in the log")
    log = coturn.log_text()
    for secret in (coturn.SECRET, password, "not-the-password"):
        assert secret not in log
    # A refused credential's username is logged (with the room's name: see the config).
    assert f"Cannot find credentials of user <{username}>" in log


# --- A call through it ----------------------------------------------------------------------

def test_a_relay_only_call_goes_through_the_production_config(coturn, start_server,
                                                              python_peer, room):
    server = start_server({"TURN_URLS": [f"turn:{coturn.address}:{coturn.port}?transport=udp"],
                           "TURN_SECRET": coturn.SECRET, "ICE_TRANSPORT_POLICY": "relay"})
    first = python_peer(room, server=server.url)
    wait_until(first.peer.joined.is_set, "the first peer's welcome")
    second = python_peer(room, server=server.url)
    for someone in (first, second):
        wait_until(lambda: someone.peer.received.video_frames >= 10, "frames through the relay")
        wait_until(lambda: someone.peer.received.loud_audio_frames >= 10, "sound through the relay")
        pc = someone.peer.call.pc
        for description in (pc.localDescription.sdp, pc.remoteDescription.sdp):
            candidates = re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+) \d+ typ (\w+)", description)
            assert candidates and {*candidates} <= {(coturn.address, "relay")}, candidates


# --- turns: over TLS ------------------------------------------------------------------------

def test_turns_over_tls_works_with_tls_1_2_or_newer(coturn):
    trusting = ssl.create_default_context(cafile=str(coturn.certificate))

    async def scenario():
        async with turn_client(coturn, tls=trusting) as client:
            tls = client.transport.get_extra_info("ssl_object")
            relayed = await allocate(client)
            sender = await echo_through(client, coturn.address)
            return tls.version(), tls.cipher()[0], relayed, sender

    version, cipher, relayed, sender = run(scenario())
    assert version in ("TLSv1.2", "TLSv1.3")
    assert version == "TLSv1.3" or cipher in config_values("cipher-list")[0].split(":")
    assert sender == relayed


def test_turns_offers_no_tls_1_0_nor_1_1(coturn):
    # coturn makes a TLS context per version it offers, and says so at start.
    log = coturn.log_text()
    assert "TLS1.2: Certificate file found" in log
    assert "TLS1.0:" not in log and "TLS1.1:" not in log
    # A client that speaks TLS 1.1 at most gets no handshake. (coturn 4.6 does not answer it
    # at all, so the wait is a short timeout; Debian's OpenSSL would refuse these versions
    # even without no-tlsv1 and no-tlsv1_1, hence the log above.)
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(str(coturn.certificate))
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # this client would speak it, if coturn did
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # as it should be
        old.minimum_version, old.maximum_version = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1
    with socket.create_connection((coturn.address, coturn.tls_port), 1) as raw:
        with pytest.raises((ssl.SSLError, TimeoutError, ConnectionError)):
            old.wrap_socket(raw, server_hostname=coturn.address).close()
