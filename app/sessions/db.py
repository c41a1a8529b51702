"""Storage for sessions, turns, scorecards and users: SQLite by default, PostgreSQL by URL
(app/sessions/postgres.py). Every write commits at once."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import ConflictError, DamagedFileError, NotFoundError, UserInputError
from app.sessions.migrations import MIGRATIONS as MIGRATIONS
from app.sessions.migrations import TABLE as MIGRATIONS_TABLE
from app.sessions.migrations import Run, migrate

try:
    import fcntl
except ImportError:  # Windows: the in-process lock and the sequence check still apply
    fcntl = None  # type: ignore[assignment]

LOCK_WAIT_SECONDS = 180.0
ANSWERED_ELSEWHERE = (
    "this session was answered elsewhere (another window or process) while you were answering;"
    " reload or resume it to see the current question"
)


@dataclass(frozen=True)
class TurnRow:
    id: int
    seq: int
    role: str
    kind: str
    text: str
    question_id: str | None
    engine: str | None
    created_at: float
    target: str | None = None


@dataclass(frozen=True)
class SessionRow:
    id: str
    created_at: float
    updated_at: float
    status: str
    track: str | None
    difficulty: str | None
    questions: int
    follow_ups: int
    engine: str
    config: dict[str, Any]
    summary: dict[str, Any] | None
    owner: str | None = None


def open_checked(path: Path, what: str, advice: str, **connect: Any) -> sqlite3.Connection:
    """A connection to an SQLite file checked readable first; a damaged file is named, never touched.

    Nothing is written before the check, so a damaged file is left byte for byte as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, **connect)
    try:
        problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check(1)").fetchall()]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError("database disk image is malformed")
        conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError as err:
        conn.close()
        if not is_damage(err):
            raise  # a full disk or an unreadable folder is not a damaged file: the edge names it
        reason = str(err).strip() or "unreadable"
        raise DamagedFileError(f"{what} {path} is damaged ({reason}); move it aside, {advice}") from None
    return conn


def is_damage(err: sqlite3.DatabaseError) -> bool:
    """SQLite says the file itself is broken (not a full disk, a lock or a permission)."""
    name = getattr(err, "sqlite_errorname", "")
    text = str(err).lower()
    return name in {"SQLITE_CORRUPT", "SQLITE_NOTADB"} or "malformed" in text or "not a database" in text


class SessionLocks:
    """One writer per session, across threads (a lock each) and processes (a lock file each)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def hold(self, session_id: str, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
        deadline = time.monotonic() + wait
        with self._guard:
            lock = self._locks.setdefault(session_id, threading.Lock())
        if not lock.acquire(timeout=wait):
            raise ConflictError(_busy(session_id))
        try:
            with self._file_lock(session_id, deadline):
                yield
        finally:
            lock.release()

    @contextmanager
    def _file_lock(self, session_id: str, deadline: float) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        name = (
            session_id
            if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", session_id)
            else uuid.uuid5(uuid.NAMESPACE_URL, session_id).hex
        )
        fd = os.open(self.directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ConflictError(_busy(session_id)) from None
                    time.sleep(0.01)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock


def _busy(session_id: str) -> str:
    return f"session {session_id} is busy answering in another window or process; try again in a moment"


ANY_OWNER = object()  # db.session(id, ANY_OWNER): no owner check (internal use only)


class SessionStore(ABC):
    """Sessions, turns, scorecards and users over one SQL database; the dialects subclass it.

    Every write is one transaction that first locks the session's row (PostgreSQL: FOR UPDATE;
    SQLite: BEGIN IMMEDIATE already holds the only writer), so a sequence check and the insert
    after it cannot interleave with another writer, in this process or another replica.
    owner: None is the single-user local mode (sessions without an owner); a user name sees only
    that user's sessions, and any other id is "not found".
    """

    kind = "sql"
    types: dict[str, str] = {}
    same = "IS"  # NULL-safe equality: `owner IS ?` (SQLite), IS NOT DISTINCT FROM (PostgreSQL)
    lock_row = "SELECT id FROM sessions WHERE id = ?"
    locks: Any

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Run]:
        """One write transaction (the backend's)."""

    @abstractmethod
    def read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a query, as dicts."""

    @abstractmethod
    def close(self) -> None:
        """Release the connections."""

    @abstractmethod
    def migrate(self, upto: int | None = None) -> list[str]:
        """Apply the named migrations not yet recorded; returns their names."""

    def applied_migrations(self) -> list[str]:
        return [
            r["name"] for r in self.read(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY applied_at, name")
        ]

    # -- writes ------------------------------------------------------------------------------
    def create_session(self, config: dict[str, Any], engine: str, owner: str | None = None) -> str:
        session_id = uuid.uuid4().hex[:12]
        now = time.time()
        with self.transaction() as run:
            run(
                "INSERT INTO sessions (id, created_at, updated_at, track, difficulty, questions,"
                " follow_ups, engine, config_json, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    now,
                    now,
                    config.get("track"),
                    config.get("difficulty"),
                    int(config["questions"]),
                    int(config["follow_ups"]),
                    engine,
                    json.dumps(config),
                    owner,
                ),
            )
        return session_id

    def add_turn(
        self,
        session_id: str,
        role: str,
        kind: str,
        text: str,
        question_id: str | None = None,
        engine: str | None = None,
        expect_seq: int | None = None,
        target: str | None = None,
    ) -> int:
        """Append a message to the transcript, committed before anything else happens; returns
        its position (seq).

        With expect_seq, the message is refused (ConflictError) unless the transcript still ends
        at that position: the check and the insert are one transaction.
        """
        with self.transaction() as run:
            self._lock_session(run, session_id)
            self._check_last(run, session_id, expect_seq)
            return self._insert_turn(run, session_id, role, kind, text, question_id, engine, target)

    def record_reply(
        self,
        session_id: str,
        answer_seq: int | None,
        card: dict[str, Any] | None,
        messages: Sequence[dict[str, Any]],
        summary: dict[str, Any] | None,
    ) -> int:
        """The interviewer's reply to the stored message at answer_seq, in one transaction: its
        scorecard, its messages, and the end of the session when it ended. Refused
        (ConflictError) when the transcript moved past that message or it already has a reply.
        Returns the last position."""
        with self.transaction() as run:
            self._lock_session(run, session_id)
            answer_id: int | None = None
            if answer_seq is not None:
                self._check_last(run, session_id, answer_seq)
                row = run("SELECT id FROM turns WHERE session_id = ? AND seq = ?", (session_id, answer_seq))
                answer_id = int(row[0]["id"]) if row else None
                if answer_id is None or run("SELECT 1 AS x FROM scorecards WHERE turn_id = ?", (answer_id,)):
                    raise ConflictError(ANSWERED_ELSEWHERE)
            if card is not None:
                run(
                    "INSERT INTO scorecards (session_id, turn_id, question_id, overall, card_json,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        session_id,
                        answer_id,
                        card["question_id"],
                        card["overall"],
                        json.dumps(card),
                        time.time(),
                    ),
                )
            last = _last_seq(run, session_id)
            for m in messages:
                last = self._insert_turn(
                    run,
                    session_id,
                    "interviewer",
                    m["kind"],
                    m["text"],
                    m.get("question_id"),
                    m.get("engine"),
                    m.get("target"),
                )
            if summary is not None:
                run(
                    "UPDATE sessions SET status = 'finished', summary_json = ?, updated_at = ?"
                    " WHERE id = ? AND status != 'finished'",
                    (json.dumps(summary), time.time(), session_id),
                )
            return last

    def _lock_session(self, run: Run, session_id: str) -> None:
        if not run(self.lock_row, (session_id,)):
            raise NotFoundError(f"no session with id {session_id!r}")

    @staticmethod
    def _check_last(run: Run, session_id: str, expect_seq: int | None) -> None:
        if expect_seq is not None and _last_seq(run, session_id) != expect_seq:
            raise ConflictError(ANSWERED_ELSEWHERE)

    @staticmethod
    def _insert_turn(
        run: Run,
        session_id: str,
        role: str,
        kind: str,
        text: str,
        question_id: str | None,
        engine: str | None,
        target: str | None,
    ) -> int:
        now = time.time()
        seq = _last_seq(run, session_id) + 1
        run(
            "INSERT INTO turns (session_id, seq, role, kind, text, question_id, engine, target,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, seq, role, kind, text, question_id, engine, target, now),
        )
        run("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))
        return seq

    # -- reads -------------------------------------------------------------------------------
    def session(self, session_id: str, owner: str | None | object = None) -> SessionRow:
        """The session, if it belongs to owner; another user's session is "not found" too.
        ANY_OWNER: whoever owns it (for the service, once the caller's ownership is checked)."""
        if owner is ANY_OWNER:
            rows = self.read("SELECT * FROM sessions WHERE id = ?", (session_id,))
        else:
            sql = f"SELECT * FROM sessions WHERE id = ? AND owner {self.same} ?"
            rows = self.read(sql, (session_id, owner))
        if not rows:
            raise NotFoundError(f"no session with id {session_id!r}")
        return _session(rows[0])

    def sessions(self, limit: int = 50, owner: str | None = None) -> list[SessionRow]:
        rows = self.read(
            f"SELECT * FROM sessions WHERE owner {self.same} ? ORDER BY updated_at DESC LIMIT ?",
            (owner, limit),
        )
        return [_session(r) for r in rows]

    def finished_summaries(self, owner: str | None, limit: int) -> list[dict[str, Any]]:
        """The summaries of the owner's most recent finished sessions, newest first."""
        rows = self.read(
            f"SELECT summary_json FROM sessions WHERE owner {self.same} ? AND status = 'finished'"
            " AND summary_json IS NOT NULL ORDER BY updated_at DESC LIMIT ?",
            (owner, limit),
        )
        return [json.loads(r["summary_json"]) for r in rows]

    def turns(self, session_id: str) -> list[TurnRow]:
        rows = self.read(f"SELECT {TURN_COLUMNS} FROM turns WHERE session_id = ? ORDER BY seq", (session_id,))
        return [TurnRow(**r) for r in rows]

    def scorecards(self, session_id: str) -> list[dict[str, Any]]:
        rows = self.read("SELECT card_json FROM scorecards WHERE session_id = ? ORDER BY id", (session_id,))
        return [json.loads(r["card_json"]) for r in rows]

    def scorecards_by_turn(self, session_id: str) -> dict[int, dict[str, Any]]:
        """Each scored message's scorecard, by the id of the candidate's turn."""
        rows = self.read(
            "SELECT turn_id, card_json FROM scorecards WHERE session_id = ? AND turn_id IS NOT NULL"
            " ORDER BY id",
            (session_id,),
        )
        return {int(r["turn_id"]): json.loads(r["card_json"]) for r in rows}

    def last_turn(self, session_id: str) -> TurnRow | None:
        rows = self.read(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE session_id = ? ORDER BY seq DESC LIMIT 1", (session_id,)
        )
        return TurnRow(**rows[0]) if rows else None

    def recent_question_ids(self, limit_sessions: int = 5, owner: str | None = None) -> list[str]:
        """Questions asked in the owner's most recent sessions, to avoid repeats."""
        rows = self.read(
            "SELECT DISTINCT question_id FROM turns WHERE question_id IS NOT NULL AND session_id IN"
            f" (SELECT id FROM sessions WHERE owner {self.same} ? ORDER BY created_at DESC LIMIT ?)",
            (owner, limit_sessions),
        )
        return [r["question_id"] for r in rows]

    # -- accounts ----------------------------------------------------------------------------
    def set_user(self, name: str, password_hash: str, *, create: bool) -> None:
        """Add a user (create) or change an existing user's password hash."""
        with self.transaction() as run:
            exists = bool(run("SELECT name FROM users WHERE name = ?", (name,)))
            if create and exists:
                raise UserInputError(f"user {name!r} already exists; use `coach users passwd {name}`")
            if not create and not exists:
                raise NotFoundError(f"no user named {name!r} (see `coach users list`)")
            if create:
                run(
                    "INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)",
                    (name, password_hash, time.time()),
                )
            else:
                run("UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name))

    def remove_user(self, name: str) -> None:
        """Remove a user's login; their sessions stay (an administrator decides about data)."""
        with self.transaction() as run:
            if not run("SELECT name FROM users WHERE name = ?", (name,)):
                raise NotFoundError(f"no user named {name!r} (see `coach users list`)")
            run("DELETE FROM users WHERE name = ?", (name,))

    def users(self) -> list[tuple[str, float]]:
        return [
            (r["name"], r["created_at"])
            for r in self.read("SELECT name, created_at FROM users ORDER BY name")
        ]

    def password_hash(self, name: str) -> str | None:
        rows = self.read("SELECT password_hash FROM users WHERE name = ?", (name,))
        return str(rows[0]["password_hash"]) if rows else None


class SessionDB(SessionStore):
    """The embedded default: one SQLite file (WAL, one writer at a time)."""

    kind = "sqlite"
    types = {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL", "bigint": "INTEGER"}

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = open_checked(
            path,
            "the sessions database",
            "e.g. rename it to coach.sqlite3.damaged, to start with no saved sessions, or restore"
            " it from a backup",
            isolation_level=None,
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
        self.locks = SessionLocks(path.parent / "session-locks")
        self.migrate()

    def migrate(self, upto: int | None = None) -> list[str]:
        version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        return migrate(
            self.transaction,
            self.types,
            legacy_version=version,
            after_each=lambda run, number: run(f"PRAGMA user_version = {int(number)}"),
            upto=upto,
        )

    def close(self) -> None:
        self._conn.close()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self._conn.execute(sql, tuple(params)).fetchall()]

    @contextmanager
    def transaction(self) -> Iterator[Run]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._run
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return self._run(sql, params)


TURN_COLUMNS = "id, seq, role, kind, text, question_id, engine, created_at, target"


def _last_seq(run: Run, session_id: str) -> int:
    rows = run("SELECT COALESCE(MAX(seq), 0) AS last FROM turns WHERE session_id = ?", (session_id,))
    return int(rows[0]["last"])


def _session(row: dict[str, Any]) -> SessionRow:
    return SessionRow(
        id=row["id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status=row["status"],
        track=row["track"],
        difficulty=row["difficulty"],
        questions=row["questions"],
        follow_ups=row["follow_ups"],
        engine=row["engine"],
        config=json.loads(row["config_json"]),
        summary=json.loads(row["summary_json"]) if row["summary_json"] else None,
        owner=row.get("owner"),
    )
