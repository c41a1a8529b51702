"""Adversarial input to the `coach` CLI (issue 14): each bad input is one line and an exit code.

The commands run as a user runs them (a subprocess of the installed console script) over real
files and real SQLite databases; the full-disk and read-only cases mount a real tmpfs.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.sessions.db import SessionDB
from app.store.vector_cache import VectorCache

pytestmark = pytest.mark.hardening

COACH = Path(sys.executable).parent / "coach"
QID = "msd-news-feed-ranking"
ANSWER = "At a high level I would rank posts by predicted engagement, because retention drives revenue."
Arg = str | bytes


def run_coach(
    args: Sequence[Arg],
    data_dir: Path,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[bytes]:
    """`coach ARGS` with its own data folder; argv items may be raw bytes (not UTF-8)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("COACH_", "OPENAI_", "CHROMA_"))}
    full_env.update({"COACH_DATA_DIR": str(data_dir), **(env or {})})
    return subprocess.run(
        [str(COACH), *args], input=stdin or b"", capture_output=True, env=full_env, timeout=timeout
    )


def error_line(proc: subprocess.CompletedProcess[bytes], code: int, *fragments: str) -> str:
    """The one `error:` line of a failed run (log warnings may precede it, a traceback never)."""
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    assert proc.returncode == code, (proc.returncode, err)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0], err
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


def no_session_started(data_dir: Path) -> bool:
    db = data_dir / "coach.sqlite3"
    if not db.exists():
        return True
    with sqlite3.connect(db) as conn:
        return bool(conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0)


@pytest.fixture(scope="module")
def answers_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("answers") / "answers.txt"
    path.write_text(f"{ANSWER}\n---\nWe would measure it by retention.\n---\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def finished_session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A data folder whose real sessions database holds one answered session, and its id."""
    data = tmp_path_factory.mktemp("with-session")
    db = SessionDB(data / "coach.sqlite3")
    session_id = db.create_session({"questions": 1, "follow_ups": 0, "track": None}, "offline")
    db.add_turn(session_id, "interviewer", "question", "Design a feed ranking system.", QID, "offline")
    db.add_turn(session_id, "candidate", "answer", ANSWER)
    db.close()
    return data, session_id


# 1. Text that is not UTF-8 on the command line (bytes arrive as lone surrogates).


@pytest.mark.parametrize(
    "argv, named",
    [
        (["feedback", "--question-id", QID, "--answer", b"\xff\xfe"], "--answer"),
        (["feedback", "--question-id", QID, b"--answer=ok \xff"], "--answer"),
        (["feedback", "--question", b"design a feed \xfe", "--answer", "ok"], "--question"),
        (["feedback", "--question-id", QID, "--answer", "ok", "--reference", b"\xc3("], "--reference"),
        (["feedback", "--question-id", b"msd-\xff", "--answer", "ok"], "--question-id"),
        (["search", b"ranking \xff\xfe posts"], "argument 2"),
        (["sessions", "show", b"\xff\xff"], "argument 3"),
        (["eval", "--dataset", "x.csv", "--where", b"track=\xe9"], "--where"),
    ],
    ids=["answer", "answer-equals", "question", "reference", "question-id", "search", "show", "where"],
)
def test_text_that_is_not_utf8_is_refused(tmp_path: Path, argv: list[Arg], named: str) -> None:
    error_line(run_coach(argv, tmp_path / "data"), 2, "not valid UTF-8", named)


def test_piped_interview_answer_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    proc = run_coach(
        ["interview", "--questions", "1", "--follow-ups", "0"],
        tmp_path / "data",
        stdin=b"I would rank \xff\xfe posts by engagement\n---\n",
    )
    error_line(proc, 2, "standard input is not UTF-8")


# 2. --focus-file (and --answers-file) checked before an interview starts.


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda d: d / "missing.md", "does not exist"),
        (lambda d: d, "is a folder"),
        (lambda d: _write(d / "latin1.md", "Poste: ingénieur ML".encode("latin-1")), "not UTF-8"),
        (lambda d: _write(d / "image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00"), "binary"),
    ],
    ids=["missing", "directory", "not-utf8", "binary"],
)
@pytest.mark.parametrize("option", ["--focus-file", "--answers-file"])
def test_bad_interview_input_file_is_refused_before_the_interview(
    tmp_path: Path, make: object, fragment: str, option: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    data = tmp_path / "data"
    proc = run_coach(["interview", "--questions", "1", option, str(path)], data)
    error_line(proc, 2, option, str(path), fragment)
    assert no_session_started(data)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# 3 and 4. Output files: refused up front, before the work (an interview) that would be lost.


def _missing_dir(d: Path) -> Path:
    return d / "no-such-folder" / "out.md"


def _a_directory(d: Path) -> Path:
    (d / "existing").mkdir(exist_ok=True)
    return d / "existing"


def _under_a_file(d: Path) -> Path:
    return _write(d / "plain.txt", b"text") / "out.md"


OUTPUTS = pytest.mark.parametrize(
    "make, fragment",
    [(_missing_dir, "does not exist"), (_a_directory, "is a folder"), (_under_a_file, "is a file")],
    ids=["missing-folder", "a-folder", "parent-is-a-file"],
)


@OUTPUTS
def test_transcript_out_is_checked_before_the_interview(
    tmp_path: Path, answers_file: Path, make: object, fragment: str
) -> None:
    out = make(tmp_path)  # type: ignore[operator]
    data = tmp_path / "data"
    proc = run_coach(
        ["interview", "--questions", "1", "--follow-ups", "0", "--answers-file", str(answers_file)]
        + ["--transcript-out", str(out)],
        data,
    )
    error_line(proc, 2, "--transcript-out", fragment)
    assert no_session_started(data)


@OUTPUTS
def test_sessions_export_out_is_checked(
    tmp_path: Path, finished_session: tuple[Path, str], make: object, fragment: str
) -> None:
    data, session_id = finished_session
    out = make(tmp_path)  # type: ignore[operator]
    proc = run_coach(["sessions", "export", session_id, "--out", str(out)], data)
    error_line(proc, 2, "--out", fragment)


# 9 (and the other counts). A count below 1 is refused, never read as "all" or "none".


@pytest.mark.parametrize(
    "argv, option",
    [
        (["sessions", "list", "--limit", "0"], "--limit"),
        (["sessions", "list", "--limit", "-1"], "--limit"),
        (["sessions", "list", "--limit", "many"], "--limit"),
        (["search", "feed ranking", "--k", "0"], "--k"),
        (["search", "feed ranking", "--k", "-3"], "--k"),
    ],
    ids=["list-0", "list-neg", "list-word", "search-k-0", "search-k-neg"],
)
def test_counts_below_one_are_refused(
    finished_session: tuple[Path, str], argv: list[str], option: str
) -> None:
    data, _ = finished_session
    line = error_line(run_coach(argv, data), 2, option)
    assert "1 or more" in line or "whole number" in line


# 5. COACH_DATA_DIR that cannot hold data.


def _data_is_file(d: Path) -> Path:
    return _write(d / "data-file", b"not a folder")


def _data_under_file(d: Path) -> Path:
    return _write(d / "data-file", b"not a folder") / "coach"


@pytest.mark.parametrize(
    "command",
    [["config"], ["sessions", "list"], ["feedback", "--question-id", QID, "--answer", ANSWER]],
    ids=["config", "list", "feedback"],
)
@pytest.mark.parametrize(
    "make, fragment",
    [(_data_is_file, "is a file, not a folder"), (_data_under_file, "a part of that path is a file")],
    ids=["is-a-file", "under-a-file"],
)
def test_data_dir_that_is_not_a_folder(
    tmp_path: Path, command: list[str], make: object, fragment: str
) -> None:
    data = make(tmp_path)  # type: ignore[operator]
    error_line(run_coach(command, data), 2, "COACH_DATA_DIR", str(data), fragment)


def test_config_still_shows_the_settings_when_the_data_dir_is_bad(tmp_path: Path) -> None:
    proc = run_coach(["config"], _data_is_file(tmp_path))
    error_line(proc, 2, "COACH_DATA_DIR")
    assert b"engine" in proc.stdout and b"data_dir" in proc.stdout


# 8. Numeric settings: validated at start, naming the variable and the allowed range.


@pytest.mark.parametrize(
    "name, value, allowed",
    [
        ("COACH_LLM_TIMEOUT", "-5", "above 0 and at most 3600"),
        ("COACH_LLM_TIMEOUT", "0", "above 0 and at most 3600"),
        ("COACH_LLM_TIMEOUT", "nan", "above 0 and at most 3600"),
        ("COACH_LLM_TIMEOUT", "inf", "above 0 and at most 3600"),
        ("COACH_LLM_TIMEOUT", "soon", "above 0 and at most 3600"),
        ("COACH_LLM_MAX_RETRIES", "-1", "from 0 to 10"),
        ("COACH_LLM_MAX_RETRIES", "1000", "from 0 to 10"),
        ("CHROMA_PORT", "0", "from 1 to 65535"),
    ],
)
def test_numeric_settings_out_of_range(tmp_path: Path, name: str, value: str, allowed: str) -> None:
    proc = run_coach(["config"], tmp_path / "data", env={name: value})
    error_line(proc, 2, name, allowed, repr(value))


# 7 (vector cache). A damaged corpus-vector cache is rebuilt, never a crash.


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[: len(b) // 2], lambda b: b"", lambda b: b"PK\x03\x04" + b"\x00" * 64, lambda b: b[:-100]],
    ids=["truncated-half", "empty", "zip-header-only", "tail-cut"],
)
def test_damaged_vector_cache_is_rebuilt(tmp_path: Path, damage: object) -> None:
    path = tmp_path / "cache" / "corpus_vectors.npz"
    cache = VectorCache(path)
    cache.embed(["a sentence about ranking", "another about retention"])
    cache.save()
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    rebuilt = VectorCache(path)
    rebuilt.save()  # a damaged file is replaced by a sound one, even before anything new is embedded
    with np.load(path, allow_pickle=False) as data:
        assert "vectors" in data
    rebuilt.embed(["a third sentence"])
    rebuilt.save()
    assert len(VectorCache(path).embed(["a third sentence"])) == 1


def test_commands_run_over_a_truncated_vector_cache(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "cache").mkdir(parents=True)
    (data / "cache" / "corpus_vectors.npz").write_bytes(b"PK\x03\x04truncated")
    proc = run_coach(["sessions", "list"], data)  # every command loads the cache as it starts
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr and b"no sessions yet" in proc.stdout


# 5 and 6 on a real file system: read-only and full (tmpfs; needs root and mount).


@pytest.fixture
def mount_tmpfs(tmp_path: Path) -> Iterator[object]:
    mounted: list[Path] = []

    def mount(name: str, options: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        if os.geteuid() != 0:
            pytest.skip(
                "SKIPPED LOUDLY: mounting a tmpfs needs root; the full/read-only disk cases did not run"
            )
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True
        )
        if proc.returncode != 0:
            pytest.skip(f"SKIPPED LOUDLY: mount -t tmpfs failed ({proc.stderr.decode().strip()})")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)


def _fill(mount: Path) -> None:
    """Write until the file system refuses: nothing is left for the coach."""
    with open(mount / "filler", "wb") as file:
        try:
            while True:
                file.write(b"\0" * 65536)
                file.flush()
        except OSError:
            pass


@pytest.mark.parametrize("command", [["config"], ["sessions", "list"]], ids=["config", "list"])
def test_read_only_data_dir(tmp_path: Path, mount_tmpfs: object, command: list[str]) -> None:
    data = mount_tmpfs("ro", "ro,size=1m")  # type: ignore[operator]
    error_line(run_coach(command, data), 2, "COACH_DATA_DIR", "read-only")


def test_export_into_a_read_only_folder(
    tmp_path: Path, mount_tmpfs: object, finished_session: tuple[Path, str]
) -> None:
    data, session_id = finished_session
    folder = mount_tmpfs("ro-out", "ro,size=1m")  # type: ignore[operator]
    proc = run_coach(["sessions", "export", session_id, "--out", str(folder / "t.md")], data)
    error_line(proc, 2, "--out", "cannot write")


def test_disk_full_on_a_fresh_data_dir(mount_tmpfs: object) -> None:
    data = mount_tmpfs("tiny", "size=256k")  # type: ignore[operator]
    line = error_line(run_coach(["sessions", "list"], data / "coach"), 1, "the disk is full", str(data))
    assert "rollback" not in line


def test_disk_full_mid_interview_names_the_disk(
    mount_tmpfs: object, answers_file: Path, finished_session: tuple[Path, str]
) -> None:
    mount = mount_tmpfs("full", "size=8m")  # type: ignore[operator]
    data = mount / "coach"
    shutil.copytree(finished_session[0], data)  # a user's existing sessions database
    assert run_coach(["sessions", "list"], data).returncode == 0  # caches installed: the disk is not full yet
    _fill(mount)
    interview = ["interview", "--questions", "1", "--follow-ups", "0", "--answers-file", str(answers_file)]
    line = error_line(run_coach(interview, data), 1, "the disk is full", str(data))
    assert "rollback" not in line and "I/O" not in line


def test_export_onto_a_full_disk(mount_tmpfs: object, finished_session: tuple[Path, str]) -> None:
    data, session_id = finished_session
    mount = mount_tmpfs("full-out", "size=64k")  # type: ignore[operator]
    _fill(mount)
    out = mount / "t.md"
    error_line(
        run_coach(["sessions", "export", session_id, "--out", str(out)], data), 1, "disk is full", str(out)
    )


def test_rollback_error_is_translated_to_disk_full(mount_tmpfs: object) -> None:
    """The sqlite error a user saw ('cannot rollback - no transaction is active'), made for real."""
    from app.cli import storage_failure

    mount = mount_tmpfs("db", "size=1m")  # type: ignore[operator]
    db = SessionDB(mount / "coach" / "coach.sqlite3")
    session_id = db.create_session({"questions": 1, "follow_ups": 0}, "offline")
    _fill(mount)
    with pytest.raises(sqlite3.Error) as caught:
        db.add_turn(session_id, "candidate", "answer", "x" * 300_000)
    failure = storage_failure(caught.value, Settings(data_dir=mount / "coach"))
    assert failure is not None and failure.exit_code == 1
    assert str(failure).startswith("the disk is full") and "coach.sqlite3" in str(failure)
    db.close()
