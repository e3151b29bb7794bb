"""The tutorial and the code never disagree: quoted code is in its file, links lead
somewhere, named tests exist, the Korean tutorial has what the English one has, and every
diagram parses."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "tutorial"
ENGLISH = sorted(TUTORIAL.glob("*.md"))
KOREAN = TUTORIAL / "ko"
# ```js file=static/js/peer.js  ...  ```: a quote of that file, whole lines, in order.
QUOTE = re.compile(r"^```(\w+) file=(\S+)\n(.*?)^```$", re.S | re.M)
CODE_BLOCK = re.compile(r"^```.*?^```$", re.S | re.M)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
TEST_NAME = re.compile(r"\btest_\w+(?!\w|\.py)")
HEADING = re.compile(r"^(#+) ", re.M)
MERMAID = re.compile(r"^```mermaid\n(.*?)^```$", re.S | re.M)
# Mermaid's own parser, which GitHub runs to draw these blocks: `make mermaid-check` installs it.
MERMAID_JS = ROOT / "tests" / "mermaid-check" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"


def documents():
    return ENGLISH + sorted(KOREAN.glob("*.md")) + [TUTORIAL / "original" / "README.md"]


def test_the_tutorial_has_its_steps_in_both_languages():
    names = [page.name for page in ENGLISH]
    assert names[:2] == ["10-camera.md", "20-peer-connection.md"], names
    assert {"README.md", "errata.md", "40-the-call.md", "50-testing.md"} <= set(names)
    assert names == [page.name for page in sorted(KOREAN.glob("*.md"))]


@pytest.mark.parametrize("page", documents(), ids=lambda page: str(page.relative_to(TUTORIAL)))
def test_quoted_code_is_still_in_its_file(page):
    for language, path, quote in QUOTE.findall(page.read_text()):
        source = (ROOT / path).read_text()
        assert quote in source, f"{page.name} quotes lines that are no longer in {path}:\n{quote}"


@pytest.mark.parametrize("page", documents(), ids=lambda page: str(page.relative_to(TUTORIAL)))
def test_links_lead_to_files_that_exist(page):
    for target in LINK.findall(CODE_BLOCK.sub("", page.read_text())):
        if "://" in target or target.startswith("/"):
            continue  # a web address, or a page of the running app
        assert (page.parent / target).exists(), f"{page.name} links to a missing {target}"


def test_the_tests_the_tutorial_names_exist():
    defined = set(re.findall(r"^def (test_\w+)", "\n".join(
        path.read_text() for path in (ROOT / "tests").glob("test_*.py")), re.M))
    for page in documents():
        for name in set(TEST_NAME.findall(page.read_text())) - defined:
            pytest.fail(f"{page.relative_to(TUTORIAL)} names {name}, which is not a test")


def test_a_linked_test_name_leads_to_the_file_that_defines_it():
    for page in documents():
        for name, target in re.findall(r"\[`(?:tests/\w+\.py::)?(test_\w+)`\]\(([^)]+)\)", page.read_text()):
            source = (page.parent / target).read_text()
            assert re.search(rf"^def {name}\(", source, re.M), \
                f"{page.relative_to(TUTORIAL)} links {name} to {target}, which does not define it"


@pytest.mark.parametrize("page", ENGLISH, ids=lambda page: page.name)
def test_the_korean_page_has_the_same_headings_and_code(page):
    english, korean = page.read_text(), (KOREAN / page.name).read_text()
    assert HEADING.findall(korean) == HEADING.findall(english), "heading levels differ"
    assert CODE_BLOCK.findall(korean) == CODE_BLOCK.findall(english), "code blocks differ"
    assert sorted(link_targets(KOREAN / page.name)) == sorted(link_targets(page)), "links differ"


def link_targets(page):
    """Where a page's links lead, with tutorial/ko/X.md and tutorial/X.md counted as one
    (a Korean page links to the Korean steps and screenshots, and to the same files)."""
    targets = []
    for target in LINK.findall(CODE_BLOCK.sub("", page.read_text())):
        if "://" not in target:
            target = str((page.parent / target).resolve().relative_to(TUTORIAL.parent))
            target = target.replace("tutorial/ko/", "tutorial/").replace("tutorial/images/ko/", "tutorial/images/")
        targets.append(target)
    return targets


def test_every_mermaid_diagram_parses(page):
    if not MERMAID_JS.exists():
        pytest.skip("mermaid is not installed: `make mermaid-check` installs it with npm")
    diagrams = [(f"{path.relative_to(ROOT)}:{text[:match.start()].count(chr(10)) + 1}", match[1])
                for path in [ROOT / "README.md", *sorted(TUTORIAL.rglob("*.md"))]
                for text in [path.read_text()] for match in MERMAID.finditer(text)]
    assert len(diagrams) > 2
    page.set_content("<!doctype html><body></body>")
    page.add_script_tag(path=MERMAID_JS)
    # One broken diagram, so that a parser that accepts anything fails this test.
    diagrams.append(("a broken diagram", "sequenceDiagram\n    A->>: no one to send to"))
    errors = page.evaluate("""async (diagrams) => {
      const errors = {};
      for (const [where, text] of diagrams) {
        try { await mermaid.parse(text); } catch (error) { errors[where] = String(error.message || error); }
      }
      return errors;
    }""", diagrams)
    assert list(errors) == ["a broken diagram"], errors
