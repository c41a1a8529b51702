"""Interview, feedback and progress handlers, without a browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_interview import FEED_FOCUS, WEAK_ON_TOPIC, make_services
from test_scoring import STRONG

from app.errors import UserInputError
from app.services import Services
from app.ui import documents, handlers, views


@pytest.fixture
def services(tmp_path: Path, corpus_services: Services) -> Services:
    return make_services(tmp_path, corpus_services)


def test_interview_round_trip_in_the_chat(services: Services) -> None:
    view = handlers.start_interview(services, "ml_system_design", "any", 2, 1, FEED_FOCUS)
    assert view.session_id and view.chat[0]["role"] == "assistant"
    assert "offline" in view.engine
    view = handlers.send_answer(services, view.session_id, WEAK_ON_TOPIC, view.chat)
    assert [m["role"] for m in view.chat] == ["assistant", "user", "assistant"]
    assert view.card and view.card.question_id == "msd-news-feed-ranking"
    md = views.scorecard_markdown(view.card)
    assert "Overall" in md and "Try opening with" in md
    marked = views.highlights(view.answer, view.card)
    assert "".join(text for text, _ in marked) == WEAK_ON_TOPIC
    end = handlers.send_answer(services, view.session_id, "end", view.chat)
    assert end.done and "Session scorecard" in views.summary_markdown(end.summary)
    assert len(views.summary_rows(end.summary)) == 5


def test_candidate_html_is_shown_as_text(services: Services) -> None:
    view = handlers.start_interview(services, "any", "any", 1, 1)
    attack = "<img src=x onerror=alert(1)> **bold** <script>alert('x')</script>"
    view = handlers.send_answer(services, view.session_id, attack, view.chat)
    shown = view.chat[1]["content"]
    assert "<img" not in shown and "<script>" not in shown and "&lt;script&gt;" in shown
    assert "**" not in shown


def test_send_without_a_session_is_a_clear_error(services: Services) -> None:
    with pytest.raises(UserInputError, match="Start an interview"):
        handlers.send_answer(services, "", "hello", [])


def test_transcript_downloads(services: Services) -> None:
    view = handlers.start_interview(services, "ml_theory", "any", 1, 0)
    handlers.send_answer(services, view.session_id, "Bias is error from wrong assumptions.", view.chat)
    md, js = handlers.transcript_files(services, view.session_id)
    assert Path(md).read_text().startswith("# Mock interview") and Path(js).read_text().startswith("{")


def test_feedback_handler_and_views(services: Services) -> None:
    card = handlers.feedback(services, "msd-news-feed-ranking", "", STRONG, "")
    assert card["overall"] >= 4 and card["engine"] == "offline"
    assert all(q in STRONG for d in card["dimensions"] for q in d["evidence"])
    with pytest.raises(UserInputError, match="Pick a bank question"):
        handlers.feedback(services, None, "  ", STRONG, "")
    fallback = {**card, "fallback_reason": "timeout", "engine": "offline"}
    assert "timeout" in views.engine_notice(fallback)


def test_progress_lists_sessions_trend_and_unfinished(services: Services) -> None:
    finished = handlers.start_interview(services, "ml_theory", "any", 1, 0)
    handlers.send_answer(
        services, finished.session_id, "Variance is sensitivity to the sample.", finished.chat
    )
    open_one = handlers.start_interview(services, "ml_theory", "any", 2, 0)
    data = handlers.progress(services)
    ids = [row[0] for row in data["table"]]
    assert finished.session_id in ids and open_one.session_id in ids
    assert data["trend"] and data["drills"] and data["unfinished"] == [open_one.session_id]
    assert all(len(questions) == 2 for _, _, questions in data["drills"])
    resumed = handlers.resume_interview(services, open_one.session_id)
    assert resumed.chat and resumed.chat[0]["content"].startswith("Question 1 of 2")


def test_documents_upload_and_focus(services: Services, tmp_path: Path) -> None:
    jd = tmp_path / "jd.md"
    jd.write_text("# ML Engineer, Feed\n\nYou will rank the home news feed for a social network.\n")
    message, names = documents.add_document(services, str(jd))
    assert "jd.md" in names and "Added" in message
    assert "news feed" in documents.document_text(services, "jd.md")
    bad = tmp_path / "photo.md"
    bad.write_bytes(b"\x89PNG\x00\x00")
    with pytest.raises(UserInputError, match="binary"):
        documents.add_document(services, str(bad))
    with pytest.raises(UserInputError, match=r"\.md and \.txt"):
        documents.add_document(services, str(tmp_path / "x.pdf"))


@pytest.mark.parametrize("answer", ["", "   ", "\n\n"])
def test_feedback_on_an_empty_answer_asks_for_one(services: Services, answer: str) -> None:
    with pytest.raises(UserInputError, match="Paste or type your answer first"):
        handlers.feedback(services, "msd-news-feed-ranking", "", answer, "")
