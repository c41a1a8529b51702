"""Hardening of the web app's edges (issue 14): the HTTP API's arguments, login throttling, escaping.

The API and login cases run against a real `coach serve` on 127.0.0.1 (gradio_client, urllib).
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException
from live_server import coach_server

from app.services import Services
from app.ui import bank, handlers, login, views

pytestmark = pytest.mark.hardening

# Python's own words, which must never reach a user.
PYTHON_TEXT = re.compile(
    r"invalid literal|has no attribute|object is not|NoneType|Traceback|Error\b|\bint\(\)|"
    r"not subscriptable|unsupported operand|expected str|positional argument|unexpected keyword|"
    r"\bstr\b object|must be str|\\x00"
)


USER, PASSWORD = "coach", "right-horse-battery-staple"
WRONG = "wrong-guess-"


@pytest.fixture(scope="module")
def auth_server(corpus_services: Services) -> Iterator[tuple[str, Path]]:
    """One server with COACH_AUTH for the API and the login cases (a server takes a while to start)."""
    data = corpus_services.settings.data_dir
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COACH_AUTH", f"{USER}:{PASSWORD}")
        with coach_server(data) as url:
            port = urllib.parse.urlsplit(url).port
            yield url, data / f"serve-{port}.log"


# -- the HTTP API: every argument checked, answered in words ------------------------------------
@pytest.fixture(scope="module")
def client(auth_server: tuple[str, Path]) -> Any:
    from gradio_client import Client

    return Client(auth_server[0], auth=(USER, PASSWORD), verbose=False)


@pytest.fixture(scope="module")
def session_id(client: Any) -> str:
    started = client.predict("ml_theory", "any", 5, 1, "", api_name="/start_interview")
    return str(started["session_id"])


LONG = "x" * 50_000
START = {"track": "any", "difficulty": "any", "questions": 2, "follow_ups": 1, "focus": ""}
BAD_START = {
    "questions-word": ({"questions": "three"}, "questions must be a whole number"),
    "questions-fraction": ({"questions": 2.5}, "questions must be a whole number"),
    "questions-negative": ({"questions": -1}, "questions must be a whole number"),
    "questions-huge": ({"questions": 10**12}, "questions must be a whole number"),
    "questions-missing": ({"questions": None}, "questions must be a whole number"),
    "questions-bool": ({"questions": True}, "questions must be a whole number"),
    "follow-ups-word": ({"follow_ups": "two"}, "follow_ups must be a whole number"),
    "track-number": ({"track": 5}, "track must be one of"),
    "track-unknown": ({"track": "astrology"}, "track must be one of"),
    "difficulty-list": ({"difficulty": ["easy"]}, "difficulty must be one of"),
    "focus-number": ({"focus": 123}, "focus must be text"),
    "focus-huge": ({"focus": LONG}, "focus is 50,000 characters"),
}


def _app_error(call: Any) -> str:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as caught:
        call()
    return str(caught.value)


def _assert_words(message: str, expected: str) -> None:
    assert expected in message, message
    assert "\n" not in message.strip() and len(message) < 300, message
    assert not PYTHON_TEXT.search(message), message


@pytest.mark.parametrize("case", list(BAD_START))
def test_start_interview_refuses_bad_arguments_in_words(client: Any, case: str) -> None:
    change, expected = BAD_START[case]
    args = {**START, **change}
    message = _app_error(lambda: client.predict(*args.values(), api_name="/start_interview"))
    _assert_words(message, expected)


BAD_ANSWER = {
    "session-number": (123, "an answer", "session_id must be the id"),
    "session-missing": (None, "an answer", "session_id must be the id"),
    "session-empty": ("", "an answer", "session_id must be the id"),
    "session-unknown": ("nosuchsession", "an answer", "no session with id"),
    "session-huge": (LONG, "an answer", "session_id must be the id"),
    "session-markup": ("<img src=x onerror=alert(1)>", "an answer", "session_id must be the id"),
    "text-number": ("SID", 42, "text must be text"),
    "text-dict": ("SID", {"a": 1}, "text must be text"),
    "text-missing": ("SID", None, "text is missing"),
    "text-blank": ("SID", "   ", "text is missing"),
    "text-huge": ("SID", LONG, "text is 50,000 characters"),
}


@pytest.mark.parametrize("case", list(BAD_ANSWER))
def test_answer_refuses_bad_arguments_in_words(client: Any, session_id: str, case: str) -> None:
    sid, text, expected = BAD_ANSWER[case]
    sid = session_id if sid == "SID" else sid
    message = _app_error(lambda: client.predict(sid, text, api_name="/answer"))
    _assert_words(message, expected)


BAD_FEEDBACK = {
    "id-number": ((5, "", "an answer", ""), "question_id must be text"),
    "id-unknown": (("no-such-id", "", "an answer", ""), "no question with id"),
    "id-huge": ((LONG, "", "an answer", ""), "question_id is 50,000 characters"),
    "question-list": (("", ["q"], "an answer", ""), "question must be text"),
    "question-huge": (("", LONG, "an answer", ""), "question is 50,000 characters"),
    "no-question": (("", "", "an answer", ""), "Pick a bank question or type one"),
    "text-number": (("msd-news-feed-ranking", "", 3, ""), "text must be text"),
    "text-huge": (("msd-news-feed-ranking", "", LONG, ""), "text is 50,000 characters"),
    "reference-number": (("msd-news-feed-ranking", "", "an answer", 2), "reference must be text"),
}


@pytest.mark.parametrize("case", list(BAD_FEEDBACK))
def test_feedback_refuses_bad_arguments_in_words(client: Any, case: str) -> None:
    args, expected = BAD_FEEDBACK[case]
    message = _app_error(lambda: client.predict(*args, api_name="/feedback"))
    _assert_words(message, expected)


BAD_SEARCH = {
    "query-missing": ((None, 5, "any", "any"), "query is missing"),
    "query-number": ((123, 5, "any", "any"), "query must be text"),
    "query-huge": ((LONG, 5, "any", "any"), "query is 50,000 characters"),
    "k-word": (("feed ranking", "three", "any", "any"), "k must be a whole number"),
    "k-zero": (("feed ranking", 0, "any", "any"), "k must be a whole number"),
    "k-huge": (("feed ranking", 10**9, "any", "any"), "k must be a whole number"),
    "track-unknown": (("feed ranking", 5, "astrology", "any"), "track must be one of"),
    "kind-number": (("feed ranking", 5, "any", 7), "kind must be one of"),
}


@pytest.mark.parametrize("case", list(BAD_SEARCH))
def test_search_refuses_bad_arguments_in_words(client: Any, case: str) -> None:
    args, expected = BAD_SEARCH[case]
    message = _app_error(lambda: client.predict(*args, api_name="/search"))
    _assert_words(message, expected)


def test_good_arguments_in_other_spellings_still_work(client: Any) -> None:
    """ "2" and 2.0 are whole numbers; None means "any"; the reply holds the interviewer's plain words."""
    started = client.predict(None, "any", "2", 1.0, None, api_name="/start_interview")
    assert started["messages"][0].startswith("Question 1 of 2 (")  # not Markdown-escaped
    hits = client.predict("design a feed ranking system", "3", None, "question", api_name="/search")
    assert len(hits) == 3


# -- login throttling on a real server ----------------------------------------------------------
def _login(url: str, user: str, password: str) -> tuple[int, str]:
    body = urllib.parse.urlencode({"username": user, "password": password}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url + "login", data=body), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _wait_until_let_in(url: str, limit_s: float = 10) -> None:
    """The right password, retried while the lockout lasts (a refusal during it counts nothing)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        status, _ = _login(url, USER, PASSWORD)
        if status == 200:
            return
        assert status == 429
        time.sleep(0.3)
    raise AssertionError("still locked out")


def test_fifty_wrong_passwords_are_throttled(auth_server: tuple[str, Path]) -> None:
    url, log_file = auth_server
    statuses = [_login(url, USER, f"{WRONG}{i}")[0] for i in range(50)]
    assert statuses[:5] == [400] * 5
    assert statuses.count(400) <= 7 and statuses.count(429) >= 43, statuses
    status, body = _login(url, USER, PASSWORD)  # even the right password waits out the lockout
    assert status == 429 and "Too many failed logins" in body and "seconds" in body
    _wait_until_let_in(url)
    log = log_file.read_text()
    assert f"failed login for user '{USER}' from 127.0.0.1" in log
    assert "login refused" in log and WRONG not in log and PASSWORD not in log


def test_one_client_trying_many_user_names_is_throttled(auth_server: tuple[str, Path]) -> None:
    url, _ = auth_server
    statuses = [_login(url, f"user{i}", "guess")[0] for i in range(12)]
    assert statuses[:5] == [400] * 5 and statuses.count(429) >= 6, statuses
    _wait_until_let_in(url)
    assert _login(url, USER, "one more wrong")[0] == 400  # a success starts the count afresh


def test_one_user_name_from_many_clients_is_throttled() -> None:
    now = [1000.0]
    throttle = login.LoginThrottle({USER: PASSWORD}, clock=lambda: now[0])
    for i in range(5):
        token = login._client.set(f"10.0.0.{i}")
        assert throttle(USER, "guess") is False
        login._client.reset(token)
    token = login._client.set("10.0.0.99")
    with pytest.raises(HTTPException) as refused:
        throttle(USER, PASSWORD)
    assert refused.value.status_code == 429
    assert throttle("someone-else", "guess") is False  # a fresh client and user are not locked
    now[0] += 1.5
    assert throttle(USER, PASSWORD) is True
    login._client.reset(token)


def test_lockout_grows_and_is_capped() -> None:
    waits = [login.lock_seconds(n) for n in range(1, 30)]
    assert waits[:4] == [0.0] * 4 and waits[4] > 0
    assert all(b >= a for a, b in zip(waits, waits[1:], strict=False))
    assert max(waits) == login.MAX_LOCK_S == 900.0


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
