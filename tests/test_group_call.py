"""Group calls: up to GROUP_SIZE (4) people in a mesh, each in a browser of their own, each
seeing and hearing every other on a tile of its own (one connection per pair). The fake
camera and microphone, as everywhere; a few people at a time, as the machine is small."""

import re

import pytest
from playwright.sync_api import TimeoutError, expect

from harness import GroupPerson


@pytest.fixture
def people(new_context):
    """people("ana", "ben") are people at their own computers, on the group call page.
    Any uncaught exception or console error in their pages fails the test."""
    made = []

    def make(*names, **context_options):
        context_options.setdefault("bypass_csp", True)  # see conftest.py's person
        for name in names:
            made.append(GroupPerson(new_context(**context_options), name))
        return made[-len(names):] if len(names) > 1 else made[-1]

    yield make
    for someone in made:
        assert not someone.errors, f"{someone.name}'s page logged errors: {someone.errors}"


def all_see_and_hear_each_other(group, frames=10):
    for someone in group:
        others = [other for other in group if other is not someone]
        someone.expect_people(len(group))
        someone.expect_tiles(others)
        someone.sees_and_hears(others, frames)


def say(someone, text):
    box = someone.page.get_by_label("Message")
    box.fill(text)
    box.press("Enter")


def test_three_then_four_see_and_hear_everyone_and_a_fifth_is_turned_away(people, room):
    ana, ben, cara, dan, eve = people("ana", "ben", "cara", "dan", "eve")
    ana.join_group(room)
    ana.expect_state("waiting")
    expect(ana.status).to_contain_text("only one")
    ben.join_group(room)
    cara.join_group(room)
    all_see_and_hear_each_other([ana, ben, cara])
    dan.join_group(room)
    all_see_and_hear_each_other([ana, ben, cara, dan])
    eve.join_group(room)
    eve.expect_state("full")
    expect(eve.status).to_contain_text("full")
    expect(eve.page.locator("[data-peer-id]")).to_have_count(0)


def test_when_one_of_four_leaves_the_others_go_on(people, room):
    group = people("ana", "ben", "cara", "dan")
    for someone in group:
        someone.join_group(room)
    for someone in group:
        someone.expect_people(4)
    ana, ben, cara, dan = group
    ben_id = ben.id
    ben.leave()
    ben.expect_state("idle")
    for someone in (ana, cara, dan):
        expect(someone.page.locator(f'[data-peer-id="{ben_id}"]')).to_have_count(0)
    all_see_and_hear_each_other([ana, cara, dan])
    # Ben's connections are closed, not left to time out.
    for someone in (ana, cara, dan):
        assert someone.page.evaluate(
            "harness.peerConnections.filter((pc) => pc.signalingState !== 'closed').length") == 2


def test_two_newcomers_at_once_both_connect_to_everyone(people, room):
    ana, ben, cara, dan = people("ana", "ben", "cara", "dan")
    ana.join_group(room)
    ben.join_group(room)
    all_see_and_hear_each_other([ana, ben])
    for someone in (cara, dan):
        someone.open_group(room)
    # Both press Join in the same instant: neither page waits for the other's click.
    for someone in (cara, dan):
        someone.page.evaluate("document.getElementById('join-button').click()")
    all_see_and_hear_each_other([ana, ben, cara, dan])


def test_mute_silences_every_connection_chat_reaches_everyone_and_stats_show_each(people, room):
    ana, ben, cara = people("ana", "ben", "cara")
    for someone in (ana, ben, cara):
        someone.join_group(room)
    all_see_and_hear_each_other([ana, ben, cara])
    ana.click("Mute")
    expect(ana.page.get_by_role("button", name="Unmute")).to_have_attribute("aria-pressed", "true")
    for someone in (ben, cara):
        someone.wait_for_silence_from(ana)
        someone.wait_for_sound_from(cara if someone is ben else ben)  # only Ana went quiet
    ana.click("Unmute")
    for someone in (ben, cara):
        someone.wait_for_sound_from(ana)
    for someone in (ana, ben, cara):
        someone.click("Chat")
        expect(someone.page.get_by_label("Message")).to_be_enabled()
    say(ana, "hello all")
    say(cara, "hi")
    expect(ben.page.locator("#chat-messages li.them")).to_have_text(["hello all", "hi"])
    expect(cara.page.locator("#chat-messages li.them")).to_have_text(["hello all"])
    expect(ana.page.locator("#chat-messages li.them")).to_have_text(["hi"])
    # Who wrote it, by the name their tile has; the ✓ once everyone has it.
    assert ben.page.locator("#chat-messages li.them").first.get_attribute("data-name").endswith(ana.id)
    expect(ana.page.locator("#chat-messages li.me.delivered")).to_have_count(1)
    # The stats panel reads one connection at a time, chosen by the person's name.
    ana.click("Stats")
    expect(ana.page.locator("#stats-peer option")).to_have_count(2)
    ana.page.get_by_label("With").select_option(cara.id)
    expect(ana.page.locator('[data-stat="picture"]')).to_contain_text("×")


def test_a_knock_is_answered_by_any_member(people, room):
    ana, ben, cara = people("ana", "ben", "cara")
    ana.join_group(room)
    ben.join_group(room)
    all_see_and_hear_each_other([ana, ben])
    cara.join_group(room, secret=None)  # typed the name: no secret
    cara.expect_state("knocking")
    for someone in (ana, ben):
        expect(someone.page.get_by_role("alertdialog")).to_contain_text("asking to join")
    ben.click("Admit")  # Ben, who came second
    for someone in (ana, ben):
        expect(someone.page.get_by_role("alertdialog")).to_be_hidden()
    all_see_and_hear_each_other([ana, ben, cara])
    assert cara.page.url.endswith(ana.page.url.split("/", 3)[3])  # the room's link, secret and all


def test_a_page_that_loses_the_signaling_server_comes_back_and_reconnects_to_everyone(people, room):
    ana, ben, cara = people("ana", "ben", "cara")
    sockets = []  # Cara's signaling sockets, passed through Playwright to the server

    def pass_through(socket):
        socket.connect_to_server()
        sockets.append(socket)

    cara.page.route_web_socket(re.compile(r"/ws/group/"), pass_through)
    for someone in (ana, ben, cara):
        someone.join_group(room)
    all_see_and_hear_each_other([ana, ben, cara])
    old_id = cara.id
    sockets[-1].close()  # as if the server went away: Cara's page tries again by itself
    expect(cara.page.locator("#local-name")).not_to_contain_text(old_id)
    for someone in (ana, ben):  # a new id: her old connections are closed, new ones made
        expect(someone.page.locator(f'[data-peer-id="{old_id}"]')).to_have_count(0)
    all_see_and_hear_each_other([ana, ben, cara])
    assert len(sockets) == 2


def wait_for_shape_from(someone, other, width_over_height):
    """The shape of `other`'s picture on `someone`'s screen (its size ramps up; its shape does not)."""
    try:
        someone.page.wait_for_function(
            "([selector, ratio]) => { const v = document.querySelector(selector);"
            " return v?.videoHeight > 0 && Math.abs(v.videoWidth / v.videoHeight - ratio) < 0.02; }",
            arg=[someone.video_of(other), width_over_height])
    except TimeoutError as timeout:
        raise AssertionError(f"{someone.name} never saw {other.name}'s picture "
                             f"{width_over_height:.2f} wide for 1 high") from timeout


def test_a_shared_screen_reaches_everyone_and_whoever_joins_meanwhile(people, room):
    ana, ben, cara, dan = people("ana", "ben", "cara", "dan")
    for someone in (ana, ben, cara):
        someone.join_group(room)
    all_see_and_hear_each_other([ana, ben, cara])
    ana.click("Share screen")
    expect(ana.page.get_by_role("button", name="Stop sharing")).to_have_attribute("aria-pressed", "true")
    for someone in (ben, cara):
        wait_for_shape_from(someone, ana, 16 / 9)  # Chromium's fake screen is 1280x720; the camera 4:3
    dan.join_group(room)
    dan.expect_people(4)
    wait_for_shape_from(dan, ana, 16 / 9)
    dan.wait_for_frames_from(ana, 10)
    ana.click("Stop sharing")
    for someone in (ben, cara, dan):
        wait_for_shape_from(someone, ana, 4 / 3)


@pytest.mark.parametrize("width, height", [(360, 740), (1280, 800)], ids=["phone", "desktop"])
def test_the_tiles_fit_a_phone_and_a_desktop(people, room, width, height):
    ana, ben, cara = people("ana", "ben", "cara")
    for someone in (ana, ben, cara):
        someone.join_group(room)
    ana.expect_people(3)
    ana.page.set_viewport_size({"width": width, "height": height})
    layout = ana.page.evaluate("""() => ({
      wide: document.documentElement.scrollWidth - window.innerWidth,
      tiles: [...document.querySelectorAll('.tile')].map((tile) => {
        const box = tile.getBoundingClientRect();
        return [Math.round(box.left), Math.round(box.top), Math.round(box.width)];
      }),
    })""")
    assert layout["wide"] == 0
    (left, top, width_1), (left_2, top_2, _), (_, top_3, width_3) = layout["tiles"]
    assert top == top_2 and left < left_2, "the first two side by side"
    assert top_3 > top and width_3 == width_1, "the third below, as large"


def test_the_group_page_speaks_korean(people, room):
    # With the app's Content-Security-Policy in force: a violation is a console error.
    ana = people("ana", locale="ko-KR", bypass_csp=False)
    ana.page.goto("/")
    expect(ana.page.get_by_role("link", name="그룹 통화 시작")).to_be_visible()
    ana.open_group(room)
    ana.click("참여")
    ana.expect_state("waiting")
    expect(ana.status).to_contain_text("혼자")
    ben = people("ben", locale="ko-KR", bypass_csp=False).open_group(room)
    ben.click("참여")
    ben.expect_state("connected")
    expect(ben.status).to_have_text(re.compile(r"^2명이 통화 중이에요"))


def test_camera_off_darkens_every_tile_of_yours(people, room):
    ana, ben, cara = people("ana", "ben", "cara")
    for someone in (ana, ben, cara):
        someone.join_group(room)
    all_see_and_hear_each_other([ana, ben, cara])
    ana.click("Camera off")
    for someone in (ben, cara):  # black frames on every connection of Ana's, the call goes on
        someone.page.wait_for_function("selector => harness.brightness(selector) < 5", arg=someone.video_of(ana))
    other = ben.video_of(cara)
    assert ben.page.evaluate("selector => harness.brightness(selector)", other) > 40  # only Ana's went dark
    ana.click("Camera on")
    for someone in (ben, cara):
        someone.page.wait_for_function("selector => harness.brightness(selector) > 40", arg=someone.video_of(ana))


def test_a_group_across_two_processes_sharing_redis(scaled_out, new_context, room):
    """Three people alternately on two app processes: their messages cross through Redis,
    each one only to the member it names."""
    one, two = scaled_out
    group = [GroupPerson(new_context(bypass_csp=True), name, server.url)
             for name, server in [("ana", one), ("ben", two), ("cara", one)]]
    for someone in group:
        someone.join_group(room)
    all_see_and_hear_each_other(group)
    ana, ben, cara = group
    ben_id = ben.id
    ben.leave()  # peer-left crosses from process two to process one
    for someone in (ana, cara):
        expect(someone.page.locator(f'[data-peer-id="{ben_id}"]')).to_have_count(0)
    all_see_and_hear_each_other([ana, cara])
    for someone in group:
        assert not someone.errors, f"{someone.name}'s page logged errors: {someone.errors}"


def test_switching_camera_and_microphone_reaches_every_connection(launch_browser, live_server, people, room):
    browser = launch_browser(args=["--use-fake-ui-for-media-stream",
                                   "--use-fake-device-for-media-stream=device-count=3"])
    try:
        ana = GroupPerson(browser.new_context(base_url=live_server.url, bypass_csp=True), "ana")
        ben, cara = people("ben", "cara")
        for someone in (ana, ben, cara):
            someone.join_group(room)
        all_see_and_hear_each_other([ana, ben, cara])
        ana.page.get_by_label("Camera", exact=True).select_option(label="fake_device_2")
        ana.page.get_by_label("Microphone").select_option(label="Fake Audio Input 1")
        sending = ("labels => harness.peerConnections.filter((pc) => pc.signalingState !== 'closed')"
                   ".every((pc) => labels.every((label) => pc.getSenders().some((s) => s.track?.label === label)))")
        ana.page.wait_for_function(sending, arg=["fake_device_2", "Fake Audio Input 1"])
        for someone in (ben, cara):
            someone.sees_and_hears([ana], frames=30)
        assert not ana.errors, f"ana's page logged errors: {ana.errors}"
    finally:
        browser.close()
