"""The call page's features beyond the call itself: chat, devices, screen share, stats,
layout and keyboard use. Two fake-media people, as everywhere."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from harness import start_call


def say(someone, text):
    box = someone.page.get_by_label("Message")
    box.fill(text)
    box.press("Enter")


def test_chat_messages_arrive_both_ways_in_order_and_are_marked_delivered(call):
    ana, ben = call
    for someone in call:
        someone.click("Chat")
        expect(someone.page.get_by_label("Message")).to_be_enabled()
    for text in ("one", "two", "three"):
        say(ana, text)
    say(ben, "got them all")
    expect(ben.page.locator("#chat-messages li.them")).to_have_text(["one", "two", "three"])
    expect(ana.page.locator("#chat-messages li.them")).to_have_text(["got them all"])
    expect(ana.page.locator("#chat-messages li.me.delivered")).to_have_count(3)
    expect(ben.page.locator("#chat-messages li.me.delivered")).to_have_count(1)


def test_chat_closes_when_the_other_leaves(call):
    ana, ben = call
    ana.click("Chat")
    expect(ana.page.get_by_label("Message")).to_be_enabled()
    ben.hang_up()
    expect(ana.page.get_by_label("Message")).to_be_disabled()


def count_offers(*people):
    """From now on, count the offers each page sends (a renegotiation would send one)."""
    for someone in people:
        someone.page.evaluate("""window.offersSent = 0;
            document.addEventListener('signal', ({ detail: { direction, message } }) => {
              if (direction === 'out' && message.type === 'offer') window.offersSent += 1;
            });""")
    return lambda: [someone.page.evaluate("window.offersSent") for someone in people]


@pytest.fixture
def three_camera_call(person_in_browser, person, room):
    """Ana, whose computer has Chromium's three fake cameras, in a call with Ben.
    fake_device_1 is a depth camera (Y16) whose frames WebRTC never sends (no frame of
    it arrives); fake_device_2 is MJPEG, like a webcam."""
    ana = person_in_browser("ana", "--use-fake-ui-for-media-stream",
                            "--use-fake-device-for-media-stream=device-count=3")
    return start_call(ana, person("ben"), room)


def test_switching_camera_and_microphone_mid_call_sends_no_new_offer(three_camera_call):
    ana, ben = three_camera_call
    offers = count_offers(ana, ben)
    camera = ana.page.get_by_label("Camera", exact=True)
    expect(camera.locator("option:checked")).to_have_text("fake_device_0")
    camera.select_option(label="fake_device_2")
    ana.page.wait_for_function("harness.currentPeerConnection().getSenders()"
                               ".some((s) => s.track?.label === 'fake_device_2')")
    ben.wait_for_remote_frames(60)
    ana.page.get_by_label("Microphone").select_option(label="Fake Audio Input 1")
    ana.page.wait_for_function("harness.currentPeerConnection().getSenders()"
                               ".some((s) => s.track?.label === 'Fake Audio Input 1')")
    ben.wait_for_sound()
    assert offers() == [0, 0]
    assert ana.page.evaluate("document.querySelector('#local-video').srcObject"
                             ".getVideoTracks()[0].label") == "fake_device_2"


def wait_for_remote_shape(someone, width_over_height):
    """The remote picture's shape (its size ramps up with the bitrate; its shape does not)."""
    someone.page.wait_for_function(
        "ratio => { const v = document.querySelector('#remote-video');"
        " return v.videoHeight > 0 && Math.abs(v.videoWidth / v.videoHeight - ratio) < 0.02; }",
        arg=width_over_height)


def test_screen_share_replaces_the_camera_and_the_camera_comes_back(call):
    ana, ben = call
    offers = count_offers(ana, ben)
    ana.click("Share screen")
    expect(ana.page.get_by_role("button", name="Stop sharing")).to_have_attribute("aria-pressed", "true")
    wait_for_remote_shape(ben, 16 / 9)  # Chromium's fake screen is 1280x720; the camera 4:3
    ben.wait_for_remote_frames(30)
    ana.click("Stop sharing")
    wait_for_remote_shape(ben, 4 / 3)
    # Stopping from the browser's own bar ends the screen track: the camera comes back.
    ana.click("Share screen")
    wait_for_remote_shape(ben, 16 / 9)
    ana.page.evaluate("document.querySelector('#local-video').srcObject.getVideoTracks()[0]"
                      ".dispatchEvent(new Event('ended'))")
    wait_for_remote_shape(ben, 4 / 3)
    ben.wait_for_remote_frames(30)
    expect(ana.page.get_by_role("button", name="Share screen")).to_have_attribute("aria-pressed", "false")
    assert offers() == [0, 0]


def stat(someone, name):
    return someone.page.locator(f'[data-stat="{name}"]')


def test_the_stats_panel_shows_the_path_and_numbers_that_change(call):
    ana, _ = call
    ana.click("Stats")
    expect(stat(ana, "path")).to_have_text("host ↔ host (udp)")
    expect(stat(ana, "rtt")).to_have_text(re.compile(r"^\d+ ms$"))
    # The size is what the sender's encoder chose: 640×480, or less on a busy machine.
    expect(stat(ana, "picture")).to_have_text(re.compile(r"^[1-9]\d*×[1-9]\d*, \d+ frames/s$"))
    expect(stat(ana, "codecs")).to_have_text(re.compile(r"audio/opus|video/VP8"))
    expect(stat(ana, "loss")).to_have_text(re.compile(r"^\d+ of \d+ \("))
    for name in ("sending", "receiving"):
        expect(stat(ana, name)).to_have_text(re.compile(r"^[1-9]\d* kbit/s$"))
    # Live: the received-bytes figure of the loss line grows second by second.
    before = stat(ana, "loss").inner_text()
    expect(stat(ana, "loss")).not_to_have_text(before)


def test_copy_link_puts_the_room_address_on_the_clipboard(person, room):
    ana = person("ana")
    ana.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ana.open_room(room)
    ana.click("Copy link")
    expect(ana.page.get_by_role("button", name="Link copied")).to_be_visible()
    assert ana.page.evaluate("navigator.clipboard.readText()") == ana.page.url


CONTROLS = ["Mute", "Camera off", "Share screen", "Chat", "Stats", "Hang up", "Copy link"]


def test_every_control_is_reached_with_tab_and_works_with_space_and_enter(call):
    ana, _ = call
    reached = []
    for _ in range(30):
        ana.page.keyboard.press("Tab")
        reached.append(ana.page.evaluate("document.activeElement.textContent.trim()"))
    assert set(CONTROLS) <= set(reached), reached
    mute = ana.page.get_by_role("button", name="Mute")
    mute.focus()
    ana.page.keyboard.press("Space")
    expect(ana.page.get_by_role("button", name="Unmute")).to_have_attribute("aria-pressed", "true")
    ana.page.keyboard.press("Enter")
    expect(mute).to_have_attribute("aria-pressed", "false")


@pytest.mark.parametrize("width, height", [(360, 740), (1280, 800)], ids=["phone", "desktop"])
def test_the_call_page_fits_a_phone_and_a_desktop(call, output_path, width, height):
    ana, _ = call
    ana.page.set_viewport_size({"width": width, "height": height})
    ana.click("Chat")
    ana.click("Stats")
    overflow = ana.page.evaluate("""() => {
      const wide = document.documentElement.scrollWidth - window.innerWidth;
      const outside = [...document.querySelectorAll('button, select, input, video, #status')]
        .filter((element) => { const box = element.getBoundingClientRect();
                               return box.left < 0 || box.right > window.innerWidth; })
        .map((element) => element.id || element.textContent);
      return { wide, outside };
    }""")
    assert overflow == {"wide": 0, "outside": []}
    for name in CONTROLS:
        box = ana.page.get_by_role("button", name=name).bounding_box()
        assert box["height"] >= 32, f"{name} is too small to tap: {box}"
    # Kept with the test's output (test-results/), to look at after a layout change.
    ana.page.screenshot(path=Path(output_path) / f"call-{width}x{height}.png", full_page=True)


def test_a_camera_plugged_in_mid_call_appears_in_the_list(call):
    ana, _ = call
    camera = ana.page.get_by_label("Camera", exact=True)
    expect(camera).to_be_disabled()  # one camera: nothing to choose
    # No browser flag plugs a camera in at run time: the browser's side of it (a longer
    # device list, then a devicechange event) is played here; the page's reaction is real.
    ana.page.evaluate("""() => {
      const devices = navigator.mediaDevices;
      const listed = devices.enumerateDevices.bind(devices);
      devices.enumerateDevices = async () => [...await listed(),
        { kind: 'videoinput', label: 'USB camera', deviceId: 'usb-camera', groupId: 'usb' }];
      devices.dispatchEvent(new Event('devicechange'));
    }""")
    expect(camera.locator("option")).to_have_text(["fake_device_0", "USB camera"])
    expect(camera).to_be_enabled()


def test_when_the_camera_in_use_is_unplugged_the_call_goes_on_with_another(three_camera_call):
    ana, ben = three_camera_call
    # Played here as the browser does it: the unplugged camera's track ends, the device
    # list no longer has it, devicechange fires. (fake_device_1 is left out too: it is a
    # depth camera whose frames WebRTC does not send.)
    ana.page.evaluate("""() => {
      const devices = navigator.mediaDevices;
      const listed = devices.enumerateDevices.bind(devices);
      devices.enumerateDevices = async () => (await listed())
        .filter((device) => !['fake_device_0', 'fake_device_1'].includes(device.label));
      document.querySelector('#local-video').srcObject.getVideoTracks()[0].stop();
      devices.dispatchEvent(new Event('devicechange'));
    }""")
    ana.page.wait_for_function("harness.currentPeerConnection().getSenders()"
                               ".some((s) => s.track?.label === 'fake_device_2')")
    ben.wait_for_remote_frames(30)
