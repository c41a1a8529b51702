"""Issue 16 in real Chromium: the page as a candidate uses it, on a desktop and on a 390 px phone.

One server for the module; the tests run in file order (feedback, interview, progress, bank,
layout) because Progress shows what the earlier ones stored. Screenshots of every tab at 1280 px
and 390 px go to a temporary folder whose path is printed (run with -s to see it).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import coach_server
from test_browser import ARGS, CHROMIUM

from app.services import Services

pytestmark = pytest.mark.browser

FRAUD_QUESTION = "How would you detect fraudulent card payments?"
FRAUD_ANSWER = (
    "At a high level, I'd score every payment in real time and block the riskiest, because fraud "
    "losses and false declines both cost money. We'd measure fraud losses in dollars and target a "
    "20% cut. Rather than a deep network, boosting is cheaper to serve under 50 ms."
)
FEED_ANSWER = (
    "At a high level, I'd rank the feed with a multi-task model that predicts likes, comments and "
    "hides, because optimising clicks alone promotes bait. The objective is meaningful engagement "
    "and daily active users. Rather than one click model, a multi-task network shares layers with one "
    "head per action, tuned in A/B tests. For the business, we'd expect a 2% lift in daily actives."
)
TABS = {
    "interview": "Mock interview",
    "feedback": "Feedback",
    "progress": "Progress",
    "bank": "Question bank",
}
WAIT = 30_000


class Page:
    """A Playwright page with the console kept, so warnings and errors can be asserted on."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[tuple[str, str]] = []
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("dialog", lambda d: (self.console.append(("dialog", d.message)), d.dismiss()))

    def tab(self, key: str) -> None:
        self.page.get_by_role("tab", name=TABS[key]).click()

    def problems(self) -> list[tuple[str, str]]:
        return [(kind, text) for kind, text in self.console if kind in ("error", "warning", "dialog")]


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ui-screenshots")
    print(f"\nScreenshots of every tab: {folder}")
    return folder


@pytest.fixture(scope="module")
def ui(corpus_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed: browser tests skipped")
    from playwright.sync_api import sync_playwright

    data = tmp_path_factory.mktemp("ui-served") / "data"  # its own copy: this server writes sessions
    shutil.copytree(corpus_services.settings.data_dir, data)
    with coach_server(data) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(url, wait_until="load")
        page.locator("#start-interview").wait_for(timeout=WAIT)
        yield Page(page)
        browser.close()


def test_feedback_grades_the_question_on_screen(ui: Page) -> None:
    """Items 1, 2: a bank question found by meaning, then a typed one; the typed one is graded."""
    from playwright.sync_api import expect

    page = ui.page
    ui.tab("feedback")
    page.locator("#fb-find input, #fb-find textarea").first.fill("why machine learning")
    page.locator("#fb-find-go").click()
    matches = page.locator("#fb-matches label")
    matches.first.wait_for(timeout=WAIT)
    expect(page.locator("#fb-matches")).to_contain_text("(Career story)")  # plain words, by meaning
    picked_label = matches.first.inner_text()
    matches.first.click()
    typed = page.locator("#fb-typed textarea")
    expect(typed).to_have_value(re.compile(r"\w{4,}"), timeout=WAIT)  # the bank question's full text
    picked_text = typed.input_value()
    assert picked_text in picked_label
    expect(page.locator("#fb-graded")).to_contain_text("Graded against the bank question", timeout=WAIT)

    typed.fill(FRAUD_QUESTION)  # the candidate now types their own question
    page.locator("#fb-answer textarea").fill(FRAUD_ANSWER)
    page.locator("#fb-answer textarea").press("Control+Enter")  # item 9: Ctrl+Enter gets feedback
    card = page.locator("#fb-card")
    card.get_by_role("heading", name=re.compile(r"^Overall")).wait_for(timeout=WAIT)
    assert "closest bank question" in card.inner_text()
    assert picked_text not in card.inner_text()
    expect(page.locator("#fb-graded")).to_contain_text("Graded as your own question")
    expect(page.locator("#fb-reliability")).to_contain_text("How reliable is this?")  # item 11
    wrapping = page.locator("#fb-marked .textfield").evaluate("e => getComputedStyle(e).wordBreak")
    assert wrapping != "break-all"  # item 8: the highlighted answer wraps between words


def test_interview_scores_in_the_chat_and_a_summary_card(ui: Page, shots: Path) -> None:
    """Items 7, 8, 9: score line in the chat, panel open, End confirms, summary card, practice buttons."""
    from playwright.sync_api import expect

    page = ui.page
    ui.tab("interview")
    track = page.locator(".coach-settings").get_by_role("combobox", name="Track")
    expect(track).to_have_value("ML system design")
    page.locator("#timer-on input").check()
    page.locator("#start-interview").click()
    chat = page.locator("#interview-chat")
    chat.get_by_text("Question 1 of 3").wait_for(timeout=WAIT)
    expect(page.locator("#answer-timer")).to_contain_text("on this question", timeout=WAIT)
    page.locator("#answer-box textarea").fill(FEED_ANSWER)
    page.locator("#answer-box textarea").press("Control+Enter")
    expect(chat).to_contain_text(re.compile(r"Scored [1-5]/5: Step back first [1-5]"), timeout=WAIT)
    card = page.locator("#card-md")
    card.get_by_role("heading", name=re.compile(r"^Overall")).wait_for(timeout=WAIT)  # open: no click
    expect(page.locator("#card-reliability")).to_contain_text("How reliable is this?")
    assert page.locator("#card-chart svg text").filter(has_text="Trade-offs").count() == 1
    page.screenshot(path=str(shots / "interview-1280.png"), full_page=True)

    page.locator("#cmd-end").click()
    expect(page.locator("#end-confirm")).to_be_visible()
    assert page.locator("#final-scorecard").inner_text().strip() == ""  # not ended yet
    page.locator("#end-yes").click()
    final = page.locator("#final-scorecard")
    final.get_by_role("heading", name=re.compile(r"^Session scorecard")).wait_for(timeout=WAIT)
    expect(page.locator("#end-confirm")).to_be_hidden()
    assert "step_back" not in final.inner_text() and "Step back first" in final.inner_text()
    # A card, not one long list: the table, then at most the two weakest dimensions and one
    # missing design stage to drill.
    assert final.locator("table").count() == 1 and final.locator("li").count() <= 3
    practise = page.locator("#practise-0")
    expect(practise).to_be_visible()
    expect(practise).to_contain_text("Practise:")
    page.screenshot(path=str(shots / "interview-end-1280.png"), full_page=True)
    practise.click()
    chat.get_by_text("Question 1 of 1").wait_for(timeout=WAIT)
    expect(final).to_have_text("", timeout=WAIT)  # the last session's card is gone
    expect(page.locator("#card-md")).to_contain_text("Answer a question to see its scorecard")


def test_progress_fills_itself_and_resume_starts_clean(ui: Page, shots: Path) -> None:
    """Items 3, 4: Progress shows sessions (feedback too) on opening; one session is a point."""
    from playwright.sync_api import expect

    page = ui.page
    chat = page.locator("#interview-chat")
    page.locator("#answer-box textarea").fill(FEED_ANSWER)  # the practice is left unfinished
    page.locator("#send-answer").click()
    expect(chat).to_contain_text("Scored", timeout=WAIT)
    page.locator("#start-interview").click()  # another, ended after one answer: its card stays on screen
    chat.get_by_text("Question 1 of 3").wait_for(timeout=WAIT)
    page.locator("#answer-box textarea").fill(FEED_ANSWER)
    page.locator("#send-answer").click()
    expect(chat).to_contain_text("Scored", timeout=WAIT)
    page.locator("#cmd-end").click()
    page.locator("#end-yes").click()
    final = page.locator("#final-scorecard")
    final.get_by_role("heading", name=re.compile(r"^Session scorecard")).wait_for(timeout=WAIT)
    ui.tab("progress")
    table = page.locator("#progress-table")
    expect(table).to_contain_text("Feedback", timeout=WAIT)  # no Refresh click
    expect(table).to_contain_text("Finished")
    expect(table).to_contain_text("ML system design")
    assert page.locator("#progress-trend svg circle").count() >= 2  # each session a visible point
    expect(page.locator("#progress-trend")).to_contain_text("Step back first")
    page.screenshot(path=str(shots / "progress-1280.png"), full_page=True)

    page.locator("#resume-pick input").click()  # opens by a click, no typing
    option = page.locator("#resume-pick").get_by_role("option").first
    option.wait_for(timeout=WAIT)
    assert "answered" in option.inner_text()
    option.click()
    page.locator("#resume").click()
    expect(chat).to_contain_text("Question 1 of 1", timeout=WAIT)
    expect(chat).to_contain_text("Scored")  # the answer's score line is back with the transcript
    expect(final).to_have_text("")
    expect(page.locator("#card-md")).to_contain_text("Answer a question to see its scorecard")


def test_bank_question_can_be_practised(ui: Page, shots: Path) -> None:
    """Item 10: a bank question starts a one-question interview on it."""
    from playwright.sync_api import expect

    page = ui.page
    ui.tab("bank")
    page.locator("#bank-query input, #bank-query textarea").first.fill("design a feed ranking system")
    page.locator("#bank-search").click()
    results = page.locator("#bank-results")
    expect(results).to_contain_text("ML system design", timeout=WAIT)
    assert "ml_system_design" not in results.inner_text()
    page.get_by_text("msd-news-feed-ranking").locator("visible=true").first.click()
    page.locator("#bank-detail").get_by_text("Talking points").wait_for(timeout=WAIT)
    page.screenshot(path=str(shots / "bank-1280.png"), full_page=True)
    title = page.locator("#bank-detail h3").inner_text()
    page.locator("#bank-practise").click()
    chat = page.locator("#interview-chat")
    expect(chat).to_contain_text("Question 1 of 1", timeout=WAIT)
    expect(chat).to_contain_text(title[:40])


def test_phone_width_and_a_quiet_console(ui: Page, shots: Path) -> None:
    """Items 12, 13: at 390 px nothing scrolls sideways; no Vega-Lite (or any) console warnings."""
    page = ui.page
    page.set_viewport_size({"width": 390, "height": 844})
    wide = {}
    for key in TABS:
        ui.tab(key)
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots / f"{key}-390.png"), full_page=True)
        wide[key] = page.evaluate("document.documentElement.scrollWidth")
    assert all(width <= 390 for width in wide.values()), wide
    page.set_viewport_size({"width": 1280, "height": 1400})
    ui.tab("feedback")
    page.screenshot(path=str(shots / "feedback-1280.png"), full_page=True)
    vega = [text for _, text in ui.console if "vega" in text.lower()]
    assert vega == [] and ui.problems() == []
