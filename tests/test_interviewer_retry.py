"""Model answers after a question, retry and compare, drills worth doing, one-question practice:
through the sessions service, the CLI (a real subprocess) and the API (gradio_client)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_hardening_cli import run_coach
from test_interview import FEED_FOCUS, WEAK_ON_TOPIC, make_services
from test_scoring import STRONG

from app.errors import UserInputError
from app.interview.graph import render_summary
from app.interview.plan import InterviewConfig, summarise
from app.scoring.scorecard import Scorecard, SessionSummary
from app.services import Services
from app.sessions.service import CHECKED_FIELDS, InterviewSessions
from app.ui import handlers, views

QID = "msd-news-feed-ranking"


@pytest.fixture
def services(tmp_path: Path, corpus_services: Services) -> Services:
    return make_services(tmp_path, corpus_services)


@pytest.fixture
def interviews(services: Services) -> InterviewSessions:
    return services.interviews("offline")


def feed(interviews: InterviewSessions, questions: int = 2, follow_ups: int = 0) -> str:
    config = InterviewConfig(
        track="ml_system_design", questions=questions, follow_ups=follow_ups, focus=FEED_FOCUS
    )
    return interviews.start(config).session_id


def agrees_with_transcript(interviews: InterviewSessions, sid: str) -> bool:
    live, rebuilt = interviews.interviewer.state(sid), interviews.rebuilt_state(sid)
    return all(
        live.get(k) == rebuilt.get(k) for k in (*CHECKED_FIELDS, "last_finished", "attempt_before", "said")
    )


def test_a_finished_question_brings_its_model_answer(
    interviews: InterviewSessions, services: Services
) -> None:
    sid = feed(interviews)
    step = interviews.answer(sid, WEAK_ON_TOPIC)
    assert step.messages[0].kind == "question" and step.messages[0].finished == QID
    chat = handlers.reply_chat(services, step.messages)
    assert chat[0]["metadata"]["status"] == "done" and QID in chat[0]["metadata"]["title"]
    assert services.bank.get(QID).strong_answer.business_value.split()[0] in chat[0]["content"]
    skipped = interviews.answer(sid, "skip")
    assert skipped.messages[-1].kind == "summary" and skipped.messages[-1].finished


def test_retry_re_asks_the_last_question_and_compares_attempts(interviews: InterviewSessions) -> None:
    sid = feed(interviews, questions=2)
    first = interviews.answer(sid, WEAK_ON_TOPIC)
    second_qid = first.messages[0].question_id
    again = interviews.answer(sid, "retry")
    assert again.messages[0].kind == "question" and again.messages[0].question_id == QID
    assert agrees_with_transcript(interviews, sid)
    better = interviews.answer(sid, STRONG)
    card = Scorecard.model_validate(better.card)
    assert card.compared is not None and card.compared.previous_overall < card.compared.overall
    assert card.compared.now_covered and any("->" in line for line in card.compared.lines())
    assert better.messages[0].question_id == second_qid  # the question put back is asked again
    answers = [t.text for t in interviews.db.turns(sid) if t.role == "candidate"]
    assert WEAK_ON_TOPIC in answers and STRONG in answers  # both attempts are in the transcript
    assert agrees_with_transcript(interviews, sid)
    ended = interviews.answer(sid, "end")
    assert ended.summary and ended.summary.answered == 1 and ended.summary.best.overall == card.overall


def test_retry_before_any_answer_says_what_to_do(interviews: InterviewSessions) -> None:
    sid = feed(interviews)
    note = interviews.answer(sid, "retry").messages[0]
    assert note.kind == "note" and "answer this one first" in note.text


def test_one_answer_is_not_called_both_best_and_weakest(interviews: InterviewSessions) -> None:
    sid = feed(interviews, questions=1)
    done = interviews.answer(sid, STRONG)
    assert done.summary and done.summary.weakest is None
    text = done.messages[-1].text
    assert "Your answer:" in text and "Weakest answer" not in text and "Best answer" not in text
    assert "Weakest" not in views.summary_markdown(done.summary)


def cards_for(services: Services, qids: list[str], overall: int) -> list[dict[str, Any]]:
    scores = {
        "step_back": 4,
        "business_value": 1,
        "clarity": 4,
        "technical_coverage": 3,
        "tradeoffs": 2,
    }
    return [{"question_id": q, "overall": overall, "scores": scores} for q in qids]


def test_drills_follow_weak_dimensions_vary_by_session_avoid_recent_and_follow_focus(
    services: Services,
) -> None:
    bank, rubric = services.bank, services.rubric
    cards = cards_for(services, [QID], 2)
    picks = {
        tuple(
            q for d in summarise(cards, rubric, bank, [QID], seed=f"s{i}")["drills"] for q in d["questions"]
        )
        for i in range(6)
    }
    assert len(picks) > 1  # not always the same two questions
    summary = SessionSummary.model_validate(summarise(cards, rubric, bank, [QID], seed="s1"))
    assert [d.dimension for d in summary.drills][:2] == ["business_value", "tradeoffs"]
    named = {q for d in summary.drills for q in d.questions}
    recent = InterviewConfig(exclude=tuple(named))
    later = summarise(cards, rubric, bank, [QID], config=recent, seed="s1")
    assert not named & {q for d in later["drills"] for q in d["questions"]}
    ads = InterviewConfig(focus="ads click-through rate prediction for sponsored ads auction")
    focused = summarise(cards, rubric, bank, [QID], config=ads, seed="s1")
    tradeoffs = next(d for d in focused["drills"] if d["dimension"] == "tradeoffs")
    assert "ads" in tradeoffs["questions"][0]
    text = render_summary(summary)
    assert all(p.title in text for d in summary.drills for p in d.practice)


def test_a_drill_button_starts_a_one_question_practice(services: Services) -> None:
    summary = summarise(cards_for(services, [QID], 2), services.rubric, services.bank, [QID], seed="s")
    label, qid = handlers.drill_buttons(summary)[0]
    assert label.startswith("Practise: ")
    view = handlers.start_practice(services, qid)
    step = services.interviews().db.turns(view.session_id)
    assert step[0].question_id == qid and view.texts[0].startswith("Question 1 of 1")
    with pytest.raises(UserInputError, match="no question with id"):
        handlers.start_practice(services, "no-such-question")


def test_cli_shows_the_model_answer_and_the_comparison_after_retry(
    tmp_path: Path, services: Services
) -> None:
    answers = tmp_path / "answers.txt"
    answers.write_text(f"{WEAK_ON_TOPIC}\n---\nretry\n---\n{STRONG}\n---\nend\n", encoding="utf-8")
    proc = run_coach(
        [
            "interview",
            "--track",
            "ml_system_design",
            "--questions",
            "2",
            "--follow-ups",
            "0",
            "--answers-file",
            str(answers),
        ],
        tmp_path / "data",
    )
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert "Model answer for " in out and "Red flags to avoid:" in out
    assert "compared with your previous attempt: overall " in out


@pytest.fixture(scope="module")
def client(corpus_server: str) -> Iterator[Any]:
    from gradio_client import Client

    yield Client(corpus_server, verbose=False)


def test_retry_practice_and_model_answers_over_the_api(client: Any) -> None:
    started = client.predict(QID, 0, api_name="/practice")
    assert started["messages"][0].startswith("Question 1 of 1")
    sid = started["session_id"]
    step = client.predict(sid, WEAK_ON_TOPIC, api_name="/answer")
    assert step["done"] is True and step["model_answers"][0]["question_id"] == QID
    assert step["summary"]["weakest"] is None
    other = client.predict("ml_system_design", "any", 2, 0, "", api_name="/start_interview")
    first = client.predict(other["session_id"], WEAK_ON_TOPIC, api_name="/answer")
    assert first["model_answers"]
    retried = client.predict(other["session_id"], api_name="/retry")
    assert retried["messages"][0].startswith("Let's try that one again")
    better = client.predict(other["session_id"], STRONG, api_name="/answer")
    assert better["scorecard"]["compared"]["dimensions"]
