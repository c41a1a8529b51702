"""Typed models of the corpus: questions, talking points, the communication rubric."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TRACKS: tuple[str, ...] = (
    "ml_system_design",
    "ml_theory",
    "data_coding",
    "coding_algorithms",
    "mlops_production",
    "career_narrative",
)
Track = Literal[
    "ml_system_design",
    "ml_theory",
    "data_coding",
    "coding_algorithms",
    "mlops_production",
    "career_narrative",
]
Difficulty = Literal["easy", "medium", "hard"]
DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")
CODING_TRACKS = frozenset({"data_coding", "coding_algorithms"})
SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
REFERENCE_POINT_PREFIX = "ref-"  # talking points made from a user's reference answer
SEED_NAME = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class TalkingPoint(Strict):
    """Something a complete answer covers, and what to ask when it is missing."""

    id: str
    point: str = Field(min_length=10)
    follow_up: str = Field(min_length=10)
    # From corpus/points/: how candidates state the idea, how they only name its topic, and
    # confident statements of it that are wrong.
    states: list[str] = Field(default_factory=list)
    names_only: list[str] = Field(default_factory=list)
    wrong: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"talking point id {value!r} is not a lowercase slug")
        return value

    @field_validator("follow_up")
    @classmethod
    def _is_question(cls, value: str) -> str:
        if not value.rstrip().endswith("?"):
            raise ValueError("a follow-up must be a question ending with '?'")
        return value


class StrongAnswer(Strict):
    """Outline of a strong answer: a one-sentence summary first, the business value stated."""

    summary: str = Field(min_length=20)
    outline: list[str] = Field(min_length=3)
    business_value: str = Field(min_length=20)

    @field_validator("summary")
    @classmethod
    def _one_sentence(cls, value: str) -> str:
        body = value.rstrip().rstrip(".!?")
        if re.search(r"[.!?]\s+[A-Z]", body):
            raise ValueError("summary must be a single sentence")
        return value

    def as_text(self) -> str:
        """The outline as prose: summary, steps, business value."""
        steps = "\n".join(f"- {step}" for step in self.outline)
        return f"{self.summary}\n{steps}\nBusiness value: {self.business_value}"


ProbeKind = Literal["scale", "failure", "debug", "red_flag", "tradeoff", "monitoring"]


class Probe(Strict):
    """A deeper question for an answer that already covers the basics (a senior interviewer's dig)."""

    id: str
    kind: ProbeKind
    text: str = Field(min_length=15)
    # Words of an answer this probe digs into: when the answer uses one, the probe is asked first
    # and quotes the candidate's phrase around it (lowercase, matched at the start of a word).
    builds_on: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"probe id {value!r} is not a lowercase slug")
        return value

    @field_validator("builds_on")
    @classmethod
    def _lower_words(cls, value: list[str]) -> list[str]:
        for word in value:
            if not isinstance(word, str) or not word.strip() or word != word.lower():
                raise ValueError(f"builds_on word {word!r} must be non-blank lowercase text")
        return value

    @field_validator("text")
    @classmethod
    def _is_question(cls, value: str) -> str:
        if not value.rstrip().endswith("?"):
            raise ValueError("a probe must be a question ending with '?'")
        return value


class Example(Strict):
    input: str
    output: str


class Question(Strict):
    """One interview question with the guidance an interviewer holds."""

    id: str
    track: Track
    difficulty: Difficulty
    question: str = Field(min_length=15)
    talking_points: list[TalkingPoint] = Field(min_length=4)
    red_flags: list[str] = Field(min_length=2)
    strong_answer: StrongAnswer
    sources: list[str] = Field(default_factory=list)
    complexity: str | None = None
    edge_cases: list[str] | None = None
    examples: list[Example] | None = None
    # Deeper probes for a strong answer (scale, failure modes, debugging, red flags to watch).
    probes: list[Probe] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"question id {value!r} is not a lowercase slug")
        return value

    @field_validator("sources")
    @classmethod
    def _seed_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not SEED_NAME.match(name):
                raise ValueError(f"source {name!r} is not a seed file name like 001_<hex>.txt")
        return value

    @model_validator(mode="after")
    def _coding_extras(self) -> Question:
        ids = [tp.id for tp in self.talking_points]
        if len(ids) != len(set(ids)):
            raise ValueError("talking point ids repeat within the question")
        probe_ids = [p.id for p in self.probes]
        if len(probe_ids) != len(set(probe_ids)):
            raise ValueError("probe ids repeat within the question")
        if self.track in CODING_TRACKS:
            missing = [name for name in ("complexity", "edge_cases", "examples") if not getattr(self, name)]
            if missing:
                raise ValueError(f"coding question lacks {', '.join(missing)}")
            if len(self.edge_cases or []) < 2 or len(self.examples or []) < 2:
                raise ValueError("coding question needs >= 2 edge_cases and >= 2 examples")
        return self

    def built_from_reference(self) -> bool:
        """An open question whose points are the sentences of the user's reference answer."""
        points = self.talking_points
        return bool(points) and all(tp.id.startswith(REFERENCE_POINT_PREFIX) for tp in points)

    def talking_point(self, point_id: str) -> TalkingPoint | None:
        """The talking point with this id, if the question has it."""
        return next((tp for tp in self.talking_points if tp.id == point_id), None)


class QuestionFile(Strict):
    """One `corpus/questions/<track>.yaml` file."""

    version: str
    track: Track
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _same_track(self) -> QuestionFile:
        for q in self.questions:
            if q.track != self.track:
                raise ValueError(f"question {q.id} has track {q.track}, file is {self.track}")
        return self


class PointPhrasing(Strict):
    """How candidates state one talking point (covering it) and how they merely name it."""

    id: str
    states: list[str] = Field(min_length=1)
    names_only: list[str] = Field(min_length=1)
    wrong: list[str] = Field(default_factory=list)


class QuestionPhrasings(Strict):
    id: str
    points: list[PointPhrasing] = Field(min_length=1)


class PhrasingFile(Strict):
    """One `corpus/points/<track>.yaml` file: phrasings for the talking points of a track."""

    version: str
    track: Track
    questions: list[QuestionPhrasings] = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _versioned(cls, value: str) -> str:
        if not re.match(r"^points\.[a-z_]+\.v\d+$", value):
            raise ValueError(f"version {value!r} must look like points.<track>.vN")
        return value


class Anchors(Strict):
    one: str = Field(alias="1", min_length=10)
    three: str = Field(alias="3", min_length=10)
    five: str = Field(alias="5", min_length=10)


class ExampleAnswers(Strict):
    question: str = Field(min_length=10)
    weak: str = Field(min_length=20)
    strong: str = Field(min_length=40)


DimensionId = Literal["step_back", "business_value", "clarity", "technical_coverage", "tradeoffs"]
DIMENSIONS: tuple[str, ...] = (
    "step_back",
    "business_value",
    "clarity",
    "technical_coverage",
    "tradeoffs",
)


class TrackMeaning(Strict):
    """What a dimension means for one track, where that differs from its general meaning."""

    name: str
    # Short 1/3/5 anchors for the compact LLM judge (a dozen words each).
    brief: Anchors
    definition: str = Field(min_length=20)
    anchors: Anchors


class Dimension(Strict):
    """One communication dimension with its 1/3/5 anchors and the tracks it is scored for."""

    id: DimensionId
    name: str
    brief: Anchors
    definition: str = Field(min_length=20)
    anchors: Anchors
    cues: list[str] = Field(min_length=3)
    examples: ExampleAnswers
    drill: str = Field(min_length=20)
    applies_to: list[Track] | None = None  # None: every track
    per_track: dict[Track, TrackMeaning] = Field(default_factory=dict)

    def applies(self, track: str) -> bool:
        """Whether answers to questions of this track are scored on this dimension."""
        return self.applies_to is None or track in self.applies_to

    def meaning(self, track: str) -> TrackMeaning:
        """Name, definition and anchors of this dimension for a track."""
        return self.per_track.get(
            track,  # type: ignore[call-overload]
            TrackMeaning(name=self.name, brief=self.brief, definition=self.definition, anchors=self.anchors),
        )


class OverallRule(Strict):
    """How one overall score is derived from the scored dimensions (documented in the rubric)."""

    weights: dict[DimensionId, float]
    max_above_coverage: int = Field(ge=0, le=4)
    description: str = Field(min_length=20)

    def combine(self, scores: dict[str, float]) -> float:
        """Weighted mean of the given (applicable) dimension scores, unrounded."""
        total = sum(self.weights.get(d, 1.0) for d in scores)  # type: ignore[call-overload]
        return sum(self.weights.get(d, 1.0) * v for d, v in scores.items()) / total  # type: ignore[call-overload]

    def session(self, averages: dict[str, float], overalls: list[int]) -> float:
        """A session's overall, unrounded: the mean of its answers' overall bands (what their cards
        show, so an off-topic answer counts as its 1), kept between the lowest and the highest of
        the session's dimension averages."""
        value = sum(overalls) / len(overalls)
        if averages:
            value = min(max(value, min(averages.values())), max(averages.values()))
        return value

    def band(self, scores: dict[str, int]) -> int:
        """The overall 1-5 band: rounded weighted mean, at most max_above_coverage over coverage."""
        value = int(self.combine(dict(scores)) + 0.5)
        if "technical_coverage" in scores:
            value = min(value, scores["technical_coverage"] + self.max_above_coverage)
        return max(1, min(5, value))


class Rubric(Strict):
    """The communication rubric, with a versioned id."""

    id: str
    version: int = Field(ge=1)
    title: str
    overall: OverallRule
    dimensions: list[Dimension] = Field(min_length=5)

    @field_validator("id")
    @classmethod
    def _versioned(cls, value: str) -> str:
        if not re.match(r"^[a-z_.]+\.v\d+$", value):
            raise ValueError(f"rubric id {value!r} must end with .vN")
        return value

    @model_validator(mode="after")
    def _all_dimensions(self) -> Rubric:
        ids = [d.id for d in self.dimensions]
        if sorted(ids) != sorted(DIMENSIONS):
            raise ValueError(f"rubric must define each of {', '.join(DIMENSIONS)} once")
        return self

    def dimension(self, dim_id: str) -> Dimension:
        """The dimension with this id."""
        return next(d for d in self.dimensions if d.id == dim_id)

    def applicable(self, track: str) -> tuple[str, ...]:
        """Ids of the dimensions scored for a track, in rubric order."""
        return tuple(d.id for d in self.dimensions if d.applies(track))


class DesignStage(Strict):
    """One stage of an ML design interview, the words that show an answer reached it, and the
    question that steers a candidate to it."""

    id: str
    name: str = Field(min_length=3)
    cues: list[str] = Field(min_length=3)
    probe: str = Field(min_length=15)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"stage id {value!r} is not a lowercase slug")
        return value

    @field_validator("cues")
    @classmethod
    def _lower_cues(cls, value: list[str]) -> list[str]:
        for cue in value:
            if not cue.strip() or cue != cue.lower():
                raise ValueError(f"cue {cue!r} must be non-blank lowercase text")
        return value

    @field_validator("probe")
    @classmethod
    def _is_question(cls, value: str) -> str:
        if not value.rstrip().endswith("?"):
            raise ValueError("a stage probe must be a question ending with '?'")
        return value


class InterviewerFile(Strict):
    """`corpus/interviewer/interviewer.yaml`: design stages per track and each track's default
    depth probes (used when a question has none of its own)."""

    version: str
    stages: dict[Track, list[DesignStage]] = Field(default_factory=dict)
    depth_probes: dict[Track, list[Probe]]

    @field_validator("version")
    @classmethod
    def _versioned(cls, value: str) -> str:
        if not re.match(r"^interviewer\.v\d+$", value):
            raise ValueError(f"version {value!r} must look like interviewer.vN")
        return value

    @model_validator(mode="after")
    def _complete(self) -> InterviewerFile:
        missing = [t for t in TRACKS if not self.depth_probes.get(t)]  # type: ignore[call-overload]
        if missing:
            raise ValueError(f"depth_probes lacks track(s) {', '.join(missing)}")
        for track, stages in self.stages.items():
            ids = [s.id for s in stages]
            if len(ids) != len(set(ids)):
                raise ValueError(f"stage ids repeat in track {track}")
        return self
