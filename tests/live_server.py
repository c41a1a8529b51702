"""A real `coach serve` on 127.0.0.1 for API and browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def coach_server(
    data_dir: Path, timeout: float = 180, on_start: Callable[[subprocess.Popen[bytes]], None] | None = None
) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "COACH_DATA_DIR": str(data_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    coach = str(Path(sys.executable).parent / "coach")
    log = open(data_dir / f"serve-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [coach, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError((data_dir / f"serve-{port}.log").read_text())
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
        else:
            raise RuntimeError("coach serve did not start")
        if on_start:
            on_start(proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
