"""What crosses the model seam: requests for a job, and results that say who produced them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from app.corpus.models import DIMENSIONS, Question, Rubric, TalkingPoint

EngineName = Literal["offline", "llm"]
PhraseKind = Literal["ask", "follow_up", "hint"]


class DimensionScore(BaseModel):
    """One rubric dimension: a 1-5 score, exact quotes from the answer, one tip."""

    model_config = ConfigDict(extra="forbid")
    id: str
    score: int = Field(ge=1, le=5)
    evidence: list[str] = Field(default_factory=list)
    tip: str = ""
    # With self-consistency: every sample's score (the score above is their median).
    samples: list[int] = Field(default_factory=list)


class Strength(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    evidence: str


class Assessment(BaseModel):
    """What an engine says of one answer, before the scorer checks and completes it."""

    model_config = ConfigDict(extra="forbid")
    dimensions: list[DimensionScore]
    covered_points: list[str] = Field(default_factory=list)
    # For each covered point, the words of the answer that stated it (checked by the scorer).
    covered_spans: dict[str, str] = Field(default_factory=dict)
    strengths: list[Strength] = Field(default_factory=list)
    suggested_opening: str = ""
    # The engine's own overall is advisory: the scorer derives overall by the rubric's rule.
    overall: int | None = Field(default=None, ge=1, le=5)
    non_answer: str | None = None
    flags: list[str] = Field(default_factory=list)

    def score(self, dimension: str) -> int:
        return next((d.score for d in self.dimensions if d.id == dimension), 1)

    def has_dimensions(self, wanted: tuple[str, ...] = DIMENSIONS) -> bool:
        """Every wanted dimension is scored (extra ones are ignored by the scorer)."""
        return set(wanted) <= {d.id for d in self.dimensions}


class RunInfo(BaseModel):
    """Which engine produced a result, with which model and prompt, and any fallback."""

    model_config = ConfigDict(extra="forbid")
    engine: EngineName
    model: str | None = None
    prompt_version: str | None = None
    fallback_reason: str | None = None
    prompt_tokens: int = 0
    # Of prompt_tokens, those the server served from its prompt cache (when it says so).
    cached_tokens: int = 0
    samples: int = 1  # judgements combined into this result
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0

    @property
    def label(self) -> str:
        """'offline', 'llm gpt-4o-mini', or 'offline (fallback: timeout)'."""
        if self.fallback_reason:
            return f"offline (fallback: {self.fallback_reason})"
        return "offline" if self.engine == "offline" else f"llm {self.model}"


@dataclass(frozen=True)
class AssessRequest:
    question: Question
    answer: str
    rubric: Rubric
    reference: str | None = None
    # Judgements to combine (self-consistency); the offline engine is deterministic and makes one.
    samples: int = 1


@dataclass(frozen=True)
class Turn:
    role: Literal["interviewer", "candidate"]
    text: str


@dataclass(frozen=True)
class PhraseRequest:
    """Words for a planned interviewer move; the plan (what to ask) is fixed by the caller."""

    kind: PhraseKind
    question: Question
    planned_text: str
    talking_point: TalkingPoint | None = None
    answer_excerpt: str = ""
    number: int = 1
    total: int = 1
    history: tuple[Turn, ...] = field(default_factory=tuple)


@dataclass
class Assessed:
    assessment: Assessment
    run: RunInfo


@dataclass
class Phrased:
    text: str
    run: RunInfo


class ModelSeam(Protocol):
    """The one interface the scorer and the interviewer receive."""

    name: EngineName

    def assess(self, request: AssessRequest) -> Assessed: ...

    def phrase(self, request: PhraseRequest) -> Phrased: ...

    def stream_phrase(self, request: PhraseRequest) -> Iterator[str | Phrased]:
        """Text pieces as they arrive, then the final Phrased."""
        ...
