"""SQLite storage for sessions, turns and scorecards. Every write commits at once."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import ConflictError, DamagedFileError, NotFoundError

try:
    import fcntl
except ImportError:  # Windows: the in-process lock and the sequence check still apply
    fcntl = None  # type: ignore[assignment]

LOCK_WAIT_SECONDS = 180.0
ANSWERED_ELSEWHERE = (
    "this session was answered elsewhere (another window or process) while you were answering;"
    " reload or resume it to see the current question"
)

MIGRATIONS: tuple[str, ...] = (
    # 1: sessions, turns, scorecards
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        status TEXT NOT NULL DEFAULT 'active',
        track TEXT,
        difficulty TEXT,
        questions INTEGER NOT NULL,
        follow_ups INTEGER NOT NULL,
        engine TEXT NOT NULL,
        config_json TEXT NOT NULL,
        summary_json TEXT
    );
    CREATE TABLE turns (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('interviewer', 'candidate')),
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        question_id TEXT,
        engine TEXT,
        created_at REAL NOT NULL,
        UNIQUE (session_id, seq)
    );
    CREATE TABLE scorecards (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        turn_id INTEGER REFERENCES turns(id),
        question_id TEXT NOT NULL,
        overall INTEGER NOT NULL,
        card_json TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX turns_by_session ON turns(session_id, seq);
    CREATE INDEX scorecards_by_session ON scorecards(session_id);
    """,
    # 2: the gap a follow-up probed, so the interview state can be rebuilt from the transcript
    """
    ALTER TABLE turns ADD COLUMN target TEXT;
    """,
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


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations newer than the database's user_version; returns the version."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    for number, script in enumerate(MIGRATIONS, start=1):
        if number > version:
            with conn:
                conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    return len(MIGRATIONS)


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


class SessionDB:
    """Sessions, turns and scorecards in one SQLite file (WAL, one writer at a time)."""

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
        migrate(self._conn)

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def create_session(self, config: dict[str, Any], engine: str) -> str:
        session_id = uuid.uuid4().hex[:12]
        now = time.time()
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO sessions (id, created_at, updated_at, track, difficulty, questions,"
                " follow_ups, engine, config_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        """Append a message to the transcript; committed before anything else happens.

        With expect_seq, the message is refused (ConflictError) unless the transcript still ends
        at that position: the check and the insert are one transaction.
        """
        with self._tx() as conn:
            self._check_last(conn, session_id, expect_seq)
            return self._insert_turn(conn, session_id, role, kind, text, question_id, engine, target)

    def record_reply(
        self,
        session_id: str,
        answer: TurnRow | None,
        card: dict[str, Any] | None,
        messages: Sequence[dict[str, Any]],
        summary: dict[str, Any] | None,
    ) -> int:
        """The interviewer's reply to a stored message, in one transaction: its scorecard, its
        messages, and the end of the session when it ended. Returns the last position."""
        with self._tx() as conn:
            if answer is not None:
                self._check_last(conn, session_id, answer.seq)
                taken = conn.execute("SELECT 1 FROM scorecards WHERE turn_id = ?", (answer.id,)).fetchone()
                if taken:
                    raise ConflictError(ANSWERED_ELSEWHERE)
            if card is not None:
                conn.execute(
                    "INSERT INTO scorecards (session_id, turn_id, question_id, overall, card_json,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        session_id,
                        answer.id if answer else None,
                        card["question_id"],
                        card["overall"],
                        json.dumps(card),
                        time.time(),
                    ),
                )
            for m in messages:
                self._insert_turn(
                    conn,
                    session_id,
                    "interviewer",
                    m["kind"],
                    m["text"],
                    m.get("question_id"),
                    m.get("engine"),
                    m.get("target"),
                )
            if summary is not None:
                conn.execute(
                    "UPDATE sessions SET status = 'finished', summary_json = ?, updated_at = ?"
                    " WHERE id = ? AND status != 'finished'",
                    (json.dumps(summary), time.time(), session_id),
                )
            return _last_seq(conn, session_id)

    @staticmethod
    def _check_last(conn: sqlite3.Connection, session_id: str, expect_seq: int | None) -> None:
        if expect_seq is not None and _last_seq(conn, session_id) != expect_seq:
            raise ConflictError(ANSWERED_ELSEWHERE)

    @staticmethod
    def _insert_turn(
        conn: sqlite3.Connection,
        session_id: str,
        role: str,
        kind: str,
        text: str,
        question_id: str | None,
        engine: str | None,
        target: str | None,
    ) -> int:
        now = time.time()
        seq = _last_seq(conn, session_id) + 1
        cursor = conn.execute(
            "INSERT INTO turns (session_id, seq, role, kind, text, question_id, engine, target,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, seq, role, kind, text, question_id, engine, target, now),
        )
        conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))
        return int(cursor.lastrowid or 0)

    def session(self, session_id: str) -> SessionRow:
        row = self._conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no session with id {session_id!r}")
        return _session(row)

    def sessions(self, limit: int = 50) -> list[SessionRow]:
        rows = self._conn.execute(
            "SELECT * FROM sessions ORDER BY updated_at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [_session(r) for r in rows]

    def turns(self, session_id: str) -> list[TurnRow]:
        rows = self._conn.execute(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE session_id = ? ORDER BY seq",
            (session_id,),
        ).fetchall()
        return [TurnRow(**dict(r)) for r in rows]

    def scorecards(self, session_id: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT card_json FROM scorecards WHERE session_id = ? ORDER BY id", (session_id,)
        ).fetchall()
        return [json.loads(r["card_json"]) for r in rows]

    def scorecards_by_turn(self, session_id: str) -> dict[int, dict[str, Any]]:
        """Each scored message's scorecard, by the id of the candidate's turn."""
        rows = self._conn.execute(
            "SELECT turn_id, card_json FROM scorecards WHERE session_id = ? AND turn_id IS NOT NULL"
            " ORDER BY id",
            (session_id,),
        ).fetchall()
        return {int(r["turn_id"]): json.loads(r["card_json"]) for r in rows}

    def last_turn(self, session_id: str) -> TurnRow | None:
        row = self._conn.execute(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE session_id = ? ORDER BY seq DESC LIMIT 1",
            (session_id,),
        ).fetchone()
        return TurnRow(**dict(row)) if row else None

    def recent_question_ids(self, limit_sessions: int = 5) -> list[str]:
        """Questions asked in the most recent sessions, to avoid repeats."""
        rows = self._conn.execute(
            "SELECT DISTINCT question_id FROM turns WHERE question_id IS NOT NULL AND session_id IN"
            " (SELECT id FROM sessions ORDER BY created_at DESC LIMIT ?)",
            (limit_sessions,),
        ).fetchall()
        return [r[0] for r in rows]


TURN_COLUMNS = "id, seq, role, kind, text, question_id, engine, created_at, target"


def _last_seq(conn: sqlite3.Connection, session_id: str) -> int:
    return int(
        conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM turns WHERE session_id = ?", (session_id,)
        ).fetchone()[0]
    )


def _session(row: sqlite3.Row) -> SessionRow:
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
    )
