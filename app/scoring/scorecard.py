"""The Scorecard a candidate sees, and how it renders as text."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.corpus.models import Question


class DimensionResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    score: int = Field(ge=1, le=5)
    evidence: list[str]
    tip: str
    # Self-consistency: the score of each judgement (the score is their median), and whether
    # they disagree by 2 or more.
    samples: list[int] = Field(default_factory=list)
    low_confidence: bool = False

    @property
    def samples_note(self) -> str:
        """'samples 2, 3, 5: low confidence' (empty for a single judgement)."""
        if len(self.samples) < 2:
            return ""
        listed = ", ".join(str(s) for s in self.samples)
        return f"samples {listed}: low confidence" if self.low_confidence else f"samples {listed}"


class NotScored(BaseModel):
    """A rubric dimension that does not apply to this question's track (left out of overall)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    reason: str


class CoveredPoint(BaseModel):
    """A talking point the answer stated, with the words of the answer that stated it."""

    model_config = ConfigDict(extra="forbid")
    id: str
    point: str
    evidence: str


class OffTopic(BaseModel):
    """The answer addresses another problem: the bank question it seems to answer."""

    model_config = ConfigDict(extra="forbid")
    question_id: str
    question: str
    similarity: float


class MissedPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    point: str
    follow_up: str


class CloseQuestion(BaseModel):
    """Another bank question about as close to a free-text question as the one used."""

    model_config = ConfigDict(extra="forbid")
    id: str
    question: str
    similarity: float


class StrengthResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    evidence: str


class StageStatus(BaseModel):
    """One stage of a design interview: covered, touched or missing, with the answer's words."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    status: Literal["covered", "touched", "missing"]
    quote: str = ""
    version: str = ""


class NextMove(BaseModel):
    """The one decision made on an answer: the follow-up asked next, or moving on (and why)."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["follow_up", "move_on"]
    target: str = ""  # point:<id>, dimension:<id>, stage:<id>, probe:<id> or redirect:question
    text: str = ""
    label: str = ""
    depth: bool = False  # a deeper probe of a strong answer, not a gap
    reason: str = ""


class Change(BaseModel):
    """What changed on one dimension between two attempts at a question."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    before: int | None
    after: int | None


class AttemptDiff(BaseModel):
    """A retried answer against the previous attempt: per dimension and per talking point."""

    model_config = ConfigDict(extra="forbid")
    previous_overall: int
    overall: int
    dimensions: list[Change]
    now_covered: list[str] = Field(default_factory=list)
    no_longer_covered: list[str] = Field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"overall {self.previous_overall} -> {self.overall}"]
        out += [f"{c.name.lower()} {c.before} -> {c.after}" for c in self.dimensions if c.before != c.after]
        if self.now_covered:
            out.append("now covered: " + "; ".join(self.now_covered))
        if self.no_longer_covered:
            out.append("no longer covered: " + "; ".join(self.no_longer_covered))
        return out


class Scorecard(BaseModel):
    """Scores 1-5 with quoted evidence; says which engine, rubric and prompt produced it."""

    model_config = ConfigDict(extra="forbid")
    question_id: str
    question: str
    matched_by: str
    match_similarity: float | None = None
    also_close: list[CloseQuestion] = Field(default_factory=list)
    overall: int = Field(ge=1, le=5)
    overall_rule: str = ""
    dimensions: list[DimensionResult]
    not_scored: list[NotScored] = Field(default_factory=list)
    missed_points: list[MissedPoint]
    covered_points: list[str]
    covered: list[CoveredPoint] = Field(default_factory=list)
    # An open question: no bank question was close, so content is judged against points pooled
    # from the related questions named here (or the user's reference answer).
    approximate: bool = False
    related_questions: list[CloseQuestion] = Field(default_factory=list)
    off_topic: OffTopic | None = None
    strengths: list[StrengthResult]
    suggested_opening: str
    follow_up: str
    engine: str
    model: str | None = None
    fallback_reason: str | None = None
    rubric_version: str
    prompt_version: str | None
    non_answer: str | None = None
    flags: list[str] = Field(default_factory=list)
    answer_words: int = 0
    samples: int = 1  # judgements combined (self-consistency)
    # The interviewer's one decision on this answer; follow_up above is its text ("" on move-on).
    next: NextMove | None = None
    stages: list[StageStatus] = Field(default_factory=list)
    compared: AttemptDiff | None = None

    def dimension(self, dim_id: str) -> DimensionResult:
        return next(d for d in self.dimensions if d.id == dim_id)

    def score_of(self, dim_id: str) -> int | None:
        """A dimension's score, or None when it is not scored for this question."""
        return next((d.score for d in self.dimensions if d.id == dim_id), None)

    @property
    def engine_label(self) -> str:
        if self.fallback_reason:
            return f"offline (fallback: {self.fallback_reason})"
        return "offline" if self.engine == "offline" else f"llm {self.model}"


def render_text(card: Scorecard) -> str:
    """The scorecard as readable plain text (for the terminal)."""
    similarity = f", similarity {card.match_similarity:.2f}" if card.match_similarity is not None else ""
    lines = [
        f"Question ({card.matched_by}{similarity}): {card.question_id}",
        f"  {card.question}",
        *[
            f"  also close: {c.id} ({c.similarity:.2f}): {c.question} (use --question-id to pick it)"
            for c in card.also_close
        ],
    ]
    if card.approximate:
        related = "; ".join(f"{c.id} ({c.similarity:.2f})" for c in card.related_questions)
        source = related or "your reference answer"
        lines.append(f"  approximate: content judged against points from {source}")
    lines.append(f"Overall: {card.overall}/5    engine: {card.engine_label}    rubric: {card.rubric_version}")
    if card.overall_rule:
        lines.append(f"  ({card.overall_rule})")
    if card.non_answer:
        lines.append(f"Not an answer: {card.non_answer}.")
    if card.off_topic:
        lines.append(
            f"Off topic: this seems to answer {card.off_topic.question_id}: {card.off_topic.question}"
        )
    lines += [f"  ! {flag}" for flag in card.flags]
    lines.append("")
    for dim in card.dimensions:
        note = f"  ({dim.samples_note})" if dim.samples_note else ""
        lines.append(f"{dim.name:<22} {dim.score}/5  {'#' * dim.score}{'.' * (5 - dim.score)}{note}")
        lines += [f'    "{quote}"' for quote in dim.evidence]
        lines.append(f"    tip: {dim.tip}")
    lines += [f"{n.name:<22} not scored ({n.reason})" for n in card.not_scored]
    if card.strengths:
        lines += ["", "Strengths:"] + [f'  + {s.text}: "{s.evidence}"' for s in card.strengths]
    if card.covered:
        lines += ["", "Covered:"] + [f'  + {c.point.rstrip(".")}: "{c.evidence}"' for c in card.covered]
    if card.missed_points:
        lines += ["", "Missed:"] + [f"  - {m.point}" for m in card.missed_points]
    if card.stages:
        lines += ["", "Design stages:"] + [stage_line(s) for s in card.stages]
    if card.compared:
        lines += ["", "Compared with your previous attempt:"] + [f"  {x}" for x in card.compared.lines()]
    lines += ["", f"Try opening with: {card.suggested_opening}", next_line(card)]
    return "\n".join(lines)


STAGE_MARKS = {"covered": "+", "touched": "~", "missing": "-"}


def stage_line(stage: StageStatus) -> str:
    quote = f': "{stage.quote}"' if stage.quote and stage.status != "missing" else ""
    return f"  {STAGE_MARKS[stage.status]} {stage.name} ({stage.status}){quote}"


def next_line(card: Scorecard) -> str:
    """What the interviewer does next, as the card states it."""
    if card.next is not None and card.next.action == "move_on":
        return f"Next: moving on ({card.next.reason})" if card.next.reason else "Next: moving on"
    return f"Follow-up: {card.follow_up}"


class CompactCard(BaseModel):
    """What an interview keeps of each answered (or skipped) question."""

    model_config = ConfigDict(extra="forbid")
    question_id: str
    skipped: bool = False
    overall: int = 0
    scores: dict[str, int] = Field(default_factory=dict)
    missed: list[str] = Field(default_factory=list)
    covered: list[str] = Field(default_factory=list)
    stages: list[StageStatus] = Field(default_factory=list)
    non_answer: str | None = None
    quote: str = ""

    @classmethod
    def of(cls, card: Scorecard) -> CompactCard:
        return cls(
            question_id=card.question_id,
            overall=card.overall,
            scores={d.id: d.score for d in card.dimensions},
            missed=[m.id for m in card.missed_points],
            covered=list(card.covered_points),
            stages=list(card.stages),
            non_answer=card.non_answer,
            quote=next((q for d in card.dimensions for q in d.evidence), ""),
        )


class DimensionScore(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    score: int


class ScoreHeadline(BaseModel):
    """A stored scorecard's headline (question, overall, scores), read leniently: a card stored
    by an older version still lists in a transcript."""

    model_config = ConfigDict(extra="ignore")
    question_id: str
    overall: int
    dimensions: list[DimensionScore] = Field(default_factory=list)

    def line(self) -> str:
        dims = ", ".join(f"{d.id} {d.score}" for d in self.dimensions)
        return f"- {self.question_id}: overall {self.overall}/5 ({dims})"


class AnswerBrief(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question_id: str
    title: str = ""
    overall: int
    quote: str = ""


class PracticeQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str


class Drill(BaseModel):
    """Something to practise: a weak dimension or a design stage the answers never reached."""

    model_config = ConfigDict(extra="forbid")
    dimension: str  # a dimension id, or stage:<id>
    name: str = ""
    drill: str
    questions: list[str]  # practice question ids
    practice: list[PracticeQuestion] = Field(default_factory=list)


class SessionSummary(BaseModel):
    """The session scorecard: averages, best and weakest answers, the stage map, drills."""

    model_config = ConfigDict(extra="forbid")
    answered: int
    dimensions: dict[str, float] = Field(default_factory=dict)
    overall: float | None = None
    best: AnswerBrief | None = None
    weakest: AnswerBrief | None = None  # None with one answer: it is not both best and weakest
    stages: list[StageStatus] = Field(default_factory=list)
    drills: list[Drill] = Field(default_factory=list)

    @classmethod
    def stored(cls, data: object) -> SessionSummary | None:
        """A summary as stored (JSON), or None when there is none or it no longer validates
        (an older session's summary is then shown as absent, never as an error)."""
        if isinstance(data, SessionSummary):
            return data
        if not isinstance(data, dict) or not data:
            return None
        try:
            return cls.model_validate(data)
        except ValidationError:
            return None


class ModelAnswer(BaseModel):
    """What a strong answer to a finished question looks like (shown once it is finished)."""

    model_config = ConfigDict(extra="forbid")
    question_id: str
    question: str
    summary: str
    outline: list[str]
    business_value: str
    red_flags: list[str]

    def as_text(self) -> str:
        return "\n".join(
            [
                f"Model answer for {self.question_id}: {self.summary}",
                *[f"  - {step}" for step in self.outline],
                f"  Business value: {self.business_value}",
                "  Red flags to avoid:",
                *[f"  ! {flag}" for flag in self.red_flags],
            ]
        )


def model_answer(question: Question) -> ModelAnswer:
    """The bank's strong-answer outline, business value and red flags of a question."""
    return ModelAnswer(
        question_id=question.id,
        question=question.question,
        summary=question.strong_answer.summary,
        outline=list(question.strong_answer.outline),
        business_value=question.strong_answer.business_value,
        red_flags=list(question.red_flags),
    )
