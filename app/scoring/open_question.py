"""A free-text question with no close bank question, graded as an open question.

Communication is judged on the answer as always. Content is judged against talking points taken
from the user's reference answer when there is one, else pooled from the closest related bank
questions (the points nearest the question asked); the scorecard says "approximate" and names them.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from app.corpus.models import REFERENCE_POINT_PREFIX, Question, StrongAnswer, TalkingPoint
from app.engines import features as fx

OPEN_QUESTION_PREFIX = "open-"
MAX_POINTS = 6
MAX_REFERENCE_POINTS = 8


def open_question_id(text: str) -> str:
    return OPEN_QUESTION_PREFIX + hashlib.sha1(text.strip().lower().encode("utf-8")).hexdigest()[:10]


def _follow_up(point: str) -> str:
    body = point.rstrip(" .!?")
    body = body[0].lower() + body[1:] if body else body
    return f"How would you handle this part: {body}?"


def points_from_reference(reference: str) -> list[TalkingPoint]:
    """Each substantial sentence of the user's reference answer becomes a talking point."""
    sentences = [s for s in fx.sentences(reference) if len(fx.words(s)) >= 4][:MAX_REFERENCE_POINTS]
    return [
        TalkingPoint(id=f"{REFERENCE_POINT_PREFIX}{i + 1}", point=s, follow_up=_follow_up(s), states=[s])
        for i, s in enumerate(sentences)
    ]


def pooled_points(text: str, related: list[Question]) -> list[TalkingPoint]:
    """The related questions' talking points nearest the question asked (ids keep their source)."""
    pool = [(q, tp) for q in related for tp in q.talking_points]
    if not pool:
        return []
    vectors = fx.target_vectors(tuple(f"{tp.point} {tp.follow_up}" for _, tp in pool))
    asked = fx.SENTENCE_VECTORS.embed([text])[0]
    order = np.argsort(-(vectors @ asked))[:MAX_POINTS]
    return [pool[i][1].model_copy(update={"id": f"{pool[i][0].id}:{pool[i][1].id}"}) for i in sorted(order)]


def build_open_question(text: str, related: list[Question], reference: str | None) -> Question:
    """A Question for free text: the closest question's track, points from the reference or pooled."""
    closest = related[0]
    points = points_from_reference(reference) if reference else []
    if not points:
        points = pooled_points(text, related)
    summary = closest.strong_answer.summary
    # Built, not loaded: a user's reference may give fewer points than a bank question needs.
    return Question.model_construct(
        id=open_question_id(text),
        track=closest.track,
        difficulty=closest.difficulty,
        question=_as_question(text),
        talking_points=points,
        red_flags=[flag for q in related for flag in q.red_flags[:2]],
        strong_answer=StrongAnswer.model_construct(
            summary=summary,
            outline=[tp.point for tp in points][:6] or closest.strong_answer.outline,
            business_value=closest.strong_answer.business_value,
        ),
        sources=[],
        complexity=None,
        edge_cases=None,
        examples=None,
    )


def _as_question(text: str) -> str:
    cleaned = re.sub(r"\s+", " ", text).strip()
    return cleaned if len(cleaned) >= 15 else f"{cleaned} (asked as a free-text question)"
