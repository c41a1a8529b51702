"""`coach eval --dataset`: any labelled answers a user brings, mapped by column names."""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import CoachError, UserInputError

if TYPE_CHECKING:  # the scorer pulls in the models: the inputs are checked before it is imported
    from app.scoring.scorer import Scorer

MAX_ROWS = 100_000
PREFETCH_ROWS = 500
PROGRESS_MIN_ROWS = 100  # fewer rows finish in seconds: a progress line would only be noise


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
    if not (math.isfinite(low) and math.isfinite(high)):
        raise UserInputError(f"--label-scale MIN and MAX must be finite numbers; got {raw!r}")
    if high <= low:
        raise UserInputError("--label-scale MAX must be greater than MIN")
    return low, high


@dataclass(frozen=True)
class Row:
    """A dataset row and the line of the file it starts on (to name it in a message)."""

    line: int
    data: dict[str, Any]


def _jsonl_rows(path: Path, text: str) -> Iterator[Row]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise UserInputError(f"{path}: line {number} is not JSON") from None
        if not isinstance(value, dict):
            kind = "an array" if isinstance(value, list) else type(value).__name__.replace("NoneType", "null")
            raise UserInputError(f"{path}: line {number} is {kind}, not a JSON object of columns")
        yield Row(number, value)


def _csv_rows(path: Path, text: str) -> Iterator[Row]:
    # keepends: a quoted field may span lines, and its line breaks are part of its text
    reader = csv.DictReader(text.splitlines(keepends=True))
    start = 2
    try:
        for data in reader:
            yield Row(start, data)
            start = reader.line_num + 1
    except csv.Error as err:
        raise UserInputError(f"{path}: malformed CSV ({err})") from None


def read_numbered_rows(
    path: Path, limit: int | None = None, where: dict[str, str] | None = None
) -> list[Row]:
    """Rows of a CSV or JSON Lines file (those matching `where`), one clear error if unreadable."""
    if not path.is_file():
        raise UserInputError(f"no such dataset file: {path}")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserInputError(f"{path} is not UTF-8 text") from None
    if "\x00" in text[:8192]:
        raise UserInputError(f"{path} is a binary file")
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise UserInputError(f"{path}: the dataset must be .csv or .jsonl")
    rows = list(_jsonl_rows(path, text) if suffix == ".jsonl" else _csv_rows(path, text))
    if not rows:
        raise UserInputError(f"{path} has no rows")
    for column, value in (where or {}).items():
        rows = [r for r in rows if str(field(r.data, column)) == value]
        if not rows:
            raise UserInputError(f"{path}: no row has {column} = {value!r}")
    if limit is not None and limit < 1:
        raise UserInputError(f"the row limit must be 1 or more, got {limit}")
    return rows[: limit or MAX_ROWS]


def read_rows(
    path: Path, limit: int | None = None, where: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The rows' columns alone (see read_numbered_rows)."""
    return [r.data for r in read_numbered_rows(path, limit, where)]


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
            f"{path}: missing column(s) {', '.join(missing)}; it has "
            + ", ".join(sorted(_one_line(str(c)) for c in present))
        )


def label_of(value: Any) -> float | None:
    """A label as a number; None for what is not one (an empty cell, a word, NaN): such rows are skipped."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return None if math.isnan(number) else number


def check_labels(rows: list[Row], column: str, scale: tuple[float, float], path: Path) -> None:
    """A label outside the declared scale means the scale (or the column) is wrong: refuse, naming the row."""
    low, high = scale
    for row in rows:
        label = label_of(field(row.data, column))
        if label is not None and not low <= label <= high:
            raise UserInputError(
                f"{path}: line {row.line}: label {field(row.data, column)!r} is outside --label-scale "
                f"{low:g}:{high:g}; fix the label or the scale"
            )


def load_dataset(
    path: Path,
    columns: Columns,
    scale: tuple[float, float],
    limit: int | None = None,
    where: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The rows to score, after every check that needs no model."""
    rows = read_numbered_rows(path, limit, where)
    check_columns([r.data for r in rows], columns, path)
    check_labels(rows, columns.label, scale, path)
    return [r.data for r in rows]


def to_band(value: float, low: float, high: float) -> float:
    """A label on low..high mapped onto the 1-5 rubric scale."""
    return 1 + 4 * (value - low) / (high - low)


def predict(scorer: Scorer, row: dict[str, Any], columns: Columns, against: str) -> float:
    answer = str(field(row, columns.answer) or "")
    reference = str(field(row, columns.reference) or "") if columns.reference else None
    if against == "content":
        from app.engines.offline import content_score

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
    """`coach eval --dataset`: read and check the rows, then score them (evaluate_rows)."""
    rows = load_dataset(path, columns, scale, limit, where)
    report = evaluate_rows(scorer, rows, columns, scale, against, concurrency, progress)
    return {"dataset": str(path), **report}


def with_progress(results: Iterable[Any], total: int, progress: bool) -> list[Any]:
    """Collect results, telling stderr how far along a long run is (a bar on a terminal, else lines)."""
    if not progress or total < PROGRESS_MIN_ROWS:
        return list(results)
    if sys.stderr.isatty():
        from tqdm import tqdm

        return list(tqdm(results, total=total, desc="dataset", unit="row", leave=False))
    done: list[Any] = []
    step = max(1, total // 10)
    for item in results:
        done.append(item)
        if len(done) % step == 0 or len(done) == total:
            print(f"scored {len(done)} of {total} rows", file=sys.stderr, flush=True)
    return done


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
    from app.engines.features import prefetch_answers
    from app.evaluation.runner import agreement

    started = time.perf_counter()

    def one(row: dict[str, Any]) -> tuple[float | None, float | None, str | None]:
        value = label_of(field(row, columns.label))
        if value is None:
            return None, None, f"label {field(row, columns.label)!r} is not a number"
        label = to_band(value, *scale)
        try:
            return predict(scorer, row, columns, against), label, None
        except CoachError as err:
            return None, label, str(err)

    for start in range(0, len(rows), PREFETCH_ROWS):  # batched embedding of what the rows say
        prefetch_answers([str(field(r, columns.answer) or "") for r in rows[start : start + PREFETCH_ROWS]])
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = with_progress(pool.map(one, rows), len(rows), progress)
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


def _one_line(name: str, limit: int = 60) -> str:
    """A column name as an error message may show it: line breaks and control characters escaped,
    long names cut (the message stays one line whatever the file holds)."""
    shown = name.encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
