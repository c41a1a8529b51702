"""Fits the offline scorer's weights and thresholds on labelled data; writes its one data file.

Team labels (dev split only) fit the rubric dimensions, the overall score and the coverage
threshold; SAF's `training` split (when present) fits the reference-based content score.
Run: .venv/bin/python -m evals.fit_offline
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.config import PROJECT_ROOT, Settings
from app.corpus.loader import load_bank
from app.corpus.models import DIMENSIONS
from app.engines import features as fx
from app.engines.offline import WEIGHTS_FILE, OfflineEngine, ScorerWeights, content_features
from app.services import prepare_offline_environment
from evals.labelled import load_answers, load_saf

FEATURES: dict[str, list[str]] = {
    "step_back": [
        "opening_summary_sim",
        "opening_high_level",
        "opening_roadmap",
        "first_jargon",
        "opening_filler",
        "opening_question_sim",
        "coverage_mean",
        "log_words",
    ],
    "business_value": [
        "business_rate",
        "business_numbers",
        "business_sim",
        "coverage_mean",
        "business_sentences",
        "business_quantified",
    ],
    "clarity": [
        "filler_rate",
        "jargon_rate",
        "structure_count",
        "mean_sentence_words",
        "long_sentence_share",
        "repetition",
        "over_length",
        "log_words",
        "coverage_mean",
    ],
    "technical_coverage": [
        "covered_share",
        "coverage_mean",
        "coverage_top_half",
        "reference_sim",
        "log_words",
    ],
    "tradeoffs": ["tradeoff_count", "coverage_mean", "log_words", "structure_count"],
}
CONTENT_FEATURES = [
    "cosine",
    "ref_recall",
    "ans_precision",
    "word_recall",
    "word_precision",
    "word_f1",
    "length_ratio",
    "empty",
    "cosine_sq",
    "cosine_x_recall",
    "log_len",
    "ref_cover_05",
    "ref_cover_07",
    "cos_hinge_05",
    "cos_hinge_07",
    "bigram_recall",
    "q_ref_sim",
    "ref_top4",
    "qd_ans_precision",
]
RIDGE = 1.0


def ridge(x: np.ndarray, y: np.ndarray, names: list[str], alpha: float = RIDGE) -> dict[str, Any]:
    """Ridge regression on standardised features, returned in raw-feature units."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    a = z.T @ z + alpha * np.eye(z.shape[1])
    w = np.linalg.solve(a, z.T @ (y - y.mean()))
    raw = w / std
    intercept = float(y.mean() - raw @ mean)
    return {
        "intercept": round(intercept, 5),
        "weights": {n: round(float(v), 5) for n, v in zip(names, raw, strict=True)},
    }


def fit_cuts(raw: np.ndarray, labels: np.ndarray) -> list[float]:
    """Cut points so that predicted bands follow the labels' distribution (quantile mapping)."""
    shares = np.cumsum([np.mean(labels == band) for band in (1, 2, 3, 4)])
    return [round(float(np.quantile(raw, min(0.999, share))), 5) for share in shares]


def fit_coverage_threshold(rows: list[tuple[Any, Any]]) -> float:
    """Similarity above which a talking point counts as covered: best F1 against the labels."""
    best, best_f1 = 0.5, -1.0
    for threshold in np.arange(0.30, 0.75, 0.01):
        tp = fp = fn = 0
        for feats, row in rows:
            predicted = {p for p, s in feats.point_sims.items() if s >= threshold}
            truth = set(row.covered_points)
            tp += len(predicted & truth)
            fp += len(predicted - truth)
            fn += len(truth - predicted)
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        if f1 > best_f1:
            best, best_f1 = float(threshold), f1
    return round(best, 3)


def fit_team(base: ScorerWeights) -> tuple[dict[str, float], dict[str, Any], dict[str, Any], int]:
    corpus = Settings(data_dir=Path("/tmp")).corpus_dir
    bank = load_bank(corpus)
    dev = load_answers(split="dev")
    engine = OfflineEngine(base)
    rows = []
    for row in dev:
        question = bank.get(row.question_id)
        feats = fx.extract(question, row.answer)
        if fx.non_answer_reason(feats, question, base.thresholds) is None:
            rows.append((feats, row))
    thresholds = dict(base.thresholds)
    thresholds["covered_point"] = fit_coverage_threshold(rows)
    engine = OfflineEngine(
        ScorerWeights(base.id, thresholds, base.dimensions, base.overall, base.content, base.floors)
    )
    values = [engine.feature_values(feats) for feats, _ in rows]
    dimensions = {}
    for dim, names in FEATURES.items():
        x = np.array([[v[n] for n in names] for v in values])
        y = np.array([row.labels[dim] for _, row in rows], dtype=float)
        dimensions[dim] = ridge(x, y, names)
        raw = np.array(
            [
                float(dimensions[dim]["intercept"])
                + x_row @ np.array(list(dimensions[dim]["weights"].values()))
                for x_row in x
            ]
        )
        dimensions[dim]["cuts"] = fit_cuts(raw, y)
    fitted = ScorerWeights(base.id, thresholds, dimensions, base.overall, base.content, base.floors)
    engine = OfflineEngine(fitted)
    predicted = np.array([[engine.raw_scores(feats)[d] for d in DIMENSIONS] for feats, _ in rows])
    y = np.array([row.labels["overall"] for _, row in rows], dtype=float)
    overall = ridge(predicted, y, list(DIMENSIONS))
    overall_raw = overall["intercept"] + predicted @ np.array(list(overall["weights"].values()))
    overall["cuts"] = fit_cuts(overall_raw, y)
    return thresholds, dimensions, overall, len(rows)


def fit_content(base: ScorerWeights) -> tuple[dict[str, Any], int]:
    training = [r for r in load_saf() if r.split == "training"]
    if not training:
        return base.content, 0
    fx.prefetch_answers([r.answer for r in training])
    rows = [content_features(r.answer, r.reference, r.question) for r in training]
    x = np.array([[values[n] for n in CONTENT_FEATURES] for values in rows], dtype=float)
    y = np.array([r.score for r in training])
    model = ridge(x, y, CONTENT_FEATURES, alpha=3.0)
    model["impute"] = {
        name: round(float(x[:, CONTENT_FEATURES.index(name)].mean()), 5)
        for name in ("q_ref_sim", "qd_ans_precision")  # None when the question text is unknown
    }
    return model, len(training)


def main(path: Path = WEIGHTS_FILE, team_only: bool = False) -> int:
    prepare_offline_environment(Settings(data_dir=PROJECT_ROOT / ".coach-data"))
    base = ScorerWeights.load(path)
    started = time.perf_counter()
    thresholds, dimensions, overall, n_team = fit_team(base)
    content, n_saf = (base.content, 0) if team_only else fit_content(base)
    previous = json.loads(path.read_text(encoding="utf-8"))
    content_note = (
        previous.get("content_fitted_on", "") if team_only else f"SAF training split ({n_saf} rows)"
    )
    data = {
        "id": base.id,
        "fitted_on": (
            f"team dev split of evals/data/answers.v1.jsonl ({n_team} answers that are not "
            f"non-answers); content: {content_note}"
        ),
        "content_fitted_on": content_note,
        "fitted_at": time.strftime("%Y-%m-%d"),
        "thresholds": thresholds,
        "dimensions": dimensions,
        "overall": overall,
        "content": content,
        "floors": base.floors,
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(
        f"wrote {path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path} in {time.perf_counter() - started:.1f} s "
        f"({n_team} team answers, {n_saf} SAF rows)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(team_only="--team-only" in sys.argv))
