"""Drills pooled across the candidate's recent sessions (their own only): weak dimensions and
design stages no session reached, varying from session to session, avoiding recently seen
questions, near the job-description focus."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_interview import FEED_FOCUS, make_services
from test_scoring import STRONG

from app.interview.plan import InterviewConfig, drills_for, pool_history, summarise
from app.scoring.scorecard import SessionSummary, StageStatus
from app.services import Services
from app.sessions.db import SessionStore
from app.ui import handlers

QID = "msd-news-feed-ranking"
LOW_TRADEOFFS = {"step_back": 5, "business_value": 5, "clarity": 1, "technical_coverage": 5, "tradeoffs": 1}
LOW_OPENING = {"step_back": 1, "business_value": 1, "clarity": 5, "technical_coverage": 5, "tradeoffs": 5}
ADS_FOCUS = "ads click-through rate prediction for sponsored ads auction"


def stage(sid: str, status: str) -> StageStatus:
    return StageStatus(id=sid, name=sid.replace("_", " ").capitalize(), status=status)  # type: ignore[arg-type]


def past(dims: dict[str, float], stages: list[StageStatus] | None = None) -> SessionSummary:
    return SessionSummary(answered=1, dimensions=dims, overall=3.0, stages=stages or [])


def finished(db: SessionStore, owner: str | None, summary: SessionSummary, focus: str = "") -> str:
    """A finished one-question session stored the way an interview stores it."""
    config = InterviewConfig(track="ml_system_design", questions=1, focus=focus).as_dict()
    sid = db.create_session(config, "offline", owner)
    db.add_turn(sid, "interviewer", "question", "Question 1 of 1", question_id=QID)
    seq = db.add_turn(sid, "candidate", "answer", "An answer.", question_id=QID)
    db.record_reply(sid, seq, None, [], summary.model_dump())
    return sid


@pytest.fixture
def services(tmp_path: Path, corpus_services: Services) -> Services:
    return make_services(tmp_path, corpus_services)


def test_pooling_averages_dimensions_and_keeps_stages_no_session_reached() -> None:
    history = pool_history(
        [
            past(
                {"tradeoffs": 1.0, "clarity": 4.0},
                [stage("data_labels", "missing"), stage("model", "covered")],
            ),
            past({"tradeoffs": 2.0}, [stage("data_labels", "missing"), stage("serving_latency", "missing")]),
            past({"tradeoffs": 3.0}, [stage("serving_latency", "touched")]),
            SessionSummary(answered=0),  # nothing answered: not counted
        ]
    )
    assert history["past"] == {"clarity": 4.0, "tradeoffs": 2.0} and history["past_sessions"] == 3
    assert history["unreached"] == {"data_labels": "Data labels"}


def test_a_session_summary_drills_what_is_weak_across_sessions(services: Services) -> None:
    cards = [{"question_id": QID, "overall": 4, "scores": dict.fromkeys(LOW_TRADEOFFS, 4)}]
    alone = SessionSummary.model_validate(summarise(cards, services.rubric, services.bank, [QID], seed="s"))
    weak_before = InterviewConfig(
        past=LOW_TRADEOFFS, past_sessions=4, unreached={"data_labels": "Data and labels"}
    )
    pooled = SessionSummary.model_validate(
        summarise(cards, services.rubric, services.bank, [QID], config=weak_before, seed="s")
    )
    dims = [d.dimension for d in pooled.drills]
    assert set(dims[:2]) == {"tradeoffs", "clarity"} and set(dims[:2]) != {
        d.dimension for d in alone.drills[:2]
    }
    assert pooled.drills[2].dimension == "stage:data_labels"  # no earlier session reached it


def test_drills_vary_between_sessions_and_avoid_recent_questions(services: Services) -> None:
    bank, rubric = services.bank, services.rubric
    picks = {
        tuple(
            q
            for d in drills_for(bank, rubric, LOW_TRADEOFFS, {}, "ml_system_design", [], "", f"s{i}")
            for q in d.questions
        )
        for i in range(6)
    }
    assert len(picks) > 1
    recent = [q for pick in picks for q in pick]
    again = drills_for(bank, rubric, LOW_TRADEOFFS, {}, "ml_system_design", recent, "", "s0")
    assert not set(recent) & {q for d in again for q in d.questions}


def test_a_new_session_pools_only_its_owners_history(services: Services) -> None:
    db, interviews = services.session_db, services.interviews("offline")
    for _ in range(4):
        finished(db, "ada", past(LOW_TRADEOFFS, [stage("serving_latency", "missing")]))
        finished(db, "bob", past(LOW_OPENING))
    summaries: dict[str, SessionSummary] = {}
    for owner in ("ada", "bob"):
        step = interviews.start(
            InterviewConfig(track="ml_system_design", questions=1, follow_ups=0, focus=FEED_FOCUS), owner
        )
        config = InterviewConfig.from_dict(db.session(step.session_id, owner).config)
        assert config.past_sessions == 4
        done = interviews.answer(step.session_id, STRONG, owner=owner)
        assert done.done and done.summary is not None
        summaries[owner] = done.summary
    ada = [d.dimension for d in summaries["ada"].drills]
    bob = [d.dimension for d in summaries["bob"].drills]
    assert set(ada[:2]) == {"tradeoffs", "clarity"} and set(bob[:2]) == {"step_back", "business_value"}
    assert "stage:serving_latency" in ada and "stage:serving_latency" not in bob


def test_progress_drills_pool_recent_sessions_and_follow_the_latest_focus(services: Services) -> None:
    db = services.session_db
    assert handlers.progress(services, "cy")["drills"] == []  # no history, nothing to drill yet
    finished(db, "cy", past(LOW_TRADEOFFS, [stage("data_labels", "missing")]), focus=ADS_FOCUS)
    finished(db, "other", past(LOW_OPENING))
    drills = handlers.progress(services, "cy")["drills"]
    assert [d for d, _, _ in drills] == ["clarity", "tradeoffs", "stage:data_labels"]
    assert "ads" in drills[0][2][0]  # the closest to the latest focus comes first
    recent = set(db.recent_question_ids(limit_sessions=20, owner="cy"))
    assert all(len(qs) == 2 and not recent & set(qs) for _, _, qs in drills)
