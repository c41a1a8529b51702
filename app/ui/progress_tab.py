"""The progress tab: past sessions and feedback, the trend per dimension, drills, and resuming."""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.services import Services
from app.ui import charts, handlers, views
from app.ui.api import owner_of
from app.ui.common import private
from app.ui.interview_tab import InterviewTab, resumed_chat
from app.ui.labels import plain

HEADERS = ["started", "status", "track", "answered", "overall", "session"]
EMPTY = "No sessions yet: finish an interview or get feedback on an answer to see trends here."


def _table(rows: list[list[Any]]) -> list[list[Any]]:
    """Session rows with plain words for the status and the track."""
    return [[r[1], plain(r[2]), plain(r[3]), r[4], r[5], r[0]] for r in rows]


def _drills(data: dict[str, Any], services: Services) -> str:
    lines = [
        f"- **{plain(d)}**: {views.esc(text)} Practise with: "
        + " or ".join(f"“{views.esc(services.bank.get(q).question)}”" for q in questions)
        for d, text, questions in data["drills"]
    ]
    return ("**Weakest dimensions and drills**\n" + "\n".join(lines)) if lines else EMPTY


def _unfinished(data: dict[str, Any], services: Services) -> list[tuple[str, str]]:
    """(label, id) of each unfinished interview: when, which track, how many answers so far."""
    rows = {r[0]: r for r in data["table"]}
    return [
        (f"{rows[sid][1]} · {plain(rows[sid][3])} · {len(services.session_db.scorecards(sid))} answered", sid)
        for sid in data["unfinished"]
        if sid in rows
    ]


def build(services: Services, interview: InterviewTab, tabs: gr.Tabs, tab: gr.Tab) -> None:
    """Lay out the tab and wire its events; it refreshes itself whenever it is opened."""
    refresh = gr.Button("Refresh", elem_id="progress-refresh", size="sm")
    table = gr.Dataframe(
        headers=HEADERS, type="array", interactive=False, wrap=True, elem_id="progress-table",
    )  # fmt: skip
    trend = gr.HTML(elem_id="progress-trend")
    drills = gr.Markdown(EMPTY, elem_id="progress-drills")
    with gr.Row(equal_height=True):
        unfinished = gr.Dropdown(
            [], label="Unfinished interviews", value=None, filterable=False, elem_id="resume-pick", scale=3
        )
        resume = gr.Button("Resume in the interview tab", elem_id="resume", scale=1, min_width=160)

    def do_refresh(request: gr.Request) -> tuple[Any, ...]:
        data = handlers.progress(services, owner_of(request))
        return (
            _table(data["table"]),
            charts.trend_lines(data["trend"]),
            _drills(data, services),
            gr.Dropdown(choices=_unfinished(data, services), value=None),
        )

    def do_resume(sid: str | None, request: gr.Request) -> tuple[Any, ...]:
        view = handlers.resume_interview(services, sid or "", owner_of(request))
        view.chat = resumed_chat(services, view.session_id)
        return (*interview.render(view, fresh=True), gr.Tabs(selected="interview"))

    shown = [table, trend, drills, unfinished]
    for event in (refresh.click, tab.select):
        private(event, do_refresh, None, shown)
    private(resume.click, do_resume, unfinished, [*interview.outputs, tabs])
