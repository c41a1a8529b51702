"""Builds the Gradio Blocks (`build_app`) apart from serving it (`launch`); one module per tab."""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
import sys
import threading
import time
import typing
from collections.abc import Callable
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.services import Services
from app.ui import bank_tab, feedback_tab, interview_tab, progress_tab, session_state
from app.ui.api import register_api
from app.ui.common import MAX_UPLOAD
from app.ui.login import ClientAddress

TITLE = "MLE Interview Coach"
STATIC = Path(__file__).parent / "static"
# Says whether the warm-up is done: 503 {"ready": false} while it runs, then 200 {"ready": true}.
# The page works before that; a request made earlier just loads what it needs itself.
READY_PATH = "/coach/ready"


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


class Readiness:
    """The warm-up, run in a background thread once the server listens, and the route reporting it."""

    def __init__(self, warm_up: Callable[[], None] | None) -> None:
        self._warm_up = warm_up
        self.done = threading.Event()

    def route(self) -> Route:
        async def ready(_: Request) -> JSONResponse:
            done = self.done.is_set()
            return JSONResponse({"ready": done}, status_code=200 if done else 503)

        return Route(READY_PATH, ready, methods=["GET"])

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="coach-warm-up", daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            if self._warm_up is not None:
                self._warm_up()
        except Exception as err:  # a failed warm-up only makes the first request slower
            logging.getLogger("coach").warning("warm-up skipped: %s", err)
        self.done.set()
        logging.getLogger("coach").info("ready %.1f s after listening", time.perf_counter() - started)


def _skip_unused_gradio_bookkeeping() -> None:
    """Work Gradio does on every event for features this app does not use (measured under the
    50-user load with py-spy; the operator's own environment values win):
    - the monitoring summary: a pandas table of the last 10,000 events rebuilt after each event
      (1.9 ms at 300 events, 12 ms once a server has seen 10,000), read only by the monitoring
      dashboard, which is off. Computed at most every 100,000 events over the last 1,000.
    - `import matplotlib` tried twice per event to switch plot backends: without matplotlib
      installed, each failed import searches sys.path again. A None in sys.modules makes the
      import fail at once (the documented way to mark a module absent)."""
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100000")
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # type: ignore[assignment]


def resolve_annotations(demo: gr.Blocks) -> int:
    """Give every handler its annotations as types, not strings; returns how many changed.

    Gradio reads a handler's type hints on every call (to find a gr.Request parameter); under
    `from __future__ import annotations` each read evaluated every annotation string again, in
    the server's event loop (py-spy: ~5% of the interpreter's time in the 50-user load)."""
    changed = 0
    for block_fn in demo.fns.values():
        fn = getattr(block_fn.fn, "__func__", block_fn.fn)
        notes = getattr(fn, "__annotations__", None)
        if not inspect.isfunction(fn) or not notes or not any(isinstance(v, str) for v in notes.values()):
            continue
        try:
            fn.__annotations__ = typing.get_type_hints(fn)
        except (NameError, TypeError):  # a name only the handler's enclosing scope knows: left as is
            continue
        changed += 1
    return changed


def handlers_at_once(engine: str) -> int:
    """How many requests the queue runs at once. The offline engine's work holds the interpreter
    lock, so threads beyond the cores only take turns and thrash (50 users, no think time, on 2
    cores: p95 0.92-0.99 s with 2, 1.14-1.32 s with 8, alternating runs); a model server's
    answers are waited for, not computed here, so the LLM engine keeps many in flight."""
    if engine == "offline":
        return max(2, min(4, os.cpu_count() or 2))
    return 16


def launch(
    demo: gr.Blocks,
    *,
    host: str,
    port: int,
    auth: Callable[[str, str], bool] | None,
    warm_up: Callable[[], None] | None = None,
    concurrency: int = 8,
) -> None:
    """Serve on host:port; never a public share link. auth is the login check (cli.login_check:
    the users of the sessions database, or COACH_AUTH's one user, throttled), or None.

    The page is served first; warm_up (loading the embedding model, the store and the interview
    graph) then runs in a background thread, and READY_PATH says when it is done."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the entry point's choice, not an import's
    _skip_unused_gradio_bookkeeping()
    readiness = Readiness(warm_up)
    session_state.install(demo)  # each new session builds block configs on demand
    resolve_annotations(demo)
    # Queue positions are sent to waiting clients every 2 s, not to all of them at each job start
    # (with 50 waiting that was ~2,500 messages per wave).
    demo.queue(default_concurrency_limit=concurrency, max_size=256, status_update_rate=2.0)
    demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        auth=auth,
        app_kwargs={"middleware": [Middleware(ClientAddress)], "routes": [readiness.route()]},
        max_file_size=MAX_UPLOAD,
        show_error=True,
        footer_links=["api"],
        css=(STATIC / "coach.css").read_text(encoding="utf-8"),
        js=(STATIC / "coach.js").read_text(encoding="utf-8"),
        prevent_thread_lock=True,
    )
    readiness.start()
    demo.block_thread()
