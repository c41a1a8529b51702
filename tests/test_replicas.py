"""Two `coach serve` replicas on one real PostgreSQL and one real `chroma run` server.

An interview started on A continues on B; concurrent answers from both are serialised in the
database; A killed with SIGKILL while the model is thinking about an answer loses nothing, and
the candidate resumes on B. The model is a scripted OpenAI-compatible server on 127.0.0.1, so
the kill lands exactly between the stored answer and its reply.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client
from openai_server import Action, FakeOpenAI
from pg_server import app_servers, new_database
from test_interview import WEAK_ON_TOPIC, llm_reply
from test_scoring import STRONG

from app.sessions.postgres import PostgresSessionDB

# Starting a Chroma server and two replicas takes ~3 minutes on this shared 2-core machine:
# `pytest -m slow tests/test_replicas.py` (or make test-all).
pytestmark = pytest.mark.slow
COACH = str(Path(sys.executable).parent / "coach")
CONFIG = {"track": "ml_system_design", "questions": 2, "follow_ups": 1}
Cluster = tuple[dict[str, Any], PostgresSessionDB, FakeOpenAI]  # replicas (url, process), database, model


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    from live_server import free_port

    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port, path = free_port(), tmp_path_factory.mktemp("chroma-server")
    log = open(path.parent / "chroma.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=log,
    )
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, chroma_port: int) -> Iterator[Cluster]:
    """Replicas A and B (URL and process each), the shared database, the model server."""
    url = new_database()
    root = tmp_path_factory.mktemp("replicas")
    with FakeOpenAI(default=llm_reply) as model:
        env = {
            **os.environ,
            "COACH_DATABASE_URL": url,
            "CHROMA_HOST": "127.0.0.1",
            "CHROMA_PORT": str(chroma_port),
            "OPENAI_BASE_URL": model.base_url,
            "OPENAI_API_KEY": "sk-test",
            "COACH_ENGINE": "llm",
            "COACH_LLM_TIMEOUT": "120",
        }
        notes = root / "notes.md"  # one small shared document: the whole corpus takes minutes here
        notes.write_text("# Shared notes\n\nBoth replicas read this from the one Chroma server.\n")
        ingest = subprocess.run(
            [COACH, "ingest", str(notes)], env={**env, "COACH_DATA_DIR": str(root / "ingest")},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert ingest.returncode == 0, ingest.stderr
        serve = [COACH, "serve", "--port"]
        replicas = [(serve, {**env, "COACH_DATA_DIR": str(root / n)}, root / f"{n}.log") for n in "ab"]
        with app_servers(replicas) as started:
            servers = dict(zip("ab", started, strict=True))
            db = PostgresSessionDB(url)
            yield servers, db, model
            db.close()


def begin(cluster: Cluster) -> tuple[PostgresSessionDB, Client, Client, str]:
    """The database, a client of each replica, and a session started on A."""
    servers, db, _ = cluster
    a, b = (Client(servers[name][0], verbose=False) for name in ("a", "b"))
    return db, a, b, a.predict(**CONFIG, api_name="/start_interview")["session_id"]


def test_an_interview_started_on_a_continues_on_b(cluster: Cluster) -> None:
    db, a, b, sid = begin(cluster)
    assert b.predict(session_id=sid, api_name="/resume")["transcript"] == [t.text for t in db.turns(sid)]
    reply = b.predict(session_id=sid, text=WEAK_ON_TOPIC, api_name="/answer")
    assert reply["scorecard"] and reply["messages"]
    again = a.predict(session_id=sid, text=STRONG, api_name="/answer")  # and back on A
    assert again["scorecard"]
    turns = db.turns(sid)
    assert [t.role for t in turns] == ["interviewer", "candidate", "interviewer", "candidate", "interviewer"]
    assert [t.text for t in turns if t.role == "candidate"] == [WEAK_ON_TOPIC, STRONG]


def test_concurrent_answers_from_two_replicas_are_serialised(cluster: Cluster) -> None:
    db, a, b, sid = begin(cluster)
    barrier, results = threading.Barrier(2), []

    def send(c: Client, text: str) -> None:
        barrier.wait()
        results.append(c.predict(session_id=sid, text=text, api_name="/answer"))

    threads = [threading.Thread(target=send, args=(c, t)) for c, t in ((a, WEAK_ON_TOPIC), (b, STRONG))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert len(results) == 2
    turns = db.turns(sid)
    assert [t.seq for t in turns] == list(range(1, len(turns) + 1))
    assert [t.role for t in turns][:5] == [
        "interviewer",
        "candidate",
        "interviewer",
        "candidate",
        "interviewer",
    ]
    assert sorted(t.text for t in turns if t.role == "candidate") == sorted([WEAK_ON_TOPIC, STRONG])
    assert len(db.scorecards(sid)) == 2


def test_a_replica_killed_between_answer_and_reply_loses_nothing(cluster: Cluster) -> None:
    db, a, b, sid = begin(cluster)
    servers, _, model = cluster
    model.enqueue(Action("hang", seconds=60))  # A's model call on the answer never returns
    threading.Thread(
        target=lambda: _ignore(lambda: a.predict(session_id=sid, text=WEAK_ON_TOPIC, api_name="/answer")),
        daemon=True,
    ).start()
    deadline = time.monotonic() + 60
    while [t.role for t in db.turns(sid)] != ["interviewer", "candidate"]:
        assert time.monotonic() < deadline, "the answer was never stored"
        time.sleep(0.05)
    time.sleep(0.3)
    assert [t.role for t in db.turns(sid)] == ["interviewer", "candidate"]  # still waiting on the model
    proc = servers["a"][1]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    resumed = b.predict(session_id=sid, api_name="/resume")
    turns = db.turns(sid)
    assert [t.role for t in turns] == ["interviewer", "candidate", "interviewer"]
    assert resumed["transcript"] == [t.text for t in turns] and turns[1].text == WEAK_ON_TOPIC
    assert len(db.scorecards(sid)) == 1
    reply = b.predict(session_id=sid, text=STRONG, api_name="/answer")  # and it goes on, on B
    assert reply["scorecard"] and [t.text for t in db.turns(sid) if t.role == "candidate"] == [
        WEAK_ON_TOPIC,
        STRONG,
    ]


def _ignore(fn: Any) -> None:
    with contextlib.suppress(Exception):  # the replica is killed under this call
        fn()
