"""The pages in Korean and English: the browser's language picks one, the switch changes it
and is remembered, and every sentence a person reads comes from the catalog (translations/)."""

import functools
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from playwright.sync_api import expect

import languages
from harness import room_path

ROOT = Path(__file__).resolve().parent.parent
# As `make translations-update` extracts them: gettext()/_()/lazy_gettext() and t() in JS.
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "t": None}
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")
HANGUL = re.compile(r"[가-힣]")


@functools.cache
def catalog(language="ko"):
    return {message.id: message for message in languages.read_catalog(language)}


def sentences_in_the_code():
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = extract_from_dir(ROOT, method_map, options_map, keywords=KEYWORDS,
                             directory_filter=lambda path: ".venv" not in path and "node_modules" not in path)
    return {message for _, _, message, _, _ in found}


def test_the_catalog_is_compiled():
    assert languages.is_compiled(), "the pages stay English: run make translations (make test does)"


def test_every_sentence_in_the_code_has_its_korean():
    korean = catalog()
    untranslated = [sentence for sentence in sentences_in_the_code()
                    if sentence not in korean or not korean[sentence].string or korean[sentence].fuzzy]
    assert not untranslated, f"run make translations-update and translate: {untranslated}"


def test_the_catalog_holds_only_sentences_the_code_uses():
    unused = catalog().keys() - sentences_in_the_code()
    assert not unused, f"no longer in the code (make translations-update drops them): {unused}"


def test_translations_keep_every_placeholder():
    for sentence, message in catalog().items():
        assert sorted(PLACEHOLDER.findall(message.string)) == sorted(PLACEHOLDER.findall(sentence)), sentence


def test_the_scripts_show_no_sentence_outside_the_catalog():
    """Text a script puts on the page goes through t(): a literal or a template string
    given to what a person reads is a sentence the catalog misses."""
    translated = re.compile(r"""\bt\((['`])(?:\\.|(?!\1).)*\1""")
    words = r"""('[A-Za-z][^']* [^']*'|`[A-Za-z][^`]* [^`]*`)"""  # a sentence, not an identifier
    shown = re.compile(rf"(textContent|placeholder|title)\s*=[^;]*{words}"
                       rf"|\w\('[a-z-]+',\s*{words}")  # setStatus('idle', 'Press Join...')
    offenders = [f"{path.relative_to(ROOT)}: {line.strip()}"
                 for path in (ROOT / "static" / "js").rglob("*.js")
                 for line in path.read_text().splitlines() if shown.search(translated.sub("t(T", line))]
    assert not offenders


@pytest.mark.parametrize("accept, language", [
    ("ko-KR,ko;q=0.9,en-US;q=0.8", "ko"), ("ko", "ko"), ("en-US,en", "en"), ("fr-FR,fr", "en"), (None, "en")])
def test_the_browser_language_picks_the_page_language(client, accept, language):
    page = client.get("/", headers={"Accept-Language": accept} if accept else {}).get_data(as_text=True)
    assert f'<html lang="{language}">' in page
    heading = "둘이서 하는 화상 통화" if language == "ko" else "A video call for two"
    assert f"<h1>{heading}</h1>" in page


def test_the_chosen_language_wins_over_the_browser_and_a_bad_choice_is_ignored(client):
    client.set_cookie("language", "ko")
    assert '<html lang="ko">' in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    client.set_cookie("language", "klingon")
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_a_cache_keeps_one_copy_of_a_page_per_language(client):
    vary = client.get("/room/some-room").headers["Vary"]
    assert "Accept-Language" in vary and "Cookie" in vary


def test_the_servers_answers_to_the_page_are_in_its_language(client):
    response = client.post("/room/some-room/echo", json={"token": "wrong"}, headers={"Accept-Language": "ko"})
    assert response.status_code == 403
    assert response.json["error"] == catalog()[
        "Only the person waiting in this room may call the echo peer."].string
    lobby = client.get("/join?room=no%20spaces", headers={"Accept-Language": "ko"})
    assert catalog()["A room name is 1 to 64 letters, digits, '-' or '_'."].string in lobby.get_data(as_text=True)


# In the browser: what a person reads, everywhere on the page but the language switch,
# which names each language in its own words.
READABLE_TEXT = """() => {
  const page = document.querySelector('main');
  const attributes = [...page.querySelectorAll('[aria-label], [title], [placeholder], [aria-description]')]
    .flatMap((element) => ['aria-label', 'title', 'placeholder', 'aria-description']
      .map((name) => element.getAttribute(name)).filter(Boolean));
  return [document.title, page.innerText, ...attributes].join('\\n');
}"""


def english_sentences():
    """The catalog's English, cut at its placeholders: what must not show on a Korean page."""
    return {part.strip() for sentence in catalog() for part in PLACEHOLDER.split(sentence)
            if len(part.strip()) >= 4 and re.search("[A-Za-z]{3}", part)}


def readable_text(someone):
    return someone.page.evaluate(READABLE_TEXT)


class Reader:
    """Every status line a person's page shows, each read as it comes."""

    def __init__(self, someone, language):
        self.someone = someone
        self.seen = []
        self.language = language

    def expect(self, state):
        self.someone.expect_state(state)
        self.seen.append(self.someone.status.inner_text())
        self.check_page()

    def check_page(self):
        text = readable_text(self.someone)
        if self.language == "ko":
            shown = [sentence for sentence in english_sentences() if sentence in text]
            assert not shown, f"{self.someone.name} reads English on a Korean page: {shown}"
        else:
            assert not HANGUL.search(text), f"{self.someone.name} reads Korean on an English page: {text}"


@pytest.mark.parametrize("locale, language", [("ko-KR", "ko"), ("en-US", "en")])
def test_a_whole_call_in_the_browsers_language(person, room, locale, language):
    korean = catalog() if language == "ko" else {}

    def say(sentence):  # a button's name as this person reads it
        return korean[sentence].string if sentence in korean else sentence

    ana, ben, cara = (person(name, locale=locale) for name in ("ana", "ben", "cara"))
    readers = {someone.name: Reader(someone, language) for someone in (ana, ben, cara)}
    ana.open_room(room)
    expect(ana.page.locator("html")).to_have_attribute("lang", language)
    readers["ana"].expect("idle")
    ana.click(say("Join"))
    readers["ana"].expect("waiting")
    ben.open_room(room)
    ben.click(say("Join"))
    for someone in (ana, ben):
        readers[someone.name].expect("connected")
        someone.wait_for_remote_frames(10)
        someone.click(say("Chat"))
        someone.click(say("Stats"))
        someone.page.locator('[data-stat="picture"]', has_text="×").wait_for()
        someone.click(say("Mute"))
        expect(someone.page.get_by_role("button", name=say("Unmute"), exact=True)).to_be_visible()
        readers[someone.name].check_page()
    cara.open_room(room)
    cara.click(say("Join"))
    readers["cara"].expect("full")
    ben.click(say("Hang up"))
    readers["ben"].expect("idle")
    readers["ana"].expect("waiting")
    for reader in readers.values():
        for status in reader.seen:
            assert bool(HANGUL.search(status)) == (language == "ko"), f"{reader.someone.name} read: {status}"
    if language == "ko":
        assert readers["cara"].seen[-1] == korean[
            "This room is full: two people are already in a call here. Choose another room."].string


def test_a_camera_error_is_explained_in_korean(person_in_browser, live_server, room):
    # Nobody answers the permission prompt (no fake UI flag): access is refused.
    dana = person_in_browser("dana", "--use-fake-device-for-media-stream")
    dana.context.add_cookies([{"name": "language", "value": "ko", "url": live_server.url}])
    dana.open_room(room)
    dana.click("참여")
    dana.expect_state("error")
    expect(dana.status).to_have_text(catalog()[
        "Camera and microphone access was refused. Allow it in the address bar (the camera icon) "
        "or in your browser settings, then press Join again."].string)


def test_the_switch_changes_the_language_and_it_is_remembered(person, room):
    ana = person("ana", locale="en-US").open_room(room)
    link = ana.page.url
    ana.click("한국어")
    expect(ana.page.locator("html")).to_have_attribute("lang", "ko")
    expect(ana.page.get_by_role("button", name="참여", exact=True)).to_be_visible()
    assert ana.page.url == link  # the room's secret, after "#", is still there
    ana.page.reload()
    expect(ana.page.locator("html")).to_have_attribute("lang", "ko")
    ana.page.goto("/")
    expect(ana.page.get_by_role("heading", level=1)).to_have_text("둘이서 하는 화상 통화")
    ana.click("English")
    expect(ana.page.get_by_role("heading", level=1)).to_have_text("A video call for two")
    ana.page.goto(room_path(room))
    expect(ana.page.get_by_role("button", name="Join", exact=True)).to_be_visible()


def test_the_tutorial_pages_speak_korean(person):
    ana = person("ana", locale="ko-KR")
    ana.page.goto("/tutorial/1")
    ana.click("카메라 켜기")
    ana.expect_state("on")
    expect(ana.status).to_contain_text("카메라 켜짐")
    ana.page.goto("/tutorial/2")
    ana.click("통화 시작")
    ana.expect_state("connected")
    expect(ana.status).to_have_text(catalog()["Connected: the callee receives the caller's camera."].string)
