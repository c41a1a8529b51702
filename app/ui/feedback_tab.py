"""The feedback tab: a pasted answer scored against the question on screen, and kept for Progress.

The question graded is always the one in the Question box: picking a bank question writes its text
there, and editing that text drops the pick (so a stale pick can never grade a typed question).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.errors import UserInputError
from app.services import Services
from app.ui import charts, handlers, reliability, views
from app.ui.api import owner_of
from app.ui.common import MAX_QUESTION, MAX_TEXT, evidence_panel, guarded, private
from app.ui.labels import plain
from app.ui.practice_log import record_feedback

MATCHES = 6
FREE_TEXT = "Graded as your own question (matched by meaning to the closest bank question)."


def find_questions(services: Services, query: str) -> list[tuple[str, str]]:
    """(label, id) of the bank questions closest in meaning to the query; full text, never cut."""
    query = (query or "").strip()
    if not query:
        raise UserInputError("Type a few words about the question you want, e.g. 'why machine learning'.")
    ranked = services.store.search_questions(query[:MAX_QUESTION], k=MATCHES)
    found = [services.bank.questions[qid] for qid, _ in ranked if qid in services.bank.questions]
    return [(f"{q.question} ({plain(q.track)})", q.id) for q in found]


def _flat(text: str | None) -> str:
    return " ".join((text or "").split())


def graded_line(services: Services, question_id: str) -> str:
    if not question_id:
        return FREE_TEXT
    return f"Graded against the bank question {views.code(question_id)}."


def build(services: Services) -> None:
    """Lay out the tab and wire its events."""
    report = reliability.load_report()
    gr.Markdown("Paste an answer and get an honest scorecard: every quote is taken from your answer.")
    picked = gr.State("")
    with gr.Row(equal_height=True):
        find = gr.Textbox(
            label="Find a bank question by meaning",
            placeholder="e.g. why machine learning",
            max_length=MAX_QUESTION,
            scale=4,
            elem_id="fb-find",
        )
        find_go = gr.Button("Find", scale=1, min_width=80, elem_id="fb-find-go")
    matches = gr.Radio(
        [], label="Pick one (its text goes into the Question box)", visible=False, elem_id="fb-matches"
    )
    typed = gr.Textbox(
        label="Question", lines=2, max_length=MAX_QUESTION, elem_id="fb-typed",
        placeholder="Type a question, or pick a bank question above",
    )  # fmt: skip
    graded = gr.Markdown(FREE_TEXT, elem_id="fb-graded", elem_classes="coach-note")
    answer = gr.Textbox(
        label="Your answer (Ctrl+Enter gets feedback)", lines=8, max_length=MAX_TEXT, elem_id="fb-answer"
    )
    reference = gr.Textbox(label="Reference answer (optional)", lines=3, max_length=MAX_TEXT)
    go = gr.Button("Get feedback", variant="primary", elem_id="fb-go")
    card_md = gr.Markdown(elem_id="fb-card")
    trust_md, marked, chart = evidence_panel("fb")

    def do_find(query: str) -> Any:
        return gr.Radio(choices=find_questions(services, query), value=None, visible=True)

    def do_pick(question_id: str | None) -> tuple[Any, ...]:
        if not question_id:
            return "", gr.update(), FREE_TEXT
        question = services.bank.get(question_id)
        return question.id, question.question, graded_line(services, question.id)

    def do_type(text: str, qid: str) -> tuple[Any, ...]:
        """Any edit that makes the box differ from the picked question drops the pick."""
        if qid and _flat(text) == _flat(services.bank.get(qid).question):
            return gr.update(), gr.update(), gr.update()
        return "", gr.Radio(value=None), FREE_TEXT

    def do_feedback(qid: str, text: str, ans: str, ref: str, request: gr.Request) -> tuple[Any, ...]:
        if qid and _flat(text) != _flat(services.bank.get(qid).question):
            qid = ""  # the Question box was edited after the pick: grade what is on screen
        card = handlers.feedback(services, qid or None, text, ans, ref)
        record_feedback(services, card, ans, owner_of(request))
        return (
            views.scorecard_markdown(card),
            reliability.reliability_markdown(card, report),
            views.highlights(ans or "", card),
            charts.score_bars(views.score_rows(card)),
        )

    for event in (find.submit, find_go.click):
        private(event, do_find, find, matches)
    private(matches.input, do_pick, matches, [picked, typed, graded])
    typed.change(
        guarded(do_type),
        [typed, picked],
        [picked, matches, graded],
        api_visibility="private",
        show_progress="hidden",
    )
    private(go.click, do_feedback, [picked, typed, answer, reference], [card_md, trust_md, marked, chart])
