"""Adversarial input to `coach eval` (issue 14): refused with one line naming the file and the row.

Refusals run the installed `coach` (a subprocess): they are decided before any model loads.
Runs that score rows call the CLI's `main` in-process (questions by bank id, a fresh data folder),
with the reports written under tmp_path instead of the repository.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from test_hardening_cli import error_line, run_coach

from app.cli import main

pytestmark = pytest.mark.hardening

QID = "msd-news-feed-ranking"
GOOD = [
    ("At a high level I would rank posts by predicted engagement because retention drives revenue.", 5),
    ("I would use a neural network.", 1),
    ("We rank posts with a model of likes, measured by retention, with a fallback by recency.", 4),
    ("Sort by time.", 2),
]


def suite_file(folder: Path, assertion: str, answer: str = "    answer: I would rank posts.\n") -> Path:
    path = folder / "adversarial.v1.yaml"
    path.write_text(
        f"name: adversarial.v1\ncases:\n  - id: case-one\n    question_id: {QID}\n{answer}"
        f"    assert:\n      - {assertion}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "assertion, dimension",
    [
        ("{type: score_range, dimension: charisma, min: 1, max: 5}", "'charisma'"),
        ("{type: score_range, dimension: Clarity, min: 1, max: 5}", "'Clarity'"),
        ("{type: score_range, dimension: '', min: 1, max: 5}", "''"),
        ("{type: follow_up_targets, dimension: charm}", "'charm'"),
    ],
    ids=["unknown", "wrong-case", "empty", "follow-up-target"],
)
def test_suite_naming_an_unknown_dimension(tmp_path: Path, assertion: str, dimension: str) -> None:
    suite = suite_file(tmp_path, assertion)
    error_line(
        run_coach(["eval", str(suite)], tmp_path / "data"), 2, str(suite), "unknown dimension", dimension
    )


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("Réponse: le modèle".encode("latin-1"), "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "binary"),
    ],
    ids=["latin1", "binary"],
)
def test_suite_answer_file_that_is_not_text(tmp_path: Path, content: bytes, fragment: str) -> None:
    (tmp_path / "answer.txt").write_bytes(content)
    suite = suite_file(tmp_path, "{type: answer}", answer="    answer_file: answer.txt\n")
    error_line(
        run_coach(["eval", str(suite)], tmp_path / "data"), 2, str(suite), "case-one", "answer.txt", fragment
    )


def jsonl(folder: Path, lines: list[str]) -> Path:
    path = folder / "labels.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def good_lines() -> list[str]:
    return [json.dumps({"qid": QID, "text": text, "grade": grade}) for text, grade in GOOD]


DATASET_ARGS = ["--question-id-col", "qid", "--answer-col", "text", "--label-col", "grade"]


@pytest.mark.parametrize(
    "row, kind",
    [
        ('["msd-news-feed-ranking", "an answer", 3]', "an array"),
        ("42", "int"),
        ('"just text"', "str"),
        ("null", "null"),
    ],
    ids=["array", "number", "string", "null"],
)
def test_jsonl_row_that_is_not_an_object(tmp_path: Path, row: str, kind: str) -> None:
    data = jsonl(tmp_path, [*good_lines()[:2], row, *good_lines()[2:]])
    proc = run_coach(["eval", "--dataset", str(data), *DATASET_ARGS], tmp_path / "data")
    error_line(proc, 2, str(data), "line 3", kind, "not a JSON object")


@pytest.mark.parametrize(
    "label, scale",
    [
        ("inf", "1:5"),
        ("-inf", "1:5"),
        ("1e999", "1:5"),
        ("7", "1:5"),
        ("0", "1:5"),
        ("-0.5", "0:1"),
        ("1.01", "0:1"),
    ],
    ids=["inf", "minus-inf", "overflow", "above", "below", "negative", "just-above"],
)
def test_csv_label_outside_the_scale_names_the_row(tmp_path: Path, label: str, scale: str) -> None:
    data = tmp_path / "labels.csv"
    with data.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["qid", "text", "grade"])
        writer.writerows([QID, text, min(int(scale.split(":")[1]), grade)] for text, grade in GOOD[:2])
        writer.writerow([QID, "a multi-line\nanswer that spans lines", label])
    proc = run_coach(
        ["eval", "--dataset", str(data), *DATASET_ARGS, "--label-scale", scale], tmp_path / "data"
    )
    error_line(proc, 2, str(data), "line 4", repr(label), "outside --label-scale")


def test_jsonl_infinite_label_names_the_line(tmp_path: Path) -> None:
    data = jsonl(
        tmp_path, [*good_lines(), '{"qid": "msd-news-feed-ranking", "text": "x", "grade": Infinity}']
    )
    proc = run_coach(["eval", "--dataset", str(data), *DATASET_ARGS], tmp_path / "data")
    error_line(proc, 2, "line 5", "outside --label-scale")


@pytest.mark.parametrize("scale", ["nan:inf", "nan:5", "1:inf", "-inf:inf", "inf:inf", "1:nan"])
def test_label_scale_must_be_finite(tmp_path: Path, scale: str) -> None:
    data = jsonl(tmp_path, good_lines())
    proc = run_coach(
        ["eval", "--dataset", str(data), *DATASET_ARGS, f"--label-scale={scale}"], tmp_path / "data"
    )
    error_line(proc, 2, "--label-scale", "finite", scale)


@pytest.mark.parametrize(
    "option, value", [("--limit", "0"), ("--limit", "-1"), ("--limit", "-100"), ("--concurrency", "0")]
)
def test_eval_counts_below_one_are_refused(tmp_path: Path, option: str, value: str) -> None:
    data = jsonl(tmp_path, good_lines())
    proc = run_coach(["eval", "--dataset", str(data), *DATASET_ARGS, option, value], tmp_path / "data")
    error_line(proc, 2, option, "1 or more")


# Runs that score: in-process, reports under tmp_path.


@pytest.fixture
def eval_in_process(shared_data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    from app.evaluation import report

    monkeypatch.setenv("COACH_DATA_DIR", str(shared_data_dir))  # bank questions by id: no store needed
    folder = tmp_path / "reports"

    def write(name, data, markdown, html_page):  # type: ignore[no-untyped-def]
        return report.write_reports(name, data, markdown, html_page, folder)

    monkeypatch.setattr("app.evaluation.command.write_reports", write)
    return folder


@pytest.mark.parametrize("suffix, nan", [(".jsonl", "NaN"), (".csv", "nan")], ids=str)
def test_nan_labels_are_skipped_not_a_crash(
    eval_in_process: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str, nan: str
) -> None:
    path = tmp_path / f"labels{suffix}"
    if suffix == ".jsonl":
        bad = json.dumps({"qid": QID, "text": "I would rank posts.", "grade": "GRADE"}).replace(
            '"GRADE"', nan
        )
        path.write_text("\n".join([*good_lines(), bad]) + "\n", encoding="utf-8")
    else:
        rows = [f'{QID},"{text}",{grade}' for text, grade in GOOD] + [f"{QID},I would rank posts.,{nan}"]
        path.write_text("qid,text,grade\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert main(["eval", "--dataset", str(path), *DATASET_ARGS, "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n"] == len(GOOD)
    written = json.loads(next(eval_in_process.glob("*.json")).read_text(encoding="utf-8"))
    assert written["skipped"] == 1 and "is not a number" in written["skipped_reasons"][0]


def many_rows(folder: Path, count: int) -> Path:
    lines = [
        json.dumps(
            {"qid": QID, "text": f"Answer {i}: {GOOD[i % 4][0]}", "ref": GOOD[0][0], "grade": GOOD[i % 4][1]}
        )
        for i in range(count)
    ]
    return jsonl(folder, lines)


def test_long_dataset_runs_show_progress_on_stderr(
    eval_in_process: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = many_rows(tmp_path, 120)  # above the point where a run is long enough to report
    argv = ["eval", "--dataset", str(data), "--answer-col", "text", "--label-col", "grade"]
    assert main([*argv, "--reference-col", "ref", "--against", "content", "--json"]) == 0
    err = capsys.readouterr().err
    assert "scored 120 of 120 rows" in err
    assert 1 < err.count(" rows\n") <= 11  # about one line per tenth, not one per row


def test_short_dataset_runs_stay_quiet(
    eval_in_process: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = many_rows(tmp_path, 8)
    argv = ["eval", "--dataset", str(data), "--answer-col", "text", "--label-col", "grade"]
    assert main([*argv, "--reference-col", "ref", "--against", "content", "--json"]) == 0
    assert "scored" not in capsys.readouterr().err


@pytest.mark.parametrize("against, noted", [(None, True), ("content", False)], ids=str)
def test_reference_col_note_on_what_is_measured(
    eval_in_process: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    against: str | None,
    noted: bool,
) -> None:
    data = many_rows(tmp_path, 6)
    argv = ["eval", "--dataset", str(data), *DATASET_ARGS, "--reference-col", "ref", "--json"]
    assert main(argv + (["--against", against] if against else [])) == 0
    err = capsys.readouterr().err
    assert ("--against content measures correctness" in err) is noted


@pytest.mark.parametrize("args, code", [(["--help"], 0), (["-h"], 0), (["--frobnicate"], 2), (["--only"], 2)])
def test_bench_arguments_are_checked_before_measuring(args: list[str], code: int) -> None:
    """`python -m evals.bench --help` used to start the whole 15-minute bench."""
    import subprocess
    import sys

    from app.config import PROJECT_ROOT

    done = subprocess.run(
        [sys.executable, "-m", "evals.bench", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == code
    assert "Usage:" in (done.stdout if code == 0 else done.stderr)
