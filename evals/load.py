"""Load: concurrent gradio_client users through a 3-answer mock interview on the offline engine."""

from __future__ import annotations

import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT

ANSWERS = [
    "At a high level I'd frame this as a ranking problem and measure retention, with a 2% lift as the goal.",
    "I would start with a simple baseline, then a gradient-boosted model, because it is cheap to serve.",
    "We'd monitor drift and roll back when the online metric drops, since bad predictions cost revenue.",
]


def run_user(
    url: str, think_s: float, latencies: list[float], errors: list[str], lock: threading.Lock
) -> None:
    from gradio_client import Client

    try:
        client = Client(url, verbose=False)
        started = client.predict("any", "any", 3, 0, "", api_name="/start_interview")
        session = started["session_id"]
        for answer in ANSWERS:
            if think_s:
                time.sleep(random.uniform(0.5 * think_s, 1.5 * think_s))
            t0 = time.perf_counter()
            step = client.predict(session, answer, api_name="/answer")
            elapsed = time.perf_counter() - t0
            if not step.get("messages"):
                raise RuntimeError("no reply")
            with lock:
                latencies.append(elapsed)
    except Exception as err:  # every failure is counted and reported, not hidden
        with lock:
            errors.append(f"{type(err).__name__}: {err}"[:200])


def load_test(data_dir: Path, users: int = 50, think_s: float = 0.0) -> dict[str, Any]:
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from live_server import coach_server

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    with coach_server(data_dir) as url:
        threads = [
            threading.Thread(target=run_user, args=(url, think_s, latencies, errors, lock))
            for _ in range(users)
        ]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        wall = time.perf_counter() - began
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return (
            round(ordered[min(len(ordered) - 1, int(q / 100 * (len(ordered) - 1) + 0.5))], 3)
            if ordered
            else float("nan")
        )

    return {
        "users": users,
        "think_s": think_s,
        "turns": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:3],
        "p50_s": pct(50),
        "p95_s": pct(95),
        "max_s": round(ordered[-1], 3) if ordered else float("nan"),
        "wall_s": round(wall, 1),
    }
