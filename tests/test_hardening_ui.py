"""Hardening of the web app's edges (issue 14): the HTTP API's arguments, login throttling, escaping.

The API and login cases run against a real `coach serve` on 127.0.0.1 (gradio_client, urllib).
"""

from __future__ import annotations

import re

import pytest

from app.services import Services
from app.ui import bank, handlers, views

pytestmark = pytest.mark.hardening

# Python's own words, which must never reach a user.
PYTHON_TEXT = re.compile(
    r"invalid literal|has no attribute|object is not|NoneType|Traceback|Error\b|\bint\(\)|"
    r"not subscriptable|unsupported operand|expected str|positional argument|unexpected keyword|"
    r"\bstr\b object|must be str|\\x00"
)


# -- escaping: one rule for candidate and model text --------------------------------------------
ATTACKS = {
    "link": "[click here](https://evil.example/phish)",
    "image": "![x](https://evil.example/track.png)",
    "table": "| a | b |\n|---|---|\n| 1 | 2 |",
    "raw-html": '<b id="injected">bold</b>',
    "img-onerror": "<img src=x onerror=alert(1)>",
    "autolink": "see https://evil.example/phish or mail me@evil.example",
    "heading": "# Big\n===",
    "latex": "$$x^2$$",
}
MARKDOWN = re.compile(r"(?<!\\)[\[\]()!|#<>`*_$]")


@pytest.mark.parametrize("case", list(ATTACKS))
def test_escaped_text_has_no_live_markup(case: str) -> None:
    shown = views.esc(ATTACKS[case])
    assert not MARKDOWN.search(shown.replace("&lt;", "").replace("&gt;", "")), shown


@pytest.mark.parametrize("case", list(ATTACKS))
def test_interviewer_words_are_escaped_like_the_candidates(case: str) -> None:
    for role in ("interviewer", "candidate"):
        assert handlers.chat_message(role, ATTACKS[case])["content"] == views.esc(ATTACKS[case])


def test_unknown_bank_id_is_shown_once_literally(corpus_services: Services) -> None:
    shown = bank.show_question(corpus_services, "<img src=x onerror=alert(1)>")
    assert "&lt;" not in shown and "<img src=x onerror=alert(1)>" in shown
    assert re.match(r"^(`+) <img src=x onerror=alert\(1\)> \1 ", shown)
