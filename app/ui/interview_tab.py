"""The mock-interview tab: the chat, scores after each answer, the end-of-interview card."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.corpus.models import DIFFICULTIES, TRACKS
from app.scoring.scorecard import Scorecard
from app.services import Services
from app.ui import cards, charts, documents, handlers, reliability, views
from app.ui.api import owner_of
from app.ui.common import MAX_TEXT, evidence_panel, private
from app.ui.labels import TRACK_NAMES, choices, plain

NO_CARD = "Answer a question to see its scorecard here."
PRACTICE_BUTTONS = 4
# A soft limit per question, in minutes: what an interviewer would typically allow before moving on.
SOFT_LIMIT_MINUTES = {
    "ml_system_design": 10,
    "ml_theory": 4,
    "data_coding": 8,
    "coding_algorithms": 10,
    "mlops_production": 6,
    "career_narrative": 4,
}
DEFAULT_LIMIT_MINUTES = 6


@dataclass
class InterviewTab:
    """What other tabs need from this one: its outputs and how to fill them."""

    outputs: list[Any]
    render: Callable[..., tuple[Any, ...]]
    practise: Callable[[str, str | None], tuple[Any, ...]]
    focus_doc: gr.Dropdown


def with_score_lines(chat: handlers.Chat, card: Scorecard | dict[str, Any] | None) -> handlers.Chat:
    """The chat with the answer's score line right after the candidate's last message."""
    if not card:
        return chat
    last = max((i for i, bubble in enumerate(chat) if bubble["role"] == "user"), default=len(chat) - 1)
    line = {"role": "assistant", "content": cards.score_line(card)}
    return [*chat[: last + 1], line, *chat[last + 1 :]]


def resumed_chat(services: Services, session_id: str) -> handlers.Chat:
    """A stored transcript as the chat showed it, each scored answer followed by its score line."""
    db = services.session_db
    scored = db.scorecards_by_turn(session_id)
    chat: handlers.Chat = []
    for turn in db.turns(session_id):
        chat.append(handlers.chat_message(turn.role, turn.text))
        if turn.id in scored:
            chat.append({"role": "assistant", "content": cards.score_line(scored[turn.id])})
    return chat


def timer_text(started: float | None, track: str | None) -> str:
    """Elapsed time on this question against the track's soft limit."""
    if not started:
        return "Timer: it starts with the first question."
    elapsed = int(time.time() - started)
    limit = SOFT_LIMIT_MINUTES.get(track or "", DEFAULT_LIMIT_MINUTES)
    name = TRACK_NAMES.get(track or "", "this track")
    over = " (over the soft limit: wrap up with a summary)" if elapsed > limit * 60 else ""
    clock = f"{elapsed // 60}:{elapsed % 60:02d}"
    return f"Timer: {clock} on this question; about {limit}:00 is typical for {name}{over}."


def build(services: Services) -> InterviewTab:
    """Lay out the tab and wire its events; returns what the other tabs use."""
    report = reliability.load_report()
    session = gr.State("")
    started = gr.State(None)
    with gr.Row(elem_classes="coach-settings"):
        track = gr.Dropdown(choices(TRACKS), value="ml_system_design", label="Track", min_width=220)
        difficulty = gr.Dropdown(choices(DIFFICULTIES), value="any", label="Difficulty", min_width=120)
        questions = gr.Slider(1, 10, value=3, step=1, label="Questions", min_width=150)
        follow_ups = gr.Slider(0, 4, value=2, step=1, label="Follow-ups per question", min_width=150)
    with gr.Accordion("Focus on a job description (optional)", open=False) as focus_panel:
        # the choices are filled per user when the panel opens: document names are private
        focus_doc = gr.Dropdown([], label="One of your documents", value=None, elem_id="focus-doc")
        focus = gr.Textbox(label="…or paste it here", lines=4, max_length=MAX_TEXT)
    with gr.Row(elem_classes="coach-actions"):
        start = gr.Button("Start interview", variant="primary", elem_id="start-interview")
        timer_on = gr.Checkbox(False, label="Show a timer per question", elem_id="timer-on")
    badge = gr.Markdown(handlers.engine_badge(services, [], None), elem_id="interview-engine")
    chat = gr.Chatbot(label="Interview", height=420, elem_id="interview-chat", sanitize_html=True)
    timer_md = gr.Markdown(visible=False, elem_id="answer-timer")
    ticker = gr.Timer(1.0, active=False)
    answer = gr.Textbox(
        label="Your answer (Ctrl+Enter or Cmd+Enter sends)",
        lines=5,
        max_length=MAX_TEXT,
        elem_id="answer-box",
        placeholder="Lead with the high-level idea, then the details…",
    )
    with gr.Row(elem_classes="coach-actions"):
        send = gr.Button("Send answer", variant="primary", elem_id="send-answer", min_width=120)
        commands = {
            name: gr.Button(name.title(), elem_id=f"cmd-{name}", min_width=70)
            for name in ("hint", "repeat", "retry", "skip", "end")
        }
    with gr.Row(visible=False, elem_id="end-confirm", elem_classes="coach-actions") as confirm_row:
        gr.Markdown("**End the interview now?** Your answers so far are scored; the rest are not asked.")
        end_yes = gr.Button("Yes, end it", variant="stop", elem_id="end-yes", min_width=100)
        end_no = gr.Button("Keep going", elem_id="end-no", min_width=100)
    with gr.Accordion("Feedback on your last answer", open=True, elem_id="last-feedback"):
        card_md = gr.Markdown(NO_CARD, elem_id="card-md")
        trust_md, marked, card_chart = evidence_panel("card")
    final_md = gr.Markdown(elem_id="final-scorecard", elem_classes="coach-card")
    final_chart = gr.HTML(elem_id="final-chart")
    practice_ids = gr.State([])
    with gr.Row(elem_classes="coach-actions"):
        practice = [
            gr.Button(visible=False, elem_id=f"practise-{i}", size="sm", min_width=200)
            for i in range(PRACTICE_BUTTONS)
        ]
    with gr.Accordion("Download the transcript", open=False), gr.Row():
        export_btn = gr.Button("Prepare transcript downloads", elem_id="export")
        md_file = gr.File(label="Transcript (Markdown)", interactive=False, height=90)
        json_file = gr.File(label="Transcript (JSON)", interactive=False, height=90)

    outputs = [
        session, chat, badge, card_md, trust_md, marked, card_chart,
        final_md, final_chart, practice_ids, *practice, answer, started,
    ]  # fmt: skip

    def render(view: handlers.InterviewView, fresh: bool = False) -> tuple[Any, ...]:
        """The outputs after a step; `fresh` (a start or a resume) clears what the last session left."""
        keep = gr.update()
        card: tuple[Any, ...] = (keep,) * 4
        if view.card:
            card = (
                views.scorecard_markdown(view.card),
                reliability.reliability_markdown(view.card, report),
                views.highlights(view.answer, view.card),
                charts.score_bars(views.score_rows(view.card)),
            )
        elif fresh:
            card = (NO_CARD, "", [], "")
        final: tuple[Any, ...] = (keep,) * (3 + PRACTICE_BUTTONS)
        if view.done:
            ids = cards.practice_ids(view.summary, PRACTICE_BUTTONS)
            buttons = [
                gr.update(
                    visible=i < len(ids),
                    value=f"Practise: {cards.question_text(services.bank, ids[i])}" if i < len(ids) else "",
                )
                for i in range(PRACTICE_BUTTONS)
            ]
            final = (
                cards.summary_card(view.summary, services.bank),
                charts.score_bars(views.summary_rows(view.summary), "Averages per dimension"),
                ids,
                *buttons,
            )
        elif fresh:
            final = ("", "", [], *[gr.update(visible=False)] * PRACTICE_BUTTONS)
        timer = time.time() if (fresh or view.card) and not view.done else keep
        chat_shown = with_score_lines(view.chat, view.card)
        if view.done and chat_shown:  # the interviewer's closing words point to the card below
            closing = {"role": "assistant", "content": cards.closing_line(view.summary)}
            chat_shown = [*chat_shown[:-1], closing]
        return (view.session_id, chat_shown, view.engine, *card, *final, "", timer)

    def do_start(
        t: str, d: str, q: float, f: float, doc: str | None, text: str, request: gr.Request
    ) -> tuple[Any, ...]:
        focus_text = text or documents.document_text(services, doc, owner_of(request))
        view = handlers.start_interview(services, t, d, q, f, focus_text, owner=owner_of(request))
        return render(view, fresh=True)

    def practise(question_id: str, owner: str | None = None) -> tuple[Any, ...]:
        """A one-question interview on a bank question, with follow-ups."""
        question = services.bank.get(question_id)
        view = handlers.start_interview(
            services, question.track, question.difficulty, 1, 2, question_id=question.id, owner=owner
        )
        return render(view, fresh=True)

    def do_send(sid: str, text: str, history: Any, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        for view in handlers.send_answer_stream(services, sid, text, history, owner_of(request)):
            yield render(view)

    def do_practice_button(i: int) -> Callable[..., tuple[Any, ...]]:
        def run(ids: list[str], request: gr.Request) -> tuple[Any, ...]:
            return practise(ids[i], owner_of(request))

        return run

    def do_export(sid: str, request: gr.Request) -> tuple[str, str]:
        return handlers.transcript_files(services, sid, owner_of(request))

    start_inputs = [track, difficulty, questions, follow_ups, focus_doc, focus]
    private(start.click, do_start, start_inputs, outputs)
    for event in (send.click, answer.submit):
        private(event, do_send, [session, answer, chat], outputs)
    for name in ("hint", "repeat", "retry", "skip"):  # retry: the last question again, compared
        private(commands[name].click, _command(do_send, name), [session, chat], outputs)
    commands["end"].click(lambda: gr.Row(visible=True), None, confirm_row, api_visibility="private")
    end_no.click(lambda: gr.Row(visible=False), None, confirm_row, api_visibility="private")
    private(end_yes.click, _command(do_send, "end"), [session, chat], outputs).then(
        lambda: gr.Row(visible=False), None, confirm_row, api_visibility="private"
    )
    for i, button in enumerate(practice):
        private(button.click, do_practice_button(i), practice_ids, outputs)
    timer_on.change(
        lambda on: (gr.Timer(active=on), gr.Markdown(visible=on)), timer_on, [ticker, timer_md],
        api_visibility="private",
    )  # fmt: skip
    ticker.tick(timer_text, [started, track], timer_md, api_visibility="private", show_progress="hidden")
    private(export_btn.click, do_export, session, [md_file, json_file])
    private(focus_panel.expand, _my_documents(services), None, focus_doc)
    return InterviewTab(outputs, render, practise, focus_doc)


def _my_documents(services: Services) -> Callable[[gr.Request], Any]:
    """The focus picker's choices: the logged-in user's documents only."""

    def run(request: gr.Request) -> Any:
        return gr.update(choices=documents.list_documents(services, owner_of(request)))

    return run


def _command(do_send: Callable[..., Iterator[Any]], name: str) -> Callable[..., Iterator[Any]]:
    """A command button's handler: the command word sent as the message."""

    def run(sid: str, history: Any, request: gr.Request) -> Iterator[Any]:
        yield from do_send(sid, name, history, request)

    run.__name__ = f"command_{name}"
    return run


__all__ = ["InterviewTab", "build", "plain"]
