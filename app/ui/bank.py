"""Question-bank tab handlers: plain functions over services, tested without a browser."""

from __future__ import annotations

import html

from app.corpus.models import Question
from app.errors import NotFoundError, UserInputError
from app.services import Services
from app.ui.labels import chosen as _clean
from app.ui.labels import plain
from app.ui.views import code, esc

RESULT_HEADERS = ["#", "score", "kind", "track", "difficulty", "id", "text", "source"]
ID_COLUMN = 5
MAX_QUERY_CHARS = 500


def _snippet(text: object, limit: int = 140) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"  # whole words


def search_bank(
    services: Services, query: str, track: str, kind: str, k: float, owner: str | None = None
) -> tuple[list[list[object]], str]:
    """Rows for the results table and a one-line status; documents: the owner's own only."""
    query = (query or "").strip()
    if not query:
        raise UserInputError("Type what you want to practise, e.g. 'design a feed ranking system'.")
    if len(query) > MAX_QUERY_CHARS:
        raise UserInputError(f"The query is over {MAX_QUERY_CHARS} characters; shorten it.")
    hits = services.store.search(query, k=int(k), track=_clean(track), kind=_clean(kind), owner=owner)
    rows: list[list[object]] = [
        [
            rank,
            round(hit.score, 3),
            hit.metadata.get("kind", ""),
            hit.metadata.get("track", ""),
            hit.metadata.get("difficulty", ""),
            hit.metadata.get("question_id") or hit.metadata.get("title", ""),
            _snippet(hit.metadata.get("title") or hit.text),
            hit.source,
        ]
        for rank, hit in enumerate(hits, 1)
    ]
    status = f"{len(rows)} results for “{esc(query[:80])}”" if rows else "No results."
    return rows, status


def list_questions(services: Services, track: str, difficulty: str) -> list[list[object]]:
    """Every bank question of a track and difficulty, for browsing."""
    return [
        [q.id, q.track, q.difficulty, q.question]
        for q in services.bank.questions.values()
        if (_clean(track) in (None, q.track)) and (_clean(difficulty) in (None, q.difficulty))
    ]


def render_question(question: Question) -> str:
    """A question and its guidance as Markdown (corpus text only, escaped)."""
    esc = html.escape
    lines = [
        f"### {esc(question.question)}",
        f"`{question.id}` · {plain(question.track)} · {plain(question.difficulty)}",
        "",
        f"**Open with:** {esc(question.strong_answer.summary)}",
        "",
        "**Talking points** (and the follow-up when one is missed)",
    ]
    lines += [f"- {esc(tp.point)}  \n  *{esc(tp.follow_up)}*" for tp in question.talking_points]
    lines += ["", "**Red flags**"] + [f"- {esc(flag)}" for flag in question.red_flags]
    lines += ["", "**Strong answer outline**"]
    lines += [f"1. {esc(step)}" for step in question.strong_answer.outline]
    lines += ["", f"**Business value:** {esc(question.strong_answer.business_value)}"]
    if question.complexity:
        lines += ["", f"**Complexity:** {esc(question.complexity)}"]
    if question.sources:
        lines += ["", "Sources: " + ", ".join(f"`{s}`" for s in question.sources)]
    return "\n".join(lines)


def show_question(services: Services, question_id: str) -> str:
    """Markdown for the question id picked in a table (a clear message for an unknown id)."""
    question_id = (question_id or "").strip()
    if not question_id:
        return "Pick a question in a table to see its guidance."
    try:
        return render_question(services.bank.get(question_id))
    except NotFoundError:
        return f"{code(question_id)} is not a bank question (it may be a guide or a document)."
