"""Retrieval guard: natural queries find an acceptable bank question in the top 5."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import UserInputError
from app.scoring.scorer import OPEN_QUESTION_SIMILARITY
from app.services import Services
from evals.retrieval import load_cases, open_question_split, recall_at_k

DATA = Path(__file__).parent.parent / "evals" / "data" / "retrieval.v1.jsonl"
# Natural phrasings written by a helper who saw only the question texts, plus questions the bank
# does not hold (evals/blind/QUERY_BRIEF.md).
NATURAL = Path(__file__).parent.parent / "evals" / "data" / "retrieval.v2.jsonl"
RECALL_AT_5_GOAL = 0.9


def test_retrieval_set_is_valid_and_large_enough(corpus_services: Services) -> None:
    cases = load_cases(DATA)
    assert len(cases) >= 40
    ids = set(corpus_services.bank.questions)
    assert all(set(c["acceptable"]) <= ids for c in cases)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", [DATA, NATURAL], ids=["v1", "natural"])
def test_recall_at_5_meets_goal(corpus_services: Services, path: Path) -> None:
    result = recall_at_k(corpus_services.store, path, k=5)
    assert result.queries >= 40
    assert result.recall >= RECALL_AT_5_GOAL, result.misses


def test_open_question_threshold_separates_bank_questions_from_others(corpus_services: Services) -> None:
    split = open_question_split(corpus_services.store, NATURAL, OPEN_QUESTION_SIMILARITY)
    assert split.in_bank >= 150 and split.not_in_bank >= 60
    assert split.kept_share >= 0.85 and split.open_share >= 0.9, split


def test_filters_and_exclusions(corpus_services: Services) -> None:
    store = corpus_services.store
    top = store.search_questions("design a feed ranking system", k=3, track="ml_system_design")
    assert len(top) == 3 and all(qid.startswith("msd-") for qid, _ in top)
    first = top[0][0]
    again = store.search_questions("design a feed ranking system", k=3, exclude_question_ids=[first])
    assert first not in [qid for qid, _ in again]
    hard = store.search_questions("regularisation", k=5, difficulty="hard")
    assert all(corpus_services.bank.get(qid).difficulty == "hard" for qid, _ in hard)


def test_malformed_retrieval_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "x", "acceptable": ["a"]}\nnot json\n')
    with pytest.raises(UserInputError, match="line 2 is not JSON"):
        load_cases(bad)
