"""Out-of-fold agreement of the dimension scores on the dev splits (how dimension changes are chosen).

Five folds by question over the dev rows of the team and blind sets: each fold's scorer (coverage
model, probes, sentence models, dimension models) is fitted by evals/fit_offline.py's own functions
on the other folds' dev answers, then the held-out answers are scored through `Scorer` (the path
users take: floors, ceilings, evidence and off-topic caps, overall by the rubric's rule). Reports
Spearman per dimension and overall, per set. The test splits are never read.
Run: .venv/bin/python -m evals.cv_dimensions [--folds 5] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
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
from app.engines import offline
from app.engines.offline import OfflineEngine, ScorerWeights
from app.evaluation.metrics import spearman
from app.scoring.scorer import Scorer
from app.services import prepare_offline_environment
from app.store.vector_cache import VectorCache
from evals import fit_offline as fit
from evals.labelled import LABELS, LabelledAnswer, load_answers, load_blind


@dataclass
class Fold:
    """One fold's scorer parts that do not depend on the dimensions' feature lists."""

    held_out: set[str]
    examples: list[fit.Example]
    coverage: dict[str, Any]
    probes: dict[str, dict[str, Any]]
    out_of_fold: dict[str, dict[int, float]]
    sentences: dict[str, dict[str, Any]]
    sentence_chances: dict[str, dict[int, np.ndarray]]


def fit_fold(held_out: set[str], examples: list[fit.Example]) -> Fold:
    """Coverage model, probes and sentence models fitted on these examples, as `make fit` fits them."""
    coverage = fit.fit_coverage(examples)
    probes, out_of_fold = fit.fit_probes(examples)
    sentences, sentence_chances = fit.fit_sentence_models(examples)
    return Fold(held_out, examples, coverage, probes, out_of_fold, sentences, sentence_chances)


def fold_weights(base: ScorerWeights, fold: Fold) -> ScorerWeights:
    """The fold's scorer with its dimension models fitted on the current feature lists."""
    if any(fold.probes[dim]["vector"] != vector for dim, vector in fit.PROBES.items()):
        fold.probes, fold.out_of_fold = fit.fit_probes(fold.examples)
    engine = OfflineEngine(base.replace(coverage=fold.coverage, probes={}, sentences={}))
    dimensions = fit.fit_dimensions(fold.examples, engine, fold.out_of_fold, fold.sentence_chances)
    return base.replace(
        coverage=fold.coverage, probes=fold.probes, sentences=fold.sentences, dimensions=dimensions
    )


def make_folds(rows: list[LabelledAnswer], base: ScorerWeights, folds: int) -> list[Fold]:
    examples = fit.dev_examples(base)
    questions = sorted({r.question_id for r in rows})
    fold_of = {q: i % folds for i, q in enumerate(questions)}
    return [
        fit_fold(
            {r.id for r in rows if fold_of[r.question_id] == f},
            [ex for ex in examples if fold_of[ex.row.question_id] != f],
        )
        for f in range(folds)
    ]


def cached_folds(rows: list[LabelledAnswer], base: ScorerWeights, folds: int, cache_dir: Path) -> list[Fold]:
    """The folds, fitted once per version of the feature code and kept for later trials."""
    code = b"".join(Path(m.__file__ or "").read_bytes() for m in (fx, offline, fit, cov))
    path = cache_dir / f"cv_folds.{folds}.{hashlib.sha1(code).hexdigest()[:12]}.pickle"
    if path.exists():
        return list(pickle.loads(path.read_bytes()))
    fitted = make_folds(rows, base, folds)
    path.write_bytes(pickle.dumps(fitted))
    return fitted


def out_of_fold_scores(
    rows: list[LabelledAnswer], base: ScorerWeights, folds: list[Fold]
) -> dict[str, dict[str, int]]:
    """Per row id, the scorecard's dimension scores and overall from a scorer that never saw it."""
    settings = Settings(data_dir=Path("/tmp"))
    bank, rubric = load_bank(settings.corpus_dir), load_rubric(settings.corpus_dir)
    scores: dict[str, dict[str, int]] = {}
    for fold in folds:
        scorer = Scorer(OfflineEngine(fold_weights(base, fold)), bank, rubric)
        for row in rows:
            if row.id in fold.held_out:
                card = scorer.score(row.answer, question_id=row.question_id)
                scores[row.id] = {d.id: d.score for d in card.dimensions} | {"overall": card.overall}
    return scores


def agreement(rows: list[LabelledAnswer], scores: dict[str, dict[str, int]]) -> dict[str, float]:
    out = {}
    for key in LABELS:
        pairs = [(scores[r.id].get(key), r.label(key)) for r in rows]
        kept = [(float(a), float(b)) for a, b in pairs if a is not None and b is not None]
        if len(kept) >= 3:
            ours, human = zip(*kept, strict=True)
            out[key] = round(float(spearman(np.array(ours), np.array(human))), 3)
    return out


def trial_features(spec: str) -> dict[str, list[str]]:
    """The feature lists with a trial's changes: "+dim:a,b" adds, "-dim:a,b" drops ("" = as is)."""
    features = {dim: list(names) for dim, names in BASE_FEATURES.items()}
    fit.PROBES.update(BASE_PROBES)
    for name, value in BASE_CONSTANTS.items():
        setattr(offline, name, value)
    for change in filter(None, spec.split()):
        if change[0] == "!":  # "!NAME=value": a constant of the offline engine (a trial)
            name, value = change[1:].split("=")
            current = getattr(offline, name)
            setattr(offline, name, value == "True" if isinstance(current, bool) else float(value))
            continue
        if change[0] == "@":  # "@dim=vector": that dimension's probe reads another answer vector
            dim, vector = change[1:].split("=")
            fit.PROBES[dim] = vector
            continue
        dim, names = change[1:].split(":")
        listed = names.split(",")
        if change[0] == "+":
            features[dim] += [n for n in listed if n not in features[dim]]
        else:
            features[dim] = [n for n in features[dim] if n not in listed]
    return features


BASE_FEATURES = {dim: list(names) for dim, names in fit.FEATURES.items()}
BASE_PROBES = dict(fit.PROBES)
BASE_CONSTANTS = {"EVIDENCE_CHANCE": offline.EVIDENCE_CHANCE, "EVIDENCE_FALLBACK": offline.EVIDENCE_FALLBACK}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "trials",
        nargs="*",
        default=[""],
        help='feature changes, e.g. "+tradeoffs:contrasts -step_back:first_code"',
    )
    args = parser.parse_args(argv)
    settings = Settings(data_dir=PROJECT_ROOT / ".coach-data")
    prepare_offline_environment(settings)
    # Answer sentences embedded once across runs, answer features once per run.
    fx.SENTENCE_VECTORS = VectorCache(settings.cache_dir / "dev_sentence_vectors.npz", capacity=100_000)
    fx.EXTRACT_CACHE_SIZE = 100_000
    started = time.perf_counter()
    team, blind = load_answers(split="dev"), load_blind(split="dev")
    fx.prefetch_answers([r.answer for r in team + blind])
    fx.SENTENCE_VECTORS.save()
    base = ScorerWeights.load()
    folds = cached_folds(team + blind, base, args.folds, settings.cache_dir)
    for spec in args.trials or [""]:
        fit.FEATURES.clear()
        fit.FEATURES.update(trial_features(spec))
        scores = out_of_fold_scores(team + blind, base, folds)
        result = {"blind dev": agreement(blind, scores), "team dev": agreement(team, scores)}
        print(f"== trial: {spec or '(as is)'}")
        for name, figures in result.items():
            print(f"{name:10s} " + " ".join(f"{k} {v:.3f}" for k, v in figures.items()))
        if args.json:
            print(json.dumps({"trial": spec, **result, "scores": scores}))
        sys.stdout.flush()
    print(f"({time.perf_counter() - started:.0f} s, {args.folds} folds by question)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
