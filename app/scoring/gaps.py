"""The biggest gap in an answer, and the follow-up that probes it (one plan for both engines)."""

from __future__ import annotations

from dataclasses import dataclass

from app.corpus.models import Question

DIMENSION_FOLLOW_UPS = {
    "business_value": "What would this change for the business, and how would you measure it?",
    "step_back": "Can you step back and give me the high-level idea in one or two sentences?",
    "tradeoffs": "What alternative did you consider, and why did you choose against it?",
    "clarity": "Could you walk me through that again, more briefly and in plain words?",
    "technical_coverage": "What else would you need to get right for this to work in production?",
}
# Communication gaps probed before missed talking points, in this order, when scored <= 2.
PRIORITY_DIMENSIONS = ("business_value", "step_back")


@dataclass(frozen=True)
class Gap:
    """What to probe next: a missed talking point or a weak rubric dimension."""

    target: str  # "point:<id>" or "dimension:<id>"
    follow_up: str
    label: str


def biggest_gap(
    question: Question,
    scores: dict[str, int],
    missed_points: list[str],
    non_answer: bool = False,
    probed: frozenset[str] = frozenset(),
) -> Gap | None:
    """The next gap worth a follow-up, or None when the answer is strong enough to move on."""
    if non_answer:
        for tp in question.talking_points:
            if f"point:{tp.id}" not in probed:
                return Gap(f"point:{tp.id}", tp.follow_up, tp.point)
        return None
    for dim in PRIORITY_DIMENSIONS:
        if scores.get(dim, 5) <= 2 and f"dimension:{dim}" not in probed:
            return Gap(f"dimension:{dim}", DIMENSION_FOLLOW_UPS[dim], dim.replace("_", " "))
    for point_id in missed_points:
        point = question.talking_point(point_id)
        if point and f"point:{point_id}" not in probed:
            return Gap(f"point:{point_id}", point.follow_up, point.point)
    weakest = min(scores, key=lambda d: scores[d]) if scores else None
    if weakest and scores[weakest] <= 3 and f"dimension:{weakest}" not in probed:
        return Gap(f"dimension:{weakest}", DIMENSION_FOLLOW_UPS[weakest], weakest.replace("_", " "))
    return None
