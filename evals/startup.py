"""Start-up of `coach serve` (issue 16 item 15): seconds from starting the process to the first
HTTP 200 of `/`, to the warm-up being done (/coach/ready), and to the first question over the API,
with the CPU seconds the server process had used at the first two (Linux /proc).

    python -m evals.startup [--data-dir DIR] [--runs 3]

DIR must hold an ingested store (`coach ingest`); it is copied to a temporary folder first (its
corpus store and caches only, never its sessions), so nothing of it is changed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from app.config import load_settings
from app.ui.app import READY_PATH


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:  # loopback only
            return int(reply.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except OSError:
        return 0


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far: on a machine shared with other
    work, the wall-clock time mostly measures the others; this is what the start-up itself cost."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_run(data_dir: Path, timeout_s: float = 300) -> dict[str, float]:
    """One `coach serve` from process start: page, ready, first question (seconds)."""
    from gradio_client import Client

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "COACH_DATA_DIR": str(data_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    coach = str(Path(sys.executable).parent / "coach")
    figures: dict[str, float] = {}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [coach, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = started + timeout_s
        for name, path in (("first_page_s", "/"), ("ready_s", READY_PATH)):
            while _status(url + path) != 200:
                if proc.poll() is not None or time.perf_counter() > deadline:
                    raise SystemExit(f"error: coach serve did not answer {path} within {timeout_s:g} s")
                time.sleep(0.05)
            figures[name] = round(time.perf_counter() - started, 2)
            figures[name.replace("_s", "_cpu_s")] = round(_cpu_s(proc.pid), 2)
        asked = time.perf_counter()
        Client(url, verbose=False).predict("ml_system_design", "any", 1, 0, "", api_name="/start_interview")
        figures["first_question_s"] = round(time.perf_counter() - asked, 2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.startup", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    source = args.data_dir or load_settings().data_dir
    if not (source / "chroma").is_dir():
        print(f"error: {source} holds no ingested store: run `coach ingest` first", file=sys.stderr)
        return 2
    runs = []
    with tempfile.TemporaryDirectory(prefix="coach-startup-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        for part in ("chroma", "cache"):
            if (source / part).is_dir():
                shutil.copytree(source / part, data / part)
        for _ in range(max(1, args.runs)):
            runs.append(one_run(data))
    median = {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]}
    load = os.getloadavg()[0]
    print(json.dumps({"runs": runs, "median": median, "load_1min": round(load, 1), "cpus": os.cpu_count()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
