"""How the scorecards users see agree with human labels: per dimension, per talking point, per style.

Every figure comes from `Scorer.score` (the path `coach feedback` and the web app take), on the team
set and the blind set. Run: .venv/bin/python -m evals.agreement [--split test] [--set blind] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.config import PROJECT_ROOT, Settings
from app.evaluation.metrics import spearman
from app.evaluation.runner import agreement as dataset_agreement
from app.scoring.scorecard import Scorecard
from app.services import Services, prepare_offline_environment
from evals.labelled import LABELS, LabelledAnswer, load_answers, load_blind


@dataclass
class Scored:
    row: LabelledAnswer
    card: Scorecard


@dataclass
class PointCounts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, predicted: set[str], truth: set[str]) -> None:
        self.tp += len(predicted & truth)
        self.fp += len(predicted - truth)
        self.fn += len(truth - predicted)

    def figures(self) -> dict[str, float | int]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")
        f1 = 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp + self.fp + self.fn else float("nan")
        return {
            "precision": _r(precision),
            "recall": _r(recall),
            "f1": _r(f1),
            "credited": self.tp + self.fp,
            "labelled": self.tp + self.fn,
        }


@dataclass
class Agreement:
    n: int
    dimensions: dict[str, dict[str, Any]] = field(default_factory=dict)
    points: dict[str, float | int] = field(default_factory=dict)
    off_topic: dict[str, float | int] = field(default_factory=dict)


def _r(value: float) -> float:
    return round(float(value), 3) if not np.isnan(value) else float("nan")


def score_rows(services: Services, rows: list[LabelledAnswer]) -> list[Scored]:
    scorer = services.scorer("offline")
    return [Scored(row, scorer.score(row.answer, question_id=row.question_id)) for row in rows]


def predicted(card: Scorecard, key: str) -> int | None:
    return card.overall if key == "overall" else card.score_of(key)


def agreement(scored: list[Scored], with_ci: bool = True) -> Agreement:
    """Per-dimension agreement (the metrics `coach eval --dataset` reports), points and off-topic."""
    out = Agreement(n=len(scored))
    for key in LABELS:
        pairs = [
            (predicted(s.card, key), s.row.label(key))
            for s in scored
            if s.row.label(key) is not None and predicted(s.card, key) is not None
        ]
        if len(pairs) < 3:
            continue
        ours, human = [float(p[0]) for p in pairs], [float(p[1]) for p in pairs]  # type: ignore[arg-type]
        metrics = dataset_agreement(ours, human) if with_ci else {"n": len(pairs)}
        metrics["spearman"] = metrics.get("spearman") or {
            "value": _r(spearman(np.array(ours), np.array(human)))
        }
        out.dimensions[key] = metrics
    counts = PointCounts()
    flags = PointCounts()
    for s in scored:
        counts.add(set(s.card.covered_points), set(s.row.covered_points))
        flags.add({"off"} if s.card.off_topic else set(), {"off"} if s.row.off_topic else set())
    out.points = counts.figures()
    out.off_topic = flags.figures()
    return out


def by_style(scored: list[Scored]) -> dict[str, Agreement]:
    groups: dict[str, list[Scored]] = defaultdict(list)
    for s in scored:
        groups[s.row.style].append(s)
    return {style: agreement(group, with_ci=False) for style, group in sorted(groups.items())}


def style_means(scored: list[Scored]) -> dict[str, dict[str, float]]:
    """Mean predicted and labelled overall, points credited and strengths per style."""
    groups: dict[str, list[Scored]] = defaultdict(list)
    for s in scored:
        groups[s.row.style].append(s)
    return {
        style: {
            "n": len(g),
            "overall_ours": _r(float(np.mean([s.card.overall for s in g]))),
            "overall_human": _r(float(np.mean([s.row.labels["overall"] for s in g]))),
            "points_ours": _r(float(np.mean([len(s.card.covered_points) for s in g]))),
            "points_human": _r(float(np.mean([len(s.row.covered_points) for s in g]))),
            "with_strengths": sum(1 for s in g if s.card.strengths),
        }
        for style, g in sorted(groups.items())
    }


def load_set(name: str, split: str | None) -> list[LabelledAnswer]:
    return load_blind(split=split) if name == "blind" else load_answers(split=split)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", choices=("team", "blind"), default="blind")
    parser.add_argument("--split", choices=("dev", "test"), default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    services = Services(Settings(data_dir=PROJECT_ROOT / ".coach-data"))
    prepare_offline_environment(services.settings)
    rows = load_set(args.set, args.split)
    started = time.perf_counter()
    scored = score_rows(services, rows)
    result = {
        "set": args.set,
        "split": args.split or "all",
        "all": agreement(scored).__dict__,
        "styles": {k: v.__dict__ for k, v in by_style(scored).items()},
        "style_means": style_means(scored),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result, indent=1 if args.json else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
