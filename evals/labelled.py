"""The team's labelled answers (evals/data/answers.v1.jsonl) and SAF (../shared/datasets/saf)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from app.config import PROJECT_ROOT
from app.corpus.models import DIMENSIONS
from app.errors import UserInputError

ANSWERS = PROJECT_ROOT / "evals" / "data" / "answers.v1.jsonl"
BLIND = PROJECT_ROOT / "evals" / "data" / "blind.v1.jsonl"
# Short answers (45-90 words), written and labelled by the same blind procedure in a later round
# (evals/LABELLING.md, "How the blind set was made", step 6): part of the blind set.
BLIND_BRIEF = PROJECT_ROOT / "evals" / "data" / "blind.brief.v1.jsonl"
SAF_CSV = PROJECT_ROOT.parent / "shared" / "datasets" / "saf" / "saf_english.csv"
LABELS = (*DIMENSIONS, "overall")


@dataclass(frozen=True)
class LabelledAnswer:
    id: str
    question_id: str
    split: str
    style: str
    answer: str
    labels: dict[str, int | None]  # None: the dimension is not scored for the question's track
    covered_points: tuple[str, ...]
    set_name: str = "team"
    off_topic: bool = False

    def label(self, key: str) -> int | None:
        return self.labels.get(key)


def load_blind(path: Path = BLIND, split: str | None = None, brief: bool = True) -> list[LabelledAnswer]:
    """The blind set: answers written and labelled by a separate procedure (evals/LABELLING.md);
    with `brief`, the short answers of the later round too (when `path` is the blind set)."""
    rows = load_answers(path, split)
    if brief and path == BLIND and BLIND_BRIEF.exists():
        rows += load_answers(BLIND_BRIEF, split)
    return [LabelledAnswer(**{**r.__dict__, "set_name": "blind"}) for r in rows]


def _label(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def load_answers(path: Path = ANSWERS, split: str | None = None) -> list[LabelledAnswer]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            row = LabelledAnswer(
                id=data["id"],
                question_id=data["question_id"],
                split=data["split"],
                style=data.get("style", ""),
                answer=data["answer"],
                labels={k: _label(data["labels"][k]) for k in LABELS},
                covered_points=tuple(data.get("covered_points", [])),
                off_topic=bool(data.get("off_topic") or data.get("style") == "off_topic"),
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise UserInputError(f"{path}: line {number}: {err}") from None
        if split is None or row.split == split:
            rows.append(row)
    return rows


@dataclass(frozen=True)
class SafRow:
    split: str
    question_id: str
    question: str
    reference: str
    answer: str
    score: float


def load_saf(path: Path = SAF_CSV) -> list[SafRow]:
    """SAF rows; an empty list when the dataset is not present."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            SafRow(
                split=r["split"],
                question_id=r["question_id"],
                question=r["question"],
                reference=r["reference_answer"],
                answer=r["student_answer"],
                score=float(r["score"]),
            )
            for r in csv.DictReader(handle)
        ]
