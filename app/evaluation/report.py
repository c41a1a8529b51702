"""Eval reports: JSON and Markdown always, HTML with a calibration plot on request."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT

REPORTS_DIR = PROJECT_ROOT / "evals" / "reports"


def write_reports(
    name: str, data: dict[str, Any], markdown: str, html_page: bool, folder: Path = REPORTS_DIR
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{name}-{stamp}"
    paths = [folder / f"{base}.json", folder / f"{base}.md"]
    paths[0].write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    paths[1].write_text(markdown, encoding="utf-8")
    if html_page:
        page = folder / f"{base}.html"
        page.write_text(html_report(name, markdown, data.get("points") or []), encoding="utf-8")
        paths.append(page)
    return paths


def scatter_svg(points: list[list[float]], size: int = 360) -> str:
    """Predicted (x) against human (y) on the 1-5 scale, with the diagonal."""
    pad = 30

    def pos(v: float) -> float:
        return pad + (v - 1) / 4 * (size - 2 * pad)

    dots = "".join(
        f'<circle cx="{pos(p):.1f}" cy="{size - pos(h):.1f}" r="3" fill="#e8590c" fill-opacity="0.35"/>'
        for p, h in points
    )
    axis = f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="#999" stroke-dasharray="4"/>'
    labels = (
        f'<text x="{size / 2}" y="{size - 5}" font-size="12" text-anchor="middle">predicted (1-5)</text>'
        f'<text x="10" y="{size / 2}" font-size="12" transform="rotate(-90 10 {size / 2})" text-anchor="middle">human (1-5)</text>'
    )
    frame = f'<rect x="{pad}" y="{pad}" width="{size - 2 * pad}" height="{size - 2 * pad}" fill="none" stroke="#ccc"/>'
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}">{frame}{axis}{dots}{labels}</svg>'


def html_report(name: str, markdown: str, points: list[list[float]]) -> str:
    plot = f"<h2>Calibration plot</h2>{scatter_svg(points)}" if points else ""
    return (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(name)}</title>"
        f"<body style='font-family:sans-serif;max-width:960px;margin:auto'>{plot}"
        f"<h2>Report</h2><pre>{html.escape(markdown)}</pre></body>"
    )


def suite_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Suite {report['suite']}",
        "",
        f"engine {report['engine']} · prompt {report['prompt_version'] or '-'} · score {report['score']:.3f} "
        f"(threshold {report['threshold']}) · **{'PASS' if report['passed'] else 'FAIL'}**",
        f"model calls {report['model_calls']} · cache hits {report['cache_hits']} · tokens {report['tokens']} · "
        f"cost ${report['cost_usd']:.4f} · {report['seconds']} s",
        "",
        "| case | score | overall | engine | failed assertions |",
        "|---|---|---|---|---|",
    ]
    for case in report["cases"]:
        failed = "; ".join(f"{a['type']} ({a['detail']})" for a in case["assertions"] if not a["passed"])
        failed = case.get("error") or failed or "-"
        lines.append(
            f"| {case['id']} | {case['score']:.2f} | {case['overall']} | {case['engine']} | {failed} |"
        )
    return "\n".join(lines) + "\n"


def dataset_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Dataset {report['dataset']} against `{report['against']}`",
        "",
        f"{report['scored']} of {report['rows']} rows scored ({report['skipped']} skipped) in "
        f"{report['seconds']} s ({report['cases_per_s']} cases/s)",
        "",
        "| metric | value | 95% CI |",
        "|---|---|---|",
    ]
    for name, value in report["metrics"].items():
        if isinstance(value, dict):
            lines.append(f"| {name} | {value['value']} | {value['ci95'][0]} to {value['ci95'][1]} |")
    if report["skipped_reasons"]:
        lines += ["", "Skipped because: " + "; ".join(report["skipped_reasons"])]
    return "\n".join(lines) + "\n"


def dataset_compare_markdown(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Two scorings of one labelled dataset, metric by metric."""
    lines = [
        f"# Dataset {a['dataset']} against `{a['against']}`: {a['side']} vs {b['side']}",
        "",
        f"| metric | {a['side']} | {b['side']} |",
        "|---|---|---|",
    ]
    for name, value in a["metrics"].items():
        other = b["metrics"].get(name)
        if isinstance(value, dict) and isinstance(other, dict):
            lines.append(
                f"| {name} | {value['value']} ({value['ci95'][0]} to {value['ci95'][1]}) | "
                f"{other['value']} ({other['ci95'][0]} to {other['ci95'][1]}) |"
            )
    lines.append(f"| rows scored | {a['scored']} of {a['rows']} | {b['scored']} of {b['rows']} |")
    lines.append(f"| seconds | {a['seconds']} | {b['seconds']} |")
    return "\n".join(lines) + "\n"


def compare_markdown(a: dict[str, Any], b: dict[str, Any], label_a: str, label_b: str) -> str:
    lines = [
        f"# {a['suite']}: {label_a} vs {label_b}",
        "",
        f"| | {label_a} | {label_b} |",
        "|---|---|---|",
        f"| score | {a['score']:.3f} | {b['score']:.3f} |",
        f"| passed | {a['passed']} | {b['passed']} |",
        f"| model calls | {a['model_calls']} | {b['model_calls']} |",
        "",
        "Cases whose outcome changed:",
        "",
    ]
    by_id = {c["id"]: c for c in b["cases"]}
    changed = [
        c
        for c in a["cases"]
        if by_id[c["id"]]["passed"] != c["passed"] or by_id[c["id"]]["overall"] != c["overall"]
    ]
    lines += [
        f"- {c['id']}: {'pass' if c['passed'] else 'fail'} (overall {c['overall']}) -> "
        f"{'pass' if by_id[c['id']]['passed'] else 'fail'} (overall {by_id[c['id']]['overall']})"
        for c in changed
    ]
    if not changed:
        lines.append("- none")
    return "\n".join(lines) + "\n"
