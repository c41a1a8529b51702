"""The small local model (llama.cpp's server + Qwen2.5-Coder-0.5B) as a real `coach llm-local`
subprocess on a free loopback port, for tests that need a real LLM endpoint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from live_server import free_port

from app.engines.local_model import MODEL_NAME, default_cache_dir, ensure_model
from app.errors import CoachError

# Threads waiting passively (OMP_WAIT_POLICY=PASSIVE). Two, not one: measured here with the
# machine's load at 11-14 on 2 cores, one thread let a judge call run past the 300 s timeout, as a
# single thread gets only one share of a contended CPU.
THREADS = 2

# Read before conftest points COACH_DATA_DIR at a temporary folder: the model lives in the real
# cache, where `make test` (or `make llm-local`) installed it.
MODEL_DIR = default_cache_dir()


def unavailable() -> str | None:
    """Why the local model cannot run here (None when it can)."""
    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        return "the llm-local extra (xllamacpp) is not installed: `make test-llm-local` installs it"
    try:
        ensure_model(MODEL_DIR)
    except CoachError as err:
        return str(err)
    return None


def _get(url: str, timeout: float = 5) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as reply:  # loopback only
        return str(reply.read().decode())


def _post(url: str, body: dict[str, Any], timeout: float = 30) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.loads(reply.read())


class LocalModel:
    """`coach llm-local` in a subprocess; stop() kills it (the model dying mid-interview)."""

    def __init__(self, log_dir: Path, threads: int = THREADS) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.url}/v1"
        self.model = MODEL_NAME
        self.log_path = log_dir / f"llm-local-{self.port}.log"
        env = {**os.environ, "COACH_LOCAL_MODEL_DIR": str(MODEL_DIR), "OMP_WAIT_POLICY": "PASSIVE"}
        coach = str(Path(sys.executable).parent / "coach")
        started = time.perf_counter()
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [coach, "llm-local", "--port", str(self.port), "--threads", str(threads)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while "OPENAI_BASE_URL=" not in self.log_path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"coach llm-local did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        self.start_s = time.perf_counter() - started

    def alive(self) -> bool:
        try:
            return "ok" in _get(f"{self.url}/health", timeout=2)
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)
        self._log.close()

    def counter(self, name: str) -> float:
        """A counter from the server's own /metrics (e.g. tokens_predicted_total)."""
        text = _get(f"{self.url}/metrics")
        found = re.search(rf"^llamacpp:{name} ([0-9.e+]+)$", text, re.MULTILINE)
        assert found, f"{name} not in /metrics"
        return float(found.group(1))

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        """How many tokens the server's chat template and tokenizer make of these messages."""
        prompt = _post(f"{self.url}/apply-template", {"messages": messages})["prompt"]
        tokens = _post(
            f"{self.url}/tokenize", {"content": prompt, "add_special": True, "parse_special": True}
        )
        return len(tokens["tokens"])

    def tokens_per_second(
        self, prompt: str = "Explain overfitting in three sentences.", n: int = 64
    ) -> float:
        """Generation speed as the server measured it."""
        reply = _post(
            f"{self.base_url}/chat/completions",
            {"messages": [{"role": "user", "content": prompt}], "max_tokens": n, "temperature": 0},
            timeout=120,
        )
        return float(reply["timings"]["predicted_per_second"])
