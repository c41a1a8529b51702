"""API endpoints for gradio_client, pinned by name: /start_interview, /answer, /sessions,
/resume, /transcript, /feedback, /search, /documents, /add_document.

With a login (`coach users`), each call acts for the logged-in user: their sessions only, and any
other id is "not found".

Every argument is checked here, at the edge, so a wrong type or value gets one sentence naming the
argument and what it accepts, never Python's own words.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr

from app.corpus.models import DIFFICULTIES, TRACKS
from app.errors import UserInputError
from app.services import Services
from app.sessions import transcripts
from app.store.vectors import KINDS
from app.ui import bank, documents, handlers
from app.ui.common import MAX_QUESTION, MAX_TEXT, page_error

log = logging.getLogger("coach.api")

MAX_ID = 64
MAX_DOCUMENT_NAME = 80
MAX_DOCUMENT_TEXT = 200_000
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


KINDS_OF_VALUE = {bool: "true/false", list: "a list", dict: "an object"}


def _shown(value: object) -> str:
    """A short, printable rendering of a rejected value for a message (never a Python type name)."""
    if value is None:
        return "nothing"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)[:40]
    if not isinstance(value, str):
        return KINDS_OF_VALUE.get(type(value), "a value of another kind")
    text = "".join(c if c.isprintable() else "?" for c in value)
    return "“" + text[:40] + ("…" if len(text) > 40 else "") + "”"


def text_arg(name: str, value: object, limit: int, required: bool = False) -> str:
    """A text argument: None means empty; anything but text, or too long, is refused."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise UserInputError(f"{name} must be text, not {_shown(value)}")
    if len(value) > limit:
        raise UserInputError(f"{name} is {len(value):,} characters; the limit is {limit:,}")
    if required and not value.strip():
        raise UserInputError(f"{name} is missing: give it a value")
    return value


def whole_arg(name: str, value: object, low: int, high: int) -> int:
    """A whole number within [low, high]; "3" and 3.0 are accepted, "three" and 2.5 are not."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,6}\s*", value)
    ):
        number = int(value)
    if number is None or not low <= number <= high:
        raise UserInputError(f"{name} must be a whole number from {low} to {high}, not {_shown(value)}")
    return number


def choice_arg(name: str, value: object, choices: tuple[str, ...] | list[str]) -> str:
    """One of a fixed list of words; None or empty means "any"."""
    if value is None or value == "":
        return handlers.ANY
    if not isinstance(value, str) or value not in (handlers.ANY, *choices):
        allowed = ", ".join((handlers.ANY, *choices))
        raise UserInputError(f"{name} must be one of: {allowed}; not {_shown(value)}")
    return value


def session_arg(value: object) -> str:
    if not isinstance(value, str) or not SESSION_ID.fullmatch(value.strip()):
        raise UserInputError(f"session_id must be the id that /start_interview returned, not {_shown(value)}")
    return value.strip()


def owner_of(request: gr.Request | None) -> str | None:
    """The logged-in user (None without a login: the single-user local mode)."""
    name = getattr(request, "username", None) if request is not None else None
    return str(name) if name else None


def _call(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001 - the API's edge: logged in full, answered in words
        raise page_error(err, f"API call {getattr(fn, '__name__', fn)}", escape=False) from None


def register_api(services: Services) -> None:
    """Typed endpoints returning JSON; must be called inside the Blocks context."""

    def start_interview(
        track: str = "any",
        difficulty: str = "any",
        questions: int = 3,
        follow_ups: int = 2,
        focus: str = "",
        focus_document: str = "",
        request: gr.Request = None,  # type: ignore[assignment]  # filled in by Gradio
    ) -> dict[str, Any]:
        """Start a mock interview; returns the session id and the first question. focus: a job
        description's text, or focus_document: the name of one of your documents."""

        def run() -> handlers.InterviewView:
            owner = owner_of(request)
            text = text_arg("focus", focus, MAX_TEXT)
            doc = text_arg("focus_document", focus_document, MAX_DOCUMENT_NAME).strip()
            return handlers.start_interview(
                services,
                choice_arg("track", track, TRACKS),
                choice_arg("difficulty", difficulty, DIFFICULTIES),
                whole_arg("questions", questions, 1, 20),
                whole_arg("follow_ups", follow_ups, 0, 5),
                text or documents.document_text(services, doc, owner),
                owner=owner,
            )

        view = _call(run)
        return {"session_id": view.session_id, "messages": view.texts}

    def answer(
        session_id: str,
        text: str,
        request: gr.Request = None,  # type: ignore[assignment]  # filled in by Gradio
    ) -> dict[str, Any]:
        """Answer (or hint / repeat / skip / end); returns the interviewer's reply and the scorecard."""

        def run() -> Any:
            sid = session_arg(session_id)
            return services.interviews().answer(
                sid, text_arg("text", text, MAX_TEXT, required=True), owner=owner_of(request)
            )

        return _step_reply(_call(run))

    def _step_reply(step: Any) -> dict[str, Any]:
        return {
            "session_id": step.session_id,
            "messages": [m.text for m in step.messages],
            "scorecard": step.card.model_dump() if step.card else None,
            "summary": step.summary.model_dump() if step.summary else None,
            "done": step.done,
            "model_answers": [a.model_dump() for a in handlers.model_answers(services, step.messages)],
        }

    def retry(session_id: str, request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """Re-ask the last question of one of your sessions as a new attempt; its scorecard says
        what changed."""

        def run() -> Any:
            return services.interviews().answer(session_arg(session_id), "retry", owner=owner_of(request))

        return _step_reply(_call(run))

    def practice(
        question_id: str,
        follow_ups: int = 2,
        request: gr.Request = None,  # type: ignore[assignment]  # filled in by Gradio
    ) -> dict[str, Any]:
        """Start a one-question practice interview on a bank question (a drill), as your session."""

        def run() -> handlers.InterviewView:
            qid = text_arg("question_id", question_id, MAX_ID, required=True).strip()
            follow = whole_arg("follow_ups", follow_ups, 0, 5)
            return handlers.start_practice(services, qid, follow, owner_of(request))

        view = _call(run)
        return {"session_id": view.session_id, "messages": view.texts}

    def sessions(request: gr.Request = None) -> list[dict[str, Any]]:  # type: ignore[assignment]
        """Your sessions, newest first: id, status, track, answered, overall."""

        def run() -> list[dict[str, Any]]:
            table = handlers.progress(services, owner_of(request))["table"]
            keys = ["session_id", "started", "status", "track", "answered", "overall"]
            return [dict(zip(keys, row, strict=True)) for row in table]

        rows: list[dict[str, Any]] = _call(run)
        return rows

    def resume(session_id: str, request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """One of your unfinished sessions, where it stopped: the transcript so far."""

        def run() -> handlers.InterviewView:
            return handlers.resume_interview(services, session_arg(session_id), owner_of(request))

        view = _call(run)
        return {"session_id": view.session_id, "transcript": view.texts, "done": view.done}

    def transcript(
        session_id: str,
        fmt: str = "json",
        request: gr.Request = None,  # type: ignore[assignment]
    ) -> str:
        """One of your sessions as Markdown (md) or JSON (json)."""

        def run() -> str:
            return transcripts.export(
                services.session_db,
                session_arg(session_id),
                choice_arg("fmt", fmt, ("md", "json")),
                owner_of(request),
            )

        text: str = _call(run)
        return text

    def feedback(
        question_id: str = "", question: str = "", text: str = "", reference: str = ""
    ) -> dict[str, Any]:
        """Scorecard of an answer to a bank question (by id) or a free-text question."""

        def run() -> dict[str, Any]:
            qid = text_arg("question_id", question_id, MAX_ID).strip()
            return handlers.feedback(
                services,
                qid or None,
                text_arg("question", question, MAX_QUESTION),
                text_arg("text", text, MAX_TEXT),
                text_arg("reference", reference, MAX_TEXT),
            )

        card: dict[str, Any] = _call(run)
        return card

    def search(
        query: str,
        k: int = 5,
        track: str = "any",
        kind: str = "any",
        request: gr.Request = None,  # type: ignore[assignment]  # filled in by Gradio
    ) -> list[dict[str, Any]]:
        """Semantic search over the question bank, guides and your documents."""

        def run() -> tuple[list[list[object]], str]:
            return bank.search_bank(
                services,
                text_arg("query", query, bank.MAX_QUERY_CHARS, required=True),
                choice_arg("track", track, TRACKS),
                choice_arg("kind", kind, KINDS),
                whole_arg("k", k, 1, 20),
                owner_of(request),
            )

        rows, _ = _call(run)
        keys = ["rank", "score", "kind", "track", "difficulty", "id", "text", "source"]
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def my_documents(request: gr.Request = None) -> list[str]:  # type: ignore[assignment]
        """The names of your uploaded documents (job descriptions, notes)."""
        names: list[str] = _call(lambda: documents.list_documents(services, owner_of(request)))
        return names

    def add_document(
        name: str,
        text: str,
        request: gr.Request = None,  # type: ignore[assignment]  # filled in by Gradio
    ) -> dict[str, Any]:
        """Add a document (a .md or .txt name and its text); only you see it and can focus on it."""

        def run() -> tuple[str, list[str]]:
            filename = Path(text_arg("name", name, MAX_DOCUMENT_NAME, required=True).strip()).name
            body = text_arg("text", text, MAX_DOCUMENT_TEXT, required=True)
            with tempfile.TemporaryDirectory(prefix="coach-upload-") as folder:
                upload = Path(folder) / (filename or "document.md")
                upload.write_text(body, encoding="utf-8")
                return documents.add_document(services, str(upload), owner_of(request))

        message, names = _call(run)
        return {"message": message, "documents": names}

    gr.api(start_interview, api_name="start_interview")
    gr.api(answer, api_name="answer")
    gr.api(sessions, api_name="sessions")
    gr.api(resume, api_name="resume")
    gr.api(transcript, api_name="transcript")
    gr.api(feedback, api_name="feedback")
    gr.api(search, api_name="search")
    gr.api(retry, api_name="retry")
    gr.api(practice, api_name="practice")
    gr.api(my_documents, api_name="documents")
    gr.api(add_document, api_name="add_document")
