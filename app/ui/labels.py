"""Plain words for the ids the corpus and sessions use: tracks, dimensions, stages, kinds.

The ids stay the values (the API and the database use them); the page shows these words.
"""

from __future__ import annotations

from app.corpus.models import DIFFICULTIES

ANY = "any"
ANY_LABEL = "Any"

TRACK_NAMES = {
    "ml_system_design": "ML system design",
    "ml_theory": "ML theory",
    "data_coding": "Data coding",
    "coding_algorithms": "Coding and algorithms",
    "mlops_production": "MLOps and production",
    "career_narrative": "Career story",
}
DIMENSION_NAMES = {
    "step_back": "Step back first",
    "business_value": "Business value",
    "clarity": "Clarity",
    "technical_coverage": "Technical coverage",
    "tradeoffs": "Trade-offs",
}
DIFFICULTY_NAMES = {d: d.capitalize() for d in DIFFICULTIES}
KIND_NAMES = {
    "question": "Question",
    "talking_point": "Talking point",
    "rubric": "Rubric",
    "guide": "Guide",
    "document": "Your document",
}
STAGE_NAMES = {
    "active": "In progress",
    "finished": "Finished",
    "feedback": "Feedback",
}
_ALL = {**TRACK_NAMES, **DIMENSION_NAMES, **DIFFICULTY_NAMES, **KIND_NAMES, **STAGE_NAMES, ANY: ANY_LABEL}


def chosen(value: str | None) -> str | None:
    """A picker's value as a filter: None for empty or "any"."""
    return None if not value or value == ANY else value


def plain(value: object) -> str:
    """The plain words for an id; an unknown id reads with spaces for underscores."""
    text = "" if value is None else str(value)
    if text.startswith("stage:"):  # a design stage to drill, e.g. "stage:data_labels"
        return "Design stage: " + text.split(":", 1)[1].replace("_", " ")
    return _ALL.get(text) or text.replace("_", " ")


def choices(ids: tuple[str, ...] | list[str], with_any: bool = True) -> list[tuple[str, str]]:
    """(words, id) pairs for a dropdown: the page shows words, the handler receives the id."""
    pairs = [(plain(i), i) for i in ids]
    return [(ANY_LABEL, ANY), *pairs] if with_any else pairs
