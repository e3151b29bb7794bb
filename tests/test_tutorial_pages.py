"""Each step page of the tutorial does what the tutorial says it does."""

import re
import subprocess
import sys

from playwright.sync_api import expect

from servers import ROOT


def log_lines(someone):
    return someone.page.locator("#signal-log li")


def test_step_1_shows_the_camera_and_names_it(person):
    ana = person("ana")
    ana.page.goto("/tutorial/1")
    ana.click("Start camera")
    expect(ana.status).to_have_attribute("data-state", "on")
    expect(ana.status).to_contain_text("Camera on: fake_device_0 (640×480)")
    ana.wait_for_frames("#local-video")
    ana.click("Stop camera")
    expect(ana.status).to_have_text("The camera is off.")
    assert ana.page.evaluate("document.querySelector('#local-video').srcObject") is None


def test_step_1_explains_a_refused_permission_by_its_name(person_in_browser):
    # Nobody answers the permission prompt (no fake UI): the browser refuses.
    dana = person_in_browser("dana", "--use-fake-device-for-media-stream")
    dana.page.goto("/tutorial/1")
    dana.click("Start camera")
    expect(dana.status).to_have_attribute("data-state", "error")
    expect(dana.status).to_contain_text("NotAllowedError: Camera and microphone access was refused")
    expect(dana.page.get_by_role("button", name="Start camera")).to_be_enabled()


def test_step_2_connects_two_peer_connections_in_one_page(person):
    ana = person("ana")
    ana.page.goto("/tutorial/2")
    ana.click("Call")
    expect(ana.status).to_have_attribute("data-state", "connected")
    ana.wait_for_frames("#remote-video")
    lines = log_lines(ana)
    expect(lines.first).to_contain_text("caller → callee: offer (SDP")
    expect(lines.filter(has_text="callee → caller: answer")).to_have_count(1)
    expect(lines.filter(has_text="caller → callee: candidate udp")).not_to_have_count(0)
    expect(lines.filter(has_text="callee → caller: candidate udp")).not_to_have_count(0)
    expect(lines.filter(has_text="candidate: null (no more candidates)")).to_have_count(2)
    expect(lines.filter(has_text="callee: connection connected")).to_have_count(1)
    ana.click("Hang up")
    expect(ana.status).to_have_attribute("data-state", "idle")


def test_step_3_gives_a_room_and_logs_every_signaling_message(person):
    ana, ben = person("ana"), person("ben")
    ana.page.goto("/tutorial/3")
    expect(ana.page).to_have_url(re.compile(r"/tutorial/3\?room=[a-z]+-[a-z]+-[a-z2-7]{8}#[A-Za-z0-9_-]{22}$"))
    ana.click("Join")
    ana.expect_state("waiting")
    ben.page.goto(ana.page.url)  # the second tab, as the page tells the learner
    ben.click("Join")
    for someone in (ana, ben):
        someone.expect_state("connected")
        someone.wait_for_remote_frames(30)
    # The first one in is polite; her offer, made while she waited, goes out when Ben
    # joins. Ben answers.
    expect(log_lines(ana).first).to_have_text("← received welcome (0 already here; polite)")
    expect(log_lines(ana).nth(1)).to_have_text("← received peer-joined")
    expect(log_lines(ana).nth(2)).to_contain_text("→ sent offer")
    expect(log_lines(ana).filter(has_text="→ sent offer")).to_have_count(1)
    expect(log_lines(ana).filter(has_text="← received answer")).to_have_count(1)
    expect(log_lines(ben).first).to_have_text("← received welcome (1 already here; impolite)")
    expect(log_lines(ben).nth(1)).to_contain_text("← received offer")
    expect(log_lines(ben).filter(has_text="→ sent answer")).to_have_count(1)
    for someone in (ana, ben):
        expect(log_lines(someone).filter(has_text="→ sent candidate udp")).not_to_have_count(0)
        expect(log_lines(someone).filter(has_text="← received candidate udp")).not_to_have_count(0)


def test_there_is_no_step_page_beyond_3(client):
    assert client.get("/tutorial/4").status_code == 404
    assert client.get("/tutorial/3?room=no.dots").status_code == 404


def test_the_screenshot_script_writes_every_image_the_tutorial_shows(tmp_path):
    subprocess.run([sys.executable, "scripts/screenshots.py", "--out", str(tmp_path)],
                   cwd=ROOT, check=True, timeout=300, capture_output=True)
    for pages, images in (("tutorial", "images"), ("tutorial/ko", "images/ko")):
        shown = set(re.findall(r"\(\.{0,2}/?%s/([\w-]+\.png)\)" % images,
                               "".join(page.read_text() for page in (ROOT / pages).glob("*.md"))))
        written = tmp_path / images.removeprefix("images").strip("/")
        assert {image.name for image in written.glob("*.png")} == shown, pages
        for name in shown:
            image = (written / name).read_bytes()
            assert image.startswith(b"\x89PNG") and len(image) > 10_000, name
            assert (ROOT / "tutorial" / images / name).exists(), f"{images}/{name} is not committed"
