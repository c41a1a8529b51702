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
        if not case.get("query") or not case.get("acceptable"):
            raise UserInputError(f"{path}: line {number} needs 'query' and 'acceptable'")
        cases.append(case)
    return cases


def recall_at_k(store: CorpusStore, path: Path, k: int = 5) -> RetrievalResult:
    """Share of queries whose top-k bank questions include an acceptable id."""
    result = RetrievalResult()
    for case in load_cases(path):
        track = str(case["track"]) if case.get("track") else None
        got = [qid for qid, _ in store.search_questions(str(case["query"]), k=k, track=track)]
        result.queries += 1
        if set(got) & set(case["acceptable"]):  # type: ignore[arg-type]
            result.found += 1
        else:
            result.misses.append({"query": case["query"], "got": got, "acceptable": case["acceptable"]})
    return result
