"""Ingest: files -> chunks with metadata and content-hash ids -> the Chroma collection."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from langchain_text_splitters import RecursiveCharacterTextSplitter
from tqdm import tqdm

from app.config import PROJECT_ROOT
from app.corpus.loader import (
    load_interviewer_file,
    load_phrasing_file,
    load_question_file,
    load_rubric_file,
    read_yaml,
)
from app.corpus.models import QuestionFile, Rubric
from app.errors import CorpusError, UserInputError
from app.store.vectors import OWNED, Chunk, CorpusStore

TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
YAML_SUFFIXES = frozenset({".yaml", ".yml"})
SUFFIXES = TEXT_SUFFIXES | YAML_SUFFIXES
CHUNK_TOKENS = 300
CHUNK_OVERLAP = 40
MAX_FILE_BYTES = 5_000_000
Warn = Callable[[str], None]


@dataclass
class IngestReport:
    """What one ingest did, for the summary line."""

    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    unchanged: int = 0
    removed: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def plus(self, other: IngestReport) -> IngestReport:
        """Both reports' counts together (e.g. the corpus and the users' documents)."""
        return IngestReport(
            documents=self.documents + other.documents,
            chunks=self.chunks + other.chunks,
            embedded=self.embedded + other.embedded,
            unchanged=self.unchanged + other.unchanged,
            removed=self.removed + other.removed,
            seconds=self.seconds + other.seconds,
            warnings=self.warnings + other.warnings,
        )

    def summary(self) -> str:
        return (
            f"ingested {self.documents} documents: {self.chunks} chunks, "
            f"{self.embedded} embedded, {self.unchanged} unchanged, {self.removed} removed, "
            f"{len(self.warnings)} warnings in {self.seconds:.2f} s"
        )


def source_key(path: Path) -> str:
    """How a file is named in the store: relative to the project when inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return resolved.as_posix()


def discover(paths: Sequence[Path]) -> list[Path]:
    """Files to ingest under the given paths; a missing or empty path is a user error."""
    found: list[Path] = []
    for root in paths:
        if not root.exists():
            raise UserInputError(f"no such file or folder: {root}")
        if root.is_file():
            found.append(root)
            continue
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not files:
            raise UserInputError(f"{root} holds no .yaml, .md or .txt files to ingest")
        found.extend(files)
    return found


def read_text(path: Path, warn: Warn) -> str | None:
    """The file as text, or None with a warning when it is binary, non-UTF-8 or huge."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        warn(f"skipped {path}: {size:,} bytes is over the {MAX_FILE_BYTES:,}-byte limit")
        return None
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        warn(f"skipped {path}: binary file")
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        warn(f"skipped {path}: not UTF-8 text")
        return None


def _chunk(source: str, text: str, metadata: dict[str, str | int]) -> Chunk:
    meta: dict[str, str | int] = {"source": source, **metadata}
    digest = hashlib.sha256(
        json.dumps([text, meta], sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    return Chunk(id=digest[:32], text=text, metadata=meta)


def question_chunks(source: str, qfile: QuestionFile) -> list[Chunk]:
    """A question chunk and one chunk per talking point, filterable by track and difficulty."""
    chunks = []
    for q in qfile.questions:
        base: dict[str, str | int] = {
            "track": q.track,
            "difficulty": q.difficulty,
            "question_id": q.id,
            "title": q.question[:120],
        }
        chunks.append(
            _chunk(source, f"{q.question}\n{q.strong_answer.summary}", {**base, "kind": "question"})
        )
        for tp in q.talking_points:
            meta = {**base, "kind": "talking_point", "talking_point_id": tp.id}
            chunks.append(_chunk(source, f"{tp.point}\n{tp.follow_up}", meta))
    return chunks


def rubric_chunks(source: str, rubric: Rubric) -> list[Chunk]:
    """One chunk per rubric dimension."""
    return [
        _chunk(
            source,
            f"{d.name}: {d.definition}\nScore 5: {d.anchors.five}\nDrill: {d.drill}",
            {"kind": "rubric", "dimension": d.id, "rubric_id": rubric.id, "title": d.name},
        )
        for d in rubric.dimensions
    ]


def _splitter() -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        encoding_name="cl100k_base",
        chunk_size=CHUNK_TOKENS,
        chunk_overlap=CHUNK_OVERLAP,
        separators=["\n## ", "\n### ", "\n\n", "\n", ". ", " ", ""],
    )


def text_chunks(
    source: str, path: Path, text: str, kind: str, extra: Mapping[str, str | int | bool] | None = None
) -> list[Chunk]:
    """Token-sized chunks of a Markdown or text file (extra: more metadata, e.g. its owner)."""
    title = next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")), path.name)
    pieces = [p for p in _splitter().split_text(text) if p.strip()]
    return [
        _chunk(source, piece, {"kind": kind, "title": title, "chunk": i, **(extra or {})})
        for i, piece in enumerate(pieces)
    ]


def yaml_chunks(source: str, path: Path) -> list[Chunk]:
    """Question files and the rubric by their schema, phrasing files checked; other YAML is an error."""
    data = read_yaml(path)
    if isinstance(data, dict) and str(data.get("version", "")).startswith("points."):
        load_phrasing_file(path, data)  # scorer data: validated, not searched
        return []
    if isinstance(data, dict) and str(data.get("version", "")).startswith("interviewer."):
        load_interviewer_file(path, data)  # the interviewer's data: validated, not searched
        return []
    if isinstance(data, dict) and "questions" in data:
        return question_chunks(source, load_question_file(path, data))
    if isinstance(data, dict) and "dimensions" in data:
        return rubric_chunks(source, load_rubric_file(path, data))
    raise CorpusError(f"{path}: YAML is neither a question file nor a rubric")


def id_line(path: Path, question_id: str, occurrence: int = 1) -> int:
    """The line number where a question id is defined (its n-th definition), or 0."""
    pattern = re.compile(rf"^\s*-?\s*id:\s*['\"]?{re.escape(question_id)}['\"]?\s*(#.*)?$")
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if pattern.match(line):
            seen += 1
            if seen == occurrence:
                return number
    return 0


def id_clash(path: Path, chunks: list[Chunk], owners: dict[str, str]) -> str | None:
    """Why this file's question ids cannot be taken (used twice in it, or owned by another file)."""
    source = source_key(path)
    ids = [str(c.metadata["question_id"]) for c in chunks if c.metadata.get("kind") == "question"]
    counted: dict[str, int] = {}
    for qid in ids:
        counted[qid] = counted.get(qid, 0) + 1
        if counted[qid] == 2:
            return f"{path}:{id_line(path, qid, 2)}: question id {qid!r} is used twice in this file"
        owner = owners.get(qid)
        if owner and owner != source:
            return (
                f"{path}:{id_line(path, qid)}: question id {qid!r} is already used by {owner}; "
                "bank ids are reserved, so give this question its own id"
            )
    return None


def chunks_for(
    path: Path, kind: str | None, warn: Warn, extra: Mapping[str, str | int | bool] | None = None
) -> list[Chunk] | None:
    """All chunks of one file, or None when the file is skipped (its old chunks are kept)."""
    source = source_key(path)
    if path.suffix.lower() in YAML_SUFFIXES:
        try:
            return yaml_chunks(source, path)
        except CorpusError as err:
            warn(f"skipped {err}")
            return None
    text = read_text(path, warn)
    if text is None:
        return None
    if not text.strip():
        warn(f"skipped {path}: empty file")
        return []
    default_kind = "guide" if path.parent.name == "guides" else "document"
    return text_chunks(source, path, text, kind or default_kind, extra)


def _in_scope(source: str, roots: Iterable[Path]) -> bool:
    for root in roots:
        key = source_key(root)
        if source == key or (root.is_dir() and source.startswith(key.rstrip("/") + "/")):
            return True
    return False


def ingest(
    store: CorpusStore,
    paths: Sequence[Path],
    *,
    kind: str | None = None,
    warn: Warn | None = None,
    progress: bool | None = None,
    reserved: Mapping[str, Path] | None = None,
    owner: str | None = None,
) -> IngestReport:
    """Upsert new chunks, keep unchanged ones, remove chunks of files that changed or are gone.

    Question ids are unique across the store: `reserved` (the bank's ids and their files) and ids
    already stored belong to their file; a file reusing one is refused, and its old chunks kept.
    owner: the user whose uploaded document this is; its chunks are then seen by that user alone.
    """
    report = IngestReport()
    started = time.perf_counter()

    def note(message: str) -> None:
        report.warnings.append(message)
        if warn:
            warn(message)

    files = discover(paths)
    stored = store.ids_by_source()
    owners = store.question_owners()
    owners.update({qid: source_key(path) for qid, path in (reserved or {}).items()})
    seen_sources: set[str] = set()
    fresh: list[Chunk] = []
    stale: set[str] = set()
    for path in tqdm(files, desc="ingest", unit="file", disable=not progress, leave=False):
        source = source_key(path)
        seen_sources.add(source)
        chunks = chunks_for(path, kind, note, {"owner": owner, OWNED: True} if owner else None)
        if chunks is None:
            continue
        clash = id_clash(path, chunks, owners)
        if clash:
            note(f"skipped {clash}")
            continue
        owners.update(
            {str(c.metadata["question_id"]): source for c in chunks if c.metadata.get("kind") == "question"}
        )
        report.documents += 1
        report.chunks += len(chunks)
        old = stored.get(source, set())
        new_ids = {c.id for c in chunks}
        fresh.extend(c for c in chunks if c.id not in old)
        report.unchanged += len(new_ids & old)
        stale |= old - new_ids
    for source, ids in stored.items():
        if source not in seen_sources and _in_scope(source, paths):
            stale |= ids
    unique = list({c.id: c for c in fresh}.values())
    store.upsert(unique)
    store.delete(stale)
    report.embedded, report.removed = len(unique), len(stale)
    report.seconds = time.perf_counter() - started
    return report
