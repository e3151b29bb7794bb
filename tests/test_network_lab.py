"""Calls across real networks: two homes behind NAT routers, an internet with the app and
coturn, all in network namespaces (tests/netlab.py), with a real Chromium in each home.
Each scenario reads the selected candidate pair from getStats."""

import re
import sys
import time

import pytest
from playwright.sync_api import expect

import netlab
from chromium import FAKE_MEDIA_ARGS, find_chromium
from harness import Person, meet, room_path
from netlab import App, Coturn, Lab

UNAVAILABLE = netlab.available()
pytestmark = pytest.mark.skipif(bool(UNAVAILABLE), reason=f"no network lab: {UNAVAILABLE}")


@pytest.fixture
def lab(request, tmp_path):
    built = Lab(tmp_path, **getattr(request, "param", {}))
    yield built
    built.close()


@pytest.fixture
def lab_person(lab, browser_type, browser_type_launch_args):
    """lab_person(name, computer, app): someone whose Chromium runs on `computer` (a
    namespace of the lab) and opens `app`'s pages."""
    browsers, people = [], []

    def make(name, computer, app, *args):
        browser = browser_type.launch(**{
            **browser_type_launch_args,
            "executable_path": lab.chromium_wrapper(computer, find_chromium() or "chromium"),
            # A lab address is not a secure context: without this, no camera.
            "args": [*FAKE_MEDIA_ARGS, f"--unsafely-treat-insecure-origin-as-secure={app.url}", *args]})
        browsers.append(browser)
        people.append(Person(browser.new_context(base_url=app.url, bypass_csp=True), name))
        return people[-1]

    yield make
    for browser in browsers:
        browser.close()
    for someone in people:
        assert not someone.errors, f"{someone.name}'s page logged errors: {someone.errors}"


def check_connection(someone):
    """Press "Check my connection" and return what the page says it found."""
    someone.click("Check my connection")
    result = someone.page.locator("#check-result")
    expect(result).to_contain_text("(TURN)", timeout=15_000)  # not "Checking…" any more
    return result.text_content()


def pairs(*people):
    found = [someone.selected_candidate_pair() for someone in people]
    print("selected pairs:", found)  # for the record (tutorial step 7)
    return found


def call(first, second, room):
    """start_call(), printing the set-up time: from the second one's Join to a frame of
    the other on both sides (for the record; bench/network_lab.py compares them)."""
    first.join(room)
    first.expect_state("waiting")
    started = time.monotonic()
    second.join(room)
    for someone in (first, second):
        someone.wait_for_remote_frames(1)
    print(f"set-up: {time.monotonic() - started:.2f} s")
    for someone in (first, second):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
    return first, second


def test_two_people_on_one_lan_connect_host_to_host(lab, lab_person, room):
    ana_computer, ben_computer = lab.add_home("a", computers=2)
    app = App(lab, stun=True)
    people = call(lab_person("ana", ana_computer, app), lab_person("ben", ben_computer, app), room)
    for pair in pairs(*people):
        assert (pair["local"], pair["remote"]) == ("host", "host"), pair
        assert pair["localAddress"].startswith("203.0.113."), pair


def test_two_homes_behind_endpoint_independent_nats_punch_a_hole(lab, lab_person, room):
    (ana_computer,) = lab.add_home("a", "masquerade")
    (ben_computer,) = lab.add_home("b", "masquerade")
    Coturn(lab)
    app = App(lab, stun=True)
    people = call(lab_person("ana", ana_computer, app), lab_person("ben", ben_computer, app), room)
    for someone in people:
        someone.wait_for_sound()
    for pair in pairs(*people):
        # Each side's srflx is its router's address; the other side may know it as prflx
        # when its check arrives before the candidate.
        assert pair["local"] in ("srflx", "prflx") and pair["remote"] in ("srflx", "prflx"), pair
        assert pair["remoteAddress"] in netlab.ROUTER_WAN.values(), pair


def test_symmetric_nats_without_turn_say_the_call_cannot_connect(lab, lab_person, room):
    (ana_computer,) = lab.add_home("a", "symmetric")
    (ben_computer,) = lab.add_home("b", "symmetric")
    Coturn(lab)
    app = App(lab, stun=True)  # STUN only: no relay
    ana, ben = meet(lab_person("ana", ana_computer, app), lab_person("ben", ben_computer, app), room)
    started = time.monotonic()
    for someone in (ana, ben):
        someone.expect_state("no-path", timeout=30_000)
        expect(someone.status).to_contain_text("could not connect")
        expect(someone.status).to_contain_text("no relay (TURN) server")
    print(f"both pages said it after {time.monotonic() - started:.1f} s")
    found = check_connection(ana)
    assert "STUN found your public address" in found and "No relay (TURN) server" in found, found


def frames_and_sound_for(seconds, people):
    """Frames and sound on every side, again and again, for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for someone in people:
            someone.wait_for_remote_frames(30)
            someone.wait_for_sound()


def connection_states(someone):
    return someone.page.evaluate("harness.currentPeerConnection().connectionStates")


def test_symmetric_nats_with_turn_hold_a_call_for_a_minute(lab, lab_person, room):
    (ana_computer,) = lab.add_home("a", "symmetric")
    (ben_computer,) = lab.add_home("b", "symmetric")
    Coturn(lab)
    app = App(lab, stun=True, turn=["udp"])  # and the default iceTransportPolicy, "all"
    people = call(lab_person("ana", ana_computer, app), lab_person("ben", ben_computer, app), room)
    frames_and_sound_for(60, people)
    for someone in people:
        assert connection_states(someone)[-1] == "connected", connection_states(someone)
        expect(someone.status).to_have_attribute("data-state", "connected")
    # One side's relay, and the other side's NAT mapping toward it (or both relays).
    for pair in pairs(*people):
        assert "relay" in (pair["local"], pair["remote"]), pair
    found = check_connection(people[0])
    assert "STUN found your public address" in found and "answers over UDP." in found, found


def test_a_firewall_that_lets_only_tcp_443_out_gets_turn_over_tls(lab, lab_person, room):
    (ana_computer,) = lab.add_home("a", "tcp443")
    (ben_computer,) = lab.add_home("b", "masquerade")
    coturn = Coturn(lab)
    app = App(lab, stun=True, turn=["udp", "tcp", "tls"])
    trust = coturn.trusted_by_chromium()  # its certificate is self-signed
    ana, ben = call(lab_person("ana", ana_computer, app, trust),
                          lab_person("ben", ben_computer, app, trust), room)
    for someone in (ana, ben):
        someone.wait_for_sound()
    pair = ana.selected_candidate_pair()
    assert pair["local"] == "relay" and pair["relayProtocol"] == "tls", pair
    found = check_connection(ana)
    assert "STUN got no answer" in found and "answers over TLS." in found, found


def test_a_bad_uplink_keeps_the_sound_and_the_panel_shows_it(lab, lab_person, room):
    (ana_computer,) = lab.add_home("a", "masquerade")
    (ben_computer,) = lab.add_home("b", "masquerade")
    delayed = lab.impair("a", delay_ms=150, loss_percent=2, rate="1mbit")  # what Ana sends
    Coturn(lab)
    app = App(lab, stun=True)
    ana, ben = call(lab_person("ana", ana_computer, app), lab_person("ben", ben_computer, app), room)
    for someone in (ana, ben):
        someone.click("Stats")
    for _ in range(3):
        for someone in (ana, ben):
            someone.wait_for_sound()
    # The stats panel: the round trip on Ana's side, the loss of what Ben receives.
    if delayed:
        ana.wait_for_check(
            "() => parseInt(document.querySelector('[data-stat=rtt]').textContent) >= 150",
            what="a round trip of 150 ms or more in the panel")
    else:
        print("no netem in this kernel and no NetfilterQueue (make lab-delay): the uplink loses "
              "2% and carries 1 Mbit/s, without the delay")
    ben.wait_for_check(
        "() => parseInt(document.querySelector('[data-stat=loss]').textContent) > 0",
        what="packets lost in the panel", timeout=40_000)
    # What the link did to the picture, for the record (step 7): it depends on the
    # machine's load as much as on the link, so nothing is asserted of it.
    sent = ana.page.evaluate("""harness.currentPeerConnection().getStats().then((report) =>
        [...report.values()].find((s) => s.type === 'outbound-rtp' && s.kind === 'video'))""")
    received = ben.inbound("video")
    print(f"Ana sends {sent['frameWidth']}x{sent['frameHeight']} at {sent.get('framesPerSecond')} "
          f"frames/s, limited by {sent.get('qualityLimitationReason')}; Ben receives "
          f"{received['frameWidth']}x{received['frameHeight']} at {received.get('framesPerSecond')}; "
          f"panels: {ana.page.locator('#stats').inner_text()!r} | {ben.page.locator('#stats').inner_text()!r}")


def test_the_python_peer_behind_a_symmetric_nat_calls_through_turn(lab, lab_person, room):
    (ana_computer,) = lab.add_home("a", "symmetric")
    (peer_computer,) = lab.add_home("b", "symmetric")
    Coturn(lab)
    app = App(lab, stun=True, turn=["udp"])
    ana = lab_person("ana", ana_computer, app).join(room)
    ana.expect_state("waiting")
    # The link in the environment, where other users cannot read it (README).
    peer = lab.start(peer_computer, [sys.executable, "peer.py", "--once"],
                     {"PEER_LINK": f"{app.url}{room_path(room)}"}, log_name="peer.log")
    ana.expect_state("connected", timeout=30_000)
    ana.wait_for_remote_frames(30)
    ana.wait_for_sound()
    pair = ana.selected_candidate_pair()
    assert "relay" in (pair["local"], pair["remote"]), pair

    def received():
        reports = re.findall(r"received so far: (\d+) video frames.*\((\d+) not silent\)",
                             peer.log.read_text())
        return reports and min(map(int, reports[-1])) > 0
    netlab.wait_for(received, "frames and sound at the Python peer (its log)", peer)


# An internet with no route to the homes' LANs: coturn's send of a relay's check toward the
# other home's host candidate fails (ENETUNREACH), and coturn closes that relay. The call
# connects through one side's relay, loses it within seconds, and an ICE restart with every
# kind of candidate loses it again; relay candidates only, on both sides, last.
@pytest.mark.parametrize("lab", [{"routed": False}], indirect=True, ids=["unrouted"])
def test_a_failed_ice_restart_falls_back_to_the_relay(lab, lab_person, room):
    (ana_computer,) = lab.add_home("a", "symmetric")
    (ben_computer,) = lab.add_home("b", "symmetric")
    Coturn(lab)
    app = App(lab, stun=True, turn=["udp"])
    people = meet(lab_person("ana", ana_computer, app), lab_person("ben", ben_computer, app), room)
    for someone in people:
        someone.wait_for_check("harness.currentPeerConnection()?.connectionStates.includes('failed')",
                               what="the call to fail once", timeout=60_000)
    for someone in people:
        someone.wait_for_check(
            "harness.selectedCandidatePair().then((p) => p?.local === 'relay' && p.remote === 'relay')",
            what="a relay to relay pair", timeout=90_000)
        someone.expect_state("connected")
    # The call comes back; that it then holds is not asserted: in 2 of 21 runs of the lab
    # the relay-to-relay call still went in and out for a while (cause not found).
    for someone in people:
        someone.wait_for_remote_frames(30)
        someone.wait_for_sound()
    for pair in pairs(*people):
        assert (pair["local"], pair["remote"]) == ("relay", "relay"), pair
