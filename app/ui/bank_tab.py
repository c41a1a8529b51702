"""The question-bank tab: search by meaning, browse by track, read a question, practise it."""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.corpus.models import DIFFICULTIES, TRACKS
from app.services import Services
from app.store.vectors import KINDS
from app.ui import bank, documents, views
from app.ui.api import owner_of
from app.ui.common import private
from app.ui.interview_tab import InterviewTab
from app.ui.labels import ANY, choices, plain

PLAIN_COLUMNS = (2, 3, 4)  # kind, track, difficulty in the results table


SHOWN_HEADERS = bank.RESULT_HEADERS[:-1]  # the source file's path stays in the API, off the page


def _search_rows(rows: list[list[object]]) -> list[list[object]]:
    return [[plain(v) if i in PLAIN_COLUMNS else v for i, v in enumerate(row[:-1])] for row in rows]


def _listing_rows(rows: list[list[object]]) -> list[list[object]]:
    return [[qid, plain(track), plain(diff), text] for qid, track, diff, text in rows]


def build(services: Services, interview: InterviewTab, tabs: gr.Tabs) -> None:
    """Lay out the tab and wire its events."""
    gr.Markdown("Search the question bank and guides by meaning, or browse by track.")
    with gr.Row():
        query = gr.Textbox(
            label="Search", placeholder="e.g. design a feed ranking system", scale=4, min_width=200,
            elem_id="bank-query",
        )  # fmt: skip
        track = gr.Dropdown(choices(TRACKS), value=ANY, label="Track", scale=1, min_width=140)
        kind = gr.Dropdown(choices(KINDS), value=ANY, label="Kind", scale=1, min_width=120)
        k = gr.Slider(1, 20, value=8, step=1, label="Results", scale=1, min_width=140)
    search_btn = gr.Button("Search", variant="primary", elem_id="bank-search")
    status = gr.Markdown()
    results = gr.Dataframe(
        headers=SHOWN_HEADERS, type="array", interactive=False, wrap=True, elem_id="bank-results",
        column_widths=["5%", "8%", "12%", "14%", "10%", "19%", "32%"],
    )  # fmt: skip
    with gr.Accordion("Browse by track", open=False):
        with gr.Row():
            b_track = gr.Dropdown(choices(TRACKS), value=ANY, label="Track", min_width=140)
            b_diff = gr.Dropdown(choices(DIFFICULTIES), value=ANY, label="Difficulty", min_width=120)
        listing = gr.Dataframe(
            headers=["id", "track", "difficulty", "question"], type="array", interactive=False, wrap=True,
            elem_id="bank-listing",
        )  # fmt: skip
    picked = gr.Textbox(label="Question id", placeholder="click a row, or type an id", elem_id="bank-pick")
    practise = gr.Button("Practise this question", variant="primary", visible=False, elem_id="bank-practise")
    detail = gr.Markdown(elem_id="bank-detail")

    def do_search(q: str, t: str, kd: str, n: float, request: gr.Request) -> tuple[list[list[object]], str]:
        rows, note = bank.search_bank(services, q, t, kd, n, owner_of(request))
        return _search_rows(rows), note

    def pick(evt: gr.SelectData) -> str:
        return str((evt.row_value or [""] * 8)[bank.ID_COLUMN])

    def pick_listing(evt: gr.SelectData) -> str:
        return str((evt.row_value or [""])[0])

    def show(qid: str) -> tuple[str, Any]:
        known = (qid or "").strip() in services.bank.questions
        return bank.show_question(services, qid), gr.Button(visible=known)

    def do_practise(qid: str, request: gr.Request) -> tuple[Any, ...]:
        practice = interview.practise((qid or "").strip(), owner_of(request))
        return (*practice, gr.Tabs(selected="interview"))

    inputs = [query, track, kind, k]
    for event in (search_btn.click, query.submit):
        private(event, do_search, inputs, [results, status])
    for control in (b_track, b_diff):
        private(
            control.change,
            lambda t, d: _listing_rows(bank.list_questions(services, t, d)),
            [b_track, b_diff],
            listing,
        )
    results.select(pick, None, picked, api_visibility="private")
    listing.select(pick_listing, None, picked, api_visibility="private")
    private(picked.change, show, picked, [detail, practise])
    private(practise.click, do_practise, picked, [*interview.outputs, tabs])


def documents_panel(services: Services, interview: InterviewTab) -> None:
    """Upload a job description or notes; an interview can then focus on it."""
    with gr.Accordion("Your documents (job descriptions, notes)", open=False) as panel:
        upload = gr.File(
            label="Add a .md or .txt file", file_types=[".md", ".txt"], type="filepath", elem_id="doc-upload"
        )
        status = gr.Markdown()
        listing = gr.Markdown(elem_id="my-documents")  # filled per user when opened: names are private

    def do_upload(path: str | None, request: gr.Request) -> tuple[Any, ...]:
        message, names = documents.add_document(services, path, owner_of(request))
        return views.esc(message), _names(names), gr.update(choices=names)

    def do_list(request: gr.Request) -> str:
        return _names(documents.list_documents(services, owner_of(request)))

    private(upload.upload, do_upload, upload, [status, listing, interview.focus_doc])
    private(panel.expand, do_list, None, listing)


def _names(names: list[str]) -> str:
    if not names:
        return "No documents yet: add a job description or your notes to search them with the bank."
    return "\n".join(f"- {views.esc(n)}" for n in names)
