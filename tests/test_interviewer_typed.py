"""The step stream is typed from the graph to the UI and the CLI: messages, scorecards and
summaries are read by attribute, never by string key, outside the scoring package."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_interview import FEED_FOCUS, WEAK_ON_TOPIC, make_services

from app.interview.graph import InterviewerMessage
from app.interview.plan import InterviewConfig
from app.scoring.scorecard import Scorecard, SessionSummary
from app.services import Services
from app.sessions.service import InterviewSessions
from app.ui import cards, handlers, views

ROOT = Path(__file__).resolve().parent.parent
# Where a step, its messages, its card and its summary are consumed. The storage modules
# (db.py, postgres.py) are left out: they write the JSON the typed models dump.
CONSUMERS = [
    *sorted((ROOT / "app" / "ui").glob("*.py")),
    ROOT / "app" / "cli.py",
    ROOT / "app" / "interview_cli.py",
    ROOT / "app" / "sessions" / "service.py",
    ROOT / "app" / "sessions" / "transcripts.py",
]
NAMES = r"(?:step|card|summary|message|msg|m|item|drill|brief|best|weakest|nxt|d)"
KEY_READ = re.compile(rf"\b{NAMES}\s*\[\s*['\"]|\b{NAMES}\.get\(\s*['\"]")


def key_reads(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if KEY_READ.search(line)]


def test_the_pattern_catches_string_key_reads() -> None:
    # The guard itself must be able to fail: each of these is a read the rule forbids.
    for line in ('x = card["overall"]', "m.get('engine')", 'step ["done"]', 'summary.get("answered")'):
        assert key_reads(line), line
    assert not key_reads("card.overall + step.messages[0].text + chat[0]['content']")


@pytest.mark.parametrize("path", CONSUMERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_string_key_reads_of_steps_cards_or_summaries(path: Path) -> None:
    assert key_reads(path.read_text(encoding="utf-8")) == []


def test_a_step_is_typed_end_to_end(tmp_path: Path, corpus_services: Services) -> None:
    interviews: InterviewSessions = make_services(tmp_path, corpus_services).interviews("offline")
    step = interviews.start(
        InterviewConfig(track="ml_system_design", questions=1, follow_ups=1, focus=FEED_FOCUS)
    )
    assert all(isinstance(m, InterviewerMessage) for m in step.messages) and step.card is None
    answered = interviews.answer(step.session_id, WEAK_ON_TOPIC)
    assert isinstance(answered.card, Scorecard) and answered.messages[0].kind == "follow_up"
    assert answered.messages[0].text == answered.card.follow_up
    ended = interviews.answer(step.session_id, "end")
    assert (
        isinstance(ended.summary, SessionSummary) and ended.messages[-1].finished == answered.card.question_id
    )
    # The same typed objects go to the page as they are (no dict round trip).
    assert cards.score_line(answered.card).startswith(cards.SCORE_LINE_MARK)
    assert "Session scorecard" in cards.summary_card(ended.summary, corpus_services.bank)
    assert handlers.drill_buttons(ended.summary)
    resumed = interviews.resume(step.session_id)
    assert resumed.done and isinstance(resumed.summary, SessionSummary)
    assert isinstance(resumed.messages[0], InterviewerMessage) and resumed.messages[0].kind == "summary"
    assert views.summary_rows(resumed.summary)


def test_a_stored_summary_that_no_longer_fits_reads_as_absent() -> None:
    assert SessionSummary.stored({}) is None and SessionSummary.stored(None) is None
    assert SessionSummary.stored({"answered": "many", "x": 1}) is None
    assert SessionSummary.stored({"answered": 2}) == SessionSummary(answered=2)
