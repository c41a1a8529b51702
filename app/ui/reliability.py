"""'How reliable is this?': the measured agreement of each scored dimension with human labels.

The figures are read from the summary `make calibrate` writes (evals/calibration.summary.json),
never typed in here: with no report the note says so instead of showing a number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT
from app.scoring.scorecard import Scorecard
from app.ui.labels import DIMENSION_NAMES
from app.ui.views import code, typed_card

# Written by `make calibrate` beside its full report, and committed, so a fresh clone has it.
CALIBRATION_REPORT = PROJECT_ROOT / "evals" / "calibration.summary.json"
TRUSTED_SPLIT = "blind/test"  # written and labelled blind to the scorer, never used for fitting


def load_report(path: Path = CALIBRATION_REPORT) -> dict[str, Any] | None:
    """The calibration report, or None when it is missing or unreadable."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        report["labelled"][TRUSTED_SPLIT]["all"]["dimensions"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return report if isinstance(report, dict) else None


def _agreement(figures: dict[str, Any]) -> str:
    spearman = figures["spearman"]["value"]
    mae = figures.get("mae", {}).get("value")
    typical = f", typically {mae:.1f} points off" if mae is not None else ""
    return f"{spearman:.2f}{typical}"


def reliability_markdown(raw: Scorecard | dict[str, Any], report: dict[str, Any] | None) -> str:
    """A short note: who scored this, and how well that scorer agrees with people, per dimension."""
    card = typed_card(raw)
    if card.engine != "offline" and not card.fallback_reason:
        return (
            f"**How reliable is this?** Scored by the LLM {code(card.model)}. Its agreement with "
            "human labels has not been measured here (`make calibrate` measures the offline engine); "
            "treat the numbers as one reviewer's opinion."
        )
    if report is None:
        return (
            "**How reliable is this?** Scored by the offline engine. No calibration report was found on "
            "this machine (`make calibrate` writes evals/calibration.summary.json), so there is no "
            "measured agreement with human labels to show."
        )
    split = report["labelled"][TRUSTED_SPLIT]
    measured = split["all"]["dimensions"]
    people = (report.get("inter_rater") or {}).get("dimensions") or {}
    lines = [
        f"**How reliable is this?** Scored by the offline engine. Its agreement with human labels "
        f"(Spearman: 1 = the same ranking, 0 = none) on {split['n']} answers it never saw, measured "
        f"{report.get('date', '')}:"
    ]
    for dim in card.dimensions:
        figures = measured.get(dim.id)
        name = DIMENSION_NAMES.get(dim.id, dim.id)
        line = f"- {name}: " + (_agreement(figures) if figures else "not measured")
        if dim.id in people:
            line += f" (two human labellers: {people[dim.id]['spearman']:.2f})"
        lines.append(line)
    lines.append("\nIt judges coverage and delivery, not whether the technical content is correct.")
    return "\n".join(lines)
