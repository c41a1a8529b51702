"""Builds the Gradio Blocks (`build_app`) apart from serving it (`launch`)."""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import pandas as pd  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from app.corpus.models import DIFFICULTIES, TRACKS  # noqa: E402
from app.errors import CoachError  # noqa: E402
from app.services import Services  # noqa: E402
from app.store.vectors import KINDS  # noqa: E402
from app.ui import bank, documents, handlers, views  # noqa: E402
from app.ui.api import UNEXPECTED, register_api  # noqa: E402
from app.ui.login import ClientAddress, LoginThrottle  # noqa: E402

log = logging.getLogger("coach.ui")
TITLE = "MLE Interview Coach"
MAX_UPLOAD = "2mb"
ANY = handlers.ANY


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Our errors become a gr.Error on the page; the inputs stay as they were."""

    def wrapper(*args: Any) -> Any:
        try:
            return fn(*args)
        except CoachError as err:
            raise gr.Error(html.escape(str(err))) from None
        except gr.Error:
            raise
        except Exception:  # noqa: BLE001 - the page's edge: logged in full, shown in words
            log.exception("%s failed", fn.__name__)
            raise gr.Error(UNEXPECTED) from None

    wrapper.__name__ = fn.__name__
    return wrapper


def guarded_stream(fn: Callable[..., Any]) -> Callable[..., Any]:
    """guarded, for handlers that yield updates (streaming)."""

    def wrapper(*args: Any) -> Any:
        try:
            yield from fn(*args)
        except CoachError as err:
            raise gr.Error(html.escape(str(err))) from None
        except gr.Error:
            raise
        except Exception:  # noqa: BLE001 - the page's edge: logged in full, shown in words
            log.exception("%s failed", fn.__name__)
            raise gr.Error(UNEXPECTED) from None

    wrapper.__name__ = fn.__name__
    return wrapper


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def _score_plot(label: str, visible: bool = True) -> gr.BarPlot:
    """Scores per rubric dimension, bars in the rubric's order (as in the scorecard above them)."""
    return gr.BarPlot(
        _frame([], ["dimension", "score"]),
        x="dimension",
        y="score",
        y_lim=[0, 5],
        sort=list(views.DIMENSION_NAMES.values()),
        label=label,
        visible=visible,
    )


def _interview_tab(services: Services) -> dict[str, Any]:
    session = gr.State("")
    with gr.Row():
        track = gr.Dropdown([ANY, *TRACKS], value="ml_system_design", label="Track")
        difficulty = gr.Dropdown([ANY, *DIFFICULTIES], value=ANY, label="Difficulty")
        questions = gr.Slider(1, 10, value=3, step=1, label="Questions")
        follow_ups = gr.Slider(0, 4, value=2, step=1, label="Follow-ups per question")
    with gr.Accordion("Focus on a job description (optional)", open=False):
        focus_doc = gr.Dropdown(documents.list_documents(services), label="One of your documents", value=None)
        focus = gr.Textbox(label="…or paste it here", lines=4, max_length=20_000)
    start = gr.Button("Start interview", variant="primary", elem_id="start-interview")
    badge = gr.Markdown(handlers.engine_badge(services, [], None), elem_id="interview-engine")
    chat = gr.Chatbot(label="Interview", height=420, elem_id="interview-chat", sanitize_html=True)
    answer = gr.Textbox(
        label="Your answer",
        lines=5,
        max_length=20_000,
        elem_id="answer-box",
        placeholder="Lead with the high-level idea, then the details…",
    )
    with gr.Row():
        send = gr.Button("Send answer", variant="primary", elem_id="send-answer")
        commands = {
            name: gr.Button(name.title(), elem_id=f"cmd-{name}") for name in ("hint", "repeat", "skip", "end")
        }
    with gr.Accordion("Feedback on your last answer", open=False, elem_id="last-feedback"):
        card_md = gr.Markdown("Answer a question to see its scorecard here.", elem_id="card-md")
        marked = gr.HighlightedText(
            label="Your answer, with the quoted evidence marked", combine_adjacent=False
        )
        card_plot = _score_plot("Scores")
    final_md = gr.Markdown(elem_id="final-scorecard")
    final_plot = _score_plot("Session scorecard", visible=False)
    with gr.Row():
        export_btn = gr.Button("Prepare transcript downloads", elem_id="export")
        md_file = gr.File(label="Transcript (Markdown)", interactive=False)
        json_file = gr.File(label="Transcript (JSON)", interactive=False)

    outputs = [session, chat, badge, card_md, marked, card_plot, final_md, final_plot, answer]

    def render(view: handlers.InterviewView) -> tuple[Any, ...]:
        card = view.card
        card_bits: tuple[Any, ...] = (gr.update(), gr.update(), gr.update())
        if card:
            card_bits = (
                views.scorecard_markdown(card),
                views.highlights(view.answer, card),
                _frame(views.score_rows(card), ["dimension", "score"]),
            )
        final: tuple[Any, Any] = (gr.update(), gr.update(visible=False))
        if view.done:
            final = (
                views.summary_markdown(view.summary),
                gr.update(
                    value=_frame(views.summary_rows(view.summary), ["dimension", "score"]),
                    visible=True,
                ),
            )
        return (view.session_id, view.chat, view.engine, *card_bits, *final, "")

    def do_start(t: str, d: str, q: float, f: float, doc: str | None, text: str) -> tuple[Any, ...]:
        focus_text = text or documents.document_text(services, doc)
        view = handlers.start_interview(services, t, d, q, f, focus_text)
        return (
            view.session_id,
            view.chat,
            view.engine,
            "Answer a question to see its scorecard here.",
            [],
            _frame([], ["dimension", "score"]),
            "",
            gr.update(visible=False),
            "",
        )

    def do_send(sid: str, text: str, history: Any) -> Any:
        for view in handlers.send_answer_stream(services, sid, text, history):
            yield render(view)

    start.click(
        guarded(do_start),
        [track, difficulty, questions, follow_ups, focus_doc, focus],
        outputs,
        api_visibility="private",
    )
    send.click(guarded_stream(do_send), [session, answer, chat], outputs, api_visibility="private")
    answer.submit(guarded_stream(do_send), [session, answer, chat], outputs, api_visibility="private")
    for name, button in commands.items():
        button.click(
            guarded_stream(lambda sid, history, n=name: do_send(sid, n, history)),
            [session, chat],
            outputs,
            api_visibility="private",
        )
    export_btn.click(
        guarded(lambda sid: handlers.transcript_files(services, sid)),
        session,
        [md_file, json_file],
        api_visibility="private",
    )
    return {"session": session, "outputs": outputs, "render": render, "focus_doc": focus_doc}


def _feedback_tab(services: Services) -> None:
    gr.Markdown("Paste an answer and get an honest scorecard: every quote is taken from your answer.")
    with gr.Row():
        picked = gr.Dropdown(
            handlers.question_choices(services),
            label="Bank question (type to search)",
            value=None,
            filterable=True,
            elem_id="fb-question",
        )
        typed = gr.Textbox(label="…or type a question", max_length=2000, elem_id="fb-typed")
    answer = gr.Textbox(label="Your answer", lines=8, max_length=20_000, elem_id="fb-answer")
    reference = gr.Textbox(label="Reference answer (optional)", lines=3, max_length=20_000)
    go = gr.Button("Get feedback", variant="primary", elem_id="fb-go")
    card_md = gr.Markdown(elem_id="fb-card")
    marked = gr.HighlightedText(label="Your answer, with the quoted evidence marked", combine_adjacent=False)
    plot = _score_plot("Scores")

    def do_feedback(qid: str | None, text: str, ans: str, ref: str) -> tuple[Any, ...]:
        card = handlers.feedback(services, qid, text, ans, ref)
        return (
            views.scorecard_markdown(card),
            views.highlights(ans or "", card),
            _frame(views.score_rows(card), ["dimension", "score"]),
        )

    go.click(
        guarded(do_feedback),
        [picked, typed, answer, reference],
        [card_md, marked, plot],
        api_visibility="private",
    )


def _progress_tab(services: Services, interview: dict[str, Any], tabs: gr.Tabs) -> None:
    refresh = gr.Button("Refresh", elem_id="progress-refresh")
    table = gr.Dataframe(
        headers=["session", "started", "status", "track", "answered", "overall"],
        type="array",
        interactive=False,
        elem_id="progress-table",
    )
    trend = gr.LinePlot(
        _frame([], ["session", "dimension", "score"]),
        x="session",
        y="score",
        color="dimension",
        y_lim=[0, 5],
        label="Per-dimension trend",
    )
    drills = gr.Markdown(elem_id="progress-drills")
    with gr.Row():
        unfinished = gr.Dropdown([], label="Unfinished sessions", value=None)
        resume = gr.Button("Resume in the interview tab", elem_id="resume")

    def do_refresh() -> tuple[Any, ...]:
        data = handlers.progress(services)
        lines = [
            f"- **{views.DIMENSION_NAMES[d]}**: {views.esc(text)} Practise with: "
            + ", ".join(views.code(q) for q in questions)
            for d, text, questions in data["drills"]
        ]
        note = (
            ("**Weakest dimensions and drills**\n" + "\n".join(lines))
            if lines
            else "Finish an interview to see trends."
        )
        return (
            data["table"],
            _frame(data["trend"], ["session", "dimension", "score"]),
            note,
            gr.update(choices=data["unfinished"], value=None),
        )

    def do_resume(sid: str | None) -> tuple[Any, ...]:
        view = handlers.resume_interview(services, sid or "")
        return (*interview["render"](view), gr.Tabs(selected="interview"))

    refresh.click(guarded(do_refresh), None, [table, trend, drills, unfinished], api_visibility="private")
    resume.click(guarded(do_resume), unfinished, [*interview["outputs"], tabs], api_visibility="private")


def _documents_panel(services: Services, interview: dict[str, Any]) -> None:
    with gr.Accordion("Your documents (job descriptions, notes)", open=False):
        upload = gr.File(label="Add a .md or .txt file", file_types=[".md", ".txt"], type="filepath")
        status = gr.Markdown()
        listing = gr.Markdown("\n".join(f"- {views.esc(n)}" for n in documents.list_documents(services)))

    def do_upload(path: str | None) -> tuple[Any, ...]:
        message, names = documents.add_document(services, path)
        return views.esc(message), "\n".join(f"- {views.esc(n)}" for n in names), gr.update(choices=names)

    upload.upload(
        guarded(do_upload),
        upload,
        [status, listing, interview["focus_doc"]],
        api_visibility="private",
    )


def _bank_tab(services: Services) -> None:
    gr.Markdown("Search the question bank and guides by meaning, or browse by track.")
    with gr.Row():
        query = gr.Textbox(
            label="Search", placeholder="e.g. design a feed ranking system", scale=4, elem_id="bank-query"
        )
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
    picked = gr.Textbox(label="Question id", placeholder="click a row, or type an id", elem_id="bank-pick")
    detail = gr.Markdown(elem_id="bank-detail")

    def do_search(q: str, t: str, kd: str, n: float) -> tuple[list[list[object]], str]:
        return bank.search_bank(services, q, t, kd, n)

    def pick(evt: gr.SelectData) -> str:
        return str((evt.row_value or [""] * 8)[bank.ID_COLUMN])

    def pick_listing(evt: gr.SelectData) -> str:
        return str((evt.row_value or [""])[0])

    inputs = [query, track, kind, k]
    search_btn.click(guarded(do_search), inputs, [results, status], api_visibility="private")
    query.submit(guarded(do_search), inputs, [results, status], api_visibility="private")
    for control in (b_track, b_diff):
        control.change(
            lambda t, d: bank.list_questions(services, t, d),
            [b_track, b_diff],
            listing,
            api_visibility="private",
        )
    results.select(pick, None, picked, api_visibility="private")
    listing.select(pick_listing, None, picked, api_visibility="private")
    picked.change(lambda qid: bank.show_question(services, qid), picked, detail, api_visibility="private")


def build_app(services: Services) -> gr.Blocks:
    """The whole app; handlers close over services, per-browser state lives in gr.State."""
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(
            f"# {TITLE}\nPractise MLE interviews: a mock interview with targeted follow-ups, "
            "feedback on a pasted answer, your progress, and the question bank."
        )
        with gr.Tabs() as tabs:
            with gr.Tab("Mock interview", id="interview"):
                interview = _interview_tab(services)
            with gr.Tab("Feedback", id="feedback"):
                _feedback_tab(services)
            with gr.Tab("Progress", id="progress"):
                _progress_tab(services, interview, tabs)
            with gr.Tab("Question bank", id="bank"):
                _bank_tab(services)
                _documents_panel(services, interview)
        register_api(services)
    return demo


def launch(demo: gr.Blocks, *, host: str, port: int, auth: tuple[str, str] | None) -> None:
    """Serve on host:port; never a public share link; repeated wrong passwords are throttled."""
    demo.queue(default_concurrency_limit=8, max_size=256)
    demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        auth=LoginThrottle({auth[0]: auth[1]}) if auth else None,
        app_kwargs={"middleware": [Middleware(ClientAddress)]},
        max_file_size=MAX_UPLOAD,
        show_error=True,
        footer_links=["api"],
    )
