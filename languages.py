"""The pages in Korean or English: which language a request gets, and the words the page's
JavaScript shows in it.

Every sentence a person reads is an English message id in the code (`_()` in the
templates, `t()` in static/js) and has its Korean in one gettext catalog,
translations/ko/LC_MESSAGES/messages.po. Flask-Babel reads the compiled catalog (.mo,
`make translations`) for the templates; the page's JavaScript gets its part of the same
catalog rendered into the page (templates/base.html), so no sentence is kept twice.
Error codes on the wire stay English: only what a person reads changes.
"""

from pathlib import Path

from babel.messages.pofile import read_po
from flask import request

LANGUAGES = {"en": "English", "ko": "한국어"}  # each in its own words, for the switch
DEFAULT = "en"
COOKIE = "language"  # set by static/js/language-switch.js: the person's choice, remembered
CATALOGS = Path(__file__).parent / "translations"


def choose_language():
    """The language the person chose with the switch, else the best one their browser asks
    for (Accept-Language: ko-KR matches ko), else English."""
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT)


def read_catalog(language, catalogs=CATALOGS):
    """The entries of a language's catalog (.po), the header left out."""
    with open(catalogs / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return [message for message in read_po(po) if message.id]


def script_words(catalogs=CATALOGS):
    """{language: {English message id: its translation}} for the messages that static/js
    uses, read from the catalogs' .po files. English needs none: t() shows the id."""
    words = {DEFAULT: {}}
    for language in LANGUAGES.keys() - {DEFAULT}:
        words[language] = {
            message.id: message.string for message in read_catalog(language, catalogs)
            if message.string and not message.fuzzy
            and any(path.startswith("static/js/") for path, _ in message.locations)
        }
    return words


def is_compiled(catalogs=CATALOGS):
    """Whether every catalog has a .mo at least as new as its .po (else the templates stay
    English until `make translations` runs)."""
    for po in catalogs.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            return False
    return True
