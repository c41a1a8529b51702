"""Deeper probes on a strong answer come from the question's own data (its probes, written for
its red flags, trade-offs, scale and failure modes), quote what the candidate said when they build
on it, and are chosen deterministically per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from test_interview import FEED_FOCUS, make_services
from test_scoring import STRONG

from app.corpus.models import Probe, Question
from app.interview.plan import InterviewConfig
from app.scoring.gaps import Context, anchor_phrase, decide
from app.services import Services

QID = "msd-news-feed-ranking"
# Strong on every dimension and missing nothing, so a probe is the only move left.
FULL = {"step_back": 5, "business_value": 5, "clarity": 5, "technical_coverage": 5, "tradeoffs": 5}
PLAIN = "We rank posts. It works well. Nothing else to add."  # no word any probe builds on


def own_ids(question: Question) -> set[str]:
    return {f"probe:{p.id}" for p in question.probes}


def test_every_design_and_mlops_question_has_its_own_probes(corpus_services: Services) -> None:
    wanted = [
        q
        for q in corpus_services.bank.questions.values()
        if q.track in ("ml_system_design", "mlops_production")
    ]
    assert len(wanted) >= 60
    lacking = [q.id for q in wanted if len(q.probes) < 2 or not all(p.builds_on for p in q.probes)]
    assert lacking == []
    texts = [p.text for q in wanted for p in q.probes]
    assert len(texts) == len(set(texts))  # each written for its question, none copied across


@pytest.mark.parametrize("seed", ["s1", "s2", "s3"])
def test_a_strong_answer_is_probed_from_its_own_question_quoting_the_answer(
    corpus_services: Services, seed: str
) -> None:
    question = corpus_services.bank.get(QID)
    ctx = Context(seed=seed, refer=True, latest=STRONG, limit=2)
    move = decide(question, FULL, [], overall=5, answer=STRONG, probes=list(question.probes), ctx=ctx)
    assert move.action == "follow_up" and move.depth and move.target in own_ids(question)
    probe = next(p for p in question.probes if f"probe:{p.id}" == move.target)
    assert move.text.endswith(probe.text)
    quoted = move.text.split('"')[1]
    assert quoted in STRONG and any(word in quoted.lower() for word in probe.builds_on)


def test_the_question_probes_come_before_the_track_probes(corpus_services: Services) -> None:
    question = corpus_services.bank.get(QID)
    track = corpus_services.scorer().interviewer.depth_probes["ml_system_design"]
    ctx = Context(seed="x", refer=True, latest=PLAIN, limit=5)
    move = decide(question, FULL, [], overall=5, answer=PLAIN, probes=[*track, *question.probes], ctx=ctx)
    assert move.target in own_ids(question) and not move.text.startswith("You said")


def test_the_probe_order_is_fixed_per_session_and_varies_between_sessions(corpus_services: Services) -> None:
    question = corpus_services.bank.get(QID)

    def first(seed: str) -> str:
        ctx = Context(seed=seed, refer=True, latest=PLAIN, limit=2)
        return decide(
            question, FULL, [], overall=5, answer=PLAIN, probes=list(question.probes), ctx=ctx
        ).target

    seeds = [f"session-{i}" for i in range(12)]
    assert [first(s) for s in seeds] == [first(s) for s in seeds]
    assert {first(s) for s in seeds} == own_ids(question)


def test_the_second_probe_is_a_different_one(corpus_services: Services) -> None:
    question = corpus_services.bank.get(QID)
    ctx = Context(seed="a", refer=True, latest=STRONG, limit=3)
    one = decide(question, FULL, [], overall=5, answer=STRONG, probes=list(question.probes), ctx=ctx)
    again = Context(
        seed="a", refer=True, latest=STRONG, limit=3, used=1, probed=frozenset({one.target}), said=(one.text,)
    )
    two = decide(question, FULL, [], overall=5, answer=STRONG, probes=list(question.probes), ctx=again)
    assert two.target in own_ids(question) and two.target != one.target and two.text != one.text


def test_the_anchor_is_the_answers_own_words() -> None:
    probe = Probe(
        id="p", kind="scale", text="What breaks first at ten times the traffic?", builds_on=["cache"]
    )
    answer = (
        "We serve from memory.\nThen we put a Redis cache in front of the feature lookups, sharded by user."
    )
    phrase = anchor_phrase(probe, answer)
    assert phrase in answer and "cache" in phrase and len(phrase.split()) <= 8
    assert anchor_phrase(probe, "Nothing about it here.") == ""
    assert anchor_phrase(probe, "We cached it.") == "We cached it"  # a word start, verbatim case


@pytest.mark.parametrize(
    "data",
    [
        {"id": "p", "kind": "scale", "text": "What breaks first at scale?", "builds_on": ["Cache"]},
        {"id": "p", "kind": "scale", "text": "What breaks first at scale?", "builds_on": [" "]},
        {"id": "p", "kind": "scale", "text": "What breaks first at scale.", "builds_on": []},
        {"id": "p", "kind": "sideways", "text": "What breaks first at scale?"},
    ],
)
def test_a_malformed_probe_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Probe.model_validate(data)


def test_an_interview_probes_a_strong_answer_with_its_question_data(
    tmp_path: Path, corpus_services: Services
) -> None:
    interviews = make_services(tmp_path, corpus_services).interviews("offline")
    step = interviews.start(
        InterviewConfig(track="ml_system_design", questions=1, follow_ups=2, focus=FEED_FOCUS)
    )
    question = corpus_services.bank.get(step.messages[0].question_id or "")
    answered = interviews.answer(step.session_id, STRONG)
    assert answered.card is not None and answered.card.next is not None
    asked = answered.messages[0]
    assert asked.kind == "follow_up" and asked.target in own_ids(question)
    assert asked.text == answered.card.follow_up and asked.text.startswith('You said "')
    assert asked.text.split('"')[1] in STRONG
