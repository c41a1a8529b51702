"""A real PostgreSQL for the tests: initdb + pg_ctl in a temporary directory, on a loopback port.

One server per test session (started on first use, stopped at exit); each test gets a fresh
database in it. PostgreSQL refuses to run as root, so as root the server runs as the `postgres`
user (the Debian package creates it). Without the binaries the tests skip, loudly.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from live_server import free_port

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
MISSING = (
    "PostgreSQL TESTS SKIPPED: no initdb/pg_ctl under /usr/lib/postgresql/*/bin; install the Debian"
    " package `postgresql` (apt-get install -y postgresql) to run them"
)

_state: dict[str, object] = {}


def _bin() -> Path | None:
    return next((d for d in BIN_DIRS if (d / "initdb").exists() and (d / "pg_ctl").exists()), None)


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


def _start() -> str:
    bindir = _bin()
    if bindir is None:
        raise FileNotFoundError(MISSING)
    root = Path(tempfile.mkdtemp(prefix="coach-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    data = root / "data"
    port = free_port()
    run = lambda *a: subprocess.run(_as_server_user(list(a)), check=True, capture_output=True, timeout=120)  # noqa: E731
    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-A",
        "trust",
        "-U",
        "coach",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-o", options, "-w", "start")

    def stop() -> None:
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql://coach@127.0.0.1:{port}"


def server_url() -> str:
    """The running server's URL (no database part); skips, loudly, without the binaries."""
    if "url" not in _state:
        try:
            _state["url"] = _start()
        except (FileNotFoundError, subprocess.CalledProcessError, KeyError) as err:
            detail = getattr(err, "stderr", b"") or b""
            _state["error"] = f"{err} {detail.decode(errors='replace')[-400:]}".strip()
            _state["url"] = None
    if _state["url"] is None:
        warnings.warn(str(_state["error"]), stacklevel=2)
        pytest.skip(str(_state["error"]))
    return str(_state["url"])


def new_database() -> str:
    """A fresh, empty database on the session's server; its URL."""
    import psycopg

    base = server_url()
    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    yield new_database()


@contextmanager
def app_servers(
    commands: list[tuple[list[str], dict[str, str], Path]], timeout: float = 240
) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """Web app processes (`coach serve ... --port`: the port comes last),
    all started at once, each on a free loopback port; yields (URL, process) for each."""
    procs: list[tuple[int, subprocess.Popen[bytes], Path]] = []
    try:
        for args, env, log in commands:
            port = free_port()
            with open(log, "w") as out:
                proc = subprocess.Popen(
                    [*args, str(port)],
                    env={**env, "GRADIO_ANALYTICS_ENABLED": "False"},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            procs.append((port, proc, log))
        deadline = time.monotonic() + timeout
        for port, proc, log in procs:
            while not _listening(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.3)
        yield [(f"http://127.0.0.1:{port}/", proc) for port, proc, _ in procs]
    finally:
        for _, proc, _ in procs:
            if proc.poll() is None:
                proc.terminate()
        for _, proc, _ in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
