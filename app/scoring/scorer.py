"""Scores an answer through the model seam, then checks what the engine said against the answer."""

from __future__ import annotations

from dataclasses import dataclass

from app.config import PROJECT_ROOT
from app.corpus.loader import QuestionBank
from app.corpus.models import InterviewerFile, Question, Rubric
from app.engines.consistency import low_confidence
from app.engines.features import specific_words
from app.engines.types import Assessment, AssessRequest, ModelSeam, RunInfo
from app.errors import UserInputError
from app.scoring.gaps import Context, decide
from app.scoring.honesty import cap_unevidenced, enforce, screen_answer
from app.scoring.open_question import build_open_question
from app.scoring.scorecard import (
    CloseQuestion,
    CoveredPoint,
    DimensionResult,
    MissedPoint,
    NotScored,
    OffTopic,
    Scorecard,
    StrengthResult,
)
from app.scoring.stages import depth_probes, load_interviewer, stage_map
from app.scoring.topic import answer_fits, seems_to_answer
from app.store.vectors import CorpusStore

MAX_ANSWER_CHARS = 20_000
MAX_QUESTION_CHARS = 2_000
# A free-text question whose best bank match is below this is graded as an open question: chosen
# on evals/data/retrieval.v2.jsonl (natural phrasings of bank questions kept 87%, questions the
# bank lacks sent to open grading 93%). Below RELATED_FLOOR nothing in the bank is related (every
# non-ML question there scored under 0.25), so without a reference answer content is not scored.
OPEN_QUESTION_SIMILARITY = 0.5
RELATED_FLOOR = 0.3
CANDIDATES = 5
RELATED = 3
# Bank questions this close to the best text match are told apart by what the answer talks about.
ANSWER_TIEBREAK_MARGIN = 0.1
# Free text: other bank questions within this similarity of the best are named on the scorecard,
# so a user whose question sat between two bank questions can pick the one they meant.
CLOSE_MATCH_MARGIN = 0.05
# An answer that credits no talking point and scores overall at most this gets no strengths.
EMPTY_ANSWER_MAX = 2
# An answer to another problem: overall 1 (no signal for the question asked), no credit for this
# question's content, business value or trade-offs (step back and clarity are judged on the
# answer as written).
OFF_TOPIC_MAX = 1
OFF_TOPIC_CAPS = {"technical_coverage": 1, "business_value": 2, "tradeoffs": 2}
OFF_TOPIC_TIP = "This answer seems to address another question: answer the one asked."
OFF_TOPIC_MIN_WORDS = 15
NO_CONTENT_BASIS = NotScored(
    id="technical_coverage",
    name="Technical coverage",
    reason="no bank question is related to this one: add a reference answer to have content judged",
)


@dataclass(frozen=True)
class ResolvedQuestion:
    question: Question
    matched_by: str
    similarity: float | None = None
    also_close: tuple[tuple[str, float], ...] = ()
    approximate: bool = False
    related: tuple[tuple[str, float], ...] = ()
    # Open question with no related bank question and no reference: content cannot be judged.
    no_content_basis: bool = False


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


class Scorer:
    """Question + answer -> Scorecard, with any engine behind the seam."""

    def __init__(
        self,
        engine: ModelSeam,
        bank: QuestionBank,
        rubric: Rubric,
        store: CorpusStore | None = None,
        interviewer: InterviewerFile | None = None,
        samples: int = 1,
    ) -> None:
        self.engine = engine
        self.bank = bank
        self.rubric = rubric
        self.store = store
        self.interviewer = interviewer or load_interviewer(PROJECT_ROOT / "corpus")
        self.samples = samples  # judgements per answer unless a call says otherwise

    def resolve(
        self,
        question_id: str | None,
        question_text: str | None,
        answer: str = "",
        reference: str | None = None,
    ) -> ResolvedQuestion:
        """A bank question by id; for free text, the closest bank question or an open question."""
        if question_id:
            return ResolvedQuestion(self.bank.get(question_id.strip()), "id")
        text = check_text("question", question_text, MAX_QUESTION_CHARS)
        if self.store is None:
            raise UserInputError("free-text questions need the store: run `coach ingest` first")
        matches = self.store.search_questions(text, k=CANDIDATES)
        if not matches:
            raise UserInputError(self.store.empty_message())
        if matches[0][1] < OPEN_QUESTION_SIMILARITY:
            related = [self.bank.get(qid) for qid, _ in matches[:RELATED]]
            question = build_open_question(text, related, reference)
            return ResolvedQuestion(
                question,
                "open question",
                matches[0][1],
                approximate=True,
                related=() if question.built_from_reference() else tuple(matches[:RELATED]),
                no_content_basis=matches[0][1] < RELATED_FLOOR and not (reference or "").strip(),
            )
        qid, similarity = self._closest(matches, answer)
        close = tuple((q, sim) for q, sim in matches if q != qid and sim >= similarity - CLOSE_MATCH_MARGIN)
        return ResolvedQuestion(self.bank.get(qid), "closest bank question", similarity, close[:2])

    def _closest(self, matches: list[tuple[str, float]], answer: str) -> tuple[str, float]:
        """Among near-equal matches of the question text, the one the answer is about."""
        best_sim = matches[0][1]
        near = [(qid, sim) for qid, sim in matches if sim >= best_sim - ANSWER_TIEBREAK_MARGIN]
        if len(near) < 2 or not answer.strip():
            return matches[0]
        fits = answer_fits(answer, [self.bank.get(qid) for qid, _ in near])
        if fits is None:
            return matches[0]
        return max(near, key=lambda m: m[1] + fits[m[0]])

    def score(
        self,
        answer: str,
        *,
        question_id: str | None = None,
        question_text: str | None = None,
        reference: str | None = None,
        context: Context | None = None,
        samples: int | None = None,
    ) -> Scorecard:
        """The checked scorecard; context (an interview's state) shapes the follow-up decision.
        samples > 1 asks an LLM judge that many times and combines the judgements (the offline
        engine is deterministic and judges once)."""
        answer = check_text("answer", answer, MAX_ANSWER_CHARS, allow_empty=True)
        if reference is not None:
            reference = check_text("reference answer", reference, MAX_ANSWER_CHARS, allow_empty=True)
        resolved = self.resolve(question_id, question_text, answer, reference)
        judgements = samples or self.samples
        request = AssessRequest(resolved.question, answer, self.rubric, reference or None, judgements)
        assessed = self.engine.assess(request)
        return self.build(resolved, answer, assessed.assessment, assessed.run, reference, context)

    def build(
        self,
        resolved: ResolvedQuestion,
        answer: str,
        assessment: Assessment,
        run: RunInfo,
        reference: str | None = None,
        context: Context | None = None,
    ) -> Scorecard:
        """Checks the engine's output and applies the rubric's rules, whatever the engine.

        The app's honesty rules come first (a non-answer earns 1s, an instruction to the grader
        earns nothing, score ceilings); evidence must be quoted from the answer, or it goes, and a
        high score without any goes down to 3; dimensions that do not apply to the question's
        track are not scored; an answer to another problem is capped; overall is derived from the
        scored dimensions by the rubric's one rule; an answer that states none of the question's
        points and scores overall 2 or less gets no strengths.
        """
        question = resolved.question
        assessment = enforce(assessment, screen_answer(question, answer, reference), question)
        flags = list(assessment.flags)
        checked = EvidenceCheck(answer)
        off_topic = None if assessment.non_answer else self._off_topic(answer, resolved)
        dims = self._dimensions(question, assessment, checked, off_topic is not None)
        not_scored = self._not_scored(question)
        if resolved.no_content_basis:
            dims = [d for d in dims if d.id != "technical_coverage"]
            not_scored.append(NO_CONTENT_BASIS)
        covered = [] if off_topic else self._covered(question, assessment, checked)
        if checked.dropped:
            flags.append(f"dropped {checked.dropped} quote(s) that do not appear in the answer")
        if off_topic:
            flags.append(f"off topic: this answer seems to address {off_topic.question_id}")
        covered_ids = [c.id for c in covered]
        missed = [tp.id for tp in question.talking_points if tp.id not in covered_ids]
        scores = {d.id: d.score for d in dims}
        overall = 1 if assessment.non_answer else self.rubric.overall.band(scores)
        if off_topic:
            overall = min(overall, OFF_TOPIC_MAX)
        # Nothing to praise in an answer that stated none of the question's points and is weak
        # overall (a keyword drop with a polished opening earned "Led with the high-level idea").
        empty = not covered and overall <= EMPTY_ANSWER_MAX
        strengths = (
            [] if assessment.non_answer or off_topic or empty else self._strengths(assessment, checked)
        )
        stage_defs = list(self.interviewer.stages.get(question.track, []))  # type: ignore[call-overload]
        stages = stage_map(stage_defs, answer, self.interviewer.version) if stage_defs else []
        move = decide(
            question,
            scores,
            missed,
            overall=overall,
            answer=answer,
            non_answer=bool(assessment.non_answer),
            stages=stages,
            stage_defs=stage_defs,
            probes=depth_probes(self.interviewer, question.track, list(question.probes)),
            ctx=context,
            off_topic=off_topic,
        )
        return Scorecard(
            question_id=question.id,
            question=question.question,
            matched_by=resolved.matched_by,
            match_similarity=resolved.similarity,
            also_close=[
                CloseQuestion(id=qid, question=self.bank.get(qid).question, similarity=sim)
                for qid, sim in resolved.also_close
            ],
            approximate=resolved.approximate,
            related_questions=[
                CloseQuestion(id=qid, question=self.bank.get(qid).question, similarity=sim)
                for qid, sim in resolved.related
            ],
            overall=overall,
            overall_rule=self.rubric.overall.description,
            dimensions=dims,
            not_scored=not_scored,
            missed_points=[
                MissedPoint(id=tp.id, point=tp.point, follow_up=tp.follow_up)
                for tp in question.talking_points
                if tp.id in missed
            ],
            covered_points=covered_ids,
            covered=covered,
            off_topic=off_topic,
            strengths=strengths,
            suggested_opening=assessment.suggested_opening or question.strong_answer.summary,
            follow_up=move.text,
            next=move,
            stages=stages,
            engine=run.engine,
            model=run.model,
            fallback_reason=run.fallback_reason,
            rubric_version=self.rubric.id,
            prompt_version=run.prompt_version,
            non_answer=assessment.non_answer,
            flags=flags,
            answer_words=len(answer.split()),
            samples=run.samples,
        )

    def _dimensions(
        self, question: Question, assessment: Assessment, checked: EvidenceCheck, off_topic: bool
    ) -> list[DimensionResult]:
        """The dimensions scored for this track, named as the rubric names them for it."""
        dims = []
        for dim in self.rubric.dimensions:
            if not dim.applies(question.track):
                continue
            given = next((d for d in assessment.dimensions if d.id == dim.id), None)
            score = given.score if given else 1
            tip = given.tip if given and given.tip else dim.drill
            evidence = checked.keep(given.evidence if given else [])
            score = cap_unevidenced(dim.id, score, evidence)
            if off_topic and score > OFF_TOPIC_CAPS.get(dim.id, 5):
                score, evidence, tip = OFF_TOPIC_CAPS[dim.id], [], OFF_TOPIC_TIP
            samples = given.samples if given else []
            dims.append(
                DimensionResult(
                    id=dim.id,
                    name=dim.meaning(question.track).name,
                    score=score,
                    evidence=evidence,
                    tip=tip,
                    samples=samples,
                    low_confidence=low_confidence(samples),
                )
            )
        return dims

    def _not_scored(self, question: Question) -> list[NotScored]:
        track = question.track.replace("_", " ")
        return [
            NotScored(id=d.id, name=d.name, reason=f"not part of the rubric for {track} questions")
            for d in self.rubric.dimensions
            if not d.applies(question.track)
        ]

    @staticmethod
    def _strengths(assessment: Assessment, checked: EvidenceCheck) -> list[StrengthResult]:
        return [
            StrengthResult(text=s.text, evidence=quote)
            for s in assessment.strengths
            for quote in checked.keep([s.evidence])
        ]

    @staticmethod
    def _covered(question: Question, assessment: Assessment, checked: EvidenceCheck) -> list[CoveredPoint]:
        """Covered points the question has, each with the (checked) words that covered it; a point
        whose quote is missing or not in the answer is not credited (and counted as dropped)."""
        covered = []
        for point_id in dict.fromkeys(assessment.covered_points):
            point = question.talking_point(point_id)
            if point is None:
                continue
            span = assessment.covered_spans.get(point_id, "")
            quotes = checked.keep([span]) if span.strip() else []
            if not span.strip():
                checked.dropped += 1
            if not quotes:
                continue  # a point is credited only with the answer's own words that stated it
            covered.append(CoveredPoint(id=point_id, point=point.point, evidence=quotes[0]))
        return covered

    def _off_topic(self, answer: str, resolved: ResolvedQuestion) -> OffTopic | None:
        """An answer with real content that fits another bank question clearly better than this one."""
        if len(specific_words(answer)) < OFF_TOPIC_MIN_WORDS:
            return None  # too little said to tell what it is about (cue words, a line or two)
        match = seems_to_answer(answer, resolved.question, self.bank)
        if match is None or match.question_id in {qid for qid, _ in resolved.related}:
            return None
        other = self.bank.get(match.question_id)
        return OffTopic(question_id=other.id, question=other.question, similarity=round(match.similarity, 3))


class EvidenceCheck:
    """Keeps the quotes that appear verbatim in the answer and counts the ones dropped."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.dropped = 0

    def keep(self, quotes: list[str]) -> list[str]:
        stripped = [q.strip() for q in quotes if q.strip()]
        kept = [q for q in stripped if q in self.answer]
        self.dropped += len(stripped) - len(kept)
        return kept
