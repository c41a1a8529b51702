"""Calibration report: the offline scorer against human labels, baselines beside each figure.

Writes docs/EVALS.md (the calibration section) and evals/reports/calibration.json.
Run: .venv/bin/python -m evals.calibrate
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.config import PROJECT_ROOT, Settings
from app.corpus.models import DIMENSIONS
from app.engines import features as fx
from app.engines.offline import OfflineEngine, content_features, content_score_of
from app.engines.types import AssessRequest
from app.evaluation.metrics import bootstrap_ci, pearson, quadratic_weighted_kappa, spearman
from app.services import Services, prepare_offline_environment
from app.store.embeddings import embed
from evals.labelled import LABELS, load_answers, load_saf

REPORT = PROJECT_ROOT / "evals" / "reports" / "calibration.json"
DOC = PROJECT_ROOT / "docs" / "EVALS.md"
TEAM_GOAL = 0.75
SAF_GOALS = {"unseen_answers": 0.75, "unseen_questions": 0.90}
SAF_BASELINES = {"training": 0.652, "unseen_answers": 0.626, "unseen_questions": 0.859}


def team_figures(services: Services, split: str = "test") -> dict[str, Any]:
    engine = OfflineEngine()
    rows = load_answers(split=split)
    predicted: dict[str, list[float]] = {k: [] for k in LABELS}
    cosine_baseline, length_baseline = [], []
    for row in rows:
        question = services.bank.get(row.question_id)
        assessment = engine.assess(AssessRequest(question, row.answer, services.rubric)).assessment
        for dim in DIMENSIONS:
            predicted[dim].append(assessment.score(dim))
        predicted["overall"].append(assessment.overall)
        feats = fx.extract(question, row.answer)
        cosine_baseline.append(feats.reference_sim if feats.spans else 0.0)
        length_baseline.append(float(np.log1p(len(row.answer.split()))))
    out: dict[str, Any] = {
        "split": split,
        "n": len(rows),
        "questions": len({r.question_id for r in rows}),
    }
    for key in LABELS:
        human = [r.labels[key] for r in rows]
        low, high = bootstrap_ci(spearman, predicted[key], human)
        out[key] = {
            "spearman": round(spearman(np.array(predicted[key]), np.array(human)), 3),
            "ci95": [round(low, 3), round(high, 3)],
            "qwk": round(quadratic_weighted_kappa(np.array(predicted[key]), np.array(human)), 3),
            "baseline_cosine": round(spearman(np.array(cosine_baseline), np.array(human)), 3),
            "baseline_length": round(spearman(np.array(length_baseline), np.array(human)), 3),
        }
    return out


def saf_figures() -> dict[str, Any]:
    rows = load_saf()
    if not rows:
        return {}
    out: dict[str, Any] = {}
    for split in ("training", "unseen_answers", "unseen_questions"):
        part = [r for r in rows if r.split == split]
        ours, cosine, human = [], [], []
        for r in part:
            values = content_features(r.answer, r.reference, r.question)
            ours.append(content_score_of(values))
            pair = embed([r.answer or " ", r.reference or " "])  # the baseline: whole-text cosine
            cosine.append(float(pair[0] @ pair[1]))
            human.append(r.score)
        low, high = bootstrap_ci(pearson, ours, human)
        out[split] = {
            "n": len(part),
            "pearson": round(pearson(np.array(ours), np.array(human)), 3),
            "ci95": [round(low, 3), round(high, 3)],
            "baseline_cosine": round(pearson(np.array(cosine), np.array(human)), 3),
            "goal": SAF_GOALS.get(split),
        }
    return out


def _team_table(team: dict[str, Any]) -> str:
    lines = [
        "| dimension | Spearman (95% CI) | QWK | baseline: cosine to strong answer | baseline: length | goal |",
        "|---|---|---|---|---|---|",
    ]
    for key in LABELS:
        f = team[key]
        lines.append(
            f"| {key} | {f['spearman']} ({f['ci95'][0]} to {f['ci95'][1]}) | {f['qwk']} | "
            f"{f['baseline_cosine']} | {f['baseline_length']} | >= {TEAM_GOAL} |"
        )
    return "\n".join(lines)


def _saf_table(saf: dict[str, Any]) -> str:
    if not saf:
        return "SAF was not present at ../shared/datasets/saf when this report was made."
    lines = [
        "| SAF split | n | Pearson r of content score (95% CI) | baseline: cosine(answer, reference) | goal |",
        "|---|---|---|---|---|",
    ]
    for split, f in saf.items():
        goal = f">= {f['goal']}" if f["goal"] else "(tuned here)"
        lines.append(
            f"| {split} | {f['n']} | {f['pearson']} ({f['ci95'][0]} to {f['ci95'][1]}) | "
            f"{f['baseline_cosine']} | {goal} |"
        )
    return "\n".join(lines)


def write_doc(figures: dict[str, Any]) -> None:
    team, saf = figures["team"], figures["saf"]
    section = (
        "## Calibration of the offline scorer\n\n"
        f"Measured by `make calibrate` (evals/calibrate.py) in one run on {figures['date']}; "
        f"scorer weights `{figures['weights_id']}` ({figures['fitted_on']}).\n\n"
        f"### Team labels, test split ({team['n']} answers to {team['questions']} questions "
        "the scorer was not fitted on)\n\n"
        "Labels follow evals/LABELLING.md. Predictions are the 1-5 scores the scorer shows users.\n\n"
        f"{_team_table(team)}\n\n"
        "### SAF (external, human-graded short answers with reference answers)\n\n"
        "Content score = the offline scorer's reference-based content model, fitted on SAF "
        "`training` only; the other splits were never used for fitting.\n\n"
        f"{_saf_table(saf)}\n"
    )
    existing = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Evals\n"
    marker = "## Calibration of the offline scorer"
    head = existing.split(marker)[0].rstrip() + "\n\n"
    tail = ""
    if marker in existing:
        rest = existing.split(marker, 1)[1]
        nxt = rest.find("\n## ")
        tail = rest[nxt:] if nxt >= 0 else ""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(head + section + tail, encoding="utf-8")


def main() -> int:
    settings = Settings(data_dir=PROJECT_ROOT / ".coach-data")
    prepare_offline_environment(settings)
    services = Services(settings)
    from app.engines.offline import default_weights

    weights_data = json.loads(
        Path(__file__).parent.parent.joinpath("app", "engines", "data", "offline_scorer.v1.json").read_text()
    )
    started = time.perf_counter()
    figures = {
        "date": time.strftime("%Y-%m-%d"),
        "weights_id": default_weights().id,
        "fitted_on": weights_data.get("fitted_on", ""),
        "team": team_figures(services),
        "saf": saf_figures(),
    }
    figures["seconds"] = round(time.perf_counter() - started, 1)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2))
    write_doc(figures)
    print(json.dumps({k: figures[k] for k in ("team", "saf")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
