"""API endpoints for gradio_client, pinned by name: /start_interview, /answer, /feedback, /search."""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.errors import CoachError
from app.services import Services
from app.ui import handlers


def _call(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except CoachError as err:
        raise gr.Error(str(err)) from None


def register_api(services: Services) -> None:
    """Typed endpoints returning JSON; must be called inside the Blocks context."""

    def start_interview(
        track: str = "any",
        difficulty: str = "any",
        questions: int = 3,
        follow_ups: int = 2,
        focus: str = "",
    ) -> dict[str, Any]:
        """Start a mock interview; returns the session id and the first question."""
        view = _call(handlers.start_interview, services, track, difficulty, questions, follow_ups, focus)
        return {"session_id": view.session_id, "messages": view.texts}

    def answer(session_id: str, text: str) -> dict[str, Any]:
        """Answer (or hint / repeat / skip / end); returns the interviewer's reply and the scorecard."""
        step = _call(services.interviews().answer, session_id, text)
        return {
            "session_id": step.session_id,
            "messages": [m["text"] for m in step.messages],
            "scorecard": step.card,
            "summary": step.summary,
            "done": step.done,
        }

    def feedback(
        question_id: str = "", question: str = "", text: str = "", reference: str = ""
    ) -> dict[str, Any]:
        """Scorecard of an answer to a bank question (by id) or a free-text question."""
        card: dict[str, Any] = _call(
            handlers.feedback, services, question_id or None, question, text, reference
        )
        return card

    def search(query: str, k: int = 5, track: str = "any", kind: str = "any") -> list[dict[str, Any]]:
        """Semantic search over the question bank, guides and your documents."""
        from app.ui import bank

        rows, _ = _call(bank.search_bank, services, query, track, kind, k)
        keys = ["rank", "score", "kind", "track", "difficulty", "id", "text", "source"]
        return [dict(zip(keys, row, strict=True)) for row in rows]

    gr.api(start_interview, api_name="start_interview")
    gr.api(answer, api_name="answer")
    gr.api(feedback, api_name="feedback")
    gr.api(search, api_name="search")
