"""Eval suites as typed, versioned data: cases with weighted assertions and a pass threshold."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.corpus.models import DIMENSIONS
from app.errors import UserInputError

SCORED = ("overall", *DIMENSIONS)


def _known_dimension(value: str | None) -> str | None:
    if value is not None and value not in SCORED:
        raise ValueError(f"unknown dimension {value!r}; use one of {', '.join(SCORED)}")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreRange(Strict):
    type: Literal["score_range"]
    dimension: str = "overall"
    min: int = Field(1, ge=1, le=5)
    max: int = Field(5, ge=1, le=5)
    weight: float = Field(1.0, gt=0)

    _dimension = field_validator("dimension")(_known_dimension)


class Contains(Strict):
    type: Literal["contains", "not_contains"]
    value: str = Field(min_length=1)
    weight: float = Field(1.0, gt=0)


class FollowUpTargets(Strict):
    type: Literal["follow_up_targets"]
    talking_point: str | None = None
    dimension: str | None = None
    weight: float = Field(1.0, gt=0)

    _dimension = field_validator("dimension")(_known_dimension)

    @model_validator(mode="after")
    def _one_target(self) -> FollowUpTargets:
        if (self.talking_point is None) == (self.dimension is None):
            raise ValueError("follow_up_targets needs exactly one of talking_point or dimension")
        return self


class Flag(Strict):
    type: Literal["valid_json", "evidence_in_answer", "non_answer", "answer"]
    weight: float = Field(1.0, gt=0)


class Limit(Strict):
    type: Literal["latency_ms", "tokens"]
    max: float = Field(gt=0)
    weight: float = Field(1.0, gt=0)


Assertion = Annotated[ScoreRange | Contains | FollowUpTargets | Flag | Limit, Field(discriminator="type")]


class Case(Strict):
    id: str
    question_id: str | None = None
    question: str | None = None
    answer: str | None = None
    answer_file: str | None = None
    reference: str | None = None
    assertions: list[Assertion] = Field(alias="assert", min_length=1)

    @model_validator(mode="after")
    def _inputs(self) -> Case:
        if not (self.question_id or self.question):
            raise ValueError("a case needs question_id or question")
        if (self.answer is None) == (self.answer_file is None):
            raise ValueError("a case needs exactly one of answer or answer_file")
        return self


class Suite(Strict):
    """A named, versioned suite: change the cases, bump the version."""

    name: str
    description: str = ""
    engine: Literal["offline", "llm"] = "offline"
    prompt_version: str | None = None
    threshold: float = Field(0.9, ge=0, le=1)
    cases: list[Case] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _versioned(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*\.v\d+", value):
            raise ValueError(f"suite name {value!r} must look like feedback.test.v1")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> Suite:
        ids = [c.id for c in self.cases]
        if len(ids) != len(set(ids)):
            raise ValueError("case ids repeat")
        return self


def load_suite(path: Path) -> tuple[Suite, dict[str, str]]:
    """The suite and the answers of its cases (answer_file read relative to the suite)."""
    if not path.is_file():
        raise UserInputError(f"no such suite file: {path}")
    text = _read_text(path, str(path))
    try:
        suite = Suite.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as err:
        raise UserInputError(_one_line(f"{path}: malformed YAML ({_yaml_problem(err)})")) from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise UserInputError(_one_line(f"{path}: {where}: {message}")) from None
    answers = {}
    for case in suite.cases:
        if case.answer_file:
            file = path.parent / case.answer_file
            what = _one_line(f"{path}: case {case.id}: answer file {file}")
            if not file.is_file():
                raise UserInputError(_one_line(f"{path}: case {case.id}: no such answer file {file}"))
            answers[case.id] = _read_text(file, what)
        else:
            answers[case.id] = case.answer or ""
    return suite, answers


def _read_text(file: Path, what: str) -> str:
    raw = file.read_bytes()
    if b"\x00" in raw[:8192]:
        raise UserInputError(f"{what} is a binary file, not text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserInputError(f"{what} is not UTF-8 text") from None


def _yaml_problem(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    return f"{problem} at line {mark.line + 1}" if mark is not None else str(problem)


def _one_line(text: str) -> str:
    """Messages quote the user's file (YAML errors, case ids): keep them to one line."""
    return " ".join(text.split())
