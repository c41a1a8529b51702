"""Turning scorecards and summaries into what the page shows: Markdown, highlights, chart rows."""

from __future__ import annotations

import re
import string
from typing import Any

from app.scoring.scorecard import ModelAnswer, Scorecard, SessionSummary, StageStatus
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


def engine_notice(card: dict[str, Any] | Scorecard) -> str:
    card = typed_card(card)
    if card.fallback_reason:
        return f"⚠️ The LLM endpoint failed ({esc(card.fallback_reason)}); the offline engine scored this."
    return (
        "Scored by the offline engine." if card.engine == "offline" else f"Scored by LLM {code(card.model)}."
    )


def typed_card(card: dict[str, Any] | Scorecard) -> Scorecard:
    """A scorecard as the typed model, whether it came as the model or as stored JSON."""
    return card if isinstance(card, Scorecard) else Scorecard.model_validate(card)


def scorecard_markdown(raw: dict[str, Any] | Scorecard) -> str:
    """A scorecard: overall, dimensions with quotes and tips, points, stages, opening, what is next."""
    card = typed_card(raw)
    similarity = card.match_similarity
    matched = esc(card.matched_by) + (f", similarity {similarity:.2f}" if similarity is not None else "")
    lines = [
        f"### Overall {card.overall}/5",
        f"{esc(card.overall_rule)}",
        f"\n**Question** {code(card.question_id)} ({matched}): {esc(card.question)}",
        f"\n{engine_notice(card)} · rubric {code(card.rubric_version)}",
    ]
    if card.approximate:
        related = ", ".join(code(c.id) for c in card.related_questions)
        lines.append(
            "\n**Approximate:** no bank question is close to this one, so content is judged against "
            + (f"points from {related}." if related else "your reference answer.")
        )
    if card.off_topic:
        other = card.off_topic
        lines.append(
            f"\n**Off topic:** this answer seems to address {code(other.question_id)}: {esc(other.question)}"
        )
    lines += [
        f"\nAlso close: {code(c.id)}: {esc(c.question)} (pick it in the bank list to use it)"
        for c in card.also_close
    ]
    if card.non_answer:
        lines.append(f"\n**Not an answer:** {esc(card.non_answer)}.")
    lines += [f"\n> ⚠️ {esc(flag)}" for flag in card.flags]
    if card.compared:
        lines.append("\n**Compared with your previous attempt**")
        lines += [f"- {esc(line)}" for line in card.compared.lines()]
    for dim in card.dimensions:
        bar = "●" * dim.score + "○" * (5 - dim.score)
        lines.append(f"\n**{esc(dim.name)}: {dim.score}/5** {bar}")
        lines += [f"> “{esc(q)}”" for q in dim.evidence]
        lines.append(f"- Tip: {esc(dim.tip)}")
    for missing in card.not_scored:
        lines.append(f"\n**{esc(missing.name)}: not scored** ({esc(missing.reason)})")
    if card.strengths:
        lines.append("\n**Strengths**")
        lines += [f"- {esc(s.text)}: “{esc(s.evidence)}”" for s in card.strengths]
    if card.covered:
        lines.append("\n**Covered points**")
        lines += [
            f"- {esc(c.point)}" + (f" — “{esc(c.evidence)}”" if c.evidence else "") for c in card.covered
        ]
    if card.missed_points:
        lines.append("\n**Missed points**")
        lines += [f"- {esc(m.point)}" for m in card.missed_points]
    lines += stages_markdown(card.stages)
    lines.append(f"\n**Try opening with:** {esc(card.suggested_opening)}")
    if card.next is not None and card.next.action == "move_on":
        reason = f" ({esc(card.next.reason)})" if card.next.reason else ""
        lines.append(f"\n**Next:** moving on to the next question{reason}")
    else:
        lines.append(f"\n**Next follow-up:** {esc(card.follow_up)}")
    return "\n".join(lines)


STAGE_ICONS = {"covered": "✅", "touched": "◐", "missing": "❌"}


def stages_markdown(stages: list[StageStatus]) -> list[str]:
    """The design-stage map: covered / touched / missing, with the answer's words."""
    if not stages:
        return []
    lines = ["\n**Design stages**"]
    for stage in stages:
        quote = f" — “{esc(stage.quote)}”" if stage.quote and stage.status != "missing" else ""
        lines.append(f"- {STAGE_ICONS[stage.status]} {esc(stage.name)}: {stage.status}{quote}")
    return lines


def model_answer_markdown(answer: ModelAnswer) -> str:
    """A finished question's model answer: summary, outline, business value, red flags."""
    lines = [f"**{esc(answer.summary)}**", ""]
    lines += [f"{i}. {esc(step)}" for i, step in enumerate(answer.outline, 1)]
    lines += ["", f"**Business value:** {esc(answer.business_value)}", "", "**Red flags to avoid**"]
    lines += [f"- {esc(flag)}" for flag in answer.red_flags]
    return "\n".join(lines)


def model_answer_message(answer: ModelAnswer) -> dict[str, Any]:
    """The model answer as a chat message collapsed by default (Gradio shows a message with a
    metadata title as a foldable box; status 'done' keeps it closed)."""
    return {
        "role": "assistant",
        "content": model_answer_markdown(answer),
        "metadata": {"title": f"Model answer: {answer.question_id} (click to open)", "status": "done"},
    }


def highlights(answer: str, raw: dict[str, Any] | Scorecard) -> list[tuple[str, str | None]]:
    """The answer split into segments, quoted evidence labelled with its dimension."""
    spans: list[tuple[int, int, str]] = []
    for dim in typed_card(raw).dimensions:
        for quote in dim.evidence:
            start = answer.find(quote)
            if start >= 0 and not any(s < start + len(quote) and start < e for s, e, _ in spans):
                spans.append((start, start + len(quote), DIMENSION_NAMES.get(dim.id, dim.id)))
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


def score_rows(card: dict[str, Any] | Scorecard) -> list[dict[str, Any]]:
    return [
        {"dimension": DIMENSION_NAMES.get(d.id, d.id), "score": d.score} for d in typed_card(card).dimensions
    ]


def summary_markdown(raw: dict[str, Any] | SessionSummary | None) -> str:
    summary = SessionSummary.model_validate(raw) if isinstance(raw, dict) else raw
    if summary is None or not summary.answered:
        return "No answered question yet: the session scorecard appears when the interview ends."
    lines = [f"### Session scorecard: {summary.overall}/5 over {summary.answered} question(s)"]
    lines += [f"- {DIMENSION_NAMES[d]}: {v}/5" for d, v in summary.dimensions.items()]
    named = [("Best answer", summary.best), ("Weakest answer", summary.weakest)] if summary.weakest else []
    for label, item in named or [("Your answer", summary.best)]:
        if item is None:
            continue
        quote = f" — “{esc(item.quote)}”" if item.quote else ""
        name = esc(item.title) if item.title else code(item.question_id)
        lines.append(f"\n**{label}:** {name} ({item.overall}/5){quote}")
    lines += stages_markdown(summary.stages)
    lines.append("\n**Drills to practise next**")
    for drill in summary.drills:
        practice = "; ".join(esc(p.title) for p in drill.practice) or ", ".join(
            code(q) for q in drill.questions
        )
        name = DIMENSION_NAMES.get(drill.dimension, drill.name or drill.dimension)
        lines.append(f"- **{esc(name)}**: {esc(drill.drill)} Try: {practice}")
    return "\n".join(lines)


def summary_rows(raw: dict[str, Any] | SessionSummary | None) -> list[dict[str, Any]]:
    summary = SessionSummary.model_validate(raw) if isinstance(raw, dict) else raw
    if summary is None or not summary.dimensions:
        return []
    return [{"dimension": DIMENSION_NAMES[d], "score": v} for d, v in summary.dimensions.items()]
