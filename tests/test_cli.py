"""The `coach` CLI as a user runs it: real commands, real store, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_ingest import write_docs

from app.cli import main, serve_auth
from app.errors import UserInputError


@pytest.fixture
def cli_env(tmp_path: Path, shared_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "cli-data"
    monkeypatch.setenv("COACH_DATA_DIR", str(data))
    return data


def test_ingest_then_search_json(cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = write_docs(tmp_path / "docs")
    assert main(["ingest", str(docs)]) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith("ingested 3 documents: 3 chunks, 3 embedded, 0 unchanged, 0 removed")
    assert main(["search", "ranking posts in a feed", "--k", "2", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2 and hits[0]["source"].endswith("feeds.md")
    assert {"score", "kind", "text", "source"} <= hits[0].keys()


def test_search_text_output_and_filters(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["ingest", str(write_docs(tmp_path / "docs"))])
    capsys.readouterr()
    assert main(["search", "model retraining after drift", "--kind", "document", "--k", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. [") and "drift.md" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["ingest", "/no/such/folder"], "no such file or folder"),
        (["search", "   "], "the search query is empty"),
        (["search", "anything"], "the store is empty"),
        (["feedback", "--question-id", "msd-news-feed-ranking", "--answer", "  \n "], "the answer is empty"),
        (
            ["feedback", "--question-id", "msd-news-feed-ranking", "--answer-file", "/dev/null"],
            "not a regular file",
        ),
    ],
)
def test_user_errors_are_one_line_and_exit_2(
    cli_env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1


def test_bad_environment_is_a_clear_error(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COACH_ENGINE", "turbo")
    assert main(["config"]) == 2
    assert "COACH_ENGINE must be one of" in capsys.readouterr().err


def test_config_never_prints_the_key(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-abc123")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "sk-secret-abc123" not in out and "openai_api_key   set" in out and "auto -> llm" in out


def test_serve_refuses_public_host_without_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COACH_AUTH", raising=False)
    assert serve_auth("127.0.0.1", insecure=False) is None
    with pytest.raises(UserInputError, match="COACH_AUTH"):
        serve_auth("0.0.0.0", insecure=False)
    assert serve_auth("0.0.0.0", insecure=True) is None
    monkeypatch.setenv("COACH_AUTH", "ana:pw")
    assert serve_auth("0.0.0.0", insecure=False) == ("ana", "pw")
    monkeypatch.setenv("COACH_AUTH", "nopassword")
    with pytest.raises(UserInputError):
        serve_auth("0.0.0.0", insecure=False)


def test_console_script_runs_without_traceback(cli_env: Path) -> None:
    coach = Path(sys.executable).parent / "coach"
    out = subprocess.run(
        [str(coach), "ingest", "/no/such/path"],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=120,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and out.stderr.startswith("error: no such file or folder")


def test_a_reader_that_stops_early_gets_no_traceback(cli_env: Path) -> None:
    """`coach feedback ... | head -1`: the pipe closes before the scorecard is written."""
    coach = Path(sys.executable).parent / "coach"
    answer = "I would rank posts with a model trained on engagement, because it predicts what users want."
    proc = subprocess.Popen(
        [str(coach), "feedback", "--question-id", "msd-news-feed-ranking", "--answer", answer],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `head` exiting before the scorecard (seconds away) is written
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in stderr
