"""`coach eval --dataset`: any labelled answers a user brings, mapped by column names."""

from __future__ import annotations

import csv
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from app.engines.offline import content_score
from app.errors import CoachError, UserInputError
from app.evaluation.runner import agreement
from app.scoring.scorer import Scorer

MAX_ROWS = 100_000
PREFETCH_ROWS = 500


@dataclass(frozen=True)
class Columns:
    question: str
    answer: str
    label: str
    reference: str | None = None
    question_id: str | None = None


def parse_scale(raw: str) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in raw.split(":", 1))
    except ValueError:
        raise UserInputError(f"--label-scale must look like MIN:MAX (e.g. 0:1 or 1:5); got {raw!r}") from None
    if high <= low:
        raise UserInputError("--label-scale MAX must be greater than MIN")
    return low, high


def read_rows(
    path: Path, limit: int | None = None, where: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Rows of a CSV or JSON Lines file (those matching `where`), one clear error if unreadable."""
    if not path.is_file():
        raise UserInputError(f"no such dataset file: {path}")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserInputError(f"{path} is not UTF-8 text") from None
    if "\x00" in text[:8192]:
        raise UserInputError(f"{path} is a binary file")
    rows: list[dict[str, Any]] = []
    if path.suffix.lower() == ".jsonl":
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    raise UserInputError(f"{path}: line {number} is not JSON") from None
    elif path.suffix.lower() == ".csv":
        try:
            # keepends: a quoted field may span lines, and its line breaks are part of its text
            rows = list(csv.DictReader(text.splitlines(keepends=True)))
        except csv.Error as err:
            raise UserInputError(f"{path}: malformed CSV ({err})") from None
    else:
        raise UserInputError(f"{path}: the dataset must be .csv or .jsonl")
    if not rows:
        raise UserInputError(f"{path} has no rows")
    for column, value in (where or {}).items():
        rows = [r for r in rows if str(field(r, column)) == value]
        if not rows:
            raise UserInputError(f"{path}: no row has {column} = {value!r}")
    return rows[: limit or MAX_ROWS]


def parse_where(items: list[str] | None) -> dict[str, str]:
    """`COL=VALUE` filters from the command line."""
    where = {}
    for item in items or []:
        column, sep, value = item.partition("=")
        if not sep or not column.strip():
            raise UserInputError(f"--where takes COLUMN=VALUE, not {item!r}")
        where[column.strip()] = value.strip()
    return where


def field(row: dict[str, Any], column: str) -> Any:
    """A column, or a dotted path into nested JSON (e.g. labels.overall)."""
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def check_columns(rows: list[dict[str, Any]], columns: Columns, path: Path) -> None:
    present = set(rows[0])
    wanted = [
        c
        for c in (columns.question, columns.answer, columns.label, columns.reference, columns.question_id)
        if c
    ]
    missing = [c for c in wanted if c not in present and field(rows[0], c) is None]
    if missing:
        raise UserInputError(
            f"{path}: missing column(s) {', '.join(missing)}; it has {', '.join(sorted(present))}"
        )


def to_band(value: float, low: float, high: float) -> float:
    """A label on low..high mapped onto the 1-5 rubric scale."""
    return 1 + 4 * (value - low) / (high - low)


def predict(scorer: Scorer, row: dict[str, Any], columns: Columns, against: str) -> float:
    answer = str(field(row, columns.answer) or "")
    reference = str(field(row, columns.reference) or "") if columns.reference else None
    if against == "content":
        if not reference:
            raise UserInputError("--against content needs --reference-col")
        question = field(row, columns.question) if columns.question else None
        return 1 + 4 * content_score(answer, reference, str(question) if question else None)
    if columns.question_id:
        card = scorer.score(
            answer, question_id=str(field(row, columns.question_id) or ""), reference=reference or None
        )
    else:
        card = scorer.score(
            answer, question_text=str(field(row, columns.question) or ""), reference=reference or None
        )
    value = card.overall if against == "overall" else card.score_of(against)
    if value is None:
        raise UserInputError(f"{against} is not scored for this question's track")
    return float(value)


def evaluate_dataset(
    scorer: Scorer,
    path: Path,
    columns: Columns,
    scale: tuple[float, float],
    against: str,
    limit: int | None = None,
    concurrency: int = 4,
    progress: bool = False,
    where: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`coach eval --dataset`: read the rows, then score them (evaluate_rows)."""
    rows = read_rows(path, limit, where)
    check_columns(rows, columns, path)
    report = evaluate_rows(scorer, rows, columns, scale, against, concurrency, progress)
    return {"dataset": str(path), **report}


def evaluate_rows(
    scorer: Scorer,
    rows: list[dict[str, Any]],
    columns: Columns,
    scale: tuple[float, float],
    against: str,
    concurrency: int = 4,
    progress: bool = False,
) -> dict[str, Any]:
    """Agreement of the scorer with the rows' labels (the one path every dataset figure takes)."""
    started = time.perf_counter()

    def one(row: dict[str, Any]) -> tuple[float | None, float | None, str | None]:
        try:
            label = to_band(float(field(row, columns.label)), *scale)
        except (TypeError, ValueError):
            return None, None, f"label {field(row, columns.label)!r} is not a number"
        try:
            return predict(scorer, row, columns, against), label, None
        except CoachError as err:
            return None, label, str(err)

    from app.engines.features import prefetch_answers

    for start in range(0, len(rows), PREFETCH_ROWS):  # batched embedding of what the rows say
        prefetch_answers([str(field(r, columns.answer) or "") for r in rows[start : start + PREFETCH_ROWS]])
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(
            tqdm(
                pool.map(one, rows),
                total=len(rows),
                desc="dataset",
                unit="row",
                disable=not progress,
                leave=False,
            )
        )
    pairs = [(p, h) for p, h, _ in results if p is not None and h is not None]
    skipped = [e for _, _, e in results if e]
    if len(pairs) < 3:
        raise UserInputError(f"only {len(pairs)} rows could be scored; first problem: {skipped[:1]}")
    predicted, human = [p for p, _ in pairs], [h for _, h in pairs]
    seconds = time.perf_counter() - started
    return {
        "against": against,
        "rows": len(rows),
        "scored": len(pairs),
        "skipped": len(skipped),
        "skipped_reasons": sorted(set(skipped))[:5],
        "metrics": agreement(predicted, human),
        "seconds": round(seconds, 2),
        "cases_per_s": round(len(rows) / seconds, 1) if seconds else None,
        "points": [[round(p, 3), round(h, 3)] for p, h in pairs[:2000]],
    }
