"""Fits the offline scorer's models on labelled dev answers; writes its one data file.

Dev rows of the team set and of the blind set (evals/data/*.jsonl, `split: dev`) fit the
talking-point coverage model and the rubric dimensions; the `test` splits are never read here.
SAF's `training` split (when present) fits the reference-based content score.
Run: .venv/bin/python -m evals.fit_offline [--team-only]
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.config import PROJECT_ROOT, Settings
from app.corpus.loader import load_bank, load_rubric
from app.engines import coverage as cov
from app.engines import features as fx
from app.engines.offline import (
    WEIGHTS_FILE,
    OfflineEngine,
    ScorerWeights,
    apply_probe,
    apply_sentence_model,
    content_features,
    sentence_features,
)
from app.services import prepare_offline_environment
from evals.labelled import LabelledAnswer, load_answers, load_blind, load_saf

# What the coverage model makes of the answer's content, for the dimensions judged in context.
CONTENT_CONTEXT = ["coverage_chance", "covered_share", "technical_coverage_probe"]
FEATURES: dict[str, list[str]] = {
    # Judged on the answer alone: nothing here reads the question.
    "step_back": [
        "opening_high_level",
        "opening_roadmap",
        "opening_reason",
        "opening_gist",
        "first_jargon",
        "opening_filler",
        "first_words",
        "first_code",
        "opening_specific",
        "hedge_rate",
        # Length capped at 60 words: uncapped, length stood in for substance (the first round's
        # short answers were all keyword drops) and held terse, well-opened answers down.
        # Out-of-fold on blind dev with the short answers: 0.602 -> 0.644 (team dev 0.801 -> 0.789).
        "log_words_60",
        # Is the opening as central to the answer as what follows, and does it frame the goal
        # before any tool or number? (Detail-first openings.) Out-of-fold on blind dev, with the
        # evidence fallback: 0.671 -> 0.685 (evals/cv_dimensions.py).
        "opening_centrality",
        "frame_before_detail",
    ],
    "business_value": [
        "business_sim",
        "business_sentences",
        "business_quantified",
        "business_beneficiary",
        "business_confirm",
        "business_error_cost",
        # How many sentences the business sentence model finds likely, not only the best one.
        "business_value_sent_sum",
        "business_value_sent_top2",
        # Value of a weak or wrong solution is not a business case (labellers rate it low): the
        # coverage model's view of the content. Out-of-fold CV on blind dev: 0.706 -> 0.726.
        *CONTENT_CONTEXT,
    ],
    # Judged on the answer alone.
    "clarity": [
        "filler_rate",
        "hedge_rate",
        "jargon_rate",
        "comma_rate",
        "structure_count",
        "mean_sentence_words",
        "long_sentence_share",
        "repetition",
        "repeated_sentences",
        "explained_rate",
        "log_words",
        "over_length",
    ],
    "technical_coverage": [
        "covered_share",
        "coverage_chance",
        "coverage_top_half",
        "coverage_mean",
        "red_flag_sim",
        "hedge_rate",
        "log_words",
        # Substance beyond the talking points: weighed choices and tied-to-value sentences, and
        # explained terms. Out-of-fold CV on blind dev: 0.739 -> 0.765.
        "tradeoffs_sent_max",
        "business_value_sent_max",
        "explained_rate",
    ],
    "tradeoffs": [
        "weighed_choices",
        "tradeoff_count",
        "alternatives",
        # Weighing without the usual words: contrasts that name an option or a reason, and an
        # option followed by its cost in the next sentence.
        "contrast_choices",
        "option_then_cost",
        "explained_rate",
        "hedge_rate",
        "log_words",
        # A trade-off counts in the context of a sound solution (evals/LABELLING.md): the content
        # features. Out-of-fold CV on blind dev: 0.561 -> 0.662.
        *CONTENT_CONTEXT,
    ],
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
COVERAGE_L2 = 1.0
# Probes: ridge on an answer vector, stacked into the dimension's model by out-of-fold predictions.
PROBES = {
    "step_back": "opening",
    "business_value": "answer",
    "clarity": "answer",
    "technical_coverage": "answer",
    "tradeoffs": "answer",
}
PROBE_ALPHA = 300.0
# Sentence models, fitted on the blind dev answers whose sentences labellers marked
# (evals/data/blind.spans.v1.jsonl): dimension -> the key of its marks.
SPANS = PROJECT_ROOT / "evals" / "data" / "blind.spans.v1.jsonl"
SENTENCE_MARKS = {"step_back": "step_back", "business_value": "business_value", "tradeoffs": "tradeoff"}
SENTENCE_L2 = 10.0  # chosen by out-of-fold sentence F1 on dev (3, 10, 30, 100 tried)


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


def logistic(x: np.ndarray, y: np.ndarray, l2: float = COVERAGE_L2, steps: int = 60) -> dict[str, Any]:
    """L2-regularised logistic regression by Newton steps on standardised features."""
    mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-4)
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = l2 * np.diag([1.0] * (z.shape[1] - 1) + [0.0])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w)))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-7:  # converged: more Newton steps change nothing
            break
    return {
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "weights": [round(float(v), 6) for v in w[:-1]],
        "bias": round(float(w[-1]), 6),
    }


def balanced_threshold(chances: np.ndarray, truth: np.ndarray) -> tuple[float, dict[str, float]]:
    """The threshold where the lower of precision and recall is highest (both goals matter)."""
    best: tuple[float, dict[str, float]] = (0.5, {"f1": -1.0, "worst": -1.0})
    for threshold in np.arange(0.2, 0.81, 0.01):
        credited = chances >= threshold
        tp = float((credited & truth).sum())
        precision = tp / max(1.0, float(credited.sum()))
        recall = tp / max(1.0, float(truth.sum()))
        f1 = 2 * precision * recall / max(1e-9, precision + recall)
        if min(precision, recall) > best[1]["worst"]:
            figures = {"precision": precision, "recall": recall, "f1": f1, "worst": min(precision, recall)}
            best = (round(float(threshold), 2), figures)
    return best


@dataclass
class Example:
    row: LabelledAnswer
    feats: fx.AnswerFeatures


def dev_examples(base: ScorerWeights) -> list[Example]:
    """Dev answers of both labelled sets that are answers at all, with their features."""
    bank = load_bank(Settings(data_dir=Path("/tmp")).corpus_dir)
    rows = load_answers(split="dev") + load_blind(split="dev")
    fx.prefetch_answers([r.answer for r in rows])
    out = []
    for row in rows:
        question = bank.get(row.question_id)
        feats = fx.extract(question, row.answer)
        if fx.non_answer_reason(feats, question, base.thresholds) is None:
            out.append(Example(row, feats))
    return out


def fit_coverage(examples: list[Example]) -> dict[str, Any]:
    """The talking-point model: one row per (answer, point), labelled covered or not.

    Measured on dev (5-fold CV by question, 2026-11-30) and not kept, as none moved precision or
    recall by more than 0.01: clause units (sentences split on ";", ":", dashes and ", and/which/
    so/but" with share, commas and list-likeness read on the clause), explanation, number and
    absolutist cues in the matched span, per-answer relative similarity (rank, z-score, mean),
    similarity to each `states` phrasing (mean, min), the 2nd-best unit, a corpus-wide
    states-minus-names direction, answer-level list/explanation shares, a logistic probe on the
    matched unit's vector, and gradient-boosted trees (+0.01).
    """
    x, y, questions, groups = [], [], [], []
    for ex in examples:
        if ex.row.off_topic:
            continue
        for pid, match in ex.feats.points.items():
            x.append([match.features[name] for name in cov.FEATURES])
            y.append(pid in ex.row.covered_points)
            questions.append(ex.row.question_id)
            groups.append(f"{ex.row.set_name}/{ex.row.style}")
    xs, ys = np.array(x, float), np.array(y, bool)
    model = logistic(xs, ys.astype(float))
    threshold, train = balanced_threshold(_chances(model, xs), ys)
    folds = _grouped_folds(questions, 5)
    held_out = np.zeros(len(ys))
    for fold in folds:
        inside = np.ones(len(ys), bool)
        inside[fold] = False
        held_out[fold] = _chances(logistic(xs[inside], ys[inside].astype(float)), xs[fold])
    credited = held_out >= threshold
    print(
        f"coverage: {len(ys)} (answer, point) pairs, threshold {threshold}, dev {_fmt(train)}, "
        f"CV {_fmt(_point_figures(credited, ys))}"
    )
    for name in sorted({g.split("/")[0] for g in groups}) + sorted(
        g for g in set(groups) if g.startswith("blind")
    ):
        keep = np.array([g == name or g.startswith(f"{name}/") for g in groups])
        print(f"  CV {name}: {_fmt(_point_figures(credited[keep], ys[keep]))}")
    return {"features": list(cov.FEATURES), **model, "threshold": threshold}


def _point_figures(credited: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp = float((credited & truth).sum())
    return {
        "precision": tp / max(1, credited.sum()),
        "recall": tp / max(1, truth.sum()),
        "credited": float(credited.sum()),
        "labelled": float(truth.sum()),
    }


def _chances(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    z = ((x - np.array(model["mean"])) / np.array(model["scale"])) @ np.array(model["weights"])
    return 1 / (1 + np.exp(-(z + model["bias"])))


def _grouped_folds(groups: list[str], k: int) -> list[np.ndarray]:
    names = sorted(set(groups))
    fold_of = {name: i % k for i, name in enumerate(names)}
    return [np.array([i for i, g in enumerate(groups) if fold_of[g] == f]) for f in range(k)]


def _fmt(figures: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.0f}" if k in COUNTS else f"{k} {v:.3f}" for k, v in figures.items())


COUNTS = ("credited", "labelled")


def labelled_for(dim: str, examples: list[Example]) -> list[int]:
    """Rows that carry a label for this dimension and are scored on it under the v2 rubric."""
    rubric = load_rubric(Settings(data_dir=Path("/tmp")).corpus_dir)
    bank = load_bank(Settings(data_dir=Path("/tmp")).corpus_dir)
    return [
        i
        for i, ex in enumerate(examples)
        if ex.row.label(dim) is not None
        and rubric.dimension(dim).applies(bank.get(ex.row.question_id).track)
        and not (ex.row.off_topic and dim not in ("step_back", "clarity"))
    ]


def probe_fit(v: np.ndarray, y: np.ndarray, vector: str) -> dict[str, Any]:
    mean, scale = v.mean(axis=0), np.maximum(v.std(axis=0), 1e-4)
    z = (v - mean) / scale
    w = np.linalg.solve(z.T @ z + PROBE_ALPHA * np.eye(z.shape[1]), z.T @ (y - y.mean()))
    return {
        "vector": vector,
        "mean": [round(float(x), 6) for x in mean],
        "scale": [round(float(x), 6) for x in scale],
        "weights": [round(float(x), 6) for x in w],
        "bias": round(float(y.mean()), 6),
    }


def fit_probes(examples: list[Example]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[int, float]]]:
    """Each dimension's probe on all its rows, and its out-of-fold predictions (for stacking)."""
    probes, out_of_fold = {}, {}
    for dim, vector in PROBES.items():
        keep = labelled_for(dim, examples)
        v = np.array([examples[i].feats.vectors[vector] for i in keep])
        y = np.array([examples[i].row.label(dim) for i in keep], dtype=float)
        held_out = np.zeros(len(keep))
        for fold in _grouped_folds([examples[i].row.question_id for i in keep], 6):
            inside = np.ones(len(keep), bool)
            inside[fold] = False
            held_out[fold] = [apply_probe(probe_fit(v[inside], y[inside], vector), row) for row in v[fold]]
        probes[dim] = probe_fit(v, y, vector)
        out_of_fold[dim] = dict(zip(keep, held_out.tolist(), strict=True))
    return probes, out_of_fold


def load_marks() -> dict[str, dict[str, list[str]]]:
    """Labellers' sentence marks per blind answer id (empty when the file is absent)."""
    if not SPANS.exists():
        return {}
    rows = [json.loads(line) for line in SPANS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: row for row in rows}


def marked(spans: list[str], quotes: list[str]) -> np.ndarray:
    """1 for each sentence that a quote covers (a quote may be a clause or run over sentences)."""
    norm = [" ".join(q.split()) for q in quotes if q.strip()]
    out = []
    for span in spans:
        text = " ".join(span.split())
        out.append(1.0 if any(q in text or text in q for q in norm) else 0.0)
    return np.array(out)


def fit_sentence_models(
    examples: list[Example],
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[int, np.ndarray]]]:
    """Each sentence model on all marked sentences, and per example its out-of-fold chances."""
    marks = load_marks()
    have = [i for i, ex in enumerate(examples) if ex.row.id in marks and len(ex.feats.spans)]
    if not have:
        return {}, {}
    models, chances = {}, {}
    for dim, key in SENTENCE_MARKS.items():
        x = {i: examples[i].feats.sentence_rows for i in have}
        y = {i: marked(examples[i].feats.spans, marks[examples[i].row.id][key]) for i in have}
        models[dim] = logistic(np.vstack(list(x.values())), np.concatenate(list(y.values())), SENTENCE_L2)
        chances[dim] = {
            i: apply_sentence_model(models[dim], ex.feats.sentence_rows) for i, ex in enumerate(examples)
        }
        for fold in _grouped_folds([examples[i].row.question_id for i in have], 5):
            inside = [have[j] for j in range(len(have)) if j not in set(fold.tolist())]
            model = logistic(
                np.vstack([x[i] for i in inside]), np.concatenate([y[i] for i in inside]), SENTENCE_L2
            )
            for j in fold:
                chances[dim][have[j]] = apply_sentence_model(model, x[have[j]])
        flat = np.concatenate([chances[dim][i] for i in have]) >= 0.5
        truth = np.concatenate([y[i] for i in have]).astype(bool)
        tp = float((flat & truth).sum())
        print(
            f"sentences {dim}: {len(truth)} sentences, {int(truth.sum())} marked; out of fold precision "
            f"{tp / max(1, flat.sum()):.3f} recall {tp / max(1, truth.sum()):.3f}"
        )
    return models, chances


def fit_dimensions(
    examples: list[Example],
    engine: OfflineEngine,
    out_of_fold: dict[str, dict[int, float]],
    sentence_chances: dict[str, dict[int, np.ndarray]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Ridge regression per dimension on the rows labelled for it (v2 applicability).

    A probe's feature is its out-of-fold prediction here, so the stack does not learn to trust a
    probe that has seen the row.
    """
    values = [engine.feature_values(ex.feats) for ex in examples]
    for dim, per_example in (sentence_chances or {}).items():
        for i, chances in per_example.items():
            values[i].update(sentence_features(dim, chances))
    dimensions = {}
    for dim, names in FEATURES.items():
        keep = labelled_for(dim, examples)
        names = [*names, f"{dim}_probe"] if dim in out_of_fold else names
        if dim in (sentence_chances or {}):
            names = [*names, f"{dim}_sent_max", f"{dim}_sent_first", f"{dim}_sent_count"]
        for i in keep:
            for other, held_out in out_of_fold.items():  # a row another probe did not see: its mean
                mean = float(np.mean(list(held_out.values())))
                values[i][f"{other}_probe"] = held_out.get(i, mean)
        x = np.array([[values[i][n] for n in names] for i in keep])
        y = np.array([examples[i].row.label(dim) for i in keep], dtype=float)
        model = ridge(x, y, names)
        raw = model["intercept"] + x @ np.array(list(model["weights"].values()))
        model["cuts"] = fit_cuts(raw, y)
        model["fitted_rows"] = len(keep)
        dimensions[dim] = model
    return dimensions


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
    examples = dev_examples(base)
    coverage = fit_coverage(examples)
    probes, out_of_fold = fit_probes(examples)
    sentences, sentence_chances = fit_sentence_models(examples)
    engine = OfflineEngine(base.replace(coverage=coverage, probes={}, sentences={}))
    dimensions = fit_dimensions(examples, engine, out_of_fold, sentence_chances)
    content, n_saf = (base.content, 0) if team_only else fit_content(base)
    previous = json.loads(path.read_text(encoding="utf-8"))
    content_note = (
        previous.get("content_fitted_on", "") if team_only else f"SAF training split ({n_saf} rows)"
    )
    n_team = sum(1 for ex in examples if ex.row.set_name == "team")
    data = {
        "id": base.id,
        "fitted_on": (
            f"dev splits: {n_team} team answers (evals/data/answers.v1.jsonl) and "
            f"{len(examples) - n_team} blind answers (evals/data/blind.v1.jsonl and "
            f"blind.brief.v1.jsonl) that are not "
            f"non-answers; content: {content_note}"
        ),
        "content_fitted_on": content_note,
        "fitted_at": time.strftime("%Y-%m-%d"),
        "thresholds": base.thresholds,
        "coverage": coverage,
        "probes": probes,
        "sentences": sentences,
        "dimensions": dimensions,
        "content": content,
        "floors": base.floors,
        "ceilings": base.ceilings,
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
    print(
        f"wrote {shown} in {time.perf_counter() - started:.1f} s ({len(examples)} answers, {n_saf} SAF rows)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(team_only="--team-only" in sys.argv))
