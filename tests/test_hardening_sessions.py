"""Hardening of interview sessions (issue 14): one writer per session, the sessions database as
the source of truth, damaged database files, and CLI inputs checked before a session exists."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_interview import make_services

from app.cli import main
from app.config import Settings
from app.errors import CoachError
from app.interview.plan import InterviewConfig
from app.services import Services, prepare_offline_environment
from app.sessions.db import SessionDB
from app.sessions.service import CHECKED_FIELDS, InterviewSessions

pytestmark = pytest.mark.hardening

COACH = str(Path(sys.executable).parent / "coach")
QUESTION = re.compile(r"^Question (\d+) of (\d+)")
WEAK = "I would train a model on the data and check the accuracy, then ship it."
OTHER = "It depends on the data; I would try a few things and see which works best."
CONFLICT = "answered elsewhere"


# -- invariants of a stored session ------------------------------------------------------------
def assert_consistent(db: SessionDB, session_id: str) -> None:
    """No duplicate or out-of-place turn, one scorecard per answer, questions numbered in order."""
    turns = db.turns(session_id)
    assert [t.seq for t in turns] == list(range(1, len(turns) + 1))
    current: str | None = None
    numbers: list[int] = []
    for before, turn in zip([None, *turns], turns, strict=False):
        if turn.role == "candidate":
            assert before is not None and before.role == "interviewer", f"two answers in a row: {turns}"
        elif turn.kind == "question":
            match = QUESTION.match(turn.text)
            assert match, turn.text
            numbers.append(int(match.group(1)))
            current = turn.question_id
        elif turn.kind == "follow_up":
            assert before is not None and before.role == "candidate", (
                f"follow-up not after an answer: {turns}"
            )
            assert turn.question_id == current, f"follow-up for another question: {turns}"
    assert numbers == list(range(1, len(numbers) + 1)), f"questions asked out of order: {numbers}"
    answers = {t.id: t for t in turns if t.role == "candidate" and t.kind == "answer"}
    rows = db._conn.execute(
        "SELECT turn_id, question_id FROM scorecards WHERE session_id = ?", (session_id,)
    ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(answers), f"scorecards {rows} for answers {answers}"
    assert all(answers[r[0]].question_id == r[1] for r in rows)


def candidate_texts(db: SessionDB, session_id: str) -> list[str]:
    return [t.text for t in db.turns(session_id) if t.role == "candidate"]


# -- 1. one writer per session -------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared_interviews(
    tmp_path_factory: pytest.TempPathFactory, corpus_services: Services
) -> InterviewSessions:
    return make_services(tmp_path_factory.mktemp("race"), corpus_services).interviews("offline")


def race(interviews: InterviewSessions, session_id: str, texts: list[str]) -> list[BaseException | None]:
    """The texts answered at the same moment from one thread each; the error each one met."""
    barrier = threading.Barrier(len(texts))
    errors: list[BaseException | None] = [None] * len(texts)

    def answer(i: int) -> None:
        barrier.wait()
        try:
            interviews.answer(session_id, texts[i])
        except BaseException as err:  # recorded and checked by the caller
            errors[i] = err

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


# Commands cost no scoring, so many trials stay fast; "skip" twice asked one question twice.
COMMAND_PAIRS = [("skip", "skip"), ("hint", "skip"), ("repeat", "hint"), ("skip", "end")]


def run_thread_trials(interviews: InterviewSessions, pairs: list[tuple[str, str]]) -> float:
    """Trials of two threads sending one text each to a new session; the seconds they took."""
    started = time.perf_counter()
    for pair in pairs:
        config = InterviewConfig(track="ml_theory", questions=3, follow_ups=1)
        sid = interviews.start(config).session_id
        errors = race(interviews, sid, list(pair))
        # Without an expected position both writers are applied, one after the other, unless
        # the first one ended the interview.
        assert all(e is None or "ended" in str(e) for e in errors), errors
        stored = candidate_texts(interviews.db, sid)
        assert sorted(stored) == sorted(t for t, e in zip(pair, errors, strict=True) if e is None)
        assert_consistent(interviews.db, sid)
        last = [t for t in interviews.db.turns(sid) if t.role == "candidate"][-1]
        assert interviews.interviewer.state(sid)["processed_seq"] == last.seq
    return time.perf_counter() - started


def test_two_threads_sending_commands_to_one_session_100_trials(
    shared_interviews: InterviewSessions,
) -> None:
    seconds = run_thread_trials(shared_interviews, [COMMAND_PAIRS[i % 4] for i in range(100)])
    print(f"100 two-thread command trials in {seconds:.1f} s")


def answer_pairs(trials: int) -> list[tuple[str, str]]:
    return [(f"{WEAK} (first {i})", f"{OTHER} (second {i})") for i in range(trials)]


def test_two_threads_answering_one_session_keep_one_scorecard_per_answer(
    shared_interviews: InterviewSessions,
) -> None:
    run_thread_trials(shared_interviews, answer_pairs(5))


@pytest.mark.slow
def test_two_threads_answering_one_session_100_trials(shared_interviews: InterviewSessions) -> None:
    seconds = run_thread_trials(shared_interviews, answer_pairs(100))
    print(f"100 two-thread answer trials in {seconds:.1f} s")


def test_a_writer_that_saw_an_older_turn_is_refused(shared_interviews: InterviewSessions) -> None:
    interviews = shared_interviews
    step = interviews.start(InterviewConfig(track="ml_theory", questions=2, follow_ups=1))
    seen = step.seq
    interviews.answer(step.session_id, WEAK, expect_seq=seen)
    before = interviews.db.turns(step.session_id)
    with pytest.raises(CoachError, match=CONFLICT):
        interviews.answer(step.session_id, OTHER, expect_seq=seen)
    assert interviews.db.turns(step.session_id) == before
    # Also when the other writer ended the interview: the stale one hears why, not just "ended".
    seen = interviews.db.turns(step.session_id)[-1].seq
    assert interviews.answer(step.session_id, "end", expect_seq=seen).done
    with pytest.raises(CoachError, match=CONFLICT):
        interviews.answer(step.session_id, OTHER, expect_seq=seen)
    assert_consistent(interviews.db, step.session_id)


def test_two_processes_answering_the_same_sessions(tmp_path: Path, corpus_services: Services) -> None:
    from session_writers import answer_each

    services = make_services(tmp_path, corpus_services)
    interviews = services.interviews("offline")
    config = InterviewConfig(track="ml_theory", questions=3, follow_ups=1)
    pairs = [COMMAND_PAIRS[i % 3] for i in range(20)]  # scoring is covered by the threads above
    sids = [interviews.start(config).session_id for _ in pairs]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [
        context.Process(
            target=answer_each,
            args=(str(services.settings.data_dir), sids, [p[n] for p in pairs], barrier),
        )
        for n in (0, 1)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert [w.exitcode for w in workers] == [0, 0]
    for sid, pair in zip(sids, pairs, strict=True):
        stored = candidate_texts(interviews.db, sid)
        assert sorted(stored) == sorted(pair)
        assert_consistent(interviews.db, sid)


@pytest.mark.slow
def test_two_concurrent_answers_over_the_http_api(tmp_path: Path, corpus_services: Services) -> None:
    """The reported HTTP case: two /answer calls at once to one session, through gradio_client."""
    from gradio_client import Client
    from live_server import coach_server

    data = tmp_path / "data"
    data.mkdir()
    with coach_server(data) as url:
        client = Client(url, verbose=False)
        for trial in range(10):
            started = client.predict("ml_theory", "any", 3, 1, "", api_name="/start_interview")
            sid = started["session_id"]
            texts = [f"{WEAK} (first {trial})", f"{OTHER} (second {trial})"]
            jobs = [client.submit(sid, text, api_name="/answer") for text in texts]
            for job in jobs:
                job.result(timeout=120)
            db = SessionDB(data / "coach.sqlite3")
            assert sorted(candidate_texts(db, sid)) == sorted(texts)
            assert_consistent(db, sid)
            db.close()


# -- 2. the sessions database is the source of truth -------------------------------------------
SCRIPT = [WEAK, "hint", OTHER, "repeat", WEAK, "skip", "hint", WEAK, OTHER, "repeat", WEAK]
KEPT = CHECKED_FIELDS  # the fields the service checks against the transcript


def kept(state: dict[str, Any]) -> dict[str, Any]:
    return {k: state.get(k) for k in KEPT}


def fresh_interviews(data: Path, corpus_services: Services) -> InterviewSessions:
    services = Services(Settings(data_dir=data))
    prepare_offline_environment(services.settings)
    services.__dict__["store"] = corpus_services.store
    return services.interviews("offline")


def remove_checkpoints(data: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{data / 'checkpoints.sqlite3'}{suffix}").unlink(missing_ok=True)


def test_state_rebuilt_from_the_transcript_equals_the_checkpoint(
    tmp_path: Path, corpus_services: Services
) -> None:
    interviews = make_services(tmp_path, corpus_services).interviews("offline")
    sid = interviews.start(InterviewConfig(track="ml_theory", questions=4, follow_ups=2)).session_id
    for text in [*SCRIPT, "end"]:
        interviews.answer(sid, text)
        assert kept(interviews.rebuilt_state(sid)) == kept(interviews.interviewer.state(sid)), text


def test_resume_without_the_checkpoints_file_loses_nothing(tmp_path: Path, corpus_services: Services) -> None:
    data = tmp_path / "data"
    interviews = fresh_interviews(data, corpus_services)
    sid = interviews.start(InterviewConfig(track="ml_theory", questions=5, follow_ups=0)).session_id
    for i in range(5 - 1):
        interviews.answer(sid, f"{WEAK} ({i})")
    interviews.answer(sid, "hint")
    expected = kept(interviews.interviewer.state(sid))
    turns = interviews.db.turns(sid)
    remove_checkpoints(data)
    again = fresh_interviews(data, corpus_services)
    step = again.resume(sid)
    assert again.db.turns(sid) == turns  # nothing asked again, nothing stored
    assert step.messages[0].text == turns[-1].text and step.seq == turns[-1].seq
    assert kept(again.interviewer.state(sid)) == expected
    final = again.answer(sid, WEAK, expect_seq=step.seq)
    assert final.done and final.summary and final.summary.answered == 5
    assert_consistent(again.db, sid)


def interview_with_an_old_checkpoint(
    tmp_path: Path, corpus_services: Services
) -> tuple[InterviewSessions, str]:
    """An interview one answer in, with a copy of its checkpoints then in tmp_path/old.sqlite3."""
    data = tmp_path / "data"
    interviews = fresh_interviews(data, corpus_services)
    sid = interviews.start(InterviewConfig(track="ml_theory", questions=3, follow_ups=1)).session_id
    interviews.answer(sid, WEAK)
    old = sqlite3.connect(tmp_path / "old.sqlite3")
    with sqlite3.connect(data / "checkpoints.sqlite3") as live:
        live.backup(old)
    old.close()
    return interviews, sid


def test_an_older_checkpoint_is_replaced_by_the_transcript(tmp_path: Path, corpus_services: Services) -> None:
    data = tmp_path / "data"
    interviews, sid = interview_with_an_old_checkpoint(tmp_path, corpus_services)
    for text in (OTHER, WEAK, "hint"):
        interviews.answer(sid, text)
    expected = kept(interviews.interviewer.state(sid))
    remove_checkpoints(data)
    shutil.copy(tmp_path / "old.sqlite3", data / "checkpoints.sqlite3")
    again = fresh_interviews(data, corpus_services)
    again.resume(sid)
    assert kept(again.interviewer.state(sid)) == expected
    again.answer(sid, OTHER)
    assert_consistent(again.db, sid)


def test_an_answer_over_an_older_checkpoint_repairs_it_first(
    tmp_path: Path, corpus_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before each answer the checkpoint is compared with the transcript cheaply (has it
    processed the last message?); the full rebuild runs only when that fails, as it does for a
    checkpoint restored from an older copy, answered without `resume`."""
    data = tmp_path / "data"
    interviews, sid = interview_with_an_old_checkpoint(tmp_path, corpus_services)
    rebuilds: list[str] = []
    real = type(interviews)._rebuild
    monkeypatch.setattr(
        type(interviews),
        "_rebuild",
        lambda self, sid, *a, **k: rebuilds.append(sid) or real(self, sid, *a, **k),
    )
    for text in (OTHER, WEAK):
        interviews.answer(sid, text)
    assert rebuilds == []  # the checkpoint agreed: nothing rebuilt
    remove_checkpoints(data)
    shutil.copy(tmp_path / "old.sqlite3", data / "checkpoints.sqlite3")
    again = fresh_interviews(data, corpus_services)
    again.answer(sid, "hint")
    assert rebuilds  # the older checkpoint was noticed
    assert kept(again.rebuilt_state(sid)) == kept(again.interviewer.state(sid))
    assert_consistent(again.db, sid)


def test_two_cli_resumes_at_once_after_deleting_checkpoints(
    tmp_path: Path, corpus_services: Services
) -> None:
    """The reported case: two `coach interview --resume` at once; here the checkpoints are gone too."""
    data = tmp_path / "data"
    interviews = fresh_interviews(data, corpus_services)
    sid = interviews.start(InterviewConfig(track="ml_theory", questions=4, follow_ups=0)).session_id
    interviews.answer(sid, WEAK)
    remove_checkpoints(data)
    env = {**os.environ, "COACH_DATA_DIR": str(data)}
    procs = []
    for name in ("one", "two"):
        answers = tmp_path / f"{name}.txt"
        answers.write_text("\n---\n".join(f"{WEAK} ({name} {i})" for i in range(3)) + "\n")
        command = [COACH, "interview", "--resume", sid, "--answers-file", str(answers)]
        procs.append(
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        )
    results = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0 or (proc.returncode == 1 and CONFLICT in err), err
        assert "Traceback" not in err and err.count("\n") <= 1, err
        assert "Question 1 of 4" not in out, out  # rebuilt, not restarted
        assert "Interview over" in out or proc.returncode == 1, out
    assert_consistent(interviews.db, sid)
    assert interviews.db.session(sid).status == "finished"
    assert len(interviews.db.scorecards(sid)) == 4
    assert (interviews.db.session(sid).summary or {}).get("answered") == 4


# -- 3. damaged database files -----------------------------------------------------------------
def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\n" * 50)


def truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(path.stat().st_size // 2, 4096)])


def header_only(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:60])


DAMAGES: dict[str, Callable[[Path], None]] = {
    "garbage": garbage,
    "truncated": truncated,
    "header_only": header_only,
}


@pytest.fixture(scope="module")
def filled_template(tmp_path_factory: pytest.TempPathFactory, corpus_services: Services) -> tuple[Path, str]:
    """A data folder holding one session part way through, with its checkpoints."""
    data = tmp_path_factory.mktemp("filled") / "data"
    interviews = fresh_interviews(data, corpus_services)
    sid = interviews.start(InterviewConfig(track="ml_theory", questions=9, follow_ups=1)).session_id
    for text in [WEAK, OTHER, WEAK, OTHER] + ["hint", "repeat"] * 8:
        interviews.answer(sid, text)
    interviews.db.close()
    for name in ("coach.sqlite3", "checkpoints.sqlite3"):
        with sqlite3.connect(data / name) as conn:  # fold the WAL into the file, as a clean exit does
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return data, sid


@pytest.fixture
def filled_data(tmp_path: Path, filled_template: tuple[Path, str]) -> tuple[Path, str]:
    data, sid = filled_template
    shutil.copytree(data, tmp_path / "data", ignore=shutil.ignore_patterns("chroma", "cache"))
    return tmp_path / "data", sid


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
@pytest.mark.parametrize("name", ["coach.sqlite3", "checkpoints.sqlite3"])
def test_a_damaged_database_is_named_and_left_alone(
    name: str,
    damage: str,
    filled_data: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data, sid = filled_data
    target = data / name
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    DAMAGES[damage](target)
    before = sha(target)
    monkeypatch.setenv("COACH_DATA_DIR", str(data))
    code = main(["interview", "--resume", sid, "--engine", "offline"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.count("\n") == 1 and name in err and "move it aside" in err, err
    if name == "checkpoints.sqlite3":
        assert "coach.sqlite3" in err  # where the sessions are rebuilt from
    assert "Traceback" not in err and "DatabaseError" not in err
    assert target.exists() and sha(target) == before


def test_a_damaged_sessions_file_in_a_real_process(filled_data: tuple[Path, str]) -> None:
    data, _ = filled_data
    target = data / "coach.sqlite3"
    garbage(target)
    before = sha(target)
    out = subprocess.run(
        [COACH, "sessions", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "COACH_DATA_DIR": str(data)},
        timeout=120,
    )
    assert out.returncode == 1 and "coach.sqlite3" in out.stderr and out.stderr.count("\n") == 1
    assert sha(target) == before


# -- 4. CLI inputs checked before a session is created ----------------------------------------
def session_count(data: Path) -> int:
    if not (data / "coach.sqlite3").exists():
        return 0
    with sqlite3.connect(data / "coach.sqlite3") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


BAD_ANSWER_FILES: dict[str, Callable[[Path], Path]] = {
    "missing": lambda d: d / "nope.txt",
    "directory": lambda d: d,
    "not_utf8": lambda d: (d / "latin1.txt", (d / "latin1.txt").write_bytes(b"caf\xe9 \xff\xfe"))[0],
    "empty": lambda d: (d / "empty.txt", (d / "empty.txt").write_text(""))[0],
    "only_separators": lambda d: (d / "seps.txt", (d / "seps.txt").write_text("---\n\n---\n"))[0],
}


@pytest.mark.parametrize("bad", BAD_ANSWER_FILES, ids=list(BAD_ANSWER_FILES))
def test_a_bad_answers_file_creates_no_session(
    bad: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("COACH_DATA_DIR", str(data))
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    path = BAD_ANSWER_FILES[bad](inputs)
    code = main(["interview", "--engine", "offline", "--answers-file", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert session_count(data) == 0


@pytest.mark.parametrize("bad", BAD_ANSWER_FILES, ids=list(BAD_ANSWER_FILES))
def test_a_bad_answers_file_on_resume_writes_nothing(
    bad: str, filled_data: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, sid = filled_data
    monkeypatch.setenv("COACH_DATA_DIR", str(data))
    inputs = data.parent / "inputs"
    inputs.mkdir()
    before = sha(data / "coach.sqlite3")
    code = main(["interview", "--resume", sid, "--answers-file", str(BAD_ANSWER_FILES[bad](inputs))])
    assert code == 2
    assert sha(data / "coach.sqlite3") == before


@pytest.mark.parametrize("resume", ["", "   "], ids=["empty", "blank"])
def test_an_empty_resume_id_is_refused(
    resume: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("COACH_DATA_DIR", str(data))
    code = main(["interview", "--engine", "offline", "--resume", resume])
    err = capsys.readouterr().err
    assert code == 2 and "--resume" in err and err.count("\n") == 1, err
    assert session_count(data) == 0
