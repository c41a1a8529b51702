"""The offline engine: deterministic, built on the corpus, embeddings and text features."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from app.corpus.models import DIMENSIONS, Question
from app.engines import features as fx
from app.engines.coverage import STOP_WORDS, CoverageModel
from app.engines.types import (
    Assessed,
    Assessment,
    AssessRequest,
    DimensionScore,
    EngineName,
    Phrased,
    PhraseRequest,
    RunInfo,
    Strength,
)

WEIGHTS_FILE = Path(__file__).parent / "data" / "offline_scorer.v3.json"


@dataclass(frozen=True)
class ScorerWeights:
    """Fitted weights and thresholds of the offline scorer (one data file)."""

    id: str
    thresholds: dict[str, float]
    dimensions: dict[str, dict[str, Any]]
    content: dict[str, Any]
    # The talking-point coverage model (app/engines/coverage.py); None: similarity threshold only.
    coverage: dict[str, Any] | None = None
    # Linear probes on an answer vector ("opening" or "answer"), one per dimension; each one's
    # output is a feature `<dimension>_probe` of that dimension's model.
    probes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Sentence models: per sentence, the chance it carries a dimension (fitted on sentences that
    # labellers marked); their best and their count are features, and they pick the evidence.
    sentences: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Rubric floors: a dimension scores at least `score` when `feature` reaches `at_least`
    # (the labelling guide's anchors, which the fitted model can miss on short answers).
    floors: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Rubric ceilings: a dimension scores at most `score` while `feature` is below `below`
    # (e.g. no sentence ties an outcome to this problem: business value is at most 2).
    ceilings: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> ScorerWeights:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            id=data["id"],
            thresholds=data["thresholds"],
            dimensions=data["dimensions"],
            content=data["content"],
            coverage=data.get("coverage"),
            probes=data.get("probes", {}),
            sentences=data.get("sentences", {}),
            floors=data.get("floors", {}),
            ceilings=data.get("ceilings", {}),
        )

    def replace(self, **changes: Any) -> ScorerWeights:
        return ScorerWeights(**{**self.__dict__, **changes})


@lru_cache(maxsize=4)
def default_weights(path: Path = WEIGHTS_FILE) -> ScorerWeights:
    return ScorerWeights.load(path)


def linear(model: dict[str, Any], values: dict[str, float]) -> float:
    """intercept + sum(weight * feature) for the features the model names."""
    return float(model["intercept"]) + sum(
        float(w) * values.get(name, 0.0) for name, w in model["weights"].items()
    )


# A reference answer's sentence counts as stated at this similarity (a paraphrase, measured on SAF).
REFERENCE_POINT_MATCH = 0.6


@dataclass(frozen=True)
class Standardised:
    """A fitted linear model over standardised inputs (a probe or a sentence model) as arrays.

    The data file keeps plain lists; the engine converts each model once, not on every answer.
    """

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: Any

    @classmethod
    def of(cls, model: dict[str, Any]) -> Standardised:
        mean, scale, weights = (np.array(model[key]) for key in ("mean", "scale", "weights"))
        return cls(mean, scale, weights, model["bias"])

    def probe(self, vector: np.ndarray | None) -> float:
        """Its output on an answer vector (its mean prediction when there is no vector)."""
        if vector is None:
            return float(self.bias)
        z = (vector - self.mean) / self.scale
        return float(z @ self.weights + self.bias)

    def chances(self, rows: np.ndarray) -> np.ndarray:
        """As a logistic model over rows: one chance per row."""
        if len(rows) == 0:
            return np.zeros(0)
        z = ((rows - self.mean) / self.scale) @ self.weights
        return 1 / (1 + np.exp(-(z + self.bias)))


def apply_probe(probe: dict[str, Any], vector: np.ndarray | None) -> float:
    """A fitted linear probe on an answer vector (its mean prediction when there is no vector)."""
    return Standardised.of(probe).probe(vector)


# A sentence is quoted as a dimension's evidence when its sentence model gives it at least this.
EVIDENCE_CHANCE = 0.5
# With no sentence that likely, the sentences the rubric cues pick carry the dimension instead.
EVIDENCE_FALLBACK = True


def apply_sentence_model(model: dict[str, Any], rows: np.ndarray) -> np.ndarray:
    """A fitted logistic model over sentence rows: one chance per sentence."""
    return Standardised.of(model).chances(rows)


def sentence_features(dim: str, chances: np.ndarray) -> dict[str, float]:
    """What a dimension's sentence model says of the answer: best sentence, opening, count."""
    if len(chances) == 0:
        names = ("max", "first", "count", "sum", "top2")
        return {f"{dim}_sent_{name}": 0.0 for name in names}
    return {
        f"{dim}_sent_max": float(chances.max()),
        f"{dim}_sent_first": float(chances[:2].max()),
        f"{dim}_sent_count": float(min(4, (chances >= 0.5).sum())),
        f"{dim}_sent_sum": float(min(4.0, chances.sum())),
        f"{dim}_sent_top2": float(np.sort(chances)[::-1][:2].mean()),
    }


def to_band(value: float, cuts: list[float] | None = None) -> int:
    """A 1-5 band: by fitted cut points when the model has them, else by rounding."""
    if cuts:
        return 1 + sum(1 for cut in cuts if value >= cut)
    return int(min(5, max(1, round(value))))


TIPS = {
    "step_back": ("Open with one sentence that says what you would build and why, then preview the parts."),
    "business_value": (
        "Say who benefits and name the metric that would prove it (revenue, retention, cost, time)."
    ),
    "clarity": "Use shorter sentences, explain each term you introduce, and cut repetition.",
    "technical_coverage": "Cover the missing points: {missed}.",
    "tradeoffs": "Name one alternative you rejected and what your choice costs.",
}
# Tips for an answer that already does the basics (3-4): the next step, not the first one.
NEXT_TIPS = {
    "step_back": "Tighten the opening into one sentence (the approach and why), then preview the parts.",
    "clarity": "Signpost the parts (first, then, finally) and define each term the first time you use it.",
    "tradeoffs": (
        "You weighed a choice; do the same for the other key decisions and say what each costs "
        "(latency, money, accuracy)."
    ),
}


class OfflineEngine:
    """Implements the seam with no model server: scores from features, words from the corpus."""

    name: EngineName = "offline"

    def __init__(self, weights: ScorerWeights | None = None) -> None:
        self.weights = weights or default_weights()
        self.coverage = CoverageModel(self.weights.coverage) if self.weights.coverage else None
        self._probes = {dim: Standardised.of(probe) for dim, probe in self.weights.probes.items()}
        self._sentence_models = {dim: Standardised.of(m) for dim, m in self.weights.sentences.items()}

    def _run(self) -> RunInfo:
        return RunInfo(engine="offline", model=None, prompt_version=self.weights.id)

    # -- assessment ----------------------------------------------------------------------
    def assess(self, request: AssessRequest) -> Assessed:
        return Assessed(assessment=self.assessment(request), run=self._run())

    def feature_values(
        self, feats: fx.AnswerFeatures, sentence_chances: dict[str, np.ndarray] | None = None
    ) -> dict[str, float]:
        """The answer's features plus what the coverage model makes of its talking points
        (sentence_chances: this answer's, when the caller has them already)."""
        values = dict(feats.features)
        chances = sorted(self.point_chances(feats).values(), reverse=True)
        k = max(1, len(chances))
        values["covered_share"] = len(self.covered(feats)) / k
        values["coverage_chance"] = float(np.mean(chances)) if chances else 0.0
        values["coverage_top_half"] = float(np.mean(chances[: max(1, k // 2)])) if chances else 0.0
        values["coverage_mean"] = float(np.mean(list(feats.point_sims.values()))) if chances else 0.0
        for dim, probe in self.weights.probes.items():
            values[f"{dim}_probe"] = self._probes[dim].probe(feats.vectors.get(probe["vector"]))
        if sentence_chances is None:
            sentence_chances = self.sentence_chances(feats)
        for dim, sentence_chance in sentence_chances.items():
            values.update(sentence_features(dim, sentence_chance))
        return values

    def sentence_chances(self, feats: fx.AnswerFeatures) -> dict[str, np.ndarray]:
        """Per dimension with a sentence model, each sentence's chance of carrying it."""
        return {dim: m.chances(feats.sentence_rows) for dim, m in self._sentence_models.items()}

    def point_chances(self, feats: fx.AnswerFeatures) -> dict[str, float]:
        """How likely each talking point is stated (the coverage model), else its similarity."""
        if self.coverage is None:
            return feats.point_sims
        return {pid: self.coverage.probability(match) for pid, match in feats.points.items()}

    def covered(self, feats: fx.AnswerFeatures) -> list[str]:
        if self.coverage is None:
            threshold = self.weights.thresholds["covered_point"]
            return [pid for pid, sim in feats.point_sims.items() if sim >= threshold]
        return [pid for pid, match in feats.points.items() if self.coverage.covered(match)]

    def raw_scores(
        self, feats: fx.AnswerFeatures, sentence_chances: dict[str, np.ndarray] | None = None
    ) -> dict[str, float]:
        values = self.feature_values(feats, sentence_chances)
        return {dim: linear(self.weights.dimensions[dim], values) for dim in DIMENSIONS}

    def assessment(self, request: AssessRequest) -> Assessment:
        question = request.question
        feats = fx.extract(question, request.answer, request.reference)
        flags = ["ignored an instruction aimed at the grader"] if feats.injected else []
        reason = fx.non_answer_reason(feats, question, self.weights.thresholds)
        if reason:
            return self._non_answer(question, reason, flags)
        chances = self.sentence_chances(feats)  # read by the dimension models and the evidence
        raw = self.raw_scores(feats, chances)
        scores = {dim: to_band(value, self.weights.dimensions[dim].get("cuts")) for dim, value in raw.items()}
        scores = self.apply_floors(scores, feats.features)
        covered = self.covered(feats)
        if request.reference and question.built_from_reference():
            # Points taken from the user's own reference: judged by the content model fitted on
            # reference-graded answers (SAF), and a point counts when its sentence is matched.
            grade = content_score(request.answer, request.reference, question.question, self.weights)
            scores["technical_coverage"] = to_band(1 + 4 * grade)
            covered = [pid for pid, sim in feats.point_sims.items() if sim >= REFERENCE_POINT_MATCH]
        missed = [tp.id for tp in question.talking_points if tp.id not in covered]
        dims = [
            DimensionScore(
                id=dim,
                score=scores[dim],
                evidence=self._evidence(dim, scores[dim], feats, covered, chances.get(dim)),
                tip=self._tip(dim, scores[dim], question, missed),
            )
            for dim in DIMENSIONS
        ]
        return Assessment(
            dimensions=dims,
            covered_points=covered,
            covered_spans={pid: feats.point_best_span[pid] for pid in covered},
            strengths=self._strengths(dims),
            suggested_opening=self._opening(question, feats, scores["step_back"]),
            flags=flags,
        )

    def apply_floors(self, scores: dict[str, int], values: dict[str, float]) -> dict[str, int]:
        """The rubric's floors and ceilings on top of the fitted bands."""
        bounded = dict(scores)
        for dim, floor in self.weights.floors.items():
            if values.get(floor["feature"], 0.0) >= float(floor["at_least"]):
                bounded[dim] = max(bounded[dim], int(floor["score"]))
        for dim, ceiling in self.weights.ceilings.items():
            if values.get(ceiling["feature"], 0.0) < float(ceiling["below"]):
                bounded[dim] = min(bounded[dim], int(ceiling["score"]))
        return bounded

    def _non_answer(self, question: Question, reason: str, flags: list[str]) -> Assessment:
        dims = [
            DimensionScore(id=dim, score=1, evidence=[], tip=f"No answer to assess ({reason}).")
            for dim in DIMENSIONS
        ]
        return Assessment(
            dimensions=dims,
            suggested_opening=question.strong_answer.summary,
            overall=1,
            non_answer=reason,
            flags=flags,
        )

    def _evidence(
        self,
        dim: str,
        score: int,
        feats: fx.AnswerFeatures,
        covered: list[str],
        chances: np.ndarray | None = None,
    ) -> list[str]:
        """Sentences that earned this dimension its credit (none for a score of 1 or 2);
        chances: its sentence model's, one per sentence (None: the dimension has no such model)."""
        if dim == "technical_coverage":
            return list(dict.fromkeys(feats.point_best_span[pid] for pid in covered))[:3]
        if score <= 2:
            return []
        carriers = feats.evidence.get(dim, [])
        if chances is not None and feats.spans:
            ranked = [feats.spans[i] for i in np.argsort(-chances) if chances[i] >= EVIDENCE_CHANCE]
            if dim == "step_back":
                ranked = [s for s in ranked if s in feats.spans[:2]]
            if ranked or not EVIDENCE_FALLBACK:
                return ranked[:2]
        return carriers[:2]

    def _tip(self, dim: str, score: int, question: Question, missed: list[str]) -> str:
        if score >= 5:
            return "Keep doing this."
        if score >= 3 and dim in NEXT_TIPS:
            return NEXT_TIPS[dim]
        if dim == "technical_coverage":
            points = [tp.point.rstrip(".") for tp in question.talking_points if tp.id in missed][:2]
            return TIPS[dim].format(missed="; ".join(points) or "go one level deeper")
        if dim == "business_value":
            return f"{TIPS[dim]} For this question: {question.strong_answer.business_value}"
        return TIPS[dim]

    @staticmethod
    def _strengths(dims: list[DimensionScore]) -> list[Strength]:
        """A strength per dimension scored 4 or 5, each quoting a sentence no other strength uses."""
        names = {
            "step_back": "Led with the high-level idea",
            "business_value": "Tied the work to a business outcome",
            "clarity": "Clear, structured delivery",
            "technical_coverage": "Covered the key technical points",
            "tradeoffs": "Weighed alternatives",
        }
        strengths: list[Strength] = []
        for d in dims:
            used = {s.evidence for s in strengths}
            quote = next((q for q in d.evidence if q not in used), None)
            if d.score >= 4 and quote:
                strengths.append(Strength(text=names[d.id], evidence=quote))
        return strengths

    @staticmethod
    def _opening(question: Question, feats: fx.AnswerFeatures, step_back: int) -> str:
        """Keep an opening that already states the idea (step back scored 3 or more); else move a
        buried one up, else the question's summary: never the answer's own opening sentences when
        step back is low (the card would tell the candidate to open with what they opened with)."""
        if step_back >= 3 and feats.evidence.get("step_back"):
            return feats.evidence["step_back"][0]
        later = [s for s in feats.spans[2:] if fx.HIGH_LEVEL.search(s) and len(fx.words(s)) <= 40]
        if later:
            return later[0]
        return question.strong_answer.summary

    # -- phrasing ------------------------------------------------------------------------
    def phrase(self, request: PhraseRequest) -> Phrased:
        return Phrased(text=self.planned_words(request), run=self._run())

    def stream_phrase(self, request: PhraseRequest) -> Iterator[str | Phrased]:
        phrased = self.phrase(request)
        yield phrased.text
        yield phrased

    @staticmethod
    def planned_words(request: PhraseRequest) -> str:
        """The corpus text as written, for each kind of interviewer move."""
        if request.kind == "ask":
            return request.planned_text
        if request.kind == "hint":
            point = request.talking_point
            nudge = point.follow_up if point else request.planned_text
            return f"Hint: think about this: {nudge}"
        return request.planned_text


def content_score(
    answer: str, reference: str, question: str | None = None, weights: ScorerWeights | None = None
) -> float:
    """Content agreement of an answer with a reference answer, 0..1 (fitted on SAF)."""
    return content_score_of(content_features(answer, reference, question), weights)


def content_score_of(values: dict[str, float | None], weights: ScorerWeights | None = None) -> float:
    """The fitted content model applied to precomputed content features, clipped to 0..1.

    A feature the row could not provide (no question text) takes its mean on the fitting data.
    """
    model = (weights or default_weights()).content
    filled = {**model.get("impute", {}), **{k: v for k, v in values.items() if v is not None}}
    return float(min(1.0, max(0.0, linear(model, filled))))


_CONTENT_WORD = re.compile(r"[a-z0-9]{3,}")


def _content_words(text: str) -> set[str]:
    return {w for w in _CONTENT_WORD.findall(text.lower()) if w not in STOP_WORDS}


def content_features(answer: str, reference: str, question: str | None = None) -> dict[str, float | None]:
    """Features for reference-based content scoring.

    The answer is embedded sentence by sentence (its whole-text vector is their normalised sum:
    no second, long model run). Two features need the question text and are None without it:
    `q_ref_sim` (how close the reference is to its question) and `qd_ans_precision` (how well
    each answer sentence matches some reference sentence once the question's own direction is
    projected out of both, so restating the question earns nothing).
    """
    kept, _ = fx.content_sentences(answer)
    a_spans = [fx.visible_text(s).strip() or " " for s in kept] or [" "]
    r_spans = fx.sentences(reference) or [reference or " "]
    fixed = fx.target_vectors((reference or " ", *r_spans))  # a reference recurs: cached
    a_vecs = fx.SENTENCE_VECTORS.embed(a_spans)
    whole = float(fx.unit(a_vecs.sum(axis=0)) @ fixed[0])
    r_vecs = fixed[1:]
    cross = r_vecs @ a_vecs.T
    ref_recall = float(cross.max(axis=1).mean())
    ans_precision = float(cross.max(axis=0).mean())
    q_ref_sim: float | None = None
    qd_ans_precision: float | None = None
    if question and question.strip():
        pair = fx.target_vectors((question, reference or " "))
        q_ref_sim = float(pair[0] @ pair[1])
        demoted = _demoted(r_vecs, pair[0]) @ _demoted(a_vecs, pair[0]).T
        qd_ans_precision = float(demoted.max(axis=0).mean())
    aw, rw = _content_words(answer), _content_words(reference)
    overlap = len(aw & rw)
    recall = overlap / len(rw) if rw else 0.0
    precision = overlap / len(aw) if aw else 0.0
    f1 = 2 * recall * precision / (recall + precision) if overlap else 0.0
    length_ratio = min(2.0, (len(answer.split()) + 1) / (len(reference.split()) + 1))
    best_per_ref = cross.max(axis=1)
    ab, rb = _bigrams(answer), _bigrams(reference)
    return {
        "cosine": whole,
        "ref_recall": ref_recall,
        "ans_precision": ans_precision,
        "word_recall": recall,
        "word_precision": precision,
        "word_f1": f1,
        "length_ratio": length_ratio,
        "empty": 1.0 if len(answer.split()) < 3 else 0.0,
        "cosine_sq": whole * whole,
        "cosine_x_recall": whole * recall,
        "log_len": float(np.log1p(len(answer.split()))),
        "ref_cover_05": float((best_per_ref >= 0.5).mean()),
        "ref_cover_07": float((best_per_ref >= 0.7).mean()),
        "cos_hinge_05": max(0.0, whole - 0.5),
        "cos_hinge_07": max(0.0, whole - 0.7),
        "bigram_recall": len(ab & rb) / len(rb) if rb else 0.0,
        "q_ref_sim": q_ref_sim,
        "ref_top4": float(np.sort(best_per_ref)[::-1][:4].mean()),
        "qd_ans_precision": qd_ans_precision,
    }


def _demoted(vectors: np.ndarray, question: np.ndarray) -> np.ndarray:
    """Vectors with the question's direction projected out (words taken from the question earn nothing)."""
    return fx.unit(vectors - np.outer(vectors @ question, question))


def _bigrams(text: str) -> set[tuple[str, str]]:
    toks = [w for w in _CONTENT_WORD.findall(text.lower()) if w not in STOP_WORDS]
    return set(zip(toks, toks[1:], strict=False))
