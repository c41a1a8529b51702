"""Start-up (issue 16 item 15): `coach serve` answers the first page before its warm-up (embedding
model, store, interview graph) is done; READY_PATH says when the warm-up has finished."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import gradio as gr
import pytest
from live_server import free_port, is_ready

from app.ui.app import READY_PATH, launch


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:  # loopback only
            return int(reply.status), reply.read().decode()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read().decode()


class Served:
    """`launch` in a thread with a warm-up that waits until the test lets it finish."""

    def __init__(self, fail: bool = False) -> None:
        self.release = threading.Event()
        self.fail = fail
        with gr.Blocks() as self.demo:
            gr.Markdown("a page")
        self.url = f"http://127.0.0.1:{free_port()}"

    def warm_up(self) -> None:
        self.release.wait(60)
        if self.fail:
            raise RuntimeError("the embedding model could not load")

    def __enter__(self) -> Served:
        port = int(self.url.rsplit(":", 1)[1])
        args = {"host": "127.0.0.1", "port": port, "auth": None, "warm_up": self.warm_up}
        threading.Thread(target=launch, args=(self.demo,), kwargs=args, daemon=True).start()
        deadline = time.monotonic() + 60
        while _get_quiet(self.url + "/") != 200:
            assert time.monotonic() < deadline, "the page never answered"
            time.sleep(0.1)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.demo.close()


def _get_quiet(url: str) -> int:
    try:
        return _get(url)[0]
    except OSError:
        return 0


def _wait_ready(url: str, timeout_s: float = 30) -> tuple[int, str]:
    deadline = time.monotonic() + timeout_s
    while (reply := _get(url + READY_PATH))[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    return reply


@pytest.mark.parametrize("fail", [False, True], ids=["warm-up-ok", "warm-up-fails"])
def test_the_page_is_served_while_the_warm_up_still_runs(fail: bool) -> None:
    with Served(fail=fail) as served:
        status, body = _get(served.url + "/")
        assert status == 200 and "<html" in body.lower()
        # the warm-up is still held: the page answered without it, and readiness says so
        status, body = _get(served.url + READY_PATH)
        assert (status, json.loads(body)) == (503, {"ready": False})
        served.release.set()
        status, body = _wait_ready(served.url)
        # a failed warm-up is logged and the app is ready all the same (requests load what they need)
        assert (status, json.loads(body)) == (200, {"ready": True})


def test_coach_serve_has_the_readiness_route_and_answers(corpus_server: str) -> None:
    """The real `coach serve` (shared, started by conftest, which waited on READY_PATH)."""
    from gradio_client import Client

    assert _get(corpus_server)[0] == 200
    status, body = _get(corpus_server.rstrip("/") + READY_PATH)
    assert (status, json.loads(body)) == (200, {"ready": True}) and is_ready(corpus_server)
    started = Client(corpus_server, verbose=False).predict(
        "ml_system_design", "any", 1, 0, "", api_name="/start_interview"
    )
    assert started["messages"][0].startswith("Question 1 of 1")


def test_unused_gradio_bookkeeping_is_skipped() -> None:
    """Gradio rebuilt a pandas summary of the last 10,000 events after every event (12 ms each on a
    long-running server) for a monitoring page that is off, and retried `import matplotlib` twice
    per event."""
    import importlib.util
    import sys

    with Served() as served:
        queue = served.demo._queue
        assert queue.default_concurrency_limit == 8
        assert queue.ANAYLTICS_CACHE_FREQUENCY >= 100_000
        assert queue.ANALYTICS_MAX_EVENTS <= 1000
        if importlib.util.find_spec("matplotlib") is None:
            assert sys.modules.get("matplotlib", "missing") is None


def test_the_queue_runs_as_many_requests_at_once_as_the_engine_can_use() -> None:
    """Offline scoring holds the interpreter lock: more threads than cores only thrash (p95 of
    the 50-user load 0.92-0.99 s with 2, 1.14-1.32 s with 8); LLM calls are waited on."""
    from app.ui.app import handlers_at_once

    assert 2 <= handlers_at_once("offline") <= 4
    assert handlers_at_once("llm") >= 8


def test_handler_annotations_are_types_once_served() -> None:
    """Gradio reads each handler's type hints per call; strings (postponed annotations) were
    evaluated again on every call in the server's event loop."""
    from app.ui.app import resolve_annotations

    def answer(session_id: str, request: gr.Request = None) -> dict[str, int]:  # type: ignore[assignment]
        return {}

    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(answer, inputs=[box], outputs=[box])
    assert isinstance(answer.__annotations__["request"], str)  # this module postpones annotations
    assert resolve_annotations(demo) == 1
    assert answer.__annotations__["request"] is gr.Request
    assert resolve_annotations(demo) == 0
