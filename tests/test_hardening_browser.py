"""Hardening in real Chromium (issue 14): candidate and model text stays text, and the page asks
nothing of any host but the app's own.

Every answer, uploaded document and model reply below carries a link, an image, a table or raw
HTML; the page must show it literally, build no <a>/<img>/<table> from it, and make no request
off 127.0.0.1 (an image from such text would be fetched by the browser).
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import coach_server
from openai_server import FakeOpenAI
from test_browser import ARGS, CHROMIUM
from test_llm_engine import ANSWER, judge_reply

from app.services import Services

pytestmark = [pytest.mark.browser, pytest.mark.hardening]

ATTACKS = {
    "link": "[click here](https://evil.example/phish)",
    "image": "![x](https://evil.example/track.png)",
    "table": "| a | b |\n|---|---|\n| 1 | 2 |",
    "raw-html": '<b id="injected">raw html</b> <a href="https://evil.example/a">a link</a>',
    "img-onerror": "<img src=x onerror=\"document.title='pwned'\">",
}
# What the page would build from any of the attacks above, had it rendered them.
INJECTED = "a[href*='evil.example'], img[src*='evil.example'], img[src='x'], #injected"
MODEL_WORDS = (
    "What would you measure first? [click here](https://evil.example/phish) "
    "![x](https://evil.example/track.png)"
)
MODEL_OPENING = (
    "Open with the goal. [phish me](https://evil.example/opening) ![t](https://evil.example/o.png)"
)

# The documents panel, once filled: the user's files or the empty-state line.
LISTED = re.compile(r"No documents yet|\.(md|txt)")


def _normal(text: str) -> str:
    return " ".join(text.split())


def _wait_shown(locator: Any, text: str, timeout_s: float = 60) -> None:
    """Wait until the element's visible text holds `text` literally (line breaks as spaces)."""
    deadline = time.monotonic() + timeout_s
    while _normal(text) not in _normal(locator.inner_text()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not shown literally in: {locator.inner_text()!r}")
        time.sleep(0.2)


class Recorder:
    """Every request the page makes, to check none leaves the machine."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def off_machine(self) -> list[str]:
        return [
            u
            for u in self.urls
            if urllib.parse.urlsplit(u).scheme not in ("data", "blob")
            and urllib.parse.urlsplit(u).hostname not in ("127.0.0.1", "localhost", "::1")
        ]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed: browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


def _open(browser: Any, url: str) -> tuple[Any, Recorder]:
    recorder = Recorder()
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.on("request", lambda r: recorder.urls.append(r.url))
    page.on("dialog", lambda d: (recorder.urls.append(f"dialog:{d.message}"), d.dismiss()))
    page.goto(url, wait_until="load")
    page.locator("#start-interview").wait_for(timeout=30_000)
    return page, recorder


@pytest.fixture(scope="class")
def offline_page(
    browser: Any, corpus_services: Services, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Recorder]]:
    # A copy of the ingested data folder: this server ingests an uploaded document, and a second
    # process writing to the test process's own Chroma folder would leave its index stale.
    data = tmp_path_factory.mktemp("served") / "data"
    shutil.copytree(corpus_services.settings.data_dir, data)
    with coach_server(data) as url:
        page, recorder = _open(browser, url)
        yield page, recorder
        page.close()


def _assert_inert(page: Any, recorder: Recorder, where: str) -> None:
    assert page.locator(f"{where} :is({INJECTED})").count() == 0
    if where != "body":  # the page's own tables (the bank's results) live elsewhere
        assert page.locator(f"{where} table").count() == 0
    assert page.evaluate("document.title") != "pwned"
    assert recorder.off_machine() == []


def _strong_answer_with(attack: str) -> str:
    return (
        f"At a high level, I'd rank the feed with a multi-task model {attack} that predicts likes, "
        "comments and hides, because optimising clicks alone promotes bait. The objective is "
        "meaningful engagement and daily active users. Rather than one click model, a multi-task "
        "network shares layers with one head per action, tuned in A/B tests. For the business, we'd "
        "expect a 2% lift in daily actives."
    )


class TestCandidateText:
    """Answers and documents, on a server with the offline engine."""

    @pytest.mark.parametrize("case", list(ATTACKS))
    def test_answer_in_the_interview_chat_stays_text(
        self, offline_page: tuple[Any, Recorder], case: str
    ) -> None:
        from playwright.sync_api import expect

        page, recorder = offline_page
        recorder.urls.clear()  # each case judged on its own requests
        page.get_by_role("tab", name="Mock interview").click()
        page.locator("#start-interview").click()
        chat = page.locator("#interview-chat")
        expect(chat).to_contain_text("Question 1 of 3", timeout=30_000)
        expect(chat).not_to_contain_text("I said", timeout=30_000)  # the previous case's chat is gone
        page.locator("#answer-box textarea").fill(f"I said {ATTACKS[case]} there.")
        page.locator("#send-answer").click()
        _wait_shown(chat, f"I said {ATTACKS[case]} there.")
        page.wait_for_timeout(300)  # let any image the text produced be requested
        _assert_inert(page, recorder, "#interview-chat")

    @pytest.mark.parametrize("case", list(ATTACKS))
    def test_feedback_card_shows_quotes_as_text(self, offline_page: tuple[Any, Recorder], case: str) -> None:

        page, recorder = offline_page
        recorder.urls.clear()  # each case judged on its own requests
        page.get_by_role("tab", name="Feedback").click()
        page.locator("#fb-typed textarea").fill("How would you rank a news feed?")
        page.locator("#fb-answer textarea").fill(_strong_answer_with(ATTACKS[case]))
        page.locator("#fb-go").click()
        card = page.locator("#fb-card")
        # the scorer quotes sentences, and a line break ends one: the table's first line is quoted
        _wait_shown(card, f"a multi-task model {ATTACKS[case].splitlines()[0]}")
        page.wait_for_timeout(300)
        _assert_inert(page, recorder, "#fb-card")

    def test_unknown_bank_id_is_shown_once_literally(self, offline_page: tuple[Any, Recorder]) -> None:
        from playwright.sync_api import expect

        page, recorder = offline_page
        recorder.urls.clear()  # each case judged on its own requests
        page.get_by_role("tab", name="Question bank").click()
        page.locator("#bank-pick textarea, #bank-pick input").first.fill(ATTACKS["img-onerror"])
        detail = page.locator("#bank-detail")
        expect(detail).to_contain_text(f"{ATTACKS['img-onerror']} is not a bank question", timeout=30_000)
        assert "&lt;" not in detail.inner_text()
        _assert_inert(page, recorder, "#bank-detail")

    def test_uploaded_document_stays_text_in_search_results(
        self, offline_page: tuple[Any, Recorder], tmp_path: Path
    ) -> None:
        from playwright.sync_api import expect

        page, recorder = offline_page
        recorder.urls.clear()  # each case judged on its own requests
        doc = tmp_path / "zebra-notes.md"
        doc.write_text(
            "Zebra stripes quokka notes " + " ".join(ATTACKS.values()).replace("\n", " ") + "\n",
            encoding="utf-8",
        )
        page.get_by_role("tab", name="Question bank").click()
        page.get_by_text("Your documents (job descriptions, notes)").click()
        # The panel's content is ready once its listing is filled (files set earlier were lost).
        expect(page.locator("#my-documents")).to_contain_text(LISTED, timeout=30_000)
        page.locator("#doc-upload input[type=file]").set_input_files(str(doc))
        expect(page.get_by_text("Added zebra-notes.md")).to_be_visible(timeout=60_000)
        page.locator("#bank-query textarea, #bank-query input").first.fill(
            "zebra stripes quokka notes [click here](https://evil.example/phish)"
        )
        page.locator("#bank-search").click()
        expect(page.get_by_text("results for")).to_be_visible(timeout=30_000)
        expect(page.locator("body")).to_contain_text("[click here](https://evil.example/phish)")
        page.wait_for_timeout(300)
        _assert_inert(page, recorder, "body")


# -- model text: LLM-streamed interviewer words and the card's suggested opening ----------------
def _model_reply(body: dict[str, Any]) -> str:
    if body.get("stream"):
        return MODEL_WORDS
    card = json.loads(judge_reply())
    return json.dumps({**card, "suggested_opening": MODEL_OPENING})


@pytest.fixture(scope="class")
def llm_page(browser: Any, corpus_services: Services) -> Iterator[tuple[Any, Recorder]]:
    # the same data folder as the offline server's, which its class has stopped by now
    data = corpus_services.settings.data_dir
    with FakeOpenAI(default=_model_reply) as model, pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "COACH_ENGINE": "llm",
            "OPENAI_BASE_URL": model.base_url,
            "OPENAI_API_KEY": "sk-test-not-a-real-key",
            "COACH_LLM_MAX_RETRIES": "0",
        }.items():
            mp.setenv(key, value)
        with coach_server(data) as url:
            page, recorder = _open(browser, url)
            yield page, recorder
            page.close()


class TestModelText:
    """The LLM engine's words, from a scripted OpenAI-compatible server on 127.0.0.1."""

    def test_streamed_interviewer_words_and_opening_stay_text(self, llm_page: tuple[Any, Recorder]) -> None:
        from playwright.sync_api import expect

        page, recorder = llm_page
        recorder.urls.clear()
        page.locator("#start-interview").click()
        chat = page.locator("#interview-chat")
        expect(chat).to_contain_text(MODEL_WORDS, timeout=60_000)
        page.locator("#answer-box textarea").fill(ANSWER)
        page.locator("#send-answer").click()
        expect(chat.get_by_text(re.compile(re.escape("What would you measure first?")))).to_have_count(
            2, timeout=60_000
        )
        page.locator("#last-feedback").get_by_text("Feedback on your last answer").click()
        expect(page.locator("#card-md")).to_contain_text(MODEL_OPENING, timeout=30_000)
        page.wait_for_timeout(300)
        _assert_inert(page, recorder, "body")

    def test_llm_feedback_tab_opening_stays_text(self, llm_page: tuple[Any, Recorder]) -> None:
        from playwright.sync_api import expect

        page, recorder = llm_page
        recorder.urls.clear()
        page.get_by_role("tab", name="Feedback").click()
        page.locator("#fb-typed textarea").fill("How would you rank a news feed?")
        page.locator("#fb-answer textarea").fill(ANSWER)
        page.locator("#fb-go").click()
        expect(page.locator("#fb-card")).to_contain_text(MODEL_OPENING, timeout=60_000)
        page.wait_for_timeout(300)
        _assert_inert(page, recorder, "body")
