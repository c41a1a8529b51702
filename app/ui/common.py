"""What every tab shares: the error guard, the size limits, and the sentence shown for the unexpected."""

from __future__ import annotations

import functools
import html
import inspect
import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from app.errors import CoachError

log = logging.getLogger("coach.ui")

MAX_TEXT = 20_000  # an answer, a focus, a reference or a pasted document
MAX_QUESTION = 2_000
MAX_UPLOAD = "2mb"
UNEXPECTED = "Something went wrong on the server (the details are in its log); try again."


def page_error(err: Exception, where: str, escape: bool = True) -> gr.Error:
    """Our errors in their own words; anything else logged in full and shown as one plain sentence.

    `escape` for the page (the message is shown as HTML); the JSON API sends the words as they are.
    """
    if isinstance(err, gr.Error):
        return err
    if isinstance(err, CoachError):
        return gr.Error(html.escape(str(err)) if escape else str(err))
    log.error("%s failed", where, exc_info=err)
    return gr.Error(UNEXPECTED)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A handler whose failures become a gr.Error on the page; the inputs stay as they were.

    Works for plain handlers and for generators (streaming handlers) alike. The wrapper keeps
    fn's signature (functools.wraps), so Gradio still sees and fills a `request: gr.Request`
    parameter (the logged-in user).
    """
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - the page's edge: logged in full, shown in words
                raise page_error(err, fn.__name__) from None

        return stream

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - the page's edge: logged in full, shown in words
            raise page_error(err, fn.__name__) from None

    return call


def private(event: Any, fn: Callable[..., Any], inputs: Any, outputs: Any, **kwargs: Any) -> Any:
    """Wire a guarded handler to an event, kept out of the public API page."""
    return event(guarded(fn), inputs, outputs, api_visibility="private", **kwargs)


def evidence_panel(prefix: str) -> tuple[gr.Markdown, gr.HighlightedText, gr.HTML]:
    """Beside a scorecard: the reliability note, the answer with its quoted evidence marked, and
    the score chart (ids `{prefix}-reliability`, `{prefix}-marked`, `{prefix}-chart`)."""
    trust = gr.Markdown(elem_id=f"{prefix}-reliability", elem_classes="coach-note")
    marked = gr.HighlightedText(
        label="Your answer, with the quoted evidence marked",
        combine_adjacent=False,
        elem_id=f"{prefix}-marked",
        elem_classes="coach-marked",
    )
    chart = gr.HTML(elem_id=f"{prefix}-chart")
    return trust, marked, chart
