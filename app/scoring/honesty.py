"""The app's honesty rules, applied to every engine's assessment before anything is shown or stored.

An engine (a fitted offline model or any LLM endpoint) proposes scores; these rules decide what a
candidate may be credited with whatever the engine said:

- a non-answer (empty, "I don't know", the question copied back, gibberish, only an instruction
  to the grader, nothing about the topic) scores 1 on every dimension, with no strengths and no
  covered points;
- an instruction aimed at the grader earns nothing and is flagged;
- business value above 2 needs a sentence tied to this problem's outcome (the rubric's ceiling);
- a dimension above 3 (clarity aside) needs a quote that really appears in the answer.

The offline engine applies the same functions itself, so for it these rules change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.corpus.models import Question
from app.engines import features as fx
from app.engines.offline import default_weights
from app.engines.types import Assessment, DimensionScore

INJECTION_FLAG = "ignored an instruction aimed at the grader"
# A score above this needs quoted evidence from the answer. Clarity is a property of the whole
# answer (its order and length), which no single quote shows, so it is exempt.
UNEVIDENCED_MAX = 3
NEEDS_A_QUOTE = frozenset({"step_back", "business_value", "technical_coverage", "tradeoffs"})


@dataclass(frozen=True)
class Screen:
    """What the app's own reading of an answer says, independent of the engine."""

    non_answer: str | None
    injected: bool
    features: dict[str, float]


def screen_answer(question: Question, answer: str, reference: str | None = None) -> Screen:
    """The app's reading of the answer (features are cached, so the offline engine's are reused)."""
    feats = fx.extract(question, answer, reference)
    thresholds = default_weights().thresholds
    reason = fx.non_answer_reason(feats, question, thresholds)
    return Screen(non_answer=reason, injected=bool(feats.injected), features=feats.features)


def non_answer_assessment(reason: str, flags: list[str], opening: str) -> Assessment:
    """Every dimension at 1, nothing credited: what a non-answer earns from any engine."""
    from app.corpus.models import DIMENSIONS

    return Assessment(
        dimensions=[
            DimensionScore(id=dim, score=1, evidence=[], tip=f"No answer to assess ({reason}).")
            for dim in DIMENSIONS
        ],
        suggested_opening=opening,
        overall=1,
        non_answer=reason,
        flags=flags,
    )


def enforce(assessment: Assessment, screen: Screen, question: Question) -> Assessment:
    """The engine's assessment with the app's rules applied (a new object; the input is kept)."""
    flags = list(assessment.flags)
    if screen.injected and INJECTION_FLAG not in flags:
        flags.append(INJECTION_FLAG)
    if screen.non_answer and not assessment.non_answer:
        if assessment.dimensions and any(d.score > 1 for d in assessment.dimensions):
            flags.append(f"scored as a non-answer ({screen.non_answer}) whatever the engine said")
        return non_answer_assessment(screen.non_answer, flags, question.strong_answer.summary)
    dims = [_ceiling(d, screen) for d in assessment.dimensions]
    return assessment.model_copy(update={"dimensions": dims, "flags": flags})


def _ceiling(dim: DimensionScore, screen: Screen) -> DimensionScore:
    for dim_id, rule in default_weights().ceilings.items():
        if dim.id != dim_id or dim.score <= int(rule["score"]):
            continue
        if screen.features.get(rule["feature"], 0.0) < float(rule["below"]):
            return dim.model_copy(update={"score": int(rule["score"])})
    return dim


def cap_unevidenced(dimension: str, score: int, evidence: list[str]) -> int:
    """A high score with no quote that survived the evidence check is held at UNEVIDENCED_MAX."""
    if evidence or score <= UNEVIDENCED_MAX or dimension not in NEEDS_A_QUOTE:
        return score
    return UNEVIDENCED_MAX
