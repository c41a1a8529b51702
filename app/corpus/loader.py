"""Loads and validates the corpus on disk; every error names the file and the item."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app.corpus.models import (
    DIFFICULTIES,
    TRACKS,
    InterviewerFile,
    PhrasingFile,
    Question,
    QuestionFile,
    Rubric,
)
from app.errors import CorpusError, NotFoundError

RUBRIC_FILE = Path("rubrics") / "communication.yaml"
FileModel = TypeVar("FileModel", bound=BaseModel)
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster


class _SafeLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe YAML that refuses a key given twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Guide:
    """A short Markdown guide from `corpus/guides/`."""

    id: str
    title: str
    text: str
    path: Path


@dataclass
class QuestionBank:
    """All questions, by id, with the file each came from."""

    questions: dict[str, Question] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def get(self, question_id: str) -> Question:
        """The question with this id, or a NotFoundError naming it."""
        try:
            return self.questions[question_id]
        except KeyError:
            raise NotFoundError(f"no question with id {question_id!r} in the bank") from None

    def by_track(self, track: str) -> list[Question]:
        return [q for q in self.questions.values() if q.track == track]

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts by track and difficulty, every track and difficulty present."""
        counts: Counter[tuple[str, str]] = Counter((q.track, q.difficulty) for q in self.questions.values())
        table = {t: {d: counts[(t, d)] for d in DIFFICULTIES} for t in TRACKS}
        for row in table.values():
            row["total"] = sum(row.values())
        return table


def read_yaml(path: Path) -> Any:
    """Parsed YAML, or a CorpusError naming the file and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CorpusError(f"{path}: not UTF-8 text") from None
    except OSError as err:
        raise CorpusError(f"{path}: cannot read ({err.strerror})") from None
    try:
        return yaml.load(text, Loader=_SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or "malformed YAML"
        raise CorpusError(f"{path}:{where}: malformed YAML ({problem})") from None


def _item_name(data: Any, loc: tuple[Any, ...]) -> str:
    """'question msd-feed / talking_points[2].follow_up' from a pydantic error location."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            item = node[key] if isinstance(node, list) and key < len(node) else None
            ident = item.get("id") if isinstance(item, dict) else None
            parts.append(f"[{ident or key}]")
            node = item
        else:
            parts.append(f".{key}" if parts else str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def _explain(path: Path, data: Any, err: ValidationError) -> CorpusError:
    lines = [f"{path}: {_item_name(data, tuple(e['loc']))}: {e['msg']}" for e in err.errors()[:10]]
    more = len(err.errors()) - 10
    if more > 0:
        lines.append(f"{path}: ... and {more} more problems")
    return CorpusError("\n".join(lines))


def _validated(model: type[FileModel], path: Path, data: Any) -> FileModel:
    """The file's YAML (data: already parsed, if at hand) as the model, or one clear CorpusError."""
    data = read_yaml(path) if data is None else data
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise _explain(path, data, err) from None


def load_question_file(path: Path, data: Any = None) -> QuestionFile:
    """One validated question file."""
    return _validated(QuestionFile, path, data)


def load_phrasing_file(path: Path, data: Any = None) -> PhrasingFile:
    """One validated `points/*.yaml` file."""
    return _validated(PhrasingFile, path, data)


def load_interviewer_file(path: Path, data: Any = None) -> InterviewerFile:
    """The validated interviewer data (design stages, depth probes)."""
    return _validated(InterviewerFile, path, data)


def attach_phrasings(bank: QuestionBank, corpus_dir: Path) -> list[str]:
    """Adds `points/*.yaml` phrasings to the bank's talking points; returns the problems found."""
    problems: list[str] = []
    for path in sorted((corpus_dir / "points").glob("*.yaml")):
        try:
            pfile = load_phrasing_file(path)
        except CorpusError as err:
            problems.append(str(err))
            continue
        for entry in pfile.questions:
            question = bank.questions.get(entry.id)
            if question is None:
                problems.append(f"{path}: [{entry.id}]: no question with this id in the bank")
                continue
            by_id = {p.id: p for p in entry.points}
            unknown = sorted(set(by_id) - {tp.id for tp in question.talking_points})
            if unknown:
                problems.append(f"{path}: [{entry.id}]: unknown talking point(s) {', '.join(unknown)}")
            points = [
                tp.model_copy(
                    update={
                        "states": by_id[tp.id].states,
                        "names_only": by_id[tp.id].names_only,
                        "wrong": by_id[tp.id].wrong,
                    }
                )
                if tp.id in by_id
                else tp
                for tp in question.talking_points
            ]
            bank.questions[entry.id] = question.model_copy(update={"talking_points": points})
    return problems


def load_rubric(corpus_dir: Path) -> Rubric:
    """The communication rubric of a corpus folder."""
    return load_rubric_file(corpus_dir / RUBRIC_FILE)


def load_rubric_file(path: Path, data: Any = None) -> Rubric:
    """One validated rubric file (data: its already parsed YAML, if at hand)."""
    return _validated(Rubric, path, data)


def load_bank(corpus_dir: Path) -> QuestionBank:
    """Every `questions/*.yaml`, ids unique across the bank."""
    bank = QuestionBank()
    problems: list[str] = []
    files = sorted((corpus_dir / "questions").glob("*.yaml"))
    if not files:
        raise CorpusError(f"{corpus_dir / 'questions'}: no question files found")
    for path in files:
        try:
            qfile = load_question_file(path)
        except CorpusError as err:
            problems.append(str(err))
            continue
        for q in qfile.questions:
            if q.id in bank.questions:
                problems.append(f"{path}: [{q.id}]: id already used in {bank.files[q.id]}")
                continue
            bank.questions[q.id] = q
            bank.files[q.id] = path
    problems += attach_phrasings(bank, corpus_dir)
    if problems:
        raise CorpusError("\n".join(problems))
    return bank


def load_guides(corpus_dir: Path) -> list[Guide]:
    """Guides in `guides/*.md`, titled by their first H1."""
    guides = []
    for path in sorted((corpus_dir / "guides").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), path.stem)
        guides.append(Guide(id=path.stem, title=title, text=text, path=path))
    return guides


def check_corpus(corpus_dir: Path) -> list[str]:
    """Every problem in the corpus, one line each (empty when all is valid)."""
    problems: list[str] = []
    for loader in (load_bank, load_rubric, load_guides):
        try:
            loader(corpus_dir)
        except CorpusError as err:
            problems.extend(str(err).splitlines())
    return problems
