"""When the camera cannot start, the page says why and what to do, not only the console."""

from playwright.sync_api import expect

from harness import room_path


def test_refused_permission_is_explained(person_in_browser, room):
    # Without --use-fake-ui-for-media-stream nobody answers the prompt: access is refused.
    dana = person_in_browser("dana", "--use-fake-device-for-media-stream")
    dana.join(room)
    dana.expect_state("error")
    expect(dana.status).to_contain_text("access was refused")
    expect(dana.page.get_by_role("button", name="Join")).to_be_enabled()


def test_no_camera_is_explained(person_in_browser, room):
    # Chromium's fake capture with zero cameras: a computer with no webcam.
    fay = person_in_browser("fay", "--use-fake-ui-for-media-stream",
                            "--use-fake-device-for-media-stream=device-count=0")
    fay.join(room)
    fay.expect_state("error")
    expect(fay.status).to_contain_text("No camera or microphone was found")


def test_an_insecure_origin_is_explained(person_in_browser, start_server, room):
    # call.example resolves to this machine: a plain-http origin that is not localhost,
    # like http://192.168.1.20:5000 on a LAN.
    eve = person_in_browser("eve", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                            "--host-resolver-rules=MAP call.example 127.0.0.1")
    server = start_server({"TRUSTED_HOSTS": ["call.example"]})
    port = server.url.rsplit(":", 1)[1]
    eve.page.goto(f"http://call.example:{port}{room_path(room)}")
    eve.click("Join")
    eve.expect_state("error")
    expect(eve.status).to_contain_text("not secure")
    expect(eve.status).to_contain_text("https://")
