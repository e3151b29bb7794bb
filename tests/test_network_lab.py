"""Calls across real networks: two homes behind NAT routers, an internet with the app and
coturn, all in network namespaces (tests/netlab.py), with a real Chromium in each home.
Each scenario reads the selected candidate pair from getStats."""

import time

import pytest
from playwright.sync_api import expect

import netlab
from chromium import find_chromium
from conftest import FAKE_MEDIA_ARGS
from harness import Person, start_call
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

    def make(name, computer, app):
        browser = browser_type.launch(**{
            **browser_type_launch_args,
            "executable_path": lab.chromium_wrapper(computer, find_chromium() or "chromium"),
            # A lab address is not a secure context: without this, no camera.
            "args": [*FAKE_MEDIA_ARGS, f"--unsafely-treat-insecure-origin-as-secure={app.url}"]})
        browsers.append(browser)
        people.append(Person(browser.new_context(base_url=app.url, bypass_csp=True), name))
        return people[-1]

    yield make
    for browser in browsers:
        browser.close()
    for someone in people:
        assert not someone.errors, f"{someone.name}'s page logged errors: {someone.errors}"


def pairs(*people):
    return [someone.selected_candidate_pair() for someone in people]


def test_two_people_on_one_lan_connect_host_to_host(lab, lab_person, room):
    ana_computer, ben_computer = lab.add_home("a", computers=2)
    app = App(lab, stun=True)
    people = start_call(lab_person("ana", ana_computer, app), lab_person("ben", ben_computer, app), room)
    for pair in pairs(*people):
        assert (pair["local"], pair["remote"]) == ("host", "host"), pair
        assert pair["localAddress"].startswith("203.0.113."), pair


def test_two_homes_behind_endpoint_independent_nats_punch_a_hole(lab, lab_person, room):
    (ana_computer,) = lab.add_home("a", "masquerade")
    (ben_computer,) = lab.add_home("b", "masquerade")
    Coturn(lab)
    app = App(lab, stun=True)
    people = start_call(lab_person("ana", ana_computer, app), lab_person("ben", ben_computer, app), room)
    for someone in people:
        someone.wait_for_sound()
    for pair in pairs(*people):
        # Each side's srflx is its router's address; the other side may know it as prflx
        # when its check arrives before the candidate.
        assert pair["local"] in ("srflx", "prflx") and pair["remote"] in ("srflx", "prflx"), pair
        assert pair["remoteAddress"] in netlab.ROUTER_WAN.values(), pair


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
    people = start_call(lab_person("ana", ana_computer, app), lab_person("ben", ben_computer, app), room)
    frames_and_sound_for(60, people)
    for someone in people:
        assert connection_states(someone)[-1] == "connected", connection_states(someone)
        expect(someone.status).to_have_attribute("data-state", "connected")
    # One side's relay, and the other side's NAT mapping toward it (or both relays).
    for pair in pairs(*people):
        assert "relay" in (pair["local"], pair["remote"]), pair
