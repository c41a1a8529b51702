"""Calibration report: the scorecards users see against human labels, with baselines beside them.

Every figure takes the path a user's command takes: labelled answers are scored by `Scorer.score`
(what `coach feedback` runs), dataset figures by `evaluate_rows` (what `coach eval --dataset` runs),
and the metrics come from the same functions. Writes the calibration section of docs/EVALS.md and
evals/reports/calibration.json. Run: .venv/bin/python -m evals.calibrate (or `make calibrate`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.config import PROJECT_ROOT, Settings
from app.engines import features as fx
from app.engines.offline import WEIGHTS_FILE, default_weights
from app.evaluation.dataset import Columns, evaluate_rows, field
from app.evaluation.metrics import spearman
from app.services import Services, prepare_offline_environment
from app.store.embeddings import embed
from evals.agreement import Scored, agreement, by_style, load_set, score_rows
from evals.labelled import LABELS, SAF_CSV, load_saf

REPORT = PROJECT_ROOT / "evals" / "reports" / "calibration.json"
DOC = PROJECT_ROOT / "docs" / "EVALS.md"
SECOND = PROJECT_ROOT / "evals" / "data" / "blind.second.v1.jsonl"
DIMENSION_GOAL = 0.75
POINT_GOAL = 0.90
SAF_GOALS = {"unseen_answers": 0.75, "unseen_questions": 0.90}
SAF_COMMAND = (
    "coach eval --dataset ../shared/datasets/saf/saf_english.csv --where split={split} "
    "--question-col question --answer-col student_answer --reference-col reference_answer "
    "--label-col score --label-scale 0:1 --against content"
)
PARTS = (("blind", "test"), ("team", "test"), ("blind", "dev"), ("team", "dev"))


def baselines(services: Services, scored: list[Scored]) -> dict[str, dict[str, float]]:
    """Spearman of two naive scores with each label: cosine to the strong answer, and length."""
    cosine, length = [], []
    for s in scored:
        feats = fx.extract(services.bank.get(s.row.question_id), s.row.answer)
        cosine.append(feats.reference_sim if feats.spans else 0.0)
        length.append(float(np.log1p(len(s.row.answer.split()))))
    out = {}
    for key in LABELS:
        keep = [i for i, s in enumerate(scored) if s.row.label(key) is not None]
        human = np.array([scored[i].row.label(key) for i in keep], float)
        out[key] = {
            "cosine": round(spearman(np.array([cosine[i] for i in keep]), human), 3),
            "length": round(spearman(np.array([length[i] for i in keep]), human), 3),
        }
    return out


def labelled_figures(services: Services) -> dict[str, Any]:
    out = {}
    for name, split in PARTS:
        scored = score_rows(services, load_set(name, split))
        out[f"{name}/{split}"] = {
            "n": len(scored),
            "questions": len({s.row.question_id for s in scored}),
            "all": agreement(scored).__dict__,
            "styles": {k: v.__dict__ for k, v in by_style(scored).items()},
            "baselines": baselines(services, scored) if split == "test" else {},
        }
    return out


def inter_rater() -> dict[str, Any]:
    """A second labeller on a sample of the blind test split, against the first."""
    if not SECOND.exists():
        return {}
    first = {r.id: r for r in load_set("blind", "test")}
    second = [json.loads(line) for line in SECOND.read_text(encoding="utf-8").splitlines() if line.strip()]
    tp = fp = fn = 0
    for row in second:
        a, b = set(first[row["id"]].covered_points), set(row["covered_points"])
        tp, fp, fn = tp + len(a & b), fp + len(b - a), fn + len(a - b)
    dims = {}
    for key in LABELS:
        pairs = [
            (row["labels"][key], first[row["id"]].label(key))
            for row in second
            if row["labels"].get(key) is not None and first[row["id"]].label(key) is not None
        ]
        x, y = np.array([p[0] for p in pairs], float), np.array([p[1] for p in pairs], float)
        dims[key] = {"n": len(pairs), "spearman": round(spearman(x, y), 3)}
    return {
        "n": len(second),
        "points": {"precision": round(tp / max(1, tp + fp), 3), "recall": round(tp / max(1, tp + fn), 3)},
        "dimensions": dims,
    }


def saf_figures(services: Services) -> dict[str, Any]:
    """SAF content agreement through evaluate_rows, exactly as `coach eval --dataset` computes it."""
    if not SAF_CSV.exists():
        return {}
    from app.evaluation.dataset import read_rows

    rows = read_rows(SAF_CSV, limit=10_000)
    columns = Columns("question", "student_answer", "score", "reference_answer", None)
    scorer = services.scorer("offline")
    out: dict[str, Any] = {}
    saf = load_saf()
    for split in ("training", "unseen_answers", "unseen_questions"):
        part = [r for r in rows if field(r, "split") == split]
        report = evaluate_rows(scorer, part, columns, (0.0, 1.0), "content")
        cosine = [_cosine(r.answer, r.reference) for r in saf if r.split == split]
        human = [r.score for r in saf if r.split == split]
        out[split] = {
            "n": report["scored"],
            "pearson": report["metrics"]["pearson"],
            "baseline_cosine": round(float(np.corrcoef(cosine, human)[0, 1]), 3),
            "goal": SAF_GOALS.get(split),
            "command": SAF_COMMAND.format(split=split),
        }
    return out


def _cosine(answer: str, reference: str) -> float:
    pair = embed([answer or " ", reference or " "])
    return float(pair[0] @ pair[1])


# -- the document ------------------------------------------------------------------------------
def _v(metric: dict[str, Any]) -> str:
    value = metric.get("value")
    ci = metric.get("ci95")
    return f"{value:.3f} ({ci[0]:.2f} to {ci[1]:.2f})" if ci else f"{value:.3f}"


def dimension_table(part: dict[str, Any]) -> str:
    lines = [
        "| dimension | n | Spearman (95% CI) | QWK | MAE | baseline: cosine | baseline: length | goal |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in LABELS:
        f = part["all"]["dimensions"].get(key)
        if not f:
            continue
        base = part["baselines"].get(key, {})
        lines.append(
            f"| {key} | {f['n']} | {_v(f['spearman'])} | {f['qwk']['value']:.3f} | {f['mae']['value']:.2f} | "
            f"{base.get('cosine', '')} | {base.get('length', '')} | >= {DIMENSION_GOAL} |"
        )
    return "\n".join(lines)


def points_line(points: dict[str, Any]) -> str:
    return (
        f"precision {points['precision']}, recall {points['recall']}, F1 {points['f1']} "
        f"({points['credited']} credited, {points['labelled']} labelled)"
    )


def style_table(part: dict[str, Any]) -> str:
    lines = [
        "| style | n | points precision | points recall | points credited / labelled | "
        + " | ".join(LABELS)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(LABELS),
    ]
    for style, f in part["styles"].items():
        p = f["points"]
        dims = [
            f"{f['dimensions'][k]['spearman']['value']:.2f}" if k in f["dimensions"] else "" for k in LABELS
        ]
        lines.append(
            f"| {style} | {f['n']} | {p['precision']} | {p['recall']} | {p['credited']} / {p['labelled']} | "
            + " | ".join(dims)
            + " |"
        )
    return "\n".join(lines)


def saf_table(saf: dict[str, Any]) -> str:
    if not saf:
        return "SAF was not present at ../shared/datasets/saf when this report was made."
    lines = [
        "| SAF split | n | Pearson r of content score (95% CI) | baseline: cosine(answer, reference) | goal |",
        "|---|---|---|---|---|",
    ]
    for split, f in saf.items():
        goal = f">= {f['goal']}" if f["goal"] else "(tuned here)"
        lines.append(f"| {split} | {f['n']} | {_v(f['pearson'])} | {f['baseline_cosine']} | {goal} |")
    lines.append(f"\nEach row is what `{SAF_COMMAND.format(split='<split>')}` prints.")
    return "\n".join(lines)


def inter_rater_text(second: dict[str, Any]) -> str:
    if not second:
        return ""
    dims = ", ".join(f"{k} {v['spearman']}" for k, v in second["dimensions"].items())
    return (
        f"### How far two careful labellers agree\n\nA second labeller, briefed exactly as the first, "
        f"labelled {second['n']} blind test answers (10 per style). Against the first: talking points "
        f"precision {second['points']['precision']}, recall {second['points']['recall']}; Spearman "
        f"{dims}. This is the ceiling a scorer can be measured against on these labels.\n\n"
    )


SUMMARY = PROJECT_ROOT / "evals" / "calibration.summary.json"


def write_summary(figures: dict[str, Any]) -> None:
    """The part of the report the app shows ("How reliable is this?"), small enough to commit so a
    fresh clone has it: the blind test split and the two-labeller agreement."""
    summary = {
        "date": figures.get("date"),
        "labelled": {"blind/test": figures["labelled"]["blind/test"]},
        "inter_rater": figures.get("inter_rater"),
    }
    SUMMARY.write_text(json.dumps(summary, indent=1) + "\n")


def write_doc(figures: dict[str, Any]) -> None:
    parts = figures["labelled"]
    sections = [
        "## Calibration of the offline scorer\n\n"
        f"Measured by `make calibrate` (evals/calibrate.py) in one run on {figures['date']}; scorer "
        f"weights `{figures['weights_id']}` ({figures['fitted_on']}); rubric `{figures['rubric']}`. "
        "Predictions are the scorecards users see (`coach feedback`); talking points count as credited "
        "when the scorecard lists them as covered.\n"
    ]
    titles = {
        "blind/test": "Blind set, test split: written and labelled blind to the scorer, never used for fitting "
        "(trust this one)",
        "team/test": "Team set, test split: questions the scorer was not fitted on",
        "blind/dev": "Blind set, dev split (fitted on: for reference only)",
        "team/dev": "Team set, dev split (fitted on: for reference only)",
    }
    for key, title in titles.items():
        part = parts[key]
        text = (
            f"### {title}\n\n{part['n']} answers to {part['questions']} questions. Talking points: "
            f"{points_line(part['all']['points'])}; goal >= {POINT_GOAL} for both. Off-topic flag: "
            f"precision {part['all']['off_topic']['precision']}, recall {part['all']['off_topic']['recall']}.\n\n"
            f"{dimension_table(part)}\n"
        )
        if key.endswith("test"):
            text += f"\nBy style (Spearman without intervals: groups are small):\n\n{style_table(part)}\n"
        sections.append(text)
    sections.append(inter_rater_text(figures["inter_rater"]))
    sections.append(
        "### SAF (external, human-graded short answers with reference answers)\n\n"
        "Content score = the offline scorer's reference-based content model, fitted on SAF `training` "
        f"only.\n\n{saf_table(figures['saf'])}\n"
    )
    section = "\n".join(s for s in sections if s)
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
    weights_data = json.loads(Path(WEIGHTS_FILE).read_text(encoding="utf-8"))
    started = time.perf_counter()
    figures = {
        "date": time.strftime("%Y-%m-%d"),
        "weights_id": default_weights().id,
        "rubric": services.rubric.id,
        "fitted_on": weights_data.get("fitted_on", ""),
        "labelled": labelled_figures(services),
        "inter_rater": inter_rater(),
        "saf": saf_figures(services),
    }
    figures["seconds"] = round(time.perf_counter() - started, 1)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2))
    write_summary(figures)
    write_doc(figures)
    summary = {k: v["all"]["dimensions"] for k, v in figures["labelled"].items() if k.endswith("test")}
    print(json.dumps({k: {d: m["spearman"]["value"] for d, m in v.items()} for k, v in summary.items()}))
    return 0


def summary_only() -> int:
    """Rewrite the committed summary from the last full report (no measuring)."""
    write_summary(json.loads(REPORT.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(summary_only() if sys.argv[1:] == ["--summary-only"] else main())
