"""`make bench-replicas`: concurrent users over two replicas on PostgreSQL and a Chroma server, and
over one replica on SQLite with a local Chroma store, for comparison.

Each user starts an interview (offline engine, 3 questions, no follow-ups) and answers it to the
end, thinking 1-3 s between answers; users arrive over the first 5 s. A replica is a separate
process with its own services (as `coach serve` would be); PostgreSQL is a real server started
in a temporary directory (tests/pg_server.py), Chroma a real `chroma run` on a loopback port, and
the corpus is ingested into each store with `coach ingest` first. Reported: errors, per-turn latency p50/p95, and
lost or duplicated turns found in the database afterwards, and the machine's load average, since
the figures depend on what else runs on it.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT, Settings
from app.interview.plan import InterviewConfig
from app.services import Services, prepare_offline_environment
from app.sessions.db import SessionStore
from app.store.embeddings import CoachEmbeddingFunction
from app.store.vectors import CorpusStore, collection_name, open_client

ANSWERS = [
    "I would frame the metric first, then collect labels from past outcomes and train a simple model.",
    "Offline I would compare against a baseline on a held-out week, online with an A/B test.",
    "I would monitor drift in the inputs and the calibration of the scores, and retrain weekly.",
]
CONFIG = InterviewConfig(track="ml_system_design", questions=3, follow_ups=0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


@dataclass(frozen=True)
class Setup:
    """Where the replicas keep their state."""

    name: str
    replicas: int
    database_url: str | None = None  # None: SQLite in the data dir
    chroma_port: int | None = None  # None: a local Chroma store in the data dir

    def settings(self, data_dir: Path) -> Settings:
        host = "127.0.0.1" if self.chroma_port else None
        return Settings(
            data_dir=data_dir,
            database_url=self.database_url,
            chroma_host=host,
            chroma_port=self.chroma_port or 8000,
        )

    def env(self, data_dir: Path) -> dict[str, str]:
        env = {**os.environ, "COACH_DATA_DIR": str(data_dir)}
        if self.chroma_port:
            env.update(CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(self.chroma_port))
        return env


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def chroma_server(path: Path) -> Iterator[int]:
    """A real `chroma run` on a loopback port, persisting under path; yields the port."""
    from live_server import free_port

    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    with open(path.parent / "chroma.log", "w") as log:
        proc = subprocess.Popen(
            [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while not _listening(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not start; see {path.parent / 'chroma.log'}")
                time.sleep(0.2)
            yield port
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def ingest_corpus(setup: Setup, data_dir: Path) -> None:
    """The corpus into the setup's store with the real CLI, as an operator would before serving."""
    coach = str(Path(sys.executable).parent / "coach")
    subprocess.run([coach, "ingest"], env=setup.env(data_dir), check=True, capture_output=True, timeout=1800)


def warm_cache(ingested: Path, data_dir: Path) -> None:
    """The vector cache `coach ingest` filled, copied to a replica's data dir, as running
    `coach ingest` on that replica would leave it (docs/DEPLOY.md): otherwise its first answer to
    each question embeds that question's talking points, and the figure measures a cold start."""
    name = "corpus_vectors.npz"
    source = Settings(data_dir=ingested).cache_dir / name
    target = Settings(data_dir=data_dir).cache_dir / name
    if source.exists() and source != target:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def copy_store(source: Settings, target: Settings) -> None:
    """The ingested corpus, vectors and all, from one store into another: embedding it twice would
    only make the run longer (minutes on a busy machine) and measure nothing new."""
    CorpusStore.open(target)  # the collection, created as the app creates it
    read, write = (
        open_client(s).get_collection(collection_name(), embedding_function=CoachEmbeddingFunction())
        for s in (source, target)
    )
    data = read.get(include=["embeddings", "documents", "metadatas"])
    for start in range(0, len(data["ids"]), 500):
        part = slice(start, start + 500)
        write.upsert(
            ids=data["ids"][part],
            embeddings=data["embeddings"][part],
            documents=data["documents"][part],
            metadatas=data["metadatas"][part],
        )


def replica(setup: Setup, data_dir: str, users: int, seed: int, out: Any) -> None:
    """One replica process: `users` concurrent candidates; puts (latencies, errors, ids)."""
    settings = setup.settings(Path(data_dir))
    prepare_offline_environment(settings)
    services = Services(settings)
    services.warm_up()  # as `coach serve` does before it takes requests
    sessions = services.interviews("offline")
    out.put("ready")
    rng = random.Random(seed)
    plans = [(rng.uniform(0, 5), [rng.uniform(1, 3) for _ in ANSWERS]) for _ in range(users)]
    latencies: list[float] = []
    errors: list[str] = []
    acked: dict[str, int] = {}  # session id -> answers the candidate saw replied to
    lock = threading.Lock()

    def candidate(arrive: float, thinks: list[float]) -> None:
        time.sleep(arrive)
        try:
            step = sessions.start(CONFIG)
            with lock:
                acked[step.session_id] = 0
            for answer, think in zip(ANSWERS, thinks, strict=True):
                time.sleep(think)
                began = time.perf_counter()
                step = sessions.answer(step.session_id, answer, expect_seq=step.seq)
                with lock:
                    latencies.append(time.perf_counter() - began)
                    acked[step.session_id] += 1
        except Exception as err:  # noqa: BLE001 - counted, not raised: the figure is the count
            with lock:
                errors.append(f"{type(err).__name__}: {err}")

    threads = [threading.Thread(target=candidate, args=plan) for plan in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((latencies, errors, acked))


def run(setup: Setup, users: int, root: Path) -> dict[str, Any]:
    """Start the setup's replicas, let `users` candidates loose on them, then check the database."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    shared = root / setup.name.split()[0]  # SQLite: one data dir; on servers the data dirs hold caches only
    dirs = [
        shared if setup.database_url is None else root / f"{shared.name}-{i}" for i in range(setup.replicas)
    ]
    for folder in {*dirs, shared}:
        folder.mkdir(parents=True, exist_ok=True)
        warm_cache(root / "ingest", folder)
    share = [users // setup.replicas + (i < users % setup.replicas) for i in range(setup.replicas)]
    procs = [
        ctx.Process(target=replica, args=(setup, str(folder), n, i, out))
        for i, (folder, n) in enumerate(zip(dirs, share, strict=True))
    ]
    for p in procs:
        p.start()
    assert all(out.get(timeout=600) == "ready" for _ in procs)  # noqa: S101 - timed once all are warm
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    results = [out.get(timeout=1800) for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - began
    latencies = [x for r in results for x in r[0]]
    errors = [x for r in results for x in r[1]]
    acked: dict[str, int] = {sid: n for r in results for sid, n in r[2].items()}
    lost, duplicated = check_turns(setup.settings(shared), acked)
    return {
        "setup": setup.name,
        "replicas": setup.replicas,
        "users": users,
        "turns": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "p50_s": round(percentile(latencies, 0.5), 3),
        "p95_s": round(percentile(latencies, 0.95), 3),
        "max_s": round(max(latencies, default=float("nan")), 3),
        "lost_turns": lost,
        "duplicated_turns": duplicated,
        "wall_s": round(wall, 1),
        "load_avg_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def check_turns(settings: Settings, acked: dict[str, int]) -> tuple[int, int]:
    """(lost, duplicated): answers acknowledged to a candidate but not stored, and answers stored
    twice, read back from the database the replicas shared."""
    db: SessionStore = Services(settings).session_db
    lost = duplicated = 0
    try:
        for sid, n in acked.items():
            said = [t.text for t in db.turns(sid) if t.role == "candidate"]
            lost += sum(1 for a in ANSWERS[:n] if a not in said)
            duplicated += len(said) - len(set(said))
    finally:
        db.close()
    return lost, duplicated


def table(rows: list[dict[str, Any]]) -> str:
    """The figures as the Markdown table of docs/PERFORMANCE.md."""
    lines = [
        "| setup | replicas | users | turns | errors | p50 | p95 | max | lost | duplicated | load (1 min) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['setup']} | {r['replicas']} | {r['users']} | {r['turns']} | {r['errors']} | {r['p50_s']} s"
        f" | {r['p95_s']} s | {r['max_s']} s | {r['lost_turns']} | {r['duplicated_turns']}"
        f" | {r['load_avg_1m'][0]} -> {r['load_avg_1m'][1]} |"
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    users = int(args[0]) if args else 100
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from pg_server import new_database  # a real PostgreSQL in a temporary directory

    print(f"{users} users; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="coach-bench-replicas-") as tmp:
        root = Path(tmp)
        (root / "chroma").mkdir()
        with chroma_server(root / "chroma") as port:
            server = Setup("postgresql + chroma run", 2, new_database(), port)
            ingest_corpus(server, root / "ingest")
            rows.append(run(server, users, root))
            print(json.dumps(rows[-1]), flush=True)
            local = Setup("sqlite + local chroma", 1)
            copy_store(server.settings(root / "ingest"), local.settings(root / "sqlite"))
        rows.append(run(local, users, root))
        print(json.dumps(rows[-1]), flush=True)
    print(table(rows))
    return 1 if any(r["errors"] or r["lost_turns"] or r["duplicated_turns"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
