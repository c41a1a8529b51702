"""Pure decisions of the interviewer: which question next, and the end-of-session summary."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.corpus.loader import QuestionBank
from app.corpus.models import DIMENSIONS, Question, Rubric
from app.errors import UserInputError
from app.scoring.scorecard import (
    AnswerBrief,
    CompactCard,
    Drill,
    PracticeQuestion,
    SessionSummary,
    StageStatus,
)
from app.store.vectors import CorpusStore

COMMANDS = ("hint", "repeat", "skip", "end", "retry")


@dataclass(frozen=True)
class InterviewConfig:
    """What the candidate asked for."""

    track: str | None = None
    difficulty: str | None = None
    questions: int = 3
    follow_ups: int = 2
    focus: str = ""
    exclude: tuple[str, ...] = field(default_factory=tuple)
    # A practice run on chosen questions (a drill): asked in this order, nothing else.
    question_ids: tuple[str, ...] = field(default_factory=tuple)
    # The candidate's recent sessions, pooled when the session starts (see pool_history): mean
    # score per dimension over them, how many there were, and the design stages none reached.
    past: dict[str, float] = field(default_factory=dict)
    past_sessions: int = 0
    unreached: dict[str, str] = field(default_factory=dict)  # stage id -> name

    def as_dict(self) -> dict[str, Any]:
        return {
            "track": self.track,
            "difficulty": self.difficulty,
            "questions": self.questions,
            "follow_ups": self.follow_ups,
            "focus": self.focus,
            "exclude": list(self.exclude),
            "question_ids": list(self.question_ids),
            "past": dict(self.past),
            "past_sessions": self.past_sessions,
            "unreached": dict(self.unreached),
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
            question_ids=tuple(data.get("question_ids") or ()),
            past={str(k): float(v) for k, v in (data.get("past") or {}).items()},
            past_sessions=int(data.get("past_sessions") or 0),
            unreached={str(k): str(v) for k, v in (data.get("unreached") or {}).items()},
        )

    def validate(self, bank: QuestionBank) -> InterviewConfig:
        if not 1 <= self.questions <= 20:
            raise UserInputError("the number of questions must be between 1 and 20")
        if not 0 <= self.follow_ups <= 5:
            raise UserInputError("follow-ups per question must be between 0 and 5")
        if len(self.focus) > 20_000:
            raise UserInputError("the focus text is over 20,000 characters")
        unknown = [q for q in self.question_ids if q not in bank.questions]
        if unknown:
            raise UserInputError(
                f"no question with id {unknown[0]!r} in the bank: pick one from the question bank"
            )
        if not candidates(bank, self, ()):
            raise UserInputError("no bank question matches that track and difficulty")
        return self


def candidates(bank: QuestionBank, config: InterviewConfig, asked: Sequence[str]) -> list[Question]:
    """Bank questions of the track and difficulty (or the chosen ones), not asked in this session."""
    if config.question_ids:
        return [bank.get(q) for q in config.question_ids if q not in asked and q in bank.questions]
    return [
        q
        for q in bank.questions.values()
        if (config.track in (None, "", q.track))
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
    if config.question_ids:
        return pool[0] if pool else None
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
    cards: list[dict[str, Any]],
    rubric: Rubric,
    bank: QuestionBank,
    asked: Sequence[str],
    config: InterviewConfig | None = None,
    seed: str = "",
) -> dict[str, Any]:
    """Session scorecard: per-dimension averages, best and weakest answers, the design-stage map,
    drills to practise (a SessionSummary, as stored).

    Each dimension is averaged over the answers it was scored on; the session's overall is the
    mean of the answers' overall bands, kept between the lowest and highest of those averages.
    """
    config = config or InterviewConfig()
    answered = [CompactCard.model_validate(c) for c in cards if not c.get("skipped")]
    if not answered:
        return SessionSummary(answered=0).model_dump()
    averages = dimension_averages(answered)
    ranked = sorted(answered, key=lambda c: c.overall)
    track = bank.get(ranked[0].question_id).track
    stages = session_stages(answered)
    # Stages missed now and in every recent session first, then those missed now, then before.
    reached = {s.id for s in stages if s.status != "missing"}
    missing = {s.id: s.name for s in stages if s.status == "missing"}
    before = {k: v for k, v in config.unreached.items() if k not in reached}
    unreached = {k: v for k, v in missing.items() if k in before} | missing | before
    pooled = blend(averages, config.past, config.past_sessions)
    drills = drills_for(bank, rubric, pooled, unreached, track, [*asked, *config.exclude], config.focus, seed)
    best, weakest = ranked[-1], ranked[0]
    return SessionSummary(
        answered=len(answered),
        dimensions=averages,
        overall=round(rubric.overall.session(averages, [c.overall for c in answered]), 2),
        best=_brief(best, bank),
        weakest=_brief(weakest, bank) if len(answered) > 1 else None,
        stages=stages,
        drills=drills,
    ).model_dump()


def blend(averages: dict[str, float], past: dict[str, float], sessions: int) -> dict[str, float]:
    """This session's averages pooled with the recent sessions' (this one counts as one more)."""
    dims = [d for d in DIMENSIONS if d in averages or d in past]
    pooled = {}
    for dim in dims:
        weight = sessions if dim in past else 0
        total = past.get(dim, 0.0) * weight + averages.get(dim, past.get(dim, 0.0))
        pooled[dim] = round(total / (weight + 1), 2)
    return pooled


def pool_history(summaries: Sequence[SessionSummary]) -> dict[str, Any]:
    """The recent sessions in one view (InterviewConfig fields): the mean of each dimension over
    the sessions that scored it, how many sessions there were, and the design stages that no
    session reached (those with a stage map only)."""
    scored = [s for s in summaries if s.answered]
    means = {}
    for dim in DIMENSIONS:
        values = [s.dimensions[dim] for s in scored if dim in s.dimensions]
        if values:
            means[dim] = round(sum(values) / len(values), 2)
    mapped = [s for s in scored if s.stages]
    reached = {st.id for s in mapped for st in s.stages if st.status != "missing"}
    unreached = {st.id: st.name for s in mapped for st in s.stages if st.id not in reached}
    return {"past": means, "past_sessions": len(scored), "unreached": unreached}


def drills_for(
    bank: QuestionBank,
    rubric: Rubric,
    averages: dict[str, float],
    unreached: dict[str, str],
    track: str,
    avoid: Sequence[str],
    focus: str,
    seed: str,
) -> list[Drill]:
    """The two weakest dimensions and one design stage never reached, each with practice
    questions not to avoid, closest to the focus, varying with the seed."""
    weakest = sorted(averages, key=lambda d: averages[d])[:2]
    drills = [
        Drill(dimension=dim, name=rubric.dimension(dim).name, drill=rubric.dimension(dim).drill, questions=[])
        for dim in weakest
    ]
    drills += [
        Drill(
            dimension=f"stage:{sid}",
            name=name,
            drill=f"Your answers never reached {name.lower()}: walk through it explicitly next time.",
            questions=[],
        )
        for sid, name in unreached.items()
    ][:1]
    picked: list[str] = []
    for drill in drills:
        ids = practice_questions(bank, drill.dimension, track, [*avoid, *picked], focus=focus, seed=seed)
        picked += ids
        drill.questions = ids
        drill.practice = [PracticeQuestion(id=q, title=title(bank.get(q))) for q in ids]
    return drills


def session_stages(cards: list[CompactCard]) -> list[StageStatus]:
    """Each design stage at its best over the session's answers, with that answer's quote."""
    rank = {"missing": 0, "touched": 1, "covered": 2}
    best: dict[str, StageStatus] = {}
    for card in cards:
        for stage in card.stages:
            if stage.id not in best or rank[stage.status] > rank[best[stage.id].status]:
                best[stage.id] = stage
    return list(best.values())


def dimension_averages(cards: Sequence[CompactCard]) -> dict[str, float]:
    """Mean score per dimension over the answers it was scored on (rubric order)."""
    averages = {}
    for dim in DIMENSIONS:
        values = [c.scores[dim] for c in cards if c.scores.get(dim) is not None]
        if values:
            averages[dim] = round(sum(values) / len(values), 2)
    return averages


def title(question: Question, limit: int = 80) -> str:
    """A question's opening words, for naming it to a person (ids are for machines)."""
    text = " ".join(question.question.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "..."


def practice_questions(
    bank: QuestionBank,
    dimension: str,
    track: str,
    avoid: Sequence[str],
    focus: str = "",
    seed: str = "",
    count: int = 2,
) -> list[str]:
    """Questions that train a dimension (business value also through the narrative track) or a
    design stage; never ones to avoid (asked now or recently); closest to the focus text first,
    then in an order that varies with the seed (so two sessions do not name the same two)."""
    tracks = ("career_narrative", track) if dimension == "business_value" else (track,)
    if dimension.startswith("stage:"):
        tracks = ("ml_system_design",)
    wanted = _words(focus)
    picked: list[str] = []
    for wanted_track in tracks:
        pool = [q for q in bank.questions.values() if q.track == wanted_track and q.id not in avoid]
        pool = pool or [q for q in bank.questions.values() if q.track == wanted_track]
        order = random.Random(f"{seed}:{dimension}:{wanted_track}").sample(
            sorted(pool, key=lambda q: q.id), len(pool)
        )
        order.sort(key=lambda q: -len(wanted & _words(q.question)))  # stable: ties keep the seeded order
        picked += [q.id for q in order if q.id not in picked][: count - len(picked)]
    return picked


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z0-9-]{3,}", text.lower()) if w not in STOP_WORDS}


STOP_WORDS = frozenset(
    "what which would with that this from your have they them then there their about into when "
    "where will should could design build system model data using used does make".split()
)


def _brief(card: CompactCard, bank: QuestionBank) -> AnswerBrief:
    return AnswerBrief(
        question_id=card.question_id,
        title=title(bank.get(card.question_id)),
        overall=card.overall,
        quote=card.quote,
    )
