"""Builds the Gradio Blocks (`build_app`) apart from serving it (`launch`); one module per tab."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from app.services import Services
from app.ui import bank_tab, feedback_tab, interview_tab, progress_tab
from app.ui.api import register_api
from app.ui.common import MAX_UPLOAD
from app.ui.login import ClientAddress

TITLE = "MLE Interview Coach"
STATIC = Path(__file__).parent / "static"


def build_app(services: Services) -> gr.Blocks:
    """The whole app; handlers close over services, per-browser state lives in gr.State."""
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(
            f"# {TITLE}\nPractise MLE interviews: a mock interview with targeted follow-ups, "
            "feedback on a pasted answer, your progress, and the question bank."
        )
        with gr.Tabs() as tabs:
            with gr.Tab("Mock interview", id="interview"):
                interview = interview_tab.build(services)
            with gr.Tab("Feedback", id="feedback"):
                feedback_tab.build(services)
            with gr.Tab("Progress", id="progress") as progress:
                progress_tab.build(services, interview, tabs, progress)
            with gr.Tab("Question bank", id="bank"):
                bank_tab.build(services, interview, tabs)
                bank_tab.documents_panel(services, interview)
        register_api(services)
    return demo


def launch(demo: gr.Blocks, *, host: str, port: int, auth: Callable[[str, str], bool] | None) -> None:
    """Serve on host:port; never a public share link. auth is the login check (cli.login_check:
    the users of the sessions database, or COACH_AUTH's one user, throttled), or None."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the entry point's choice, not an import's
    demo.queue(default_concurrency_limit=8, max_size=256)
    demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        auth=auth,
        app_kwargs={"middleware": [Middleware(ClientAddress)]},
        max_file_size=MAX_UPLOAD,
        show_error=True,
        footer_links=["api"],
        css=(STATIC / "coach.css").read_text(encoding="utf-8"),
        js=(STATIC / "coach.js").read_text(encoding="utf-8"),
    )
