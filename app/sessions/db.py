"""SQLite storage for sessions, turns and scorecards. Every write commits at once."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import NotFoundError

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


class SessionDB:
    """Sessions, turns and scorecards in one SQLite file (WAL, one writer at a time)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
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
    ) -> int:
        """Append a message to the transcript; committed before anything else happens."""
        now = time.time()
        with self._tx() as conn:
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            cursor = conn.execute(
                "INSERT INTO turns (session_id, seq, role, kind, text, question_id, engine,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, seq, role, kind, text, question_id, engine, now),
            )
            conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))
            return int(cursor.lastrowid or 0)

    def add_scorecard(
        self,
        session_id: str,
        turn_id: int | None,
        question_id: str,
        overall: int,
        card: dict[str, Any],
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO scorecards (session_id, turn_id, question_id, overall, card_json,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, turn_id, question_id, overall, json.dumps(card), time.time()),
            )

    def finish(self, session_id: str, summary: dict[str, Any]) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE sessions SET status = 'finished', summary_json = ?, updated_at = ? WHERE id = ?",
                (json.dumps(summary), time.time(), session_id),
            )

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
            "SELECT id, seq, role, kind, text, question_id, engine, created_at FROM turns"
            " WHERE session_id = ? ORDER BY seq",
            (session_id,),
        ).fetchall()
        return [TurnRow(**dict(r)) for r in rows]

    def scorecards(self, session_id: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT card_json FROM scorecards WHERE session_id = ? ORDER BY id", (session_id,)
        ).fetchall()
        return [json.loads(r["card_json"]) for r in rows]

    def last_turn(self, session_id: str) -> TurnRow | None:
        row = self._conn.execute(
            "SELECT id, seq, role, kind, text, question_id, engine, created_at FROM turns"
            " WHERE session_id = ? ORDER BY seq DESC LIMIT 1",
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
