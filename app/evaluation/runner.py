"""Runs a suite or a labelled dataset through the scorer and reports agreement, speed and cost."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from app.errors import CoachError
from app.evaluation.metrics import bootstrap_ci, mae, pearson, quadratic_weighted_kappa, rmse, spearman
from app.evaluation.suite import Case, Contains, Flag, FollowUpTargets, Limit, ScoreRange, Suite
from app.scoring.gaps import DIMENSION_FOLLOW_UPS
from app.scoring.scorecard import Scorecard, render_text
from app.scoring.scorer import Scorer
from app.tokens import count_tokens


@dataclass
class AssertionResult:
    type: str
    passed: bool
    weight: float
    detail: str


@dataclass
class CaseResult:
    id: str
    score: float
    passed: bool
    assertions: list[AssertionResult]
    overall: int | None = None
    engine: str = ""
    latency_ms: float = 0.0
    tokens: int = 0
    error: str | None = None


@dataclass
class SuiteReport:
    suite: str
    engine: str
    prompt_version: str | None
    threshold: float
    score: float
    passed: bool
    cases: list[CaseResult] = field(default_factory=list)
    model_calls: int = 0
    cache_hits: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(self, default=lambda o: o.__dict__))


def check(assertion: Any, card: Scorecard, answer: str, latency_ms: float, tokens: int) -> AssertionResult:
    """One assertion against one scorecard."""
    kind = assertion.type
    if isinstance(assertion, ScoreRange):
        value = card.overall if assertion.dimension == "overall" else card.score_of(assertion.dimension)
        ok = value is not None and assertion.min <= value <= assertion.max
        return AssertionResult(
            kind, ok, assertion.weight, f"{assertion.dimension}={value}, want {assertion.min}-{assertion.max}"
        )
    if isinstance(assertion, Contains):
        text = render_text(card)
        present = assertion.value.lower() in text.lower()
        ok = present if kind == "contains" else not present
        return AssertionResult(
            kind, ok, assertion.weight, f"{assertion.value!r} {'found' if present else 'absent'}"
        )
    if isinstance(assertion, FollowUpTargets):
        if assertion.talking_point:
            wanted = next((m.follow_up for m in card.missed_points if m.id == assertion.talking_point), None)
        else:
            wanted = DIMENSION_FOLLOW_UPS.get(str(assertion.dimension))
        ok = wanted is not None and card.follow_up == wanted
        return AssertionResult(kind, ok, assertion.weight, f"follow-up: {card.follow_up}")
    if isinstance(assertion, Limit):
        measured = latency_ms if kind == "latency_ms" else float(tokens)
        return AssertionResult(
            kind, measured <= assertion.max, assertion.weight, f"{measured:.0f} <= {assertion.max:.0f}"
        )
    assert isinstance(assertion, Flag)
    if kind == "valid_json":
        ok = Scorecard.model_validate_json(card.model_dump_json()) == card
        return AssertionResult(kind, ok, assertion.weight, "scorecard round-trips as JSON")
    if kind == "evidence_in_answer":
        quotes = [q for d in card.dimensions for q in d.evidence] + [s.evidence for s in card.strengths]
        bad = [q for q in quotes if q not in answer]
        return AssertionResult(
            kind, not bad, assertion.weight, f"{len(quotes)} quotes, {len(bad)} not in answer"
        )
    is_non = card.non_answer is not None
    ok = is_non if kind == "non_answer" else not is_non
    return AssertionResult(kind, ok, assertion.weight, f"non_answer={card.non_answer}")


def run_case(scorer: Scorer, case: Case, answer: str) -> tuple[CaseResult, Scorecard | None]:
    started = time.perf_counter()
    try:
        card = scorer.score(
            answer, question_id=case.question_id, question_text=case.question, reference=case.reference
        )
    except CoachError as err:
        return CaseResult(case.id, 0.0, False, [], error=str(err)), None
    latency = (time.perf_counter() - started) * 1000
    tokens = count_tokens(answer) + count_tokens(card.model_dump_json())
    results = [check(a, card, answer, latency, tokens) for a in case.assertions]
    total = sum(r.weight for r in results)
    score = sum(r.weight for r in results if r.passed) / total
    engine = card.engine if not card.fallback_reason else f"offline (fallback: {card.fallback_reason})"
    return CaseResult(
        case.id, round(score, 4), score >= 1.0, results, card.overall, engine, round(latency, 1), tokens
    ), card


def run_suite(
    suite: Suite,
    answers: dict[str, str],
    scorer: Scorer,
    concurrency: int = 4,
    progress: bool = False,
    engine_stats: Callable[[], tuple[int, int, float]] | None = None,
) -> SuiteReport:
    """Every case, `concurrency` at a time; the suite passes when its mean case score meets the threshold."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [pool.submit(run_case, scorer, case, answers[case.id]) for case in suite.cases]
        results = [
            f.result()[0]
            for f in tqdm(futures, desc=suite.name, unit="case", disable=not progress, leave=False)
        ]
    score = float(np.mean([r.score for r in results])) if results else 0.0
    calls, hits, cost = engine_stats() if engine_stats else (0, 0, 0.0)
    return SuiteReport(
        suite=suite.name,
        engine=suite.engine,
        prompt_version=suite.prompt_version,
        threshold=suite.threshold,
        score=round(score, 4),
        passed=score >= suite.threshold,
        cases=results,
        model_calls=calls,
        cache_hits=hits,
        tokens=sum(r.tokens for r in results),
        cost_usd=cost,
        seconds=round(time.perf_counter() - started, 2),
    )


def agreement(predicted: list[float], human: list[float]) -> dict[str, Any]:
    """Pearson, Spearman, QWK (on 1-5), MAE and RMSE, each with a bootstrap 95% interval."""
    p, h = np.array(predicted, float), np.array(human, float)
    out: dict[str, Any] = {"n": len(p)}
    for name, metric in (
        ("pearson", pearson),
        ("spearman", spearman),
        ("qwk", quadratic_weighted_kappa),
        ("mae", mae),
        ("rmse", rmse),
    ):
        value = metric(p, h)
        low, high = bootstrap_ci(metric, predicted, human, n=500)
        out[name] = {"value": round(value, 4), "ci95": [round(low, 4), round(high, 4)]}
    return out
