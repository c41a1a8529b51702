"""Scripted interviews end to end, offline and over HTTP to an OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_server import FakeOpenAI
from test_scoring import STRONG

from app.config import Settings
from app.errors import UserInputError
from app.interview.plan import InterviewConfig
from app.scoring.gaps import DIMENSION_VARIANTS
from app.services import Services, prepare_offline_environment
from app.sessions.db import MIGRATIONS, SessionDB
from app.sessions.service import InterviewSessions

FEED_FOCUS = "Ranking the home news feed of a social network: which posts each person sees first."
WEAK_ON_TOPIC = (
    "For the news feed I would train a ranking model on past clicks and likes of the posts, then "
    "sort the posts in the feed by the predicted score and retrain the model every week."
)


def make_services(tmp_path: Path, corpus_services: Services, **settings: object) -> Services:
    services = Services(Settings(data_dir=tmp_path / "data", **settings))  # type: ignore[arg-type]
    prepare_offline_environment(services.settings)
    services.__dict__["store"] = corpus_services.store  # share the ingested corpus
    return services


@pytest.fixture
def interviews(tmp_path: Path, corpus_services: Services) -> InterviewSessions:
    return make_services(tmp_path, corpus_services).interviews("offline")


def feed_interview(interviews: InterviewSessions, questions: int = 2, follow_ups: int = 2) -> str:
    step = interviews.start(
        InterviewConfig(
            track="ml_system_design", questions=questions, follow_ups=follow_ups, focus=FEED_FOCUS
        )
    )
    assert step.messages[0].kind == "question"
    assert step.messages[0].question_id == "msd-news-feed-ranking"
    return step.session_id


def test_weak_answer_without_business_value_gets_a_business_follow_up(
    interviews: InterviewSessions,
) -> None:
    sid = feed_interview(interviews)
    step = interviews.answer(sid, WEAK_ON_TOPIC)
    assert step.card
    scores = {d.id: d.score for d in step.card.dimensions}
    assert scores["business_value"] <= 2
    assert step.messages[0].kind == "follow_up"
    assert step.messages[0].text in DIMENSION_VARIANTS["business_value"]
    assert step.card.follow_up == step.messages[0].text


def test_strong_answer_gets_a_deeper_probe_not_a_gap(interviews: InterviewSessions) -> None:
    sid = feed_interview(interviews)
    step = interviews.answer(sid, STRONG)
    assert step.card and step.card.overall >= 4
    assert [m.kind for m in step.messages] == ["follow_up"]
    assert step.messages[0].target.startswith("probe:") and step.card.next.depth


def test_follow_ups_are_capped_and_aim_at_new_gaps(interviews: InterviewSessions) -> None:
    sid = feed_interview(interviews, questions=2, follow_ups=2)
    kinds, targets = [], []
    for answer in (WEAK_ON_TOPIC, "We would look at engagement.", "Not sure."):
        step = interviews.answer(sid, answer)
        kinds.append(step.messages[0].kind)
        targets.append(step.messages[0].text)
    assert kinds == ["follow_up", "follow_up", "question"]
    assert targets[0] != targets[1]


def test_commands_hint_repeat_skip_end(interviews: InterviewSessions, corpus_services: Services) -> None:
    sid = feed_interview(interviews)
    question = corpus_services.bank.get("msd-news-feed-ranking")
    hint = interviews.answer(sid, "hint").messages[0]
    assert hint.kind == "hint" and hint.text.startswith("Hint:")
    assert question.strong_answer.summary not in hint.text
    assert all(tp.point not in hint.text for tp in question.talking_points)
    first_prompt = interviews.db.turns(sid)[0].text
    assert interviews.answer(sid, "repeat").messages[0].text == first_prompt
    skipped = interviews.answer(sid, "skip").messages[0]
    assert skipped.kind == "question" and skipped.question_id != "msd-news-feed-ranking"
    end = interviews.answer(sid, "end")
    assert end.done and end.messages[0].kind == "summary"
    assert interviews.db.session(sid).status == "finished"
    with pytest.raises(UserInputError, match="ended"):
        interviews.answer(sid, "one more answer")


def test_session_scorecard_after_answers(interviews: InterviewSessions) -> None:
    sid = feed_interview(interviews, questions=2, follow_ups=0)
    interviews.answer(sid, STRONG)
    final = interviews.answer(sid, WEAK_ON_TOPIC)
    assert final.done and final.summary
    summary = final.summary
    assert summary.answered == 2 and set(summary.dimensions) == {
        "step_back",
        "business_value",
        "clarity",
        "technical_coverage",
        "tradeoffs",
    }
    assert summary.best and summary.best.question_id == "msd-news-feed-ranking"
    assert summary.best.quote in STRONG
    dimension_drills = [d for d in summary.drills if not d.dimension.startswith("stage:")]
    assert len(dimension_drills) == 2 and all(d.drill for d in summary.drills)


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b", "x" * 20_001])
def test_bad_messages_are_refused_and_nothing_is_stored(interviews: InterviewSessions, bad: str) -> None:
    sid = feed_interview(interviews)
    before = len(interviews.db.turns(sid))
    with pytest.raises(UserInputError):
        interviews.answer(sid, bad)
    assert len(interviews.db.turns(sid)) == before


def test_unknown_session_is_a_clear_error(interviews: InterviewSessions) -> None:
    from app.errors import NotFoundError

    with pytest.raises(NotFoundError):
        interviews.answer("nope", "hello")


def test_transcript_export_has_every_turn(interviews: InterviewSessions) -> None:
    sid = feed_interview(interviews)
    interviews.answer(sid, WEAK_ON_TOPIC)
    interviews.answer(sid, "<script>alert(1)</script> we would measure retention")
    data = json.loads(interviews.export(sid, "json"))
    assert [t["role"] for t in data["turns"]] == [
        "interviewer",
        "candidate",
        "interviewer",
        "candidate",
        "interviewer",
    ]
    assert len(data["scorecards"]) == 2
    markdown = interviews.export(sid, "md")
    assert WEAK_ON_TOPIC in markdown and "## Scorecards" in markdown
    with pytest.raises(UserInputError):
        interviews.export(sid, "pdf")


def test_answer_stored_but_not_processed_is_replayed_on_resume(
    interviews: InterviewSessions,
) -> None:
    """A crash after the answer was committed but before the interviewer replied loses nothing."""
    sid = feed_interview(interviews)
    interviews.db.add_turn(sid, "candidate", "answer", WEAK_ON_TOPIC, "msd-news-feed-ranking")
    step = interviews.resume(sid)
    assert step.messages and step.messages[0].kind == "follow_up"
    roles = [t.role for t in interviews.db.turns(sid)]
    assert roles == ["interviewer", "candidate", "interviewer"]
    again = interviews.resume(sid)  # idempotent: nothing replayed twice
    assert [t.role for t in interviews.db.turns(sid)] == roles
    assert again.messages[0].text == step.messages[0].text


def test_migrations_are_numbered_and_idempotent(tmp_path: Path) -> None:
    db = SessionDB(tmp_path / "x.sqlite3")
    version = db._conn.execute("PRAGMA user_version").fetchone()[0]
    db.close()
    again = SessionDB(tmp_path / "x.sqlite3")
    assert version == len(MIGRATIONS) == again._conn.execute("PRAGMA user_version").fetchone()[0]


def llm_reply(body: dict) -> str:
    system = body["messages"][0]["content"]
    if "Grade one answer" in system:
        quote = "sort the posts in the feed by the predicted score"
        dims = [
            {"id": d, "score": s, "evidence": [quote], "tip": "t"}
            for d, s in (
                ("step_back", 3),
                ("business_value", 1),
                ("clarity", 3),
                ("technical_coverage", 2),
                ("tradeoffs", 2),
            )
        ]
        return json.dumps(
            {
                "dimensions": dims,
                "covered_points": ["candidate_inventory"],
                "strengths": [],
                "suggested_opening": "Rank by value.",
                "overall": 2,
            }
        )
    if "planned follow-up" in system:
        return "LLM: and what would that change for the business?"
    return "LLM: " + body["messages"][-1]["content"].split(": ", 1)[-1]


@pytest.fixture
def llm_interviews(
    tmp_path: Path, corpus_services: Services
) -> Iterator[tuple[FakeOpenAI, InterviewSessions]]:
    """Interviews on the LLM engine, against a scripted OpenAI-compatible server."""
    with FakeOpenAI(default=llm_reply) as server:
        services = make_services(
            tmp_path,
            corpus_services,
            openai_base_url=server.base_url,
            openai_api_key="sk-x",
            model="gpt-4o-mini",
        )
        interviews = services.interviews("llm")
        yield server, interviews


def test_interview_with_the_llm_engine_over_http(
    llm_interviews: tuple[FakeOpenAI, InterviewSessions], corpus_services: Services
) -> None:
    server, interviews = llm_interviews
    sid = feed_interview(interviews)
    first = interviews.db.turns(sid)[0]
    assert first.text.startswith("Question 1 of 2") and "LLM:" in first.text
    assert first.engine == "llm gpt-4o-mini"
    step = interviews.answer(sid, WEAK_ON_TOPIC)
    assert step.card and step.card.engine == "llm"
    assert step.messages[0].kind == "follow_up"
    assert step.messages[0].text == "LLM: and what would that change for the business?"
    judged = [r for r in server.requests if "Grade one answer" in r.body["messages"][0]["content"]]
    assert WEAK_ON_TOPIC in judged[0].body["messages"][-1]["content"]
    hidden = corpus_services.bank.get("msd-news-feed-ranking").strong_answer.summary
    assert all(hidden not in t.text for t in interviews.db.turns(sid) if t.role == "interviewer")


# -- crash and resume -------------------------------------------------------------------------
def _read_until(proc: subprocess.Popen[str], marker: str, count: int, timeout: float = 60) -> str:
    seen, deadline = "", time.monotonic() + timeout
    assert proc.stdout is not None
    while seen.count(marker) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {marker!r} x{count}; got:\n{seen}")
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"process ended early:\n{seen}")
        seen += line
    return seen


@pytest.fixture
def cli_env(tmp_path: Path, corpus_services: Services) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "COACH_DATA_DIR": str(corpus_services.settings.data_dir),
        "PYTHONUNBUFFERED": "1",
    }
    yield env


def test_sigkill_mid_interview_then_resume_keeps_every_answer(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    coach = str(Path(sys.executable).parent / "coach")
    args = [
        coach,
        "interview",
        "--track",
        "ml_theory",
        "--questions",
        "3",
        "--follow-ups",
        "0",
        "--engine",
        "offline",
    ]
    proc = subprocess.Popen(
        args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env,
    )
    assert proc.stdin is not None
    first = _read_until(proc, "Interviewer:", 1)
    session_id = first.split("Session ", 1)[1].split(" ", 1)[0]
    answers = [
        "Bias is error from wrong assumptions; variance is sensitivity to the sample.",
        "I would use cross-validation to pick it.",
    ]
    for answer in answers:
        proc.stdin.write(answer + "\n---\n")
        proc.stdin.flush()
        _read_until(proc, "Interviewer:", 1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    rest = tmp_path / "rest.txt"
    rest.write_text("Regularisation adds a penalty on weights to reduce variance.\n")
    out = subprocess.run(
        [coach, "interview", "--resume", session_id, "--answers-file", str(rest)],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "Resuming session" in out.stdout and "Interview over" in out.stdout
    db = SessionDB(Path(cli_env["COACH_DATA_DIR"]) / "coach.sqlite3")
    turns = db.turns(session_id)
    said = [t.text for t in turns if t.role == "candidate"]
    assert said == [*answers, "Regularisation adds a penalty on weights to reduce variance."]
    assert [t.kind for t in turns if t.role == "interviewer"][:3] == ["question"] * 3
    assert db.session(session_id).status == "finished"
    assert len(db.scorecards(session_id)) == 3


def test_llm_words_stream_through_the_interview(llm_interviews: tuple[FakeOpenAI, InterviewSessions]) -> None:
    from openai_server import Action

    server, interviews = llm_interviews
    sid = feed_interview(interviews)
    server.enqueue(Action("reply", content=llm_reply({"messages": [{"content": "Grade one answer"}]})))
    server.enqueue(Action("stream", chunks=["And what ", "would that ", "change for the business?"]))
    items = list(interviews.answer_stream(sid, WEAK_ON_TOPIC))
    pieces = [i for i in items if isinstance(i, str)]
    assert pieces == ["And what ", "would that ", "change for the business?"]
    final = items[-1]
    assert (
        not isinstance(final, str)
        and final.messages[0].text == "And what would that change for the business?"
    )


def test_terminal_answers_keep_paragraphs_and_run_commands_at_once() -> None:
    """At a terminal: one empty line is a paragraph break, two end the answer, `---` ends it, and
    a command typed alone is sent on its first Enter (issue 16 item 6)."""
    from app.interview_cli import answers_from_lines

    typed = [
        "First paragraph of my answer.\n",
        "\n",
        "Second paragraph, same answer.\n",
        "\n",
        "\n",
        "hint\n",
        "A short one.\n",
        "---\n",
        "end\n",
    ]
    assert list(answers_from_lines(iter(typed), blank_ends=True)) == [
        "First paragraph of my answer.\n\nSecond paragraph, same answer.",
        "hint",
        "A short one.",
        "end",
    ]
