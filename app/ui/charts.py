"""Small inline SVG charts: scores per dimension and the trend over sessions.

Drawn on the server as plain SVG, so a single session shows as a point, labels stay readable on a
phone (the SVG scales to the column; the text is sized for 390 px), and the browser loads no
charting library (no Vega-Lite, no console warnings). Every label is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from app.ui.labels import DIMENSION_NAMES

# One colour per dimension, distinguishable for the common colour-vision deficiencies (Okabe-Ito).
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000"]
WIDTH = 360
ROW = 30
LABEL = 130


def _svg(height: int, body: str, title: str) -> str:
    return (
        f'<svg class="coach-chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def score_bars(rows: list[dict[str, Any]], title: str = "Scores") -> str:
    """Horizontal bars of 0-5 scores, one per dimension, in the rubric's order."""
    if not rows:
        return ""
    span = WIDTH - LABEL - 40
    parts = []
    for i, row in enumerate(rows):
        y = 8 + i * ROW
        score = float(row["score"])
        width = max(2.0, span * score / 5)
        name = escape(str(row["dimension"]))
        colour = COLOURS[i % len(COLOURS)]
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + 15}" text-anchor="end" class="axis">{name}</text>'
            f'<rect x="{LABEL}" y="{y + 3}" width="{span}" height="16" class="track"/>'
            f'<rect x="{LABEL}" y="{y + 3}" width="{width:.1f}" height="16" fill="{colour}"/>'
            f'<text x="{LABEL + width + 5:.1f}" y="{y + 16}" class="value">{score:g}</text>'
        )
    svg = _svg(16 + len(rows) * ROW, "".join(parts), title)
    return f'<figure class="coach-figure"><figcaption>{escape(title)}</figcaption>{svg}</figure>'


def trend_lines(points: list[dict[str, Any]], title: str = "Per-dimension trend") -> str:
    """A line per dimension over sessions (oldest left); every session is a visible dot."""
    sessions = list(dict.fromkeys(str(p["session"]) for p in points))
    if not sessions:
        return ""
    top, left, plot_h = 12, 26, 150
    plot_w = WIDTH - left - 12
    step = plot_w / max(1, len(sessions) - 1)

    def xy(session: str, score: float) -> tuple[float, float]:
        x = left + (plot_w / 2 if len(sessions) == 1 else sessions.index(session) * step)
        return x, top + plot_h * (1 - score / 5)

    def level(score: int) -> float:
        return top + plot_h * (1 - score / 5)

    grid = "".join(
        f'<line x1="{left}" x2="{WIDTH - 12}" y1="{level(s):.1f}" y2="{level(s):.1f}" class="grid"/>'
        f'<text x="{left - 6}" y="{level(s) + 4:.1f}" text-anchor="end" class="axis">{s}</text>'
        for s in range(6)
    )
    lines, legend = [], []
    dims = list(dict.fromkeys(str(p["dimension"]) for p in points))
    for i, dim in enumerate(dims):
        colour = COLOURS[i % len(COLOURS)]
        mine = [xy(str(p["session"]), float(p["score"])) for p in points if str(p["dimension"]) == dim]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in mine)
        lines.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        lines += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>' for x, y in mine]
        name = escape(DIMENSION_NAMES.get(dim, dim))
        legend.append(f'<li><span class="swatch" style="background:{colour}"></span>{name}</li>')
    shown = {str(p["session"]): str(p.get("when") or p["session"]) for p in points}
    first, last = escape(shown[sessions[0]]), escape(shown[sessions[-1]])
    base = top + plot_h + 18
    axis = f'<text x="{left}" y="{base}" class="axis">{first}</text>'
    if len(sessions) > 1:
        axis += f'<text x="{WIDTH - 12}" y="{base}" text-anchor="end" class="axis">{last}</text>'
    svg = _svg(top + plot_h + 26, grid + "".join(lines) + axis, title)
    count = f"{len(sessions)} session" + ("s" if len(sessions) != 1 else "")
    return (
        f'<figure class="coach-figure"><figcaption>{escape(title)} ({count}, oldest first)</figcaption>'
        f'{svg}<ul class="coach-legend">{"".join(legend)}</ul></figure>'
    )
