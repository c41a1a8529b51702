"""Simulated candidates check the interviewer: no repeats, no step-back after a clear opening,
the card always states what is asked next, and the follow-up budget is spent while gaps remain."""

from __future__ import annotations

from typing import Any

import pytest
from test_interview import make_services

from app.evaluation.simulate import PERSONAS, InterviewerChecks, simulate
from app.services import Services


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory, corpus_services: Services) -> dict[str, Any]:
    interviews = make_services(tmp_path_factory.mktemp("sim"), corpus_services).interviews("offline")
    return simulate(interviews, questions=2, follow_ups=2)


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_each_persona_meets_the_interviewer_goals(simulated: dict[str, Any], persona: str) -> None:
    checks = simulated["interviewer"][persona]
    print(persona, checks)
    assert checks["repeated_wordings"] == 0
    assert checks["step_back_after_clear_opening"] == 0
    assert checks["card_asked_mismatches"] == 0
    assert checks["budget_use_when_gaps_remain"] == 1.0
    assert persona not in simulated["problems"], simulated["problems"].get(persona)


def test_design_stages_are_reported_and_a_strong_candidate_covers_more(simulated: dict[str, Any]) -> None:
    covered = {p: c["design_stages_covered"] for p, c in simulated["interviewer"].items()}
    assert covered["strong"] and all(len(v) <= 2 for v in covered.values())
    assert sum(covered["strong"]) > sum(covered["weak"]) and sum(covered["strong"]) > sum(covered["empty"])


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("repeated_wordings", 1, "asked twice"),
        ("step_back_after_clear_opening", 1, "clear opening"),
        ("card_asked_mismatches", 2, "card and the question asked differ"),
    ],
)
def test_a_failing_check_is_reported(field: str, value: int, words: str) -> None:
    checks = InterviewerChecks(**{field: value})
    assert any(words in f for f in checks.failures())


def test_budget_left_unused_while_gaps_remain_is_reported() -> None:
    checks = InterviewerChecks(moves_with_gaps=2, moves_with_gaps_budget_used=1)
    assert checks.budget_use_when_gaps_remain == 0.5
    assert any("50%" in f for f in checks.failures())
