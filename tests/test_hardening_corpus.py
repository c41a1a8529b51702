"""Adversarial cases for ingest (issue 14): question ids are unique and the bank's are reserved."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.cli import main
from app.services import Services
from app.store.ingest import ingest

pytestmark = pytest.mark.hardening

BANK_ID = "msd-offline-online-ranking-metrics"


def question_file(path: Path, services: Services, ids: list[str], text: str = "") -> Path:
    """A valid question file whose questions copy a bank question under the given ids."""
    source = services.bank.get(BANK_ID).model_dump(mode="json", exclude_none=True)
    questions = []
    for qid in ids:
        q = dict(source)
        q["id"] = qid
        if text:
            q["question"] = text
        questions.append(q)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump({"version": "1", "track": source["track"], "questions": questions}, sort_keys=False),
        encoding="utf-8",
    )
    return path


def id_lines(path: Path, qid: str) -> list[int]:
    return [
        n
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if line.strip() in {f"- id: {qid}", f"id: {qid}"}
    ]


def test_two_questions_with_one_id_are_refused_with_the_line(services: Services, tmp_path: Path) -> None:
    path = question_file(tmp_path / "mine" / "twice.yaml", services, ["my-q", "my-q"])
    warnings: list[str] = []
    report = ingest(services.store, [path], warn=warnings.append)
    assert report.embedded == 0
    second = id_lines(path, "my-q")[1]
    assert any(f"{path}:{second}: question id 'my-q' is used twice" in w for w in warnings), warnings


def test_a_user_file_cannot_take_a_bank_id(services: Services, tmp_path: Path) -> None:
    path = question_file(tmp_path / "mine" / "shadow.yaml", services, [BANK_ID], text="What is a banana?")
    warnings: list[str] = []
    reserved = {BANK_ID: services.bank.files[BANK_ID]}
    report = ingest(services.store, [path], warn=warnings.append, reserved=reserved)
    assert report.embedded == 0
    line = id_lines(path, BANK_ID)[0]
    assert any(f"{path}:{line}: question id {BANK_ID!r} is already used by" in w for w in warnings), warnings
    assert services.store.search_questions("What is a banana?", k=1) == []


def test_a_second_user_file_cannot_take_an_id_already_stored(services: Services, tmp_path: Path) -> None:
    first = question_file(tmp_path / "a" / "first.yaml", services, ["team-q"])
    second = question_file(tmp_path / "b" / "second.yaml", services, ["team-q"], text="What is a kiwi?")
    assert ingest(services.store, [first]).embedded > 0
    warnings: list[str] = []
    assert ingest(services.store, [second], warn=warnings.append).embedded == 0
    assert any("already used by" in w and "first.yaml" in w for w in warnings), warnings
    # Re-ingesting the owner itself is fine.
    assert ingest(services.store, [first], warn=warnings.append).unchanged > 0


def test_cli_ingest_refuses_a_bank_id(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COACH_DATA_DIR", str(services.settings.data_dir))
    path = question_file(tmp_path / "mine" / "shadow.yaml", services, [BANK_ID], text="What is a banana?")
    assert main(["ingest", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"question id {BANK_ID!r} is already used by" in err and "bank ids are reserved" in err


def test_a_focus_file_without_a_store_is_warned_about(
    tmp_path: Path, shared_data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With chroma/ deleted (nothing ingested), --focus-file cannot steer questions: say so."""
    data = tmp_path / "fresh"
    monkeypatch.setenv("COACH_DATA_DIR", str(data))
    focus = tmp_path / "jd.md"
    focus.write_text("We need someone to build fraud detection for card payments.", encoding="utf-8")
    answers = tmp_path / "answers.txt"
    answers.write_text("I would start from the cost of fraud.\n---\nend\n", encoding="utf-8")
    code = main(
        ["interview", "--engine", "offline", "--questions", "1", "--follow-ups", "0"]
        + ["--focus-file", str(focus), "--answers-file", str(answers)]
    )
    err = capsys.readouterr().err
    assert code == 0
    assert "the focus file cannot steer which questions are asked" in err


def test_a_key_given_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    """YAML would silently keep the second value (a rubric with two `overall:` blocks did)."""
    from app.corpus.loader import read_yaml
    from app.errors import CorpusError

    path = tmp_path / "rubric.yaml"
    path.write_text("id: r.v1\noverall:\n  max: 1\nnotes: x\noverall:\n  max: 2\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"line 5: .*'overall' appears twice"):
        read_yaml(path)
    path.write_text("id: r.v1\noverall:\n  max: 1\nlist: [{a: 1}, {a: 2}]\n", encoding="utf-8")
    assert read_yaml(path)["list"] == [{"a": 1}, {"a": 2}]
