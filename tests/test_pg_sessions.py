"""The sessions layer on both databases: SQLite (the default) and a real PostgreSQL.

The same scenarios run on each: an interview stored and exported, the two transactions of a
step, a crash between them replayed, stale answers refused, named migrations applied to an old
database, sessions kept apart by owner, and the read paths that need no interview graph.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import free_port
from pg_server import pg_url  # noqa: F401 - the fixture
from test_interview import WEAK_ON_TOPIC, feed_interview, make_services
from test_scoring import STRONG

from app.config import load_settings
from app.errors import CoachError, ConflictError, NotFoundError, UserInputError
from app.interview.plan import InterviewConfig
from app.services import Services
from app.sessions import transcripts
from app.sessions.db import SessionDB, SessionStore
from app.sessions.migrations import MIGRATIONS, Migration
from app.sessions.postgres import PostgresSessionDB
from app.sessions.service import InterviewSessions
from app.ui import handlers

BACKENDS = ["sqlite", "postgresql"]
NAMES = [m.name for m in MIGRATIONS]


@pytest.fixture(params=BACKENDS)
def make(request: pytest.FixtureRequest, tmp_path: Path, corpus_services: Services) -> Iterator[Any]:
    """make() -> Services on this test's database (every call: a new process's view of it)."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    made: list[Services] = []

    def build() -> Services:
        services = make_services(tmp_path, corpus_services, database_url=url)
        made.append(services)
        return services

    yield build
    for services in made:
        if "session_db" in services.__dict__:
            services.session_db.close()


@pytest.fixture
def services(make: Any) -> Services:
    services: Services = make()
    return services


@pytest.fixture
def interviews(services: Services) -> InterviewSessions:
    return services.interviews("offline")


def test_the_chosen_database_and_checkpointer_match(
    services: Services, interviews: InterviewSessions
) -> None:
    saver = type(interviews.interviewer.graph.checkpointer).__name__
    if services.settings.database_url:
        assert isinstance(services.session_db, PostgresSessionDB) and saver == "PostgresSaver"
        assert not (services.settings.data_dir / "coach.sqlite3").exists()
    else:
        assert isinstance(services.session_db, SessionDB) and saver == "SqliteSaver"
    assert services.session_db.applied_migrations() == NAMES


def test_an_interview_is_stored_step_by_step(interviews: InterviewSessions) -> None:
    sid = feed_interview(interviews, questions=1, follow_ups=1)
    first = interviews.answer(sid, WEAK_ON_TOPIC)
    assert first.messages[0].kind == "follow_up" and first.card
    last = interviews.answer(sid, STRONG, expect_seq=first.seq)
    assert last.done and last.summary
    turns = interviews.db.turns(sid)
    assert [t.seq for t in turns] == list(range(1, len(turns) + 1)) and turns[-1].seq == last.seq
    assert [t.role for t in turns] == ["interviewer", "candidate", "interviewer", "candidate", "interviewer"]
    assert len(interviews.db.scorecards(sid)) == 2
    assert interviews.db.session(sid).status == "finished"
    assert WEAK_ON_TOPIC in interviews.export(sid, "md")


def test_add_turn_returns_its_position(interviews: InterviewSessions) -> None:
    sid = feed_interview(interviews)
    seqs = [interviews.db.add_turn(sid, "candidate", "answer", f"answer {i}") for i in range(3)]
    assert seqs == [2, 3, 4] == [t.seq for t in interviews.db.turns(sid)[1:]]


def test_a_stale_answer_is_refused_and_nothing_is_stored(interviews: InterviewSessions) -> None:
    sid = feed_interview(interviews)
    step = interviews.answer(sid, WEAK_ON_TOPIC, expect_seq=1)
    before = interviews.db.turns(sid)
    with pytest.raises(ConflictError):
        interviews.answer(sid, "an answer to a question no longer shown", expect_seq=1)
    assert interviews.db.turns(sid) == before and step.seq == before[-1].seq


def test_the_reply_is_one_transaction(interviews: InterviewSessions) -> None:
    """The scorecard and the interviewer's messages are stored together or not at all."""
    db = interviews.db
    sid = feed_interview(interviews)
    seq = db.add_turn(sid, "candidate", "answer", WEAK_ON_TOPIC)
    card = {"question_id": "msd-news-feed-ranking", "overall": 2, "dimensions": []}
    broken = [{"kind": "follow_up", "text": "first"}, {"text": "a message without its kind"}]
    with pytest.raises(KeyError):
        db.record_reply(sid, seq, card, broken, None)
    assert db.scorecards(sid) == [] and db.last_turn(sid).seq == seq  # type: ignore[union-attr]
    assert db.record_reply(sid, seq, card, broken[:1], None) == seq + 1
    with pytest.raises(ConflictError):  # a second reply to the same answer
        db.record_reply(sid, seq, card, broken[:1], None)


def test_an_answer_a_crash_left_unanswered_is_replied_once(make: Any) -> None:
    """The answer is committed before the model call; a new process replays it, once."""
    first = make().interviews("offline")
    sid = feed_interview(first)
    first.db.add_turn(sid, "candidate", "answer", WEAK_ON_TOPIC, "msd-news-feed-ranking")
    again = make().interviews("offline")  # another process (or replica) after the crash
    step = again.resume(sid)
    assert step.messages and step.messages[0].kind == "follow_up"
    roles = [t.role for t in again.db.turns(sid)]
    assert roles == ["interviewer", "candidate", "interviewer"]
    assert again.resume(sid).seq == step.seq and [t.role for t in again.db.turns(sid)] == roles
    # the first process's graph is behind: its next answer settles from the transcript
    later = first.answer(sid, STRONG, expect_seq=step.seq)
    assert later.card and [t.role for t in first.db.turns(sid)][-2:] == ["candidate", "interviewer"]


def test_show_export_and_resume_read_the_database_without_the_graph(make: Any) -> None:
    writer = make().interviews("offline")
    sid = feed_interview(writer)
    question = writer.db.turns(sid)[0].text
    reader = make()
    assert question in transcripts.export(reader.session_db, sid, "md")
    view = handlers.resume_interview(reader, sid)
    assert len(view.chat) == 1 and not view.done
    handlers.transcript_files(reader, sid)
    assert "_interviews" not in reader.__dict__  # no interview graph was built
    reader.session_db.add_turn(sid, "candidate", "answer", WEAK_ON_TOPIC)
    view = handlers.resume_interview(reader, sid)  # a pending answer needs the interviewer
    assert len(view.chat) == 3 and "_interviews" in reader.__dict__


def test_sessions_belong_to_their_owner(interviews: InterviewSessions, services: Services) -> None:
    db = interviews.db
    config = InterviewConfig(track="ml_system_design", questions=1, follow_ups=1)
    ada = interviews.start(config, owner="ada").session_id
    local = interviews.start(config).session_id
    with pytest.raises(NotFoundError) as unknown:
        db.session("000000000000", "bob")
    for owner in ("bob", None):
        with pytest.raises(NotFoundError) as err:
            interviews.answer(ada, WEAK_ON_TOPIC, owner=owner)
        assert str(err.value) == str(unknown.value).replace("000000000000", ada)
        for call in (
            lambda o=owner: interviews.resume(ada, o),
            lambda o=owner: interviews.export(ada, "json", o),
            lambda o=owner: handlers.resume_interview(services, ada, o),
            lambda o=owner: handlers.transcript_files(services, ada, o),
        ):
            with pytest.raises(NotFoundError):
                call()
    assert [r.id for r in db.sessions(owner="ada")] == [ada]
    assert [r.id for r in db.sessions()] == [local]
    assert db.sessions(owner="bob") == [] and handlers.progress(services, "bob")["table"] == []
    assert [row[0] for row in handlers.progress(services, "ada")["table"]] == [ada]
    assert interviews.answer(ada, WEAK_ON_TOPIC, owner="ada").card
    assert [t.role for t in db.turns(ada)][-2:] == ["candidate", "interviewer"]


def test_concurrent_answers_from_two_replicas_are_serialised(make: Any) -> None:
    """Two processes' services on one database answer the same position: one wins, once."""
    a, b = make().interviews("offline"), make().interviews("offline")
    sid = feed_interview(a)
    results: list[object] = []
    barrier = threading.Barrier(2)

    def answer(sessions: InterviewSessions, text: str) -> None:
        barrier.wait()
        try:
            results.append(sessions.answer(sid, text, expect_seq=1))
        except ConflictError as err:
            results.append(err)

    threads = [threading.Thread(target=answer, args=(s, t)) for s, t in ((a, WEAK_ON_TOPIC), (b, STRONG))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(type(r).__name__ for r in results) == ["ConflictError", "Step"]
    turns = a.db.turns(sid)
    assert [t.role for t in turns] == ["interviewer", "candidate", "interviewer"]
    assert len(a.db.scorecards(sid)) == 1


def test_no_statement_of_an_interview_scans_a_table(tmp_path: Path, corpus_services: Services) -> None:
    """Every lookup made while starting and answering uses an index (SQLite's own query plan), so
    a turn does not slow down as the database grows; "has this answer a scorecard?" scanned all
    scorecards (3.2 ms per answer at 3,450 of them) before migration m005."""
    services = make_services(tmp_path, corpus_services)
    interviews = services.interviews("offline")
    db = services.session_db
    assert isinstance(db, SessionDB)
    statements: list[str] = []
    db._conn.set_trace_callback(statements.append)
    step = interviews.start(InterviewConfig(questions=1, follow_ups=0))
    interviews.answer(step.session_id, WEAK_ON_TOPIC)
    db._conn.set_trace_callback(None)
    lookups = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE"))]
    assert any("FROM scorecards WHERE turn_id" in s for s in lookups)  # the check is there to test
    assert any("SELECT DISTINCT question_id" in s for s in lookups)
    for sql in lookups:
        plan = " | ".join(r[3] for r in db._conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall())
        scans = [t for t in ("sessions", "turns", "scorecards") if f"SCAN {t}" in plan]
        assert not scans and "TEMP B-TREE FOR ORDER BY" not in plan, f"{sql}\n  -> {plan}"


# -- migrations ---------------------------------------------------------------------------------
def _old_sqlite(path: Path, version: int) -> None:
    """A database as the code before named migrations left it: user_version only."""
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:version]:
        for statement in migration.statements(SessionDB.types):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()


@pytest.mark.parametrize("version", [1, 2])
def test_an_old_sqlite_database_is_migrated_by_name(tmp_path: Path, version: int) -> None:
    path = tmp_path / "coach.sqlite3"
    _old_sqlite(path, version)
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO sessions (id, created_at, updated_at, questions, follow_ups, engine, config_json)"
        " VALUES ('old', 1, 1, 1, 1, 'offline', '{}')"
    )
    conn.commit()
    conn.close()
    db = SessionDB(path)
    assert db.applied_migrations() == NAMES
    assert db._conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.session("old").owner is None and [r.id for r in db.sessions()] == ["old"]
    db.close()
    assert SessionDB(path).migrate() == []  # idempotent


def test_an_old_postgresql_database_is_migrated_by_name(pg_url: str) -> None:  # noqa: F811
    old = PostgresSessionDB(pg_url, migrate_now=False)
    assert old.migrate(upto=2) == NAMES[:2]
    with old.transaction() as run:
        run(
            "INSERT INTO sessions (id, created_at, updated_at, questions, follow_ups, engine, config_json)"
            " VALUES ('old', 1, 1, 1, 1, 'offline', '{}')"
        )
    old.close()
    new = PostgresSessionDB(pg_url)
    assert new.applied_migrations() == NAMES
    assert new.session("old").owner is None and new.sessions(owner="ada") == []
    assert new.migrate() == []
    new.close()


def test_two_replicas_starting_together_migrate_once(pg_url: str) -> None:  # noqa: F811
    stores: list[SessionStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            stores.append(PostgresSessionDB(pg_url))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(stores) == 3
    assert stores[0].applied_migrations() == NAMES
    for store in stores:
        store.close()


def test_migrations_have_unique_names() -> None:
    assert len(set(NAMES)) == len(NAMES) and all(isinstance(m, Migration) for m in MIGRATIONS)


def test_a_bad_or_unreachable_database_url_is_one_clear_line() -> None:
    with pytest.raises(UserInputError, match="COACH_DATABASE_URL must look like postgresql://"):
        load_settings({"COACH_DATABASE_URL": "mysql://coach@db/coach"})
    url = f"postgresql://coach:hunter2@127.0.0.1:{free_port()}/coach"
    assert "hunter2" not in str(load_settings({"COACH_DATABASE_URL": url}).describe())
    with pytest.raises(CoachError) as err:
        PostgresSessionDB(url)
    message = str(err.value)
    assert message.startswith("cannot use the sessions database postgresql://coach@127.0.0.1:")
    assert "Connection refused" in message and "hunter2" not in message and "\n" not in message


def test_more_steps_at_once_than_connections_do_not_starve(pg_url: str) -> None:  # noqa: F811
    """Steps holding their session's lock still get connections for their own writes."""
    db = PostgresSessionDB(pg_url)
    sids = [db.create_session({"questions": 1, "follow_ups": 0}, "offline") for _ in range(40)]
    failures: list[BaseException] = []

    def step(sid: str) -> None:
        try:
            with db.locks.hold(sid, wait=60):
                db.add_turn(sid, "candidate", "answer", "an answer")
                time.sleep(0.05)
                db.record_reply(sid, 1, None, [{"kind": "question", "text": "next"}], None)
        except BaseException as err:  # noqa: BLE001 - reported below
            failures.append(err)

    began = time.monotonic()
    threads = [threading.Thread(target=step, args=(sid,)) for sid in sids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    db.close()
    assert failures == [] and time.monotonic() - began < 25


def test_replicas_setting_up_checkpoints_together_do_not_deadlock(pg_url: str) -> None:  # noqa: F811
    from app.sessions.postgres import checkpointer

    savers: list[object] = []
    threads = [
        threading.Thread(target=lambda: savers.append(checkpointer(pg_url)), daemon=True) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(savers) == 3
