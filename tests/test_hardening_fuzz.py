"""Property-based fuzz (issue 14): whatever a user's file holds, the loaders raise only CoachError.

Covered: the eval suite loader (YAML), the dataset loader (CSV and JSON Lines, then the column and
label checks) and the scripted-answers parser behind `coach interview --answers-file`. Each reads a
real file written for the example.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import CoachError
from app.evaluation.dataset import Columns, load_dataset, parse_scale, parse_where
from app.evaluation.suite import load_suite
from app.interview_cli import answers_from_lines, read_file_answers

pytestmark = pytest.mark.hardening

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["overall", "clarity", "charisma", "score_range", "contains", "answer", "../x", "\x00"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
assertion = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["score_range", "contains", "follow_up_targets", "valid_json", "tokens", "nope"]
        )
    },
    optional={
        "dimension": scalars,
        "min": scalars,
        "max": scalars,
        "value": scalars,
        "weight": scalars,
        "talking_point": scalars,
    },
)
case = st.fixed_dictionaries(
    {"id": scalars, "assert": st.lists(assertion, max_size=3) | scalars},
    optional={
        "question_id": scalars,
        "question": scalars,
        "answer": scalars,
        "answer_file": st.sampled_from(["answer.txt", "binary.bin", "latin1.txt", "missing.txt", ".", ""]),
        "reference": scalars,
        "extra": values,
    },
)
suite_data = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["fuzz.v1", "Fuzz", "a.v2", ""]) | scalars,
        "cases": st.lists(case, max_size=3) | values,
    },
    optional={"threshold": scalars, "engine": scalars, "prompt_version": scalars},
)


def expect_only_coach_errors(call: Any) -> None:
    try:
        call()
    except CoachError as err:
        assert str(err) and "\n" not in str(err).strip()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz")
    (path / "answer.txt").write_text("I would rank posts.", encoding="utf-8")
    (path / "binary.bin").write_bytes(b"\x00\x01\x02")
    (path / "latin1.txt").write_bytes("modèle".encode("latin-1"))
    return path


@FUZZ
@given(data=suite_data | values)
def test_suite_loader_on_structured_yaml(folder: Path, data: Any) -> None:
    path = folder / "suite.v1.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    expect_only_coach_errors(lambda: load_suite(path))


@FUZZ
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_suite_loader_on_any_bytes(folder: Path, raw: bytes) -> None:
    path = folder / "raw.v1.yaml"
    path.write_bytes(raw)
    expect_only_coach_errors(lambda: load_suite(path))


COLUMNS = Columns("question", "answer", "label", "reference", None)
json_rows = st.lists(
    st.dictionaries(
        st.sampled_from(["question", "answer", "label", "reference", "other"]), values, max_size=5
    )
    | values,
    max_size=6,
)


@FUZZ
@given(rows=json_rows, scale=st.sampled_from([(1.0, 5.0), (0.0, 1.0)]), limit=st.none() | st.integers(-2, 5))
def test_dataset_loader_on_jsonl_rows(
    folder: Path, rows: list[Any], scale: tuple[float, float], limit: int | None
) -> None:
    path = folder / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r, allow_nan=True) for r in rows), encoding="utf-8")
    expect_only_coach_errors(lambda: load_dataset(path, COLUMNS, scale, limit))


csv_cell = st.text(alphabet=st.sampled_from(list('ab,"\n\r 1.5-infNa\x00é')), max_size=8)


@FUZZ
@given(
    header=st.lists(st.sampled_from(["question", "answer", "label", "reference", "x", ""]), max_size=5),
    rows=st.lists(st.lists(csv_cell, max_size=6), max_size=6),
    where=st.none()
    | st.dictionaries(st.sampled_from(["label", "x", "answer"]), st.text(max_size=3), max_size=1),
)
def test_dataset_loader_on_csv(
    folder: Path, header: list[str], rows: list[list[str]], where: dict[str, str] | None
) -> None:
    path = folder / "rows.csv"
    text = "\n".join(",".join(line) for line in [header, *rows])
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    expect_only_coach_errors(lambda: load_dataset(path, COLUMNS, (1.0, 5.0), None, where))


@FUZZ
@given(raw=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".jsonl", ".txt"]))
def test_dataset_loader_on_any_bytes(folder: Path, raw: bytes, suffix: str) -> None:
    path = folder / f"raw{suffix}"
    path.write_bytes(raw)
    expect_only_coach_errors(lambda: load_dataset(path, COLUMNS, (1.0, 5.0)))


@FUZZ
@given(raw=st.text(max_size=40), items=st.lists(st.text(max_size=12), max_size=3))
def test_scale_and_where_parsers(raw: str, items: list[str]) -> None:
    expect_only_coach_errors(lambda: parse_scale(raw))
    expect_only_coach_errors(lambda: parse_where(items))


@FUZZ
@given(
    raw=st.binary(max_size=400)
    | st.lists(st.sampled_from(["---", " --- ", "", "answer", "  ", "x\r"]), max_size=12).map(
        lambda ls: "\n".join(ls).encode()
    )
)
def test_answers_file_parser(folder: Path, raw: bytes) -> None:
    """The scripted transcript: answers split by '---' lines, stripped, never a crash. (A leading or
    doubled '---' gives an empty answer, which the interview refuses with a message.)"""
    path = folder / "answers.txt"
    path.write_bytes(raw)
    try:
        answers = list(read_file_answers(str(path)))
    except CoachError:
        return
    assert all(a == a.strip() for a in answers)
    assert all(line.strip() != "---" for a in answers for line in a.splitlines())


@FUZZ
@given(lines=st.lists(st.text(max_size=20), max_size=12), blank_ends=st.booleans())
def test_answer_splitter_keeps_every_word(lines: list[str], blank_ends: bool) -> None:
    answers = list(answers_from_lines(iter(lines), blank_ends=blank_ends))
    words = [w for line in lines if line.strip() != "---" for w in line.split()]
    assert [w for a in answers for w in a.split()] == words


def test_a_column_name_with_a_line_break_keeps_the_error_on_one_line(tmp_path: Path) -> None:
    # Found by the fuzz test above (rows=[{"\n0": None}]): the name was echoed raw.
    path = tmp_path / "rows.jsonl"
    path.write_text('{"\\n0": null}\n', encoding="utf-8")
    expect_only_coach_errors(lambda: load_dataset(path, COLUMNS, (1.0, 5.0), None))
