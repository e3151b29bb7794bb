"""Write the tutorial's screenshots by driving Chromium through each step page with fake
media, as the tests do: in English (tutorial/images/) and in Korean (tutorial/images/ko/),
the browser asking for each language as a person's would. Run `make screenshots` after
changing a page.

    .venv/bin/python scripts/screenshots.py [--language en|ko] [--out tutorial/images]
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from playwright.sync_api import expect, sync_playwright  # noqa: E402

import languages  # noqa: E402
from app import create_app  # noqa: E402
from chromium import FAKE_MEDIA_ARGS, find_chromium  # noqa: E402
from harness import Person  # noqa: E402
from servers import LiveServer  # noqa: E402

VIEWPORT = {"width": 960, "height": 860}
LOCALES = {"en": "en-US", "ko": "ko-KR"}
CHAT = {"en": ("Can you see my screen?", "Yes, clearly!"), "ko": ("제 화면 보이세요?", "네, 잘 보여요!")}
words = {}  # the page's sentences in the language being shot: say("Join") is its button


def say(sentence):
    return words.get(sentence, sentence)


def load_words(language):
    words.clear()
    if language != languages.DEFAULT:
        words.update((message.id, message.string) for message in languages.read_catalog(language))


def step1_camera(new_person, out, language):
    ana = new_person("ana")
    ana.page.goto("/tutorial/1")
    ana.click(say("Start camera"))
    ana.wait_for_frames("#local-video")
    ana.page.screenshot(path=out / "step1-camera.png")


def step2_peer_connection(new_person, out, language):
    ana = new_person("ana")
    ana.page.goto("/tutorial/2")
    ana.click(say("Call"))
    expect(ana.status).to_have_attribute("data-state", "connected")
    ana.wait_for_frames("#remote-video")
    ana.page.screenshot(path=out / "step2-peer-connection.png", full_page=True)


def step3_signaling(new_person, out, language):
    ana, ben = new_person("ana"), new_person("ben")
    ana.page.goto("/tutorial/3?room=quiet-otter-42")
    ana.click(say("Join"))
    ana.expect_state("waiting")
    ben.page.goto(ana.page.url)
    ben.click(say("Join"))
    ana.expect_state("connected")
    ana.wait_for_remote_frames(30)
    ana.page.locator("#signal-log").scroll_into_view_if_needed()
    ana.page.screenshot(path=out / "step3-signaling.png", full_page=True)


def in_a_call(new_person, room):
    """Ana waits in `room`, Ben joins; returns both once Ben sees Ana."""
    ana, ben = new_person("ana"), new_person("ben")
    ana.open_room(room).click(say("Join"))
    ana.expect_state("waiting")
    ben.open_room(room).click(say("Join"))
    ben.expect_state("connected")
    ben.wait_for_remote_frames(30)
    return ana, ben


def step4_call(new_person, out, language):
    _, ben = in_a_call(new_person, "brave-fox-7")
    ben.page.locator("nav.languages").scroll_into_view_if_needed()  # the top, not the buttons clicked
    ben.page.screenshot(path=out / "step4-call.png")


def step45_features(new_person, out, language):
    ana, ben = in_a_call(new_person, "sunny-lynx-5")
    for someone, text in zip((ana, ben), CHAT[language]):
        someone.click(say("Chat"))
        someone.page.get_by_label(say("Message")).fill(text)
        someone.page.get_by_label(say("Message")).press("Enter")
    ben.page.locator("#chat-messages li.me.delivered").wait_for()
    ben.click(say("Stats"))
    ben.page.locator('[data-stat="receiving"]', has_text="kbit/s").wait_for()
    ben.page.screenshot(path=out / "step45-features.png", full_page=True)


def step6_echo(new_person, out, language):
    ana = new_person("ana")
    ana.open_room("calm-heron-3").click(say("Join"))
    ana.expect_state("waiting")
    ana.click(say("Call the echo peer"))
    ana.expect_state("connected")
    ana.wait_for_remote_frames(30)
    ana.page.locator("nav.languages").scroll_into_view_if_needed()  # the top, not the buttons clicked
    ana.page.screenshot(path=out / "step6-echo.png")
    ana.click(say("Hang up"))


SHOTS = [step1_camera, step2_peer_connection, step3_signaling, step4_call, step45_features,
         step6_echo]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", choices=LOCALES, action="append",
                        help="the pages' language (default: each in turn)")
    parser.add_argument("--out", type=Path, default=ROOT / "tutorial" / "images",
                        help="where the English images go; the Korean ones go in its ko/")
    args = parser.parse_args()

    server = LiveServer(create_app({}))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=FAKE_MEDIA_ARGS)
        for language in args.language or LOCALES:
            load_words(language)
            out = args.out if language == languages.DEFAULT else args.out / language
            out.mkdir(parents=True, exist_ok=True)
            for shot in SHOTS:
                contexts = []

                def new_person(name):
                    contexts.append(browser.new_context(base_url=server.url, viewport=VIEWPORT,
                                                        locale=LOCALES[language]))
                    return Person(contexts[-1], name)

                shot(new_person, out, language)
                for context in contexts:
                    context.close()
                print(f"wrote the screenshot of {shot.__name__} in {language}")
        browser.close()
    server.stop()


if __name__ == "__main__":
    main()
