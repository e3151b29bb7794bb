"""Write the code on the build-along step pages (tutorial/steps/*/README*.md) anew.

A ```diff block whose first lines are `--- 03-signaling/app.js` and `+++ 04-call/app.js`
is replaced by the output of `diff -u` between those two files of tutorial/steps/, and a
```js file=tutorial/steps/04-call/peer.js block by that whole file.

    python scripts/step_diffs.py          # rewrite the pages' diffs
    python scripts/step_diffs.py --check  # only say which pages are stale (exit status 1)
"""

import re
import subprocess
import sys
from pathlib import Path

STEPS = Path(__file__).resolve().parent.parent / "tutorial" / "steps"
ROOT = STEPS.parent.parent
DIFF_BLOCK = re.compile(r"^```diff\n--- (\S+)\n\+\+\+ (\S+)\n.*?^```$", re.S | re.M)
WHOLE_FILE = re.compile(r"^(```\w+ file=(\S+)\n).*?^```$", re.S | re.M)


def real_diff(old, new):
    """`diff -u` of two files named from tutorial/steps/, labelled with those names."""
    result = subprocess.run(["diff", "-u", "--label", old, "--label", new, old, new],
                            cwd=STEPS, capture_output=True, text=True)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


def with_real_diffs(text):
    text = DIFF_BLOCK.sub(lambda block: f"```diff\n{real_diff(*block.groups())}```", text)
    return WHOLE_FILE.sub(lambda block: f"{block[1]}{(ROOT / block[2]).read_text()}```", text)


def pages():
    return sorted(STEPS.glob("*/README*.md"))


if __name__ == "__main__":
    stale = [page for page in pages() if with_real_diffs(page.read_text()) != page.read_text()]
    if "--check" in sys.argv[1:]:
        print("\n".join(f"stale: {page.relative_to(STEPS)}" for page in stale))
        sys.exit(1 if stale else 0)
    for page in stale:
        page.write_text(with_real_diffs(page.read_text()))
        print(f"rewrote {page.relative_to(STEPS)}")
