"""Handlers of the interview, feedback and progress tabs: plain functions over services."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import UserInputError
from app.interview.graph import InterviewerMessage
from app.interview.plan import InterviewConfig, drills_for, pool_history
from app.scoring.scorecard import Drill, ModelAnswer, Scorecard, SessionSummary, model_answer
from app.services import Services
from app.sessions import transcripts
from app.sessions.db import SessionRow
from app.sessions.service import Step, recent_summaries
from app.ui.labels import ANY
from app.ui.labels import chosen as _opt
from app.ui.practice_log import FEEDBACK_MODE, is_feedback
from app.ui.views import code, esc, model_answer_message

Chat = list[dict[str, Any]]


def chat_message(role: str, text: str) -> dict[str, str]:
    """A chat bubble; candidate and model words alike are escaped: they show as typed, never as markup."""
    return {"role": "user" if role == "candidate" else "assistant", "content": esc(text)}


@dataclass
class InterviewView:
    """Everything the interview tab shows after one step."""

    session_id: str
    chat: Chat
    engine: str
    card: Scorecard | None = None
    summary: SessionSummary | None = None
    done: bool = False
    answer: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)  # the interviewer's words as sent, unescaped (API)


def engine_badge(services: Services, step_messages: list[InterviewerMessage], card: Scorecard | None) -> str:
    """Which engine ran this step, with a notice when a fallback happened."""
    labels = [m.engine for m in step_messages]
    if card is not None and card.fallback_reason:
        labels.append(card.engine_label)
    fallbacks = [label for label in labels if "fallback" in label]
    if fallbacks:
        return f"**Engine:** ⚠️ {esc(fallbacks[0])}: the LLM endpoint failed, the offline engine answered."
    if services.settings.resolved_engine == "llm":
        return f"**Engine:** LLM {code(services.settings.model)}"
    return "**Engine:** offline (built-in, no API key needed)"


def start_interview(
    services: Services,
    track: str,
    difficulty: str,
    questions: float,
    follow_ups: float,
    focus: str = "",
    question_id: str = "",
    owner: str | None = None,
) -> InterviewView:
    config = InterviewConfig(
        track=_opt(track),
        difficulty=_opt(difficulty),
        questions=int(questions),
        follow_ups=int(follow_ups),
        focus=focus or "",
        question_ids=(question_id,) if question_id else (),
    )
    return _started(services, services.interviews().start(config, owner))


def _started(services: Services, step: Step) -> InterviewView:
    chat = [chat_message("interviewer", m.text) for m in step.messages]
    texts = [m.text for m in step.messages]
    return InterviewView(step.session_id, chat, engine_badge(services, step.messages, None), texts=texts)


def reply_chat(services: Services, messages: list[InterviewerMessage]) -> Chat:
    """The interviewer's messages as chat bubbles; a question just finished first gets its model
    answer, collapsed."""
    chat: Chat = []
    for answer in model_answers(services, messages):
        chat.append(model_answer_message(answer))
    return chat + [chat_message("interviewer", m.text) for m in messages]


def model_answers(services: Services, messages: list[InterviewerMessage]) -> list[ModelAnswer]:
    """The model answers of the questions these messages finished (moved on, skipped or ended)."""
    finished = [m.finished for m in messages if m.finished and m.finished in services.bank.questions]
    return [model_answer(services.bank.get(qid)) for qid in finished]


def retry_last(
    services: Services, session_id: str, chat: Chat | None, owner: str | None = None
) -> InterviewView:
    """The retry button: re-ask the last question as a new attempt, compared with the previous."""
    return send_answer(services, session_id, "retry", chat, owner)


def start_practice(
    services: Services, question_id: str, follow_ups: float = 2, owner: str | None = None
) -> InterviewView:
    """A drill button: a one-question practice interview on that question."""
    question_id = (question_id or "").strip()
    if not question_id:
        raise UserInputError("Pick a practice question first.")
    config = InterviewConfig(questions=1, follow_ups=int(follow_ups), question_ids=(question_id,))
    return _started(services, services.interviews().start(config, owner))


def drill_buttons(summary: SessionSummary | dict[str, Any] | None) -> list[tuple[str, str]]:
    """(button label, question id) for each practice question the summary's drills name."""
    typed = SessionSummary.stored(summary)
    return [(f"Practise: {p.title}", p.id) for drill in typed.drills for p in drill.practice] if typed else []


def send_answer(
    services: Services, session_id: str, text: str, chat: Chat | None, owner: str | None = None
) -> InterviewView:
    """The candidate's message in, the interviewer's reply out; the chat keeps both."""
    return list(send_answer_stream(services, session_id, text, chat, owner))[-1]


def send_answer_stream(
    services: Services, session_id: str, text: str, chat: Chat | None, owner: str | None = None
) -> Iterator[InterviewView]:
    """As send_answer, with partial views while the LLM engine streams its words."""
    if not session_id:
        raise UserInputError("Start an interview first.")
    base = [*(chat or []), chat_message("candidate", text)]
    badge = engine_badge(services, [], None)
    partial = ""
    for item in services.interviews().answer_stream(session_id, text, owner=owner):
        if isinstance(item, str):
            partial += item
            yield InterviewView(session_id, [*base, chat_message("interviewer", partial)], badge, answer=text)
            continue
        step: Step = item
        final = base + reply_chat(services, step.messages)
        yield InterviewView(
            session_id,
            final,
            engine_badge(services, step.messages, step.card),
            step.card,
            step.summary,
            step.done,
            answer=text,
        )


def resume_interview(services: Services, session_id: str, owner: str | None = None) -> InterviewView:
    """An unfinished session back in the chat, where it stopped.

    Read from the sessions database alone; the interview graph is built only when a crash left
    the candidate's last message without its reply (the interviewer must answer it now).
    """
    session_id = (session_id or "").strip()
    if not session_id:
        raise UserInputError("Pick a session to resume.")
    found = transcripts.load(services.session_db, session_id, owner)
    if found.pending:
        services.interviews().resume(session_id, owner)
        found = transcripts.load(services.session_db, session_id, owner)
    chat = [chat_message(t.role, t.text) for t in found.turns]
    return InterviewView(
        session_id,
        chat,
        engine_badge(services, [], None),
        summary=SessionSummary.stored(found.session.summary),
        done=found.session.status == "finished",
        texts=[t.text for t in found.turns],
    )


def transcript_files(services: Services, session_id: str, owner: str | None = None) -> tuple[str, str]:
    """Markdown and JSON transcripts written to a temporary folder for download."""
    if not session_id:
        raise UserInputError("Start an interview first.")
    db = services.session_db
    markdown = transcripts.export(db, session_id, "md", owner)  # another user's id: not found
    folder = Path(tempfile.mkdtemp(prefix="coach-transcript-"))
    md = folder / f"interview-{session_id}.md"
    js = folder / f"interview-{session_id}.json"
    md.write_text(markdown, encoding="utf-8")
    js.write_text(transcripts.export(db, session_id, "json", owner), encoding="utf-8")
    return str(md), str(js)


# -- feedback ---------------------------------------------------------------------------------
def question_choices(services: Services) -> list[tuple[str, str]]:
    """(label, id) pairs for the question picker, searchable by typing."""
    return [
        (f"{q.id} — {q.question[:90]}", q.id)
        for q in sorted(services.bank.questions.values(), key=lambda q: (q.track, q.id))
    ]


def feedback(
    services: Services, question_id: str | None, question_text: str, answer: str, reference: str
) -> dict[str, Any]:
    """The scorecard of a pasted answer, as a dict."""
    if not (question_id or (question_text or "").strip()):
        raise UserInputError("Pick a bank question or type one.")
    if not (answer or "").strip():
        raise UserInputError("Paste or type your answer first: there is nothing to give feedback on yet.")
    card = services.scorer().score(
        answer or "",
        question_id=question_id or None,
        question_text=None if question_id else question_text,
        reference=(reference or "").strip() or None,
    )
    return card.model_dump()


# -- progress ---------------------------------------------------------------------------------
def progress_drills(services: Services, rows: list[SessionRow], owner: str | None) -> list[Drill]:
    """Drills pooled over the owner's recent sessions: the weakest dimensions and a design stage
    none reached, avoiding recent questions, near the latest focus, varying as sessions are added."""
    history = pool_history(recent_summaries(services.session_db, owner))
    track = next((row.track for row in rows if row.track), "ml_system_design")
    focus = next((str(row.config.get("focus") or "") for row in rows if row.config.get("focus")), "")
    asked = services.session_db.recent_question_ids(limit_sessions=20, owner=owner)
    seed = rows[0].id if rows else ""
    return drills_for(
        services.bank, services.rubric, history["past"], history["unreached"], track, asked, focus, seed
    )


def progress(services: Services, owner: str | None = None) -> dict[str, Any]:
    """The owner's past sessions, per-dimension trend, weakest dimensions and drills, unfinished sessions."""
    rows = services.session_db.sessions(limit=200, owner=owner)
    table = []
    trend: list[dict[str, Any]] = []
    for row in reversed(rows):
        summary = SessionSummary.stored(row.summary) or SessionSummary(answered=0)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.created_at))
        table.append(
            [
                row.id,
                when,
                FEEDBACK_MODE if is_feedback(row.config) else row.status,
                row.track or ANY,
                summary.answered,
                summary.overall,
            ]
        )
        for dim, value in summary.dimensions.items():
            trend.append({"session": row.id, "when": when, "dimension": dim, "score": value})
    table.reverse()
    drills = [(d.dimension, d.drill, d.questions) for d in progress_drills(services, rows, owner)]
    unfinished = [row.id for row in rows if row.status != "finished"]
    return {"table": table, "trend": trend, "drills": drills, "unfinished": unfinished}
