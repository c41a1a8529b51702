"""Named schema migrations, one list for SQLite and PostgreSQL, recorded by name in each database.

Each migration is SQL with a few type words left open ({id}, {real}, {bigint}) that each dialect
fills in; a migration's statements, and the record of its name, are one transaction. A database
that predates the names (SQLite with PRAGMA user_version only) has its first user_version
migrations recorded as applied, so nothing runs twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

Run = Callable[..., list[dict[str, Any]]]  # run(sql, params=()) -> rows, inside a transaction


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    def statements(self, types: dict[str, str]) -> Iterator[str]:
        for statement in self.sql.format(**types).split(";"):
            if statement.strip():
                yield statement.strip()


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "m001_sessions_turns_scorecards",
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            created_at {real} NOT NULL,
            updated_at {real} NOT NULL,
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
            id {id},
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('interviewer', 'candidate')),
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            question_id TEXT,
            engine TEXT,
            created_at {real} NOT NULL,
            UNIQUE (session_id, seq)
        );
        CREATE TABLE scorecards (
            id {id},
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            turn_id {bigint} REFERENCES turns(id),
            question_id TEXT NOT NULL,
            overall INTEGER NOT NULL,
            card_json TEXT NOT NULL,
            created_at {real} NOT NULL
        );
        CREATE INDEX turns_by_session ON turns(session_id, seq);
        CREATE INDEX scorecards_by_session ON scorecards(session_id)
        """,
    ),
    # the gap a follow-up probed, so the interview state can be rebuilt from the transcript
    Migration("m002_turn_target", "ALTER TABLE turns ADD COLUMN target TEXT"),
    # accounts: salted scrypt hashes (app/sessions/accounts.py), managed with `coach users`
    Migration(
        "m003_users",
        """
        CREATE TABLE users (
            name TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            created_at {real} NOT NULL
        )
        """,
    ),
    # every session belongs to a user; NULL is the single-user local mode (no login)
    Migration(
        "m004_session_owner",
        """
        ALTER TABLE sessions ADD COLUMN owner TEXT;
        CREATE INDEX sessions_by_owner ON sessions(owner, updated_at)
        """,
    ),
    # Lookups that scanned a whole table on every answer: "has this answer a scorecard yet?"
    # (record_reply) and "which questions were asked in the owner's last sessions?" (start).
    # With 3,450 scorecards the first took 3.2 ms per answer; it grew with every answer stored.
    Migration(
        "m005_lookup_indexes",
        """
        CREATE INDEX scorecards_by_turn ON scorecards(turn_id);
        CREATE INDEX sessions_by_owner_created ON sessions(owner, created_at)
        """,
    ),
)

TABLE = "coach_migrations"


def applied(run: Run) -> list[str]:
    return [r["name"] for r in run(f"SELECT name FROM {TABLE} ORDER BY applied_at, name")]


def migrate(
    transaction: Callable[[], AbstractContextManager[Run]],
    types: dict[str, str],
    *,
    legacy_version: int = 0,
    serialise: str | None = None,
    after_each: Callable[[Run, int], object] | None = None,
    upto: int | None = None,
) -> list[str]:
    """Apply the migrations this database has not recorded; returns the names applied now.

    legacy_version: how many migrations an older database applied before names were recorded.
    serialise: SQL run first in each transaction so that concurrent starters take turns
    (PostgreSQL: an advisory lock). after_each(run, number) lets SQLite keep user_version.
    upto: stop after this many (tests build an old database with it).
    """
    wanted = MIGRATIONS[: len(MIGRATIONS) if upto is None else upto]
    with transaction() as run:
        if serialise:
            run(serialise)
        run(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, applied_at {types['real']} NOT NULL)"
        )
        if legacy_version and not applied(run):
            for number, migration in enumerate(MIGRATIONS[:legacy_version]):
                run(f"INSERT INTO {TABLE} (name, applied_at) VALUES (?, ?)", (migration.name, number))
    done: list[str] = []
    for number, migration in enumerate(wanted, start=1):
        with transaction() as run:
            if serialise:
                run(serialise)
            if migration.name in applied(run):
                continue
            for statement in migration.statements(types):
                run(statement)
            run(f"INSERT INTO {TABLE} (name, applied_at) VALUES (?, ?)", (migration.name, time.time()))
            if after_each:
                after_each(run, number)
            done.append(migration.name)
    return done
