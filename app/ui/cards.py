"""The interview tab's own words: the score line in the chat and the end-of-interview card."""

from __future__ import annotations

from typing import Any

from app.corpus.loader import QuestionBank
from app.errors import NotFoundError
from app.scoring.scorecard import Scorecard, SessionSummary
from app.ui.labels import DIMENSION_NAMES, plain
from app.ui.views import esc, typed_card

Summary = SessionSummary | dict[str, Any] | None

SCORE_LINE_MARK = "Scored"


def score_line(raw: Scorecard | dict[str, Any]) -> str:
    """One compact chat line, as the terminal prints it: overall, then each dimension."""
    card = typed_card(raw)
    dims = ", ".join(f"{DIMENSION_NAMES.get(d.id, d.id)} {d.score}" for d in card.dimensions)
    note = f" (not an answer: {esc(card.non_answer)})" if card.non_answer else ""
    return f"{SCORE_LINE_MARK} {card.overall}/5: {esc(dims)}{note}. Details below, under the chat."


def closing_line(raw: Summary) -> str:
    """The chat's last message when the interview ends; the card below the chat has the details."""
    summary = SessionSummary.stored(raw)
    if summary is None or not summary.answered:
        return "Interview over. No answer was scored this time."
    return (
        f"Interview over: {summary.overall}/5 over {summary.answered} answered question(s). "
        "Your session scorecard and what to practise next are below the chat."
    )


def question_text(bank: QuestionBank, question_id: str) -> str:
    try:
        return bank.get(question_id).question
    except NotFoundError:
        return question_id


def summary_card(raw: Summary, bank: QuestionBank) -> str:
    """The end-of-interview scorecard as a card: headline, a table, best and weakest, what next."""
    summary = SessionSummary.stored(raw)
    if summary is None or not summary.answered:
        return "### Interview over\nNo answer was scored, so there is no session scorecard this time."
    lines = [
        f"### Session scorecard: {summary.overall}/5",
        f"{summary.answered} question(s) answered.",
        "",
        "| Dimension | Average |",
        "|---|---|",
    ]
    lines += [f"| {plain(d)} | {v}/5 |" for d, v in summary.dimensions.items()]
    for label, item in (("Best", summary.best), ("Weakest", summary.weakest)):
        if item is None:
            continue
        quote = f"  \n“{esc(item.quote)}”" if item.quote else ""
        lines.append(
            f"\n**{label} answer ({item.overall}/5):** {esc(question_text(bank, item.question_id))}{quote}"
        )
    if summary.drills:
        lines.append("\n**Practise next**")
        lines += [f"- **{plain(d.dimension)}**: {esc(d.drill)}" for d in summary.drills]
        lines.append("\nStart a one-question practice with a button below.")
    return "\n".join(lines)


def practice_ids(raw: Summary, limit: int) -> list[str]:
    """The practice questions the summary suggests, each once, at most `limit`."""
    summary = SessionSummary.stored(raw)
    ids: list[str] = []
    for drill in summary.drills if summary else []:
        ids += [q for q in drill.questions if q not in ids]
    return ids[:limit]
