"""Chroma in server mode: a real `chroma run` on 127.0.0.1, reached through HttpClient."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_ingest import write_docs

from app.config import Settings
from app.store.ingest import ingest
from app.store.vectors import CorpusStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None:
                pytest.fail("chroma run exited early")
            time.sleep(0.2)
        else:
            pytest.fail("chroma run did not start within 60 s")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_ingest_and_query_through_a_chroma_server(
    chroma_server: int, tmp_path: Path, shared_data_dir: Path
) -> None:
    settings = Settings(data_dir=tmp_path, chroma_host="127.0.0.1", chroma_port=chroma_server)
    store = CorpusStore.open(settings)
    report = ingest(store, [write_docs(tmp_path / "docs")])
    assert report.embedded == 3
    hits = store.search("ordering posts in a timeline", k=1)
    assert hits[0].source.endswith("feeds.md")
    assert not settings.chroma_dir.exists(), "server mode must not write a local store"
    again = ingest(CorpusStore.open(settings), [tmp_path / "docs"])
    assert again.embedded == 0 and again.unchanged == 3
