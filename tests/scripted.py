"""Scripted interview material shared by the tests and `make bench`."""

from __future__ import annotations

from app.corpus.models import Question
from app.engines.types import PhraseRequest, Turn


def follow_up_request(
    question: Question, turns: int, answer_excerpt: str, filler: str, repeat: int
) -> PhraseRequest:
    """A follow-up on the question's first talking point after `turns` long messages of history."""
    history = tuple(
        Turn("interviewer" if i % 2 == 0 else "candidate", f"Turn {i}: " + filler * repeat)
        for i in range(turns)
    )
    return PhraseRequest(
        kind="follow_up",
        question=question,
        planned_text=question.talking_points[0].follow_up,
        talking_point=question.talking_points[0],
        answer_excerpt=answer_excerpt,
        history=history,
    )
