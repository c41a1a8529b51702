"""Builds the Gradio Blocks (`build_app`) apart from serving it (`launch`)."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from app.corpus.models import DIFFICULTIES, TRACKS  # noqa: E402
from app.errors import CoachError  # noqa: E402
from app.services import Services  # noqa: E402
from app.store.vectors import KINDS  # noqa: E402
from app.ui import bank  # noqa: E402

TITLE = "MLE Interview Coach"
MAX_UPLOAD = "2mb"


def _engine_badge(services: Services) -> str:
    engine = services.settings.resolved_engine
    if engine == "offline":
        return "**Engine:** offline (built-in, no API key needed)"
    return (
        f"**Engine:** LLM `{services.settings.model}` (falls back to offline, visibly, on failure)"
    )


def _guarded(fn: Any) -> Any:
    """Turn our errors into a gr.Error the page shows; the inputs stay as they were."""

    def wrapper(*args: Any) -> Any:
        try:
            return fn(*args)
        except CoachError as err:
            raise gr.Error(str(err)) from None

    wrapper.__name__ = fn.__name__
    return wrapper


def _bank_tab(services: Services) -> None:
    gr.Markdown("Search the question bank and guides by meaning, or browse by track.")
    with gr.Row():
        query = gr.Textbox(label="Search", placeholder="e.g. design a feed ranking system", scale=4)
        track = gr.Dropdown([bank.ANY, *TRACKS], value=bank.ANY, label="Track", scale=1)
        kind = gr.Dropdown([bank.ANY, *KINDS], value=bank.ANY, label="Kind", scale=1)
        k = gr.Slider(1, 20, value=8, step=1, label="Results", scale=1)
    search_btn = gr.Button("Search", variant="primary", elem_id="bank-search")
    status = gr.Markdown()
    results = gr.Dataframe(
        headers=bank.RESULT_HEADERS,
        type="array",
        interactive=False,
        wrap=True,
        column_widths=["4%", "7%", "10%", "12%", "8%", "19%", "27%", "13%"],
    )
    with gr.Accordion("Browse by track", open=False):
        with gr.Row():
            b_track = gr.Dropdown([bank.ANY, *TRACKS], value=bank.ANY, label="Track")
            b_diff = gr.Dropdown([bank.ANY, *DIFFICULTIES], value=bank.ANY, label="Difficulty")
        listing = gr.Dataframe(
            headers=["id", "track", "difficulty", "question"],
            type="array",
            interactive=False,
            wrap=True,
        )
    picked = gr.Textbox(
        label="Question id", placeholder="click a row, or type an id", elem_id="bank-pick"
    )
    detail = gr.Markdown(elem_id="bank-detail")

    def do_search(q: str, t: str, kd: str, n: float) -> tuple[list[list[object]], str]:
        return bank.search_bank(services, q, t, kd, n)

    def pick(evt: gr.SelectData) -> str:
        return str((evt.row_value or [""] * 8)[bank.ID_COLUMN])

    def pick_listing(evt: gr.SelectData) -> str:
        return str((evt.row_value or [""])[0])

    search_inputs = [query, track, kind, k]
    search_btn.click(_guarded(do_search), search_inputs, [results, status], api_name="search")
    query.submit(_guarded(do_search), search_inputs, [results, status], api_visibility="private")
    for control in (b_track, b_diff):
        control.change(
            lambda t, d: bank.list_questions(services, t, d),
            [b_track, b_diff],
            listing,
            api_visibility="private",
        )
    results.select(pick, None, picked, api_visibility="private")
    listing.select(pick_listing, None, picked, api_visibility="private")
    picked.change(
        lambda qid: bank.show_question(services, qid), picked, detail, api_visibility="private"
    )


def build_app(services: Services) -> gr.Blocks:
    """The whole app; handlers close over services."""
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(
            f"# {TITLE}\nPractise MLE interviews: question bank, feedback, mock interviews."
        )
        gr.Markdown(_engine_badge(services), elem_id="engine-badge")
        with gr.Tab("Question bank"):
            _bank_tab(services)
    return demo


def launch(demo: gr.Blocks, *, host: str, port: int, auth: tuple[str, str] | None) -> None:
    """Serve on host:port; never a public share link."""
    demo.queue(default_concurrency_limit=8, max_size=256)
    demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        auth=auth,
        max_file_size=MAX_UPLOAD,
        show_error=True,
        footer_links=["api"],
    )
