"""evals/same_scores.py counts what moved between two versions' scorecards."""

from __future__ import annotations

import copy
from typing import Any

from evals.same_scores import differences


def _row(answer_id: str, score: int, raw: float) -> dict[str, Any]:
    card = {
        "overall": score,
        "dimensions": {"clarity": {"score": score, "evidence": ["We cache it."], "tip": "t"}},
        "covered": {"p1": "We cache it."},
        "stages": [["data", "covered", "We cache it."]],
    }
    return {"id": answer_id, "card": card, "raw": {"clarity": raw}}


def test_identical_cards_saved_as_json_count_as_the_same() -> None:
    base = [_row("a", 3, 2.5), _row("b", 4, 3.5)]
    now = copy.deepcopy(base)
    now[0]["card"]["stages"] = [("data", "covered", "We cache it.")]  # a tuple, saved as a list
    report = differences(base, now)
    assert report["answers_differing"] == 0
    assert report["differences_by_field"] == {}
    assert report["raw_max_abs_diff"] == 0.0


def test_a_moved_score_and_a_new_answer_are_reported() -> None:
    base = [_row("a", 3, 2.5), _row("b", 4, 3.5)]
    now = [_row("a", 3, 2.5), _row("b", 5, 3.75), _row("c", 2, 1.0)]
    now[0]["card"]["covered"] = {"p1": "Another quote."}
    report = differences(base, now)
    assert report["answers_differing"] == 2
    assert report["differences_by_field"] == {"overall": 1, "dimensions": 1, "covered": 1}
    assert report["not_in_base"] == 1
    assert abs(report["raw_max_abs_diff"] - 0.25) < 1e-9
