"""Load: concurrent gradio_client users through a 3-answer mock interview on the offline engine.

The users run in this process and share the machine's cores with the server, so the report
gives each side's CPU time. Each user's Client has `ssl_verify=False`: the server is plain HTTP on
loopback, so there is nothing to verify, and with the default gradio_client builds a fresh TLS
context (loading the CA bundle) for every request: ~110 ms of CPU per Client and ~45 ms per call,
which on 2 cores made the load generator, not the server, the bottleneck (22 s of generator CPU
against 4 s of server CPU for 50 users).
"""

from __future__ import annotations

import os
import random
import subprocess
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
    url: str,
    think_s: float,
    latencies: list[float],
    errors: list[str],
    lock: threading.Lock,
    connected: threading.Barrier,
) -> None:
    from gradio_client import Client

    try:
        try:
            client = Client(url, verbose=False, ssl_verify=False)
        finally:
            connected.wait(timeout=120)  # every user connects first, then all start at once
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


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_test(data_dir: Path, users: int = 50, think_s: float = 0.0) -> dict[str, Any]:
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from live_server import coach_server

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    server: list[subprocess.Popen[bytes]] = []
    import gradio_client  # noqa: F401  (imported once here, not by 50 threads at once)

    connected = threading.Barrier(users)
    with coach_server(data_dir, on_start=server.append) as url:
        threads = [
            threading.Thread(target=run_user, args=(url, think_s, latencies, errors, lock, connected))
            for _ in range(users)
        ]
        server_cpu, own_cpu = process_cpu_s(server[0].pid), time.process_time()
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        wall = time.perf_counter() - began
        server_cpu = process_cpu_s(server[0].pid) - server_cpu
        own_cpu = time.process_time() - own_cpu
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
        "server_cpu_s": round(server_cpu, 1),
        "generator_cpu_s": round(own_cpu, 1),
    }
