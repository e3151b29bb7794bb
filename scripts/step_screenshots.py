"""Take the screenshot of each build-along step (tutorial/steps/*/screenshot.png) from the
step itself: its server started as its page says, Chromium with fake media driving it.

    .venv/bin/python scripts/step_screenshots.py            # every step
    .venv/bin/python scripts/step_screenshots.py 06-group   # only those named
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS = ROOT / "tutorial" / "steps"
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from playwright.sync_api import sync_playwright  # noqa: E402

from chromium import FAKE_MEDIA_ARGS, find_chromium  # noqa: E402
from servers import free_port, wait_for_port  # noqa: E402
from harness import Person  # noqa: E402

VIEWPORT = {"width": 800, "height": 400}


def camera(new_person):
    ana = new_person("ana")
    ana.click("Start")
    ana.wait_for_frames("#local-video")
    return ana


def peer_connection(new_person):
    ana = new_person("ana")
    ana.click("Start")
    ana.expect_state("connected")
    ana.wait_for_remote_frames()
    return ana


def call(new_person):
    ana, ben = new_person("ana"), new_person("ben")
    ana.click("Join")
    ana.expect_state("waiting")
    ben.click("Join")
    ben.expect_state("connected")
    ben.wait_for_remote_frames()
    return ben


def group(new_person):
    """Three people; the last one's page, with a video of each of the two others."""
    ana, ben, cleo = new_person("ana"), new_person("ben"), new_person("cleo")
    ana.click("Join")
    ana.expect_state("waiting")
    ben.click("Join")
    ben.expect_state("connected")
    cleo.click("Join")
    cleo.page.wait_for_function("document.querySelectorAll('video[data-id]').length === 2")
    cleo.expect_state("connected")
    for id in cleo.page.evaluate("[...document.querySelectorAll('video[data-id]')].map((v) => v.dataset.id)"):
        cleo.wait_for_frames(f'video[data-id="{id}"]')
    return cleo


SHOTS = {"01-camera": camera, "02-peer-connection": peer_connection,
         "03-signaling": call, "04-call": call, "06-group": group}
# A page taller than the others: its videos are a grid of two rows.
VIEWPORTS = {"06-group": {"width": 800, "height": 480}}


def main():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=FAKE_MEDIA_ARGS)
        for step in sys.argv[1:] or SHOTS:
            shot = SHOTS[step]
            port = free_port()
            server = subprocess.Popen([sys.executable, "-m", "flask", "--app",
                                       f"tutorial/steps/{step}/server", "run", "--port", str(port)],
                                      cwd=ROOT, stderr=subprocess.DEVNULL)
            contexts = []

            def new_person(name):
                contexts.append(browser.new_context(viewport=VIEWPORTS.get(step, VIEWPORT)))
                someone = Person(contexts[-1], name)
                someone.page.goto(f"http://127.0.0.1:{port}/")
                return someone

            try:
                wait_for_port(port, server, step)
                shot(new_person).page.screenshot(path=STEPS / step / "screenshot.png")
            finally:
                for context in contexts:
                    context.close()
                server.terminate()
                server.wait()
            print(f"wrote tutorial/steps/{step}/screenshot.png")
        browser.close()


if __name__ == "__main__":
    main()
