"""Retrieval check: natural queries and the bank questions acceptable for each."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import UserInputError
from app.store.vectors import CorpusStore


@dataclass
class RetrievalResult:
    queries: int = 0
    found: int = 0
    misses: list[dict[str, object]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.queries if self.queries else 0.0


def load_cases(path: Path) -> list[dict[str, object]]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError:
            raise UserInputError(f"{path}: line {number} is not JSON") from None
        if not case.get("query") or not isinstance(case.get("acceptable"), list):
            raise UserInputError(f"{path}: line {number} needs 'query' and 'acceptable'")
        cases.append(case)
    return cases


def recall_at_k(store: CorpusStore, path: Path, k: int = 5) -> RetrievalResult:
    """Share of queries whose top-k bank questions include an acceptable id."""
    result = RetrievalResult()
    for case in load_cases(path):
        if not case["acceptable"]:
            continue  # a question the bank does not hold: see open_question_split
        track = str(case["track"]) if case.get("track") else None
        got = [qid for qid, _ in store.search_questions(str(case["query"]), k=k, track=track)]
        result.queries += 1
        if set(got) & set(case["acceptable"]):  # type: ignore[arg-type]
            result.found += 1
        else:
            result.misses.append({"query": case["query"], "got": got, "acceptable": case["acceptable"]})
    return result


@dataclass
class OpenSplit:
    """How a similarity threshold separates bank questions from questions the bank lacks."""

    threshold: float
    in_bank: int
    kept: int
    not_in_bank: int
    sent_open: int

    @property
    def kept_share(self) -> float:
        return self.kept / self.in_bank if self.in_bank else 0.0

    @property
    def open_share(self) -> float:
        return self.sent_open / self.not_in_bank if self.not_in_bank else 0.0


def open_question_split(store: CorpusStore, path: Path, threshold: float) -> OpenSplit:
    """Queries with an acceptable bank question should match at or above the threshold; the others below."""
    split = OpenSplit(threshold, 0, 0, 0, 0)
    for case in load_cases(path):
        top = store.search_questions(str(case["query"]), k=1)
        similarity = top[0][1] if top else 0.0
        if case["acceptable"]:
            split.in_bank += 1
            split.kept += similarity >= threshold
        else:
            split.not_in_bank += 1
            split.sent_open += similarity < threshold
    return split
