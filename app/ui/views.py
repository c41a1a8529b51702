"""Turning scorecards and summaries into what the page shows: Markdown, highlights, chart rows."""

from __future__ import annotations

import re
import string
from typing import Any

from app.ui.labels import DIMENSION_NAMES  # noqa: F401 - the page's words, kept here for callers

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Every ASCII punctuation mark gets a backslash, so no Markdown construct (link, image, table,
# heading, list, emphasis, autolink, LaTeX) can start; &, < and > become entities, so no HTML can.
_INERT = {c: _ENTITIES.get(c, "\\" + c) for c in string.punctuation}


def esc(text: object) -> str:
    """Candidate or model text made inert for Markdown and HTML: it shows literally, as typed."""
    return "".join(_INERT.get(c, c) for c in str(text))


def code(text: object) -> str:
    """Text as an inline code span, shown literally (a fence longer than any backtick run inside)."""
    flat = " ".join(str(text).split()) or " "
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    return f"{fence} {flat} {fence}"


def engine_notice(card: dict[str, Any]) -> str:
    if card.get("fallback_reason"):
        return f"⚠️ The LLM endpoint failed ({esc(card['fallback_reason'])}); the offline engine scored this."
    engine = card.get("engine", "offline")
    return (
        "Scored by the offline engine."
        if engine == "offline"
        else f"Scored by LLM {code(card.get('model'))}."
    )


def scorecard_markdown(card: dict[str, Any]) -> str:
    """A scorecard: overall, dimensions with quotes and tips, missed points, opening, follow-up."""
    similarity = card.get("match_similarity")
    matched = esc(card["matched_by"]) + (f", similarity {similarity:.2f}" if similarity is not None else "")
    lines = [
        f"### Overall {card['overall']}/5",
        f"{esc(card.get('overall_rule', ''))}",
        f"\n**Question** {code(card['question_id'])} ({matched}): {esc(card['question'])}",
        f"\n{engine_notice(card)} · rubric {code(card['rubric_version'])}",
    ]
    if card.get("approximate"):
        related = ", ".join(code(c["id"]) for c in card.get("related_questions", []))
        lines.append(
            "\n**Approximate:** no bank question is close to this one, so content is judged against "
            + (f"points from {related}." if related else "your reference answer.")
        )
    if card.get("off_topic"):
        other = card["off_topic"]
        lines.append(
            f"\n**Off topic:** this answer seems to address {code(other['question_id'])}: "
            f"{esc(other['question'])}"
        )
    lines += [
        f"\nAlso close: {code(c['id'])}: {esc(c['question'])} (pick it in the bank list to use it)"
        for c in card.get("also_close", [])
    ]
    if card.get("non_answer"):
        lines.append(f"\n**Not an answer:** {esc(card['non_answer'])}.")
    lines += [f"\n> ⚠️ {esc(flag)}" for flag in card.get("flags", [])]
    for dim in card["dimensions"]:
        bar = "●" * dim["score"] + "○" * (5 - dim["score"])
        lines.append(f"\n**{esc(dim['name'])}: {dim['score']}/5** {bar}")
        lines += [f"> “{esc(q)}”" for q in dim["evidence"]]
        lines.append(f"- Tip: {esc(dim['tip'])}")
    for dim in card.get("not_scored", []):
        lines.append(f"\n**{esc(dim['name'])}: not scored** ({esc(dim['reason'])})")
    if card.get("strengths"):
        lines.append("\n**Strengths**")
        lines += [f"- {esc(s['text'])}: “{esc(s['evidence'])}”" for s in card["strengths"]]
    if card.get("covered"):
        lines.append("\n**Covered points**")
        lines += [
            f"- {esc(c['point'])}" + (f" — “{esc(c['evidence'])}”" if c.get("evidence") else "")
            for c in card["covered"]
        ]
    if card.get("missed_points"):
        lines.append("\n**Missed points**")
        lines += [f"- {esc(m['point'])}" for m in card["missed_points"]]
    lines.append(f"\n**Try opening with:** {esc(card['suggested_opening'])}")
    lines.append(f"\n**Next follow-up:** {esc(card['follow_up'])}")
    return "\n".join(lines)


def highlights(answer: str, card: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The answer split into segments, quoted evidence labelled with its dimension."""
    spans: list[tuple[int, int, str]] = []
    for dim in card["dimensions"]:
        for quote in dim["evidence"]:
            start = answer.find(quote)
            if start >= 0 and not any(s < start + len(quote) and start < e for s, e, _ in spans):
                spans.append((start, start + len(quote), DIMENSION_NAMES.get(dim["id"], dim["id"])))
    spans.sort()
    segments: list[tuple[str, str | None]] = []
    cursor = 0
    for start, end, label in spans:
        if start > cursor:
            segments.append((answer[cursor:start], None))
        segments.append((answer[start:end], label))
        cursor = end
    if cursor < len(answer):
        segments.append((answer[cursor:], None))
    return segments


def score_rows(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"dimension": DIMENSION_NAMES.get(d["id"], d["id"]), "score": d["score"]} for d in card["dimensions"]
    ]


def summary_markdown(summary: dict[str, Any] | None) -> str:
    if not summary or not summary.get("answered"):
        return "No answered question yet: the session scorecard appears when the interview ends."
    lines = [f"### Session scorecard: {summary['overall']}/5 over {summary['answered']} question(s)"]
    lines += [f"- {DIMENSION_NAMES[d]}: {v}/5" for d, v in summary["dimensions"].items()]
    for label in ("best", "weakest"):
        item = summary[label]
        quote = f" — “{esc(item['quote'])}”" if item.get("quote") else ""
        lines.append(
            f"\n**{label.title()} answer:** {code(item['question_id'])} ({item['overall']}/5){quote}"
        )
    lines.append("\n**Drills to practise next**")
    for drill in summary["drills"]:
        practice = ", ".join(code(q) for q in drill["questions"])
        lines.append(f"- **{DIMENSION_NAMES[drill['dimension']]}**: {esc(drill['drill'])} Try: {practice}")
    return "\n".join(lines)


def summary_rows(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not summary or not summary.get("dimensions"):
        return []
    return [{"dimension": DIMENSION_NAMES[d], "score": v} for d, v in summary["dimensions"].items()]
