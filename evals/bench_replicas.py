"""`make bench-replicas`: concurrent users over two replicas on PostgreSQL, and over one on SQLite.

Each user starts an interview (offline engine, 3 questions, no follow-ups) and answers it to the
end, thinking 1-3 s between answers; users arrive over the first 5 s. A replica is a separate
process with its own services (as `coach serve` would be); PostgreSQL is a real server started
in a temporary directory (tests/pg_server.py). Reported: errors, per-turn latency p50/p95, and
lost or duplicated turns found in the database afterwards.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT, Settings
from app.interview.plan import InterviewConfig
from app.services import Services, prepare_offline_environment
from app.sessions.db import SessionStore

ANSWERS = [
    "I would frame the metric first, then collect labels from past outcomes and train a simple model.",
    "Offline I would compare against a baseline on a held-out week, online with an A/B test.",
    "I would monitor drift in the inputs and the calibration of the scores, and retrain weekly.",
]
CONFIG = InterviewConfig(track="ml_system_design", questions=3, follow_ups=0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def replica(data_dir: str, url: str | None, users: int, seed: int, out: Any) -> None:
    """One replica process: `users` concurrent candidates; puts (latencies, errors, ids)."""
    settings = Settings(data_dir=Path(data_dir), database_url=url)
    prepare_offline_environment(settings)
    services = Services(settings)
    services.warm_up()  # as `coach serve` does before it takes requests
    sessions = services.interviews("offline")
    out.put("ready")
    rng = random.Random(seed)
    plans = [(rng.uniform(0, 5), [rng.uniform(1, 3) for _ in ANSWERS]) for _ in range(users)]
    latencies: list[float] = []
    errors: list[str] = []
    ids: list[str] = []
    lock = threading.Lock()

    def candidate(arrive: float, thinks: list[float]) -> None:
        time.sleep(arrive)
        try:
            step = sessions.start(CONFIG)
            with lock:
                ids.append(step.session_id)
            for answer, think in zip(ANSWERS, thinks, strict=True):
                time.sleep(think)
                began = time.perf_counter()
                step = sessions.answer(step.session_id, answer, expect_seq=step.seq)
                with lock:
                    latencies.append(time.perf_counter() - began)
        except Exception as err:  # noqa: BLE001 - counted, not raised: the figure is the count
            with lock:
                errors.append(f"{type(err).__name__}: {err}")

    threads = [threading.Thread(target=candidate, args=plan) for plan in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((latencies, errors, ids))


def run(name: str, url: str | None, replicas: int, users: int, root: Path) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    shared = root / name  # SQLite: one data dir; PostgreSQL: the database is what is shared
    procs = [
        ctx.Process(
            target=replica,
            args=(str(shared if url is None else root / f"{name}-{i}"), url, users // replicas, i, out),
        )
        for i in range(replicas)
    ]
    for p in procs:
        p.start()
    assert all(out.get() == "ready" for _ in procs)  # noqa: S101 - timing starts once all are warm
    began = time.perf_counter()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - began
    latencies = [x for r in results for x in r[0]]
    errors = [x for r in results for x in r[1]]
    ids = [x for r in results for x in r[2]]
    settings = Settings(data_dir=shared, database_url=url)
    db: SessionStore = Services(settings).session_db
    lost = duplicated = 0
    for sid in ids:
        said = [t.text for t in db.turns(sid) if t.role == "candidate"]
        lost += sum(1 for a in ANSWERS if a not in said)
        duplicated += len(said) - len(set(said))
    db.close()
    return {
        "setup": name,
        "replicas": replicas,
        "users": users,
        "turns": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "p50_s": round(percentile(latencies, 0.5), 3),
        "p95_s": round(percentile(latencies, 0.95), 3),
        "lost_turns": lost,
        "duplicated_turns": duplicated,
        "wall_s": round(wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    users = int(args[0]) if args else 100
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from pg_server import new_database  # a real PostgreSQL in a temporary directory

    with tempfile.TemporaryDirectory(prefix="coach-bench-replicas-") as tmp:
        root = Path(tmp)
        for name, url, replicas in (("postgresql", new_database(), 2), ("sqlite", None, 1)):
            print(json.dumps(run(name, url, replicas, users, root)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
