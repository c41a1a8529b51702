"""Did the answer state a talking point's idea, or only name its topic? Features per point, one model.

Each talking point carries, from `corpus/points/`, sentences that state its idea (`states`) and
sentences that only name its topic (`names_only`). An answer unit (a sentence or two adjacent
sentences) is compared with both; a point is covered when a fitted logistic model over these
similarities and a few substance cues (is the matching sentence a bare list? does the answer
hedge? does it share the point's own words?) says so. The model is fitted on labelled dev answers
by `make fit` and kept in the offline scorer's data file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.corpus.models import Question, TalkingPoint

# Vague fillers that stand in for content in keyword-dropping answers.
HEDGE = re.compile(
    r"\b(some|stuff|things?|that kind of thing|etc|and so on|whatever|maybe|various|a bunch of|"
    r"all that|kind of|sort of|you know|obviously|of course)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]+")
STOP_WORDS = frozenset(
    (
        "the and for are but not you all any can had her was one our out has him his how its may "
        "new now old see two way who did get let put say she too use that with have this will "
        "your from they been were what when which their there them then than into more some such "
        "only also very just over would could should about these those each other"
    ).split()
)
FEATURES = (
    "states_sim",
    "point_sim",
    "names_sim",
    "contrast",
    "share",
    "commas",
    "answer_hedge",
    "answer_commas",
    "answer_words",
    "red_flag_sim",
    "shared_words",
    "list_like",
    # How much better the matched unit fits this point than any other point of the question, and
    # the best such margin over all units (a sentence that states one idea fits it clearly best).
    # Dev CV over 8 fold splits: precision 0.782 -> 0.788, recall 0.785 -> 0.787.
    "margin",
    "best_margin",
)


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS and len(w) > 2}


def _per_word(count: int, text: str) -> float:
    return count / max(1, len(text.split())) * 10


@dataclass(frozen=True)
class PointMatch:
    """The answer's best match for one talking point, with the features the model reads."""

    point_id: str
    span: str  # one sentence of the answer, verbatim
    similarity: float
    features: dict[str, float]


@dataclass(frozen=True)
class QuestionVectors:
    """A question's fixed texts as vectors (embedded once, cached)."""

    states: list[np.ndarray]
    names: list[np.ndarray]
    point: np.ndarray
    red_flags: np.ndarray


def point_texts(tp: TalkingPoint) -> tuple[list[str], list[str]]:
    """(statements of the idea, name-only mentions); the point itself when no phrasings exist.

    The corpus's wrong statements are not compared: measured on the dev splits, an answer sentence
    is as close to them as to the right ones, so similarity cannot tell the two apart.
    """
    return (list(tp.states) or [tp.point]), list(tp.names_only)


def list_like(sentence: str) -> float:
    """Share of a sentence's comma-separated parts that are a few words long (a list of topics)."""
    parts = [p for p in re.split(r"[,;:]|\band\b|\bor\b", sentence) if p.strip()]
    if len(parts) < 3:
        return 0.0
    return sum(1 for p in parts if len(p.split()) <= 3) / len(parts)


def _max_sims(units: np.ndarray, targets: list[np.ndarray]) -> np.ndarray:
    """Per unit, its best similarity to each point's targets (0 where a point has none)."""
    return np.column_stack([(units @ t.T).max(axis=1) if len(t) else np.zeros(len(units)) for t in targets])


def match_points(
    question: Question,
    spans: list[str],
    vectors: QuestionVectors,
    units: np.ndarray,
) -> dict[str, PointMatch]:
    """Best unit and features for every talking point.

    `units` holds the vectors of each sentence, then of each adjacent pair (sentence i and i+1).
    """
    n = len(spans)
    if n == 0:
        return {}
    points = question.talking_points
    st = _max_sims(units, vectors.states)
    sn = _max_sims(units, vectors.names)
    spf = units @ vectors.point.T
    combo = np.maximum(st, spf)
    best = combo.argmax(axis=0)
    sentence_of = [int(i) if i < n else int(i) - n for i in best]
    text = " ".join(spans)
    answer = {
        "answer_hedge": _per_word(len(HEDGE.findall(text)), text),
        "answer_commas": _per_word(text.count(","), text),
        "answer_words": float(np.log1p(len(text.split()))),
        "red_flag_sim": float((units @ vectors.red_flags.T).max()) if len(vectors.red_flags) else 0.0,
    }
    margin = _margins(combo)
    matches = {}
    for j, tp in enumerate(points):
        i, s = int(best[j]), sentence_of[j]
        unit_text = spans[s] if i < n else f"{spans[s]} {spans[s + 1]}"
        states = point_texts(tp)[0]
        features = {
            "states_sim": float(st[:, j].max()),
            "point_sim": float(spf[:, j].max()),
            "names_sim": float(sn[i, j]),
            "contrast": float(st[i, j] - sn[i, j]),
            "share": float(sentence_of.count(s)),
            "commas": _per_word(spans[s].count(","), spans[s]),
            "shared_words": float(
                len(content_words(f"{tp.point} {tp.follow_up} {' '.join(states)}") & content_words(unit_text))
            ),
            "list_like": list_like(spans[s]),
            "margin": float(margin[i, j]),
            "best_margin": float(margin[:, j].max()),
            **answer,
        }
        matches[tp.id] = PointMatch(tp.id, _quotable(spans, i, n, st[:, j]), float(combo[i, j]), features)
    return matches


def _margins(sims: np.ndarray) -> np.ndarray:
    """Per unit and point: its similarity to the point minus its best similarity to another point."""
    if sims.shape[1] < 2:
        return sims
    top2 = np.sort(sims, axis=1)[:, -2:]
    others = np.where(sims >= top2[:, [1]], top2[:, [0]], top2[:, [1]])
    return np.asarray(sims - others)


def _quotable(spans: list[str], unit: int, n: int, sims: np.ndarray) -> str:
    """The sentence to quote for a unit: itself, or the better-matching half of a pair."""
    if unit < n:
        return spans[unit]
    first = unit - n
    return spans[first] if sims[first] >= sims[first + 1] else spans[first + 1]


class CoverageModel:
    """Logistic model over PointMatch features (fitted; kept in the offline scorer's data file)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.names: list[str] = list(data["features"])
        self.mean = np.array(data["mean"], dtype=float)
        self.scale = np.maximum(np.array(data["scale"], dtype=float), 1e-6)
        self.weights = np.array(data["weights"], dtype=float)
        self.bias = float(data["bias"])
        self.threshold = float(data["threshold"])

    def probability(self, match: PointMatch) -> float:
        x = np.array([match.features.get(name, 0.0) for name in self.names])
        z = float(((x - self.mean) / self.scale) @ self.weights + self.bias)
        return float(1 / (1 + np.exp(-z)))

    def covered(self, match: PointMatch) -> bool:
        return self.probability(match) >= self.threshold
