"""End to end in real Chromium (Debian's package) driven by Playwright; screenshots saved."""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    warnings.warn(
        "BROWSER TESTS SKIPPED: chromium is not installed (make test installs it as root)", stacklevel=1
    )


@pytest.fixture(scope="module")
def page(corpus_server: str) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "chromium is not installed: browser tests skipped (make test installs it when run as root)"
        )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    url = corpus_server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        tab = browser.new_page(viewport={"width": 1280, "height": 1400})
        errors: list[str] = []
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
        tab.goto(url, wait_until="load")
        tab.locator("#start-interview").wait_for(timeout=30_000)
        tab.errors = errors  # type: ignore[attr-defined]
        yield tab
        browser.close()


def test_interview_with_a_follow_up_and_a_scorecard(page: Any) -> None:
    page.get_by_role("tab", name="Mock interview").click()
    page.locator("#start-interview").click()
    page.locator("#interview-chat").get_by_text("Question 1 of 3").wait_for(timeout=30_000)
    answer = "For the feed I would train a model on clicks <script>alert('x')</script> and sort posts by it."
    page.locator("#answer-box textarea").fill(answer)
    page.locator("#send-answer").click()
    chat = page.locator("#interview-chat")
    chat.get_by_text("<script>alert('x')</script>", exact=False).wait_for(timeout=30_000)
    page.locator("#card-md").get_by_role("heading", name=re.compile(r"^Overall")).wait_for(timeout=30_000)
    from playwright.sync_api import expect

    expect(chat).to_contain_text("?", timeout=30_000)  # the follow-up (every follow-up is a question)
    page.screenshot(path=str(ARTIFACTS / "interview.png"), full_page=True)
    page.locator("#cmd-hint").click()
    chat.get_by_text("Hint:").first.wait_for(timeout=30_000)
    page.locator("#cmd-end").click()
    page.locator("#end-yes").click()  # End asks first
    page.locator("#final-scorecard").get_by_text("Session scorecard").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "interview-end.png"), full_page=True)
    assert page.errors == []


def test_feedback_tab(page: Any) -> None:
    page.get_by_role("tab", name="Feedback").click()
    page.locator("#fb-typed textarea").fill("How would you detect fraudulent card payments?")
    page.locator("#fb-answer textarea").fill(
        "At a high level, I'd score every payment in real time and block the riskiest, because fraud "
        "losses and false declines both cost money. We'd measure fraud losses in dollars and target a "
        "20% cut. Rather than a deep network, boosting is cheaper to serve under 50 ms."
    )
    page.locator("#fb-go").click()
    page.locator("#fb-card").get_by_role("heading", name=re.compile(r"^Overall")).wait_for(timeout=30_000)
    assert page.locator("#fb-card").get_by_text("closest bank question").count() == 1
    page.screenshot(path=str(ARTIFACTS / "feedback.png"), full_page=True)
    page.locator("#fb-answer textarea").fill("")
    page.locator("#fb-typed textarea").fill("")
    page.locator("#fb-go").click()
    page.get_by_text("Pick a bank question or type one").first.wait_for(timeout=30_000)
    assert page.errors == []


def test_progress_tab(page: Any) -> None:
    page.get_by_role("tab", name="Progress").click()
    page.locator("#progress-refresh").click()
    page.locator("#progress-drills").get_by_text("Weakest dimensions").wait_for(timeout=30_000)
    assert "Finished" in page.locator("#progress-table").inner_text()
    page.screenshot(path=str(ARTIFACTS / "progress.png"), full_page=True)
    assert page.errors == []


def test_question_bank_tab(page: Any) -> None:
    page.get_by_role("tab", name="Question bank").click()
    page.locator("#bank-query textarea, #bank-query input").first.fill("design a feed ranking system")
    page.locator("#bank-search").click()
    page.get_by_text("results for").wait_for(timeout=30_000)
    page.get_by_text("msd-news-feed-ranking").locator("visible=true").first.click()
    page.locator("#bank-detail").get_by_text("Talking points").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "bank.png"), full_page=True)
    assert page.errors == []
