"""Wiring: builds the objects the CLI and the UI use, from one Settings object."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from app.config import Settings, load_settings
from app.corpus.loader import QuestionBank, load_bank, load_rubric
from app.corpus.models import Rubric
from app.engines.factory import make_engine
from app.engines.features import use_vector_cache, vectors_are_stale, warm_vectors
from app.engines.types import ModelSeam
from app.interview.graph import Interviewer
from app.scoring.scorer import Scorer
from app.scoring.stages import load_interviewer
from app.sessions.db import SessionDB, SessionStore
from app.sessions.service import InterviewSessions
from app.store.vectors import CorpusStore
from app.tokens import use_cache


def prepare_offline_environment(settings: Settings) -> None:
    """Nothing phones home: analytics and telemetry off, tiktoken tables local."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    use_cache(settings.tiktoken_cache_dir)
    use_vector_cache(settings.cache_dir / "corpus_vectors.npz")


_BUILD_LOCK = threading.RLock()


@dataclass
class Services:
    """Lazily built services: a command pays only for what it uses."""

    settings: Settings = field(default_factory=load_settings)

    @cached_property
    def store(self) -> CorpusStore:
        return CorpusStore.open(self.settings)

    @cached_property
    def bank(self) -> QuestionBank:
        return load_bank(self.settings.corpus_dir)

    @cached_property
    def rubric(self) -> Rubric:
        return load_rubric(self.settings.corpus_dir)

    @cached_property
    def engine(self) -> ModelSeam:
        return make_engine(self.settings)

    def scorer(self, engine: str | None = None) -> Scorer:
        """A scorer over the chosen engine (default: the settings' engine)."""
        seam = self.engine if engine is None else make_engine(self.settings, engine)
        interviewer = load_interviewer(self.settings.corpus_dir)
        return Scorer(seam, self.bank, self.rubric, self._store_if_ready(), interviewer)

    @cached_property
    def session_db(self) -> SessionStore:
        """The sessions database: PostgreSQL when COACH_DATABASE_URL is set, else the SQLite file."""
        if self.settings.database_url:
            from app.sessions.postgres import PostgresSessionDB

            return PostgresSessionDB(self.settings.database_url)
        return SessionDB(self.settings.database_path)

    def interviews(self, engine: str | None = None) -> InterviewSessions:
        """Interview sessions over the chosen engine (built once per engine choice)."""
        key = engine or self.settings.engine
        with _BUILD_LOCK:
            cache = self.__dict__.setdefault("_interviews", {})
            if key not in cache:
                cache[key] = self._build_interviews(engine)
            return cache[key]  # type: ignore[no-any-return]

    def _build_interviews(self, engine: str | None) -> InterviewSessions:
        sessions = self.session_db  # checked first: the checkpoints are rebuilt from it
        scorer = self.scorer(engine)
        interviewer = Interviewer(
            scorer.engine, scorer, self.bank, self.rubric, self._checkpointer(), scorer.store
        )
        return InterviewSessions(sessions, interviewer)

    def _checkpointer(self) -> Any:
        """LangGraph's checkpointer matching the sessions database: Postgres next to PostgreSQL
        sessions (replicas share it), else a SQLite file next to coach.sqlite3."""
        if self.settings.database_url:
            from app.sessions.postgres import checkpointer

            return checkpointer(self.settings.database_url)
        from langgraph.checkpoint.sqlite import SqliteSaver

        from app.sessions.db import open_checked

        conn = open_checked(
            self.settings.data_dir / "checkpoints.sqlite3",
            "the interview checkpoints file",
            "e.g. rename it to checkpoints.sqlite3.damaged, and run again: interviews are rebuilt"
            " from the sessions database coach.sqlite3",
        )
        # WAL with synchronous=NORMAL, as the sessions database: a commit survives a crash of
        # this process (the resume tests kill it), without an fsync per checkpoint.
        conn.execute("PRAGMA synchronous=NORMAL")
        return SqliteSaver(conn)

    def warm_up(self) -> None:
        """Load what the first request would otherwise wait for: the embedding model, the store,
        the interview graph, and one offline scoring pass (nothing is written, no model server
        is called)."""
        started = time.perf_counter()
        try:
            self.interviews()
            store = self._store_if_ready()
            if store is not None:
                store.search("warm up", k=1)
            question = next(iter(self.bank.questions.values()))
            self.scorer("offline").score(question.strong_answer.as_text(), question_id=question.id)
            if vectors_are_stale():  # after an embedding-model upgrade: re-embed the bank's texts once
                warm_vectors(list(self.bank.questions.values()))
        except Exception as err:  # serving still works; the first request just pays the cost
            logging.getLogger("coach").warning("warm-up skipped: %s", err)
            return
        logging.getLogger("coach").info("warmed up in %.1f s", time.perf_counter() - started)

    def store_if_ready(self) -> CorpusStore | None:
        """The store when it holds the corpus; None (logged) when it is empty or unreachable."""
        return self._store_if_ready()

    def _store_if_ready(self) -> CorpusStore | None:
        try:
            return self.store if self.store.count() else None
        except Exception as err:  # a missing or unreachable store only disables free-text matching
            logging.getLogger("coach").warning("store unavailable for free-text questions: %s", err)
            return None


def build_services(settings: Settings | None = None) -> Services:
    """Services over settings (from the environment by default), environment prepared."""
    services = Services(settings or load_settings())
    prepare_offline_environment(services.settings)
    return services
