"""Firefox in the tests: a person at Debian's firefox-esr, with the verbs of harness.Person.

Playwright cannot drive Debian's Firefox (its moz-firefox channel asks that Firefox for
WebDriver BiDi commands it does not have), so a small Node program does it with
puppeteer-core over WebDriver BiDi (firefox-driver/driver.mjs, pinned in its
package-lock.json; `make test` runs `npm ci` there). We talk to it in JSON lines.

One Firefox serves the whole test session; each person gets a browser context of their own
(cookies and permissions apart, as on their own computer) in a window of their own.
Firefox's own fake devices stand in for the camera (a picture that changes colour) and the
microphone (a tone), and getUserMedia gets them without a prompt. permissions.query still
answers "prompt" for the camera (WebDriver BiDi cannot grant it in this Firefox), so the
call page waits for Join to turn the camera on, as on a first visit. harness.js is injected into every page, as in Chromium, so
frames, sound and the candidate pair are measured by the same code in both engines.

Tests use the fixture `firefox_person(name, server_url="")`, like `person`; where Firefox,
Node or the driver's packages are missing, they are skipped and say why.
"""

import itertools
import json
import shutil
import subprocess
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import pytest
from playwright.sync_api import Error, TimeoutError

from harness import HARNESS_JS, TIMEOUT_MS, Person
from servers import find_program

DRIVER_DIR = Path(__file__).with_name("firefox-driver")
NAMES = ["firefox-esr", "firefox"]
PREFS = {
    # getUserMedia gets Firefox's fake camera and microphone, and asks nobody.
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    # Each person is at a computer of their own, with their window in front; here all the
    # windows share one screen and one has the focus. Firefox lists devices to a window
    # without it only with this pref (otherwise enumerateDevices waits for the focus).
    "media.devices.unfocused.enabled": True,
}


def find_firefox():
    """$FIREFOX_PATH, else a Firefox on the PATH (Debian's firefox-esr first), else None."""
    return find_program("FIREFOX_PATH", NAMES)


def missing():
    """Why Firefox tests cannot run here, or None."""
    if not find_firefox():
        return ("Firefox is not installed: `make test` installs Debian's firefox-esr as root; "
                "elsewhere run `apt-get install firefox-esr` or set FIREFOX_PATH")
    if not shutil.which("node"):
        return ("Node.js is not installed (it runs the Firefox driver): `make test` installs it "
                "as root; elsewhere run `apt-get install nodejs npm`")
    if not (DRIVER_DIR / "node_modules" / "puppeteer-core").is_dir():
        return ("the Firefox driver's packages are not installed: `make test` does it; "
                "elsewhere run `npm ci` in tests/firefox-driver")
    return None


def versions():
    """Firefox's, Node's and puppeteer-core's versions, for the test report's header."""
    def output(*command):
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError) as error:
            return f"({error})"
    package = DRIVER_DIR / "node_modules" / "puppeteer-core" / "package.json"
    return (f"{output(find_firefox(), '--version')}, Node.js {output('node', '--version')}, "
            f"puppeteer-core {json.loads(package.read_text())['version']}")


class FirefoxDriver:
    """driver.mjs in a process of its own, and the Firefox it launched."""

    def __init__(self, firefox, headless=True, prefs=None):
        self.headless = headless
        self.process = subprocess.Popen(
            ["node", DRIVER_DIR / "driver.mjs"], cwd=DRIVER_DIR, text=True, bufsize=1,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.ids = itertools.count(1)
        self.pending = {}  # command id -> Future of its answer
        self.listeners = {}  # page id -> what to call with each of its events
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        self.version = self.call("launch", 60, executablePath=firefox, headless=headless,
                                 prefs={**PREFS, **(prefs or {})})["version"]

    def _read(self):
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                print(f"[firefox driver] {line.rstrip()}")
                continue
            if "event" in message:
                listener = self.listeners.get(message["page"])
                if listener:
                    listener(message)
                continue
            with self.lock:
                future = self.pending.pop(message["id"], None)
            if future:
                future.set_result(message)
        with self.lock:
            for future in self.pending.values():
                future.set_exception(Error(f"the Firefox driver exited ({self.process.wait()})"))
            self.pending.clear()

    def call(self, op, wait, **params):
        """Send one command and wait up to `wait` seconds for its answer."""
        future = Future()
        with self.lock:
            command_id = next(self.ids)
            self.pending[command_id] = future
            self.process.stdin.write(json.dumps({"id": command_id, "op": op, **params}) + "\n")
            self.process.stdin.flush()
        try:
            answer = future.result(timeout=wait)
        except FutureTimeout:
            raise Error(f"the Firefox driver did not answer {op} in {wait} s") from None
        if "error" in answer:
            error = answer["error"]
            raise (TimeoutError if error["name"] == "TimeoutError" else Error)(
                f"Firefox, {op}: {error['name']}: {error['message']}")
        return answer["value"]

    def close(self):
        try:
            self.call("close", 30)
        finally:
            self.process.stdin.close()
            self.process.wait(30)


class FirefoxPage:
    """What harness.Person and the tests use of Playwright's sync Page, in Firefox: goto,
    reload, url, evaluate, wait_for_function, fill, press, add_init_script. Page code is
    given as source text, as to Playwright: a function is called with `arg`."""

    def __init__(self, driver, base_url, on_event):
        self.driver = driver
        self.base_url = base_url
        self.timeout = TIMEOUT_MS
        self.id = driver.call("newPage", 30, initScripts=[HARNESS_JS.read_text()])
        driver.listeners[self.id] = on_event

    def set_default_timeout(self, timeout):
        self.timeout = timeout

    def _call(self, op, timeout=None, **params):
        timeout = self.timeout if timeout is None else timeout
        # The driver times itself out first, and says what it waited for.
        return self.driver.call(op, timeout / 1000 + 15, page=self.id, timeout=timeout, **params)

    def goto(self, url, timeout=None):
        self._call("goto", timeout, url=self.base_url + url if url.startswith("/") else url)

    def reload(self, timeout=None):
        self._call("reload", timeout)

    @property
    def url(self):
        return self._call("url")

    def evaluate(self, expression, arg=None):
        return self._call("evaluate", source=expression, **({} if arg is None else {"arg": arg}))

    def wait_for_function(self, expression, arg=None, timeout=None, polling=20):
        self._call("waitForFunction", timeout, source=expression, interval=polling,
                   **({} if arg is None else {"arg": arg}))

    def click_button(self, name, timeout=None):
        self._call("clickButton", timeout, name=name)

    def fill(self, selector, value, timeout=None):
        self._call("fill", timeout, selector=selector, value=value)

    def press(self, selector, key, timeout=None):
        self._call("press", timeout, selector=selector, key=key)

    def add_init_script(self, script):
        """Run `script` before the page's own scripts from the next navigation on."""
        self._call("addInitScript", source=script)

    def close(self):
        self._call("closePage")
        self.driver.listeners.pop(self.id, None)


class FirefoxPerson(Person):
    """Someone at Firefox: harness.Person's verbs (join, click, expect_state,
    wait_for_remote_frames, wait_for_sound, hang_up, selected_candidate_pair, ...), measured
    by the same harness.js. `errors` holds their page's console errors and uncaught
    exceptions."""

    engine = "firefox"

    def __init__(self, driver, name, server_url="", base_url=""):
        """server_url "" means base_url (the session's live server)."""
        self.name = name
        self.server_url = server_url
        self.context = None
        self.errors = []
        self.page = FirefoxPage(driver, server_url or base_url, self._on_event)

    def _on_event(self, event):
        if event["event"] == "pageerror":
            self.errors.append(f"uncaught {event['text']}")
            return
        print(f"[{self.name}] {event['text']}")
        if event["type"] == "error":
            self.errors.append(event["text"])

    def click(self, button_name):
        self.page.click_button(button_name)

    def expect_state(self, state, timeout=TIMEOUT_MS):
        try:
            self.page.wait_for_function(
                "state => document.querySelector('#status')?.dataset.state === state",
                arg=state, timeout=timeout)
        except TimeoutError:
            now = self.page.evaluate(
                "(() => { const s = document.querySelector('#status');"
                " return s && [s.dataset.state, s.textContent]; })()")
            raise AssertionError(f"{self.name}: the state is not {state!r} after {timeout} ms: "
                                 f"{now}") from None

    def status_text(self):
        return self.page.evaluate("document.querySelector('#status').textContent")


@pytest.fixture(scope="session")
def firefox_driver(pytestconfig):
    """The session's Firefox; skipped, with the reason, where it cannot run."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    driver = FirefoxDriver(find_firefox(), headless=not pytestconfig.getoption("headed", False))
    yield driver
    driver.close()


@pytest.fixture
def firefox_person(firefox_driver, live_server):
    """firefox_person("ana") is someone at Firefox, on the session's live server unless
    server_url names another. prefs={...} gives them a Firefox of their own with these
    preferences on top of PREFS (a computer set up otherwise). Any uncaught exception or
    console error in their page fails the test. Their window closes at the end of the test
    (their call ends with it)."""
    people = []
    own_drivers = []

    def make(name, server_url="", prefs=None):
        driver = firefox_driver
        if prefs:
            own_drivers.append(FirefoxDriver(find_firefox(), firefox_driver.headless, prefs))
            driver = own_drivers[-1]
        people.append(FirefoxPerson(driver, name, server_url, live_server.url))
        return people[-1]

    yield make
    for someone in people:
        if someone.page.driver is firefox_driver:
            someone.page.close()
    for driver in own_drivers:
        driver.close()
    for someone in people:
        assert not someone.errors, f"{someone.name}'s page (Firefox) logged errors: {someone.errors}"


def pytest_report_header(config):
    if missing():
        return f"firefox: not available ({missing()})"
    return f"firefox: {versions()}"
