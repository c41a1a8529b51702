"""Which bank question an answer seems to address: an answer to another problem is off topic."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.corpus.loader import QuestionBank
from app.corpus.models import Question
from app.engines import features as fx
from app.engines.offline import OfflineEngine

# An answer is off topic when another bank question fits it better than the one asked by at least
# this margin of cosine similarity. Chosen on the dev splits of both labelled sets with
# `python -m evals.off_topic_margins` (int8 embedding model: precision 0.906, recall 0.906 there;
# 0.2 gave 0.917 / 0.859; with the short answers and career stories compared with career
# questions only: 0.951 / 0.906); docs/EVALS.md reports it on the test splits.
OFF_TOPIC_MARGIN = 0.18
# Between the two margins the answer must also state one of the other question's talking points.
CLEAR_MARGIN = 0.3


@dataclass(frozen=True)
class TopicMatch:
    question_id: str
    similarity: float
    own_similarity: float


def topic_texts(question: Question) -> tuple[str, str]:
    """What a question is about: its text and its strong answer (both embedded at ingest)."""
    return question.question, question.strong_answer.as_text()


def _topic_matrix(questions: list[Question]) -> np.ndarray:
    vectors = fx.target_vectors(tuple(t for q in questions for t in topic_texts(q)))
    pairs = vectors.reshape(len(questions), 2, -1).sum(axis=1)
    return fx.unit(pairs)


def answer_vector(answer: str) -> np.ndarray | None:
    """The answer's meaning as one vector (sum of its sentence vectors), None for no text."""
    spans, _ = fx.content_sentences(answer)
    seen = [fx.visible_text(s).strip() for s in spans]
    seen = [s for s in seen if s]
    if not seen:
        return None
    return fx.span_vectors(seen)[2]


_BANK_TOPICS: dict[tuple[str, ...], np.ndarray] = {}  # one matrix per bank content (small, bounded)


def bank_topics(bank: QuestionBank) -> tuple[tuple[str, ...], np.ndarray]:
    """Every bank question's topic vector, computed once per bank."""
    ids = tuple(bank.questions)
    if ids not in _BANK_TOPICS:
        if len(_BANK_TOPICS) >= 4:
            _BANK_TOPICS.clear()
        _BANK_TOPICS[ids] = _topic_matrix(list(bank.questions.values()))
    return ids, _BANK_TOPICS[ids]


def best_other_question(answer: str, question: Question, bank: QuestionBank) -> TopicMatch | None:
    """The bank question (other than the one asked) that the answer fits best, with both fits."""
    vector = answer_vector(answer)
    ids, matrix = bank_topics(bank)
    if vector is None or len(ids) < 2:
        return None
    own = float(_topic_matrix([question])[0] @ vector)
    sims = matrix @ vector
    order = np.argsort(-sims)
    # The best fit first; stop at the first comparable question (no need to look at the rest).
    best = next(
        (
            int(i)
            for i in order
            if ids[int(i)] != question.id and _comparable(question, bank.get(ids[int(i)]))
        ),
        None,
    )
    if best is None:
        return None
    return TopicMatch(ids[best], float(sims[best]), own)


def _comparable(asked: Question, other: Question) -> bool:
    """A career story is compared with other career questions only: the technical work a story
    tells of is its content, not an answer to a design or theory question (on the dev splits, 8
    of the 10 wrong flags were career stories "answering" a technical question)."""
    return asked.track != "career_narrative" or other.track == "career_narrative"


def seems_to_answer(
    answer: str, question: Question, bank: QuestionBank, margin: float = OFF_TOPIC_MARGIN
) -> TopicMatch | None:
    """The other bank question this answer addresses instead, or None when it is on topic.

    Fitting another question's topic a little better is not enough: unless it fits clearly
    better (CLEAR_MARGIN), the answer must also state one of that question's talking points (by
    the offline coverage model, whatever engine grades). An answer of cue words fits a generic
    question's topic without answering it; on the blind dev split this took the flag's precision
    from 0.905 to 0.934 at the same recall, and a terse answer to another problem stays flagged.
    """
    match = best_other_question(answer, question, bank)
    if match is None or match.similarity - match.own_similarity < margin:
        return None
    if match.similarity - match.own_similarity >= max(margin, CLEAR_MARGIN):
        return match
    other = bank.get(match.question_id)
    return match if _point_judge().covered(fx.extract(other, answer)) else None


@lru_cache(maxsize=1)
def _point_judge() -> OfflineEngine:
    """The offline engine whose coverage model says whether a point is stated (built once)."""
    return OfflineEngine()


def answer_fits(answer: str, questions: list[Question]) -> dict[str, float] | None:
    """How well the answer fits each question's topic (cosine), None when there is no answer text."""
    vector = answer_vector(answer)
    if vector is None:
        return None
    sims = _topic_matrix(questions) @ vector
    return {q.id: float(s) for q, s in zip(questions, sims, strict=True)}
