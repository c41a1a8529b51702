"""Pure decisions of the interviewer: which question next, and the end-of-session summary."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.corpus.loader import QuestionBank
from app.corpus.models import DIMENSIONS, Question, Rubric
from app.errors import UserInputError
from app.store.vectors import CorpusStore

COMMANDS = ("hint", "repeat", "skip", "end")


@dataclass(frozen=True)
class InterviewConfig:
    """What the candidate asked for."""

    track: str | None = None
    difficulty: str | None = None
    questions: int = 3
    follow_ups: int = 2
    focus: str = ""
    exclude: tuple[str, ...] = field(default_factory=tuple)
    question_id: str = ""  # a practice on one bank question (the track and difficulty follow it)

    def as_dict(self) -> dict[str, Any]:
        return {
            "track": self.track,
            "difficulty": self.difficulty,
            "questions": self.questions,
            "follow_ups": self.follow_ups,
            "focus": self.focus,
            "exclude": list(self.exclude),
            "question_id": self.question_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InterviewConfig:
        return cls(
            track=data.get("track"),
            difficulty=data.get("difficulty"),
            questions=int(data.get("questions", 3)),
            follow_ups=int(data.get("follow_ups", 2)),
            focus=str(data.get("focus") or ""),
            exclude=tuple(data.get("exclude") or ()),
            question_id=str(data.get("question_id") or ""),
        )

    def validate(self, bank: QuestionBank) -> InterviewConfig:
        if not 1 <= self.questions <= 20:
            raise UserInputError("the number of questions must be between 1 and 20")
        if not 0 <= self.follow_ups <= 5:
            raise UserInputError("follow-ups per question must be between 0 and 5")
        if len(self.focus) > 20_000:
            raise UserInputError("the focus text is over 20,000 characters")
        if not candidates(bank, self, ()):
            raise UserInputError("no bank question matches that track and difficulty")
        return self


def candidates(bank: QuestionBank, config: InterviewConfig, asked: Sequence[str]) -> list[Question]:
    """Bank questions of the track and difficulty, not asked in this session."""
    return [
        q
        for q in bank.questions.values()
        if config.question_id in ("", q.id)
        and (config.track in (None, "", q.track))
        and (config.difficulty in (None, "", q.difficulty))
        and q.id not in asked
    ]


def pick_question(
    bank: QuestionBank,
    config: InterviewConfig,
    asked: Sequence[str],
    seed: str,
    store: CorpusStore | None = None,
) -> Question | None:
    """Next question: closest to the focus text when there is one, else a seeded random pick.

    Questions asked in recent sessions are avoided while others remain.
    """
    pool = candidates(bank, config, asked)
    fresh = [q for q in pool if q.id not in config.exclude] or pool
    if not fresh:
        return None
    if config.focus.strip() and store is not None:
        excluded = [*asked, *(config.exclude if fresh is not pool else ())]
        ranked = store.search_questions(
            config.focus[:2000],
            k=5,
            track=config.track or None,
            difficulty=config.difficulty or None,
            exclude_question_ids=list(excluded),
        )
        allowed = {q.id for q in fresh}
        for qid, _ in ranked:
            if qid in allowed:
                return bank.get(qid)
    return random.Random(f"{seed}:{len(asked)}").choice(sorted(fresh, key=lambda q: q.id))


def summarise(
    cards: list[dict[str, Any]], rubric: Rubric, bank: QuestionBank, asked: Sequence[str]
) -> dict[str, Any]:
    """Session scorecard: per-dimension averages, best and weakest answers, drills to practise.

    Each dimension is averaged over the answers it was scored on; the session's overall is the
    rubric's overall rule applied to those averages (so it lies between the lowest and highest).
    """
    answered = [c for c in cards if not c.get("skipped")]
    if not answered:
        return {
            "answered": 0,
            "dimensions": {},
            "overall": None,
            "best": None,
            "weakest": None,
            "drills": [],
        }
    averages = dimension_averages(answered)
    overall = round(rubric.overall.session(averages), 2)
    ranked = sorted(answered, key=lambda c: c["overall"])
    weakest_dims = sorted(averages, key=lambda d: averages[d])[:2]
    track = bank.get(ranked[0]["question_id"]).track
    drills = [
        {
            "dimension": dim,
            "drill": rubric.dimension(dim).drill,
            "questions": practice_questions(bank, dim, track, asked),
        }
        for dim in weakest_dims
    ]
    return {
        "answered": len(answered),
        "dimensions": averages,
        "overall": overall,
        "best": _brief(ranked[-1]),
        "weakest": _brief(ranked[0]),
        "drills": drills,
    }


def dimension_averages(cards: list[dict[str, Any]]) -> dict[str, float]:
    """Mean score per dimension over the answers it was scored on (rubric order)."""
    averages = {}
    for dim in DIMENSIONS:
        values = [c["scores"][dim] for c in cards if c["scores"].get(dim) is not None]
        if values:
            averages[dim] = round(sum(values) / len(values), 2)
    return averages


def practice_questions(bank: QuestionBank, dimension: str, track: str, asked: Sequence[str]) -> list[str]:
    """Two unasked questions that train a dimension: business value through the narrative track."""
    tracks = ("career_narrative", track) if dimension == "business_value" else (track,)
    picked: list[str] = []
    for wanted in tracks:
        pool = sorted(q.id for q in bank.questions.values() if q.track == wanted and q.id not in asked)
        picked += [qid for qid in pool if qid not in picked][: 2 - len(picked)]
    return picked


def _brief(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "question_id": card["question_id"],
        "overall": card["overall"],
        "quote": card.get("quote", ""),
    }
