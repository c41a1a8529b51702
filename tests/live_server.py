"""A real `coach serve` on 127.0.0.1 for API and browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from app.ui.app import READY_PATH


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_ready(url: str) -> bool:
    """The server's warm-up is done (READY_PATH answers 200; 503 while it runs)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + READY_PATH, timeout=5) as reply:  # loopback
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def coach_server(
    data_dir: Path,
    timeout: float = 180,
    on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
    wait_ready: bool = True,
) -> Iterator[str]:
    """`coach serve` on a free port; yields its URL once it listens and (by default) once its
    warm-up is done, so a test's first request is not the one paying for it."""
    port = free_port()
    env = {**os.environ, "COACH_DATA_DIR": str(data_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    coach = str(Path(sys.executable).parent / "coach")
    log = open(data_dir / f"serve-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [coach, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError((data_dir / f"serve-{port}.log").read_text())
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0 and (not wait_ready or is_ready(url)):
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("coach serve did not start")
        if on_start:
            on_start(proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
