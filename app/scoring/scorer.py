"""Scores an answer through the model seam, then checks what the engine said against the answer."""

from __future__ import annotations

from dataclasses import dataclass

from app.corpus.loader import QuestionBank
from app.corpus.models import Question, Rubric
from app.engines.types import Assessment, AssessRequest, ModelSeam, RunInfo
from app.errors import UserInputError
from app.scoring.gaps import biggest_gap
from app.scoring.scorecard import CloseQuestion, DimensionResult, MissedPoint, Scorecard, StrengthResult
from app.store.vectors import CorpusStore

MAX_ANSWER_CHARS = 20_000
MAX_QUESTION_CHARS = 2_000
MIN_MATCH_SIMILARITY = 0.35
# Free text: other bank questions within this similarity of the best are named on the scorecard,
# so a user whose question sat between two bank questions can pick the one they meant.
CLOSE_MATCH_MARGIN = 0.05


@dataclass(frozen=True)
class ResolvedQuestion:
    question: Question
    matched_by: str
    similarity: float | None = None
    also_close: tuple[tuple[str, float], ...] = ()


def check_text(label: str, text: object, limit: int, allow_empty: bool = False) -> str:
    """A clear error for text we cannot use; otherwise the text unchanged."""
    if not isinstance(text, str):
        raise UserInputError(f"the {label} must be text")
    if "\x00" in text:
        raise UserInputError(f"the {label} contains binary data (NUL bytes)")
    if len(text) > limit:
        raise UserInputError(f"the {label} is {len(text):,} characters; the limit is {limit:,}")
    if not allow_empty and not text.strip():
        raise UserInputError(f"the {label} is empty")
    return text


def plan_follow_up(question: Question, assessment: Assessment, missed: list[str]) -> str:
    """The follow-up on the biggest gap; a closing probe when there is none."""
    scores = {d.id: d.score for d in assessment.dimensions}
    gap = biggest_gap(question, scores, missed, non_answer=bool(assessment.non_answer))
    if gap is None:
        return "Good. What would you monitor after launch, and what would make you roll it back?"
    return gap.follow_up


class Scorer:
    """Question + answer -> Scorecard, with any engine behind the seam."""

    def __init__(
        self,
        engine: ModelSeam,
        bank: QuestionBank,
        rubric: Rubric,
        store: CorpusStore | None = None,
    ) -> None:
        self.engine = engine
        self.bank = bank
        self.rubric = rubric
        self.store = store

    def resolve(self, question_id: str | None, question_text: str | None) -> ResolvedQuestion:
        """A bank question by id, or the closest bank question to free text."""
        if question_id:
            return ResolvedQuestion(self.bank.get(question_id.strip()), "id")
        text = check_text("question", question_text, MAX_QUESTION_CHARS)
        if self.store is None:
            raise UserInputError("free-text questions need the store: run `coach ingest` first")
        matches = self.store.search_questions(text, k=3)
        if not matches:
            raise UserInputError("the store is empty: run `coach ingest` first")
        qid, similarity = matches[0]
        if similarity < MIN_MATCH_SIMILARITY:
            raise UserInputError(
                f"no bank question is close to that question (best: {qid}, similarity "
                f"{similarity:.2f}); pick one with --question-id or `coach search`"
            )
        close = tuple((q, sim) for q, sim in matches[1:] if sim >= similarity - CLOSE_MATCH_MARGIN)
        return ResolvedQuestion(self.bank.get(qid), "closest bank question", similarity, close)

    def score(
        self,
        answer: str,
        *,
        question_id: str | None = None,
        question_text: str | None = None,
        reference: str | None = None,
    ) -> Scorecard:
        answer = check_text("answer", answer, MAX_ANSWER_CHARS, allow_empty=True)
        if reference is not None:
            reference = check_text("reference answer", reference, MAX_ANSWER_CHARS, allow_empty=True)
        resolved = self.resolve(question_id, question_text)
        request = AssessRequest(resolved.question, answer, self.rubric, reference or None)
        assessed = self.engine.assess(request)
        return self.build(resolved, answer, assessed.assessment, assessed.run)

    def build(
        self, resolved: ResolvedQuestion, answer: str, assessment: Assessment, run: RunInfo
    ) -> Scorecard:
        """Checks the engine's output: evidence must be quoted from the answer, or it goes."""
        question = resolved.question
        flags = list(assessment.flags)
        dropped = 0
        dims = []
        for dim in self.rubric.dimensions:
            given = next((d for d in assessment.dimensions if d.id == dim.id), None)
            quotes = [q.strip() for q in (given.evidence if given else []) if q.strip()]
            kept = [q for q in quotes if q in answer]
            dropped += len(quotes) - len(kept)
            dims.append(
                DimensionResult(
                    id=dim.id,
                    name=dim.name,
                    score=given.score if given else 1,
                    evidence=kept,
                    tip=(given.tip if given and given.tip else dim.drill),
                )
            )
        strengths = [
            StrengthResult(text=s.text, evidence=s.evidence.strip())
            for s in assessment.strengths
            if s.evidence.strip() and s.evidence.strip() in answer and not assessment.non_answer
        ]
        dropped += len(assessment.strengths) - len(strengths)
        if dropped:
            flags.append(f"dropped {dropped} quote(s) that do not appear in the answer")
        known = {tp.id for tp in question.talking_points}
        covered = [p for p in assessment.covered_points if p in known]
        missed = [tp.id for tp in question.talking_points if tp.id not in covered]
        return Scorecard(
            question_id=question.id,
            question=question.question,
            matched_by=resolved.matched_by,
            match_similarity=resolved.similarity,
            also_close=[
                CloseQuestion(id=qid, question=self.bank.get(qid).question, similarity=sim)
                for qid, sim in resolved.also_close
            ],
            overall=1 if assessment.non_answer else assessment.overall,
            dimensions=dims,
            missed_points=[
                MissedPoint(id=tp.id, point=tp.point, follow_up=tp.follow_up)
                for tp in question.talking_points
                if tp.id in missed
            ],
            covered_points=covered,
            strengths=strengths,
            suggested_opening=assessment.suggested_opening or question.strong_answer.summary,
            follow_up=plan_follow_up(question, assessment, missed),
            engine=run.engine,
            model=run.model,
            fallback_reason=run.fallback_reason,
            rubric_version=self.rubric.id,
            prompt_version=run.prompt_version,
            non_answer=assessment.non_answer,
            flags=flags,
            answer_words=len(answer.split()),
        )
