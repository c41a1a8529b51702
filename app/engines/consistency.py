"""Self-consistency: several judgements of one answer combined into one (issue 17 item 5).

Each dimension takes the median of the samples' scores (the lower middle for an even count, so a
tie never rounds up), with the evidence and tip of a sample that gave that score; the scores of
every sample stay on the dimension, so the card can show the spread. A talking point is covered
when most samples say so. Strengths and the suggested opening come from the sample closest to
the medians.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from app.engines.types import Assessment, DimensionScore

# Samples of one dimension this far apart (max - min) make its score low confidence.
LOW_CONFIDENCE_SPREAD = 2
# Temperature of the judge when it is sampled more than once.
SAMPLE_TEMPERATURE = 0.8
# One sample is greedy: the same answer gets the same grade. (At the chat default of 0.2, with the
# server's random seed, the small local model of the tests ran past its token limit in about 2 of
# 7 runs of the same call.)
SINGLE_TEMPERATURE = 0.0
MAX_SAMPLES = 9


def spread(samples: Sequence[int]) -> int:
    return max(samples) - min(samples) if samples else 0


def low_confidence(samples: Sequence[int]) -> bool:
    return len(samples) > 1 and spread(samples) >= LOW_CONFIDENCE_SPREAD


def combine(assessments: Sequence[Assessment]) -> Assessment:
    """One assessment from several of the same answer (one: returned as it is)."""
    if not assessments:
        raise ValueError("no assessment to combine")
    if len(assessments) == 1:
        return assessments[0]
    ids = list(dict.fromkeys(d.id for a in assessments for d in a.dimensions))
    dimensions = [_dimension(dim_id, assessments) for dim_id in ids]
    medians = {d.id: d.score for d in dimensions}
    closest = min(
        assessments, key=lambda a: sum(abs(a.score(dim_id) - score) for dim_id, score in medians.items())
    )
    covered = _majority(assessments)
    spans = {}
    for point in covered:
        spans[point] = next((a.covered_spans[point] for a in assessments if point in a.covered_spans), "")
    return Assessment(
        dimensions=dimensions,
        covered_points=covered,
        covered_spans={p: s for p, s in spans.items() if s},
        strengths=closest.strengths,
        suggested_opening=closest.suggested_opening,
    )


def _dimension(dim_id: str, assessments: Sequence[Assessment]) -> DimensionScore:
    given = [d for a in assessments for d in a.dimensions if d.id == dim_id]
    scores = [d.score for d in given]
    median = int(statistics.median_low(scores))
    source = next(d for d in given if d.score == median)
    return DimensionScore(id=dim_id, score=median, evidence=source.evidence, tip=source.tip, samples=scores)


def _majority(assessments: Sequence[Assessment]) -> list[str]:
    votes: dict[str, int] = {}
    for a in assessments:
        for point in dict.fromkeys(a.covered_points):
            votes[point] = votes.get(point, 0) + 1
    return [p for p, n in votes.items() if n * 2 > len(assessments)]
