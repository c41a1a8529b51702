"""Feedback-tab results kept as one-question sessions, so Progress shows them beside interviews."""

from __future__ import annotations

from typing import Any

from app.interview.graph import compact_card
from app.interview.plan import dimension_averages, summarise
from app.scoring.scorecard import AnswerBrief, CompactCard, Scorecard, SessionSummary
from app.services import Services
from app.ui.views import typed_card

FEEDBACK_MODE = "feedback"


def record_feedback(
    services: Services, raw: Scorecard | dict[str, Any], answer: str, owner: str | None = None
) -> str:
    """Store the question, the answer and its scorecard as a finished session; returns its id."""
    db = services.session_db
    card = typed_card(raw)
    question_id = card.question_id
    known = services.bank.questions.get(question_id)
    config: dict[str, Any] = {
        "track": known.track if known else None,
        "difficulty": known.difficulty if known else None,
        "questions": 1,
        "follow_ups": 0,
        "focus": "",
        "exclude": [],
        "mode": FEEDBACK_MODE,
    }
    session_id = db.create_session(config, card.engine, owner)
    db.add_turn(session_id, "interviewer", "ask", card.question, question_id=question_id)
    answer_seq = db.add_turn(session_id, "candidate", "answer", answer, question_id=question_id)
    compact = CompactCard.model_validate(compact_card(card))
    if known:
        summary = SessionSummary.model_validate(
            summarise([compact.model_dump()], services.rubric, services.bank, [question_id])
        )
        summary.overall = card.overall  # the number the candidate saw on the scorecard
    else:  # an open question: scores only, no drills tied to a bank track
        brief = AnswerBrief(question_id=question_id, overall=compact.overall, quote=compact.quote)
        summary = SessionSummary(
            answered=1, dimensions=dimension_averages([compact]), overall=card.overall, best=brief
        )
    db.record_reply(session_id, answer_seq, card.model_dump(), [], summary.model_dump())
    return session_id


def is_feedback(config: dict[str, Any]) -> bool:
    return config.get("mode") == FEEDBACK_MODE
