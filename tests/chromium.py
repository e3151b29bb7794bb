"""Find a Chromium for the tests, or install one.

Order: $CHROMIUM_PATH, a Chromium or Chrome on the PATH, then Playwright's own browser
(if `playwright install chromium` ever ran). `python tests/chromium.py --install` installs
Debian's `chromium` package when none is found and we are root, or prints the command.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from servers import find_program

NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
INSTALL_COMMAND = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
# Chromium answers getUserMedia itself with a moving test picture and a beep, and says yes
# to the permission prompt: two tabs can call each other with no camera and no person.
FAKE_MEDIA_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


def find_chromium():
    """The path of a Chromium to launch, or None to use Playwright's own browser."""
    return find_program("CHROMIUM_PATH", NAMES)


def playwright_has_its_own():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        return Path(playwright.chromium.executable_path).is_file()


def install():
    """Make sure a browser exists; return a message saying which one."""
    if find_chromium():
        return f"using {find_chromium()}"
    if playwright_has_its_own():
        return "using Playwright's own Chromium"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit("No Chromium found. Install one with:\n"
                         f"  sudo apt-get update && sudo {' '.join(INSTALL_COMMAND)}\n"
                         "or point CHROMIUM_PATH at a Chromium or Chrome binary.")
    print("No Chromium found: installing Debian's chromium package…", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(INSTALL_COMMAND, check=True, env=env)
    return f"using {find_chromium()}"


if __name__ == "__main__":
    if sys.argv[1:] == ["--install"]:
        print(install())
    else:
        print(find_chromium() or "Playwright's own Chromium")
