"""Issue 16 without a browser: plain words, charts, the reliability note, feedback kept for Progress,
a practice on one question, and the one error guard every tab uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from app.corpus.models import DIFFICULTIES, DIMENSIONS, TRACKS
from app.errors import NotFoundError, UserInputError
from app.services import Services
from app.store.vectors import KINDS
from app.ui import cards, charts, feedback_tab, handlers, labels, reliability
from app.ui.common import UNEXPECTED, guarded
from app.ui.interview_tab import resumed_chat, with_score_lines
from app.ui.practice_log import record_feedback

ANSWER = (
    "At a high level, I'd rank the feed with a multi-task model that predicts likes, comments and "
    "hides, because optimising clicks alone promotes bait. The objective is meaningful engagement."
)


@pytest.mark.parametrize("ids", [TRACKS, DIMENSIONS, KINDS, DIFFICULTIES, ("active", "finished", "feedback")])
def test_every_id_has_plain_words(ids: tuple[str, ...]) -> None:
    for value in ids:
        words = labels.plain(value)
        assert "_" not in words and words[0].isupper(), (value, words)
    assert [v for _, v in labels.choices(ids)] == [labels.ANY, *ids]  # the handler still gets ids


def test_a_design_stage_drill_reads_in_words() -> None:
    assert labels.plain("stage:data_labels") == "Design stage: data labels"


def test_score_line_and_closing_line_use_plain_words(services: Services) -> None:
    card = handlers.feedback(services, "msd-news-feed-ranking", "", ANSWER, "")
    line = cards.score_line(card)
    assert line.startswith(f"{cards.SCORE_LINE_MARK} {card['overall']}/5: Step back first ")
    assert "step_back" not in line and "tradeoffs" not in line
    chat = [
        {"role": "assistant", "content": "Q"},
        {"role": "user", "content": "A"},
        {"role": "assistant", "content": "F"},
    ]
    shown = with_score_lines(chat, card)
    assert [m["content"] for m in shown] == ["Q", "A", line, "F"]  # right after the answer
    assert with_score_lines(chat, None) == chat


def test_charts_escape_labels_and_show_a_single_session_as_a_point() -> None:
    bars = charts.score_bars([{"dimension": "<b>x</b>", "score": 3}])
    assert "<b>x" not in bars and "&lt;b&gt;x" in bars
    one = [{"session": "s1", "when": "today", "dimension": d, "score": 3} for d in DIMENSIONS]
    svg = charts.trend_lines(one)
    assert svg.count("<circle") == len(DIMENSIONS) and "Step back first" in svg
    assert charts.trend_lines([]) == "" and charts.score_bars([]) == ""


def _report(path: Path, spearman: float, mae: float) -> Path:
    dims = {d: {"n": 10, "spearman": {"value": spearman}, "mae": {"value": mae}} for d in DIMENSIONS}
    figures = {
        "date": "2026-01-02",
        "labelled": {"blind/test": {"n": 17, "all": {"dimensions": dims}}},
        "inter_rater": {"dimensions": {"clarity": {"spearman": 0.93}}},
    }
    path.write_text(json.dumps(figures))
    return path


@pytest.mark.parametrize(("spearman", "mae"), [(0.61, 0.7), (0.83, 0.4)])
def test_reliability_note_reads_the_calibration_report(
    services: Services, tmp_path: Path, spearman: float, mae: float
) -> None:
    card = handlers.feedback(services, "msd-news-feed-ranking", "", ANSWER, "")
    report = reliability.load_report(_report(tmp_path / "calibration.json", spearman, mae))
    note = reliability.reliability_markdown(card, report)
    assert f"{spearman:.2f}, typically {mae:.1f} points off" in note
    assert "17 answers" in note and "2026-01-02" in note and "two human labellers: 0.93" in note
    assert note.count("\n- ") == len(card["dimensions"])


def test_reliability_note_without_a_report_or_for_the_llm_says_so(services: Services, tmp_path: Path) -> None:
    card = handlers.feedback(services, "msd-news-feed-ranking", "", ANSWER, "")
    assert reliability.load_report(tmp_path / "missing.json") is None
    (tmp_path / "broken.json").write_text("{not json")
    assert reliability.load_report(tmp_path / "broken.json") is None
    note = reliability.reliability_markdown(card, None)
    assert "No calibration report" in note and not any(ch.isdigit() for ch in note.split("(")[0])
    llm = {**card, "engine": "llm", "model": "some-model"}
    assert "has not been measured" in reliability.reliability_markdown(llm, {"labelled": {}})


def test_feedback_results_show_in_progress(services: Services) -> None:
    card = handlers.feedback(services, "msd-news-feed-ranking", "", ANSWER, "")
    session_id = record_feedback(services, card, ANSWER)
    data = handlers.progress(services)
    row = next(r for r in data["table"] if r[0] == session_id)
    assert row[2] == "feedback" and row[3] == "ml_system_design" and row[5] == card["overall"]
    assert {p["session"] for p in data["trend"]} == {session_id}
    assert session_id not in data["unfinished"]
    turns = services.session_db.turns(session_id)
    assert [t.role for t in turns] == ["interviewer", "candidate"] and turns[1].text == ANSWER


def test_practice_asks_exactly_the_chosen_question(services: Services) -> None:
    question = services.bank.get("career-rules-over-ml")
    view = handlers.start_interview(services, "any", "any", 1, 2, question_id=question.id)
    assert "Question 1 of 1" in view.texts[0] and question.question in view.texts[0]
    config = services.session_db.session(view.session_id).config
    assert config["question_ids"] == [question.id]


def test_a_resumed_chat_keeps_its_score_lines(services: Services) -> None:
    view = handlers.start_interview(services, "ml_system_design", "any", 2, 1)
    answered = handlers.send_answer(services, view.session_id, ANSWER, view.chat)
    assert answered.card is not None
    chat = resumed_chat(services, view.session_id)
    lines = [m["content"] for m in chat if m["content"].startswith(cards.SCORE_LINE_MARK)]
    assert lines == [cards.score_line(answered.card)]
    assert [m["role"] for m in chat][:3] == ["assistant", "user", "assistant"]


def test_practice_on_an_unknown_question_is_refused(services: Services) -> None:
    with pytest.raises(UserInputError):
        handlers.start_interview(services, "any", "any", 1, 2, question_id="no-such-question")


def test_finding_a_bank_question_by_meaning(corpus_services: Services) -> None:
    found = feedback_tab.find_questions(corpus_services, "why machine learning")
    assert found and all(label.startswith(corpus_services.bank.get(qid).question) for label, qid in found)
    assert corpus_services.bank.get(found[0][1]).track == "career_narrative"
    with pytest.raises(UserInputError):
        feedback_tab.find_questions(corpus_services, "   ")


def _fails(kind: type[Exception], message: str) -> Any:
    def handler() -> None:
        raise kind(message)

    return handler


def _streams() -> Any:
    yield 1
    raise NotFoundError("no session <abc>")


def test_one_guard_for_plain_and_streaming_handlers() -> None:
    with pytest.raises(gr.Error) as ours:
        guarded(_fails(UserInputError, "bad <input>"))()
    assert ours.value.message == "bad &lt;input&gt;"
    with pytest.raises(gr.Error) as theirs:
        guarded(_fails(KeyError, "internal"))()
    assert theirs.value.message == UNEXPECTED and "KeyError" not in theirs.value.message
    stream = guarded(_streams)()
    assert next(stream) == 1
    with pytest.raises(gr.Error) as streamed:
        next(stream)
    assert streamed.value.message == "no session &lt;abc&gt;"


def test_no_environment_variable_is_set_by_importing_the_ui(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "GRADIO_ANALYTICS_ENABLED"}
    code = "import os, app.ui.app; print(os.environ.get('GRADIO_ANALYTICS_ENABLED'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"


def test_a_guarded_handler_still_gets_the_logged_in_user() -> None:
    """Gradio fills a `request: gr.Request` parameter only if it can see it in the signature."""
    import inspect

    from app.ui.common import guarded

    def handler(text: str, request: gr.Request) -> str:
        return text

    def streamer(text: str, request: gr.Request) -> Any:
        yield text

    for fn in (handler, streamer):
        params = inspect.signature(guarded(fn)).parameters
        assert list(params) == ["text", "request"]
    assert guarded(handler)("x", request=None) == "x"
