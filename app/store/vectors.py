"""The Chroma collection behind one small class: persistent on disk, or a Chroma server."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings

from app.config import Settings
from app.errors import IntegrityError, StoreError
from app.store.embeddings import MODEL_ID, CoachEmbeddingFunction

COLLECTION = "coach_corpus"
KINDS: tuple[str, ...] = ("question", "talking_point", "rubric", "guide", "document")
TALKING_POINT_WEIGHT = 0.9  # a match on a talking point counts a little less than on the question


@dataclass(frozen=True)
class Chunk:
    """A piece of text with the metadata the interviewer filters on."""

    id: str
    text: str
    metadata: dict[str, str | int]


@dataclass(frozen=True)
class Hit:
    """One search result."""

    id: str
    text: str
    score: float
    metadata: dict[str, Any]

    @property
    def source(self) -> str:
        return str(self.metadata.get("source", ""))


def collection_name() -> str:
    """Collection name carries the embedding model so two models' vectors never mix."""
    return f"{COLLECTION}__{MODEL_ID.replace('.', '-')}"


def open_client(settings: Settings) -> Any:
    """HttpClient when CHROMA_HOST is set, else a PersistentClient in the data dir."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except Exception as err:  # chromadb raises many types; we report one clear line
        where = settings.chroma_host or settings.chroma_dir
        raise StoreError(f"cannot open the Chroma store at {where}: {err}") from err


# Every search passes one of these; only ANY_OWNER (the operator's `coach search`) sees all documents.
ANY_OWNER = object()
OWNED = "owned"  # metadata flag on a user's uploaded document chunks, next to "owner"


def visible_to(owner: str | None) -> dict[str, Any]:
    """Which chunks a user may see: the corpus and guides, and their own uploaded documents only.

    owner None is the single-user local mode: every chunk that no user owns (Chroma's $ne also
    matches a chunk without the key, so documents ingested before owners existed stay visible).
    """
    if owner is None:
        return {OWNED: {"$ne": True}}
    return {"$or": [{"kind": {"$ne": "document"}}, {"owner": owner}]}


def _where(filters: dict[str, str | None], *extra: dict[str, Any]) -> dict[str, Any] | None:
    clauses = [{key: value} for key, value in filters.items() if value] + list(extra)
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class CorpusStore:
    """Our corpus in one Chroma collection, embedded with the packaged MiniLM."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._collection = client.get_or_create_collection(
            name=collection_name(),
            embedding_function=CoachEmbeddingFunction(),
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": MODEL_ID},
        )
        stored = (self._collection.metadata or {}).get("embedding_model")
        if stored != MODEL_ID:
            raise IntegrityError(f"collection holds vectors of {stored}, expected {MODEL_ID}")

    @classmethod
    def open(cls, settings: Settings) -> CorpusStore:
        return cls(open_client(settings))

    def count(self) -> int:
        return int(self._collection.count())

    def empty_message(self) -> str:
        """What to tell a user whose store has nothing to search, and why."""
        try:
            older = [
                name
                for name in (getattr(c, "name", c) for c in self._client.list_collections())
                if str(name).startswith(f"{COLLECTION}__") and name != collection_name()
            ]
        except Exception:  # chromadb raises many types; the plain message is still right
            older = []
        if older:
            return (
                f"the store has no vectors of the current embedding model ({MODEL_ID}); the ones of"
                " an earlier version are kept aside. Run `coach ingest` to embed the corpus and your"
                " documents again"
            )
        return "the store is empty: run `coach ingest` first"

    def ids_by_source(self) -> dict[str, set[str]]:
        """Stored chunk ids grouped by their source file."""
        result = self._collection.get(include=["metadatas"])
        by_source: dict[str, set[str]] = {}
        for chunk_id, meta in zip(result["ids"], result["metadatas"] or [], strict=False):
            by_source.setdefault(str((meta or {}).get("source", "")), set()).add(chunk_id)
        return by_source

    def question_owners(self) -> dict[str, str]:
        """Stored bank question ids, each with the source file that defines it."""
        result = self._collection.get(where={"kind": "question"}, include=["metadatas"])
        return {
            str(meta["question_id"]): str(meta.get("source", ""))
            for meta in result["metadatas"] or []
            if meta and meta.get("question_id")
        }

    def upsert(self, chunks: Sequence[Chunk], batch: int = 64) -> None:
        for start in range(0, len(chunks), batch):
            part = chunks[start : start + batch]
            self._collection.upsert(
                ids=[c.id for c in part],
                documents=[c.text for c in part],
                metadatas=[c.metadata for c in part],  # type: ignore[misc]
            )

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), 500):
            self._collection.delete(ids=ids[start : start + 500])

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        track: str | None = None,
        kind: str | None = None,
        difficulty: str | None = None,
        exclude_question_ids: Sequence[str] = (),
        owner: str | None | object = ANY_OWNER,
    ) -> list[Hit]:
        """The k chunks closest in meaning to query, filtered by metadata; with an owner (None is
        the local mode), only the chunks visible_to that owner."""
        extra = [] if owner is ANY_OWNER else [visible_to(owner)]  # type: ignore[arg-type]
        if exclude_question_ids:
            extra.append({"question_id": {"$nin": list(exclude_question_ids)}})
        where = _where({"track": track, "kind": kind, "difficulty": difficulty}, *extra)
        result = self._collection.query(
            query_texts=[query],
            n_results=max(1, k),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            Hit(id=i, text=doc or "", score=round(1.0 - float(dist), 4), metadata=dict(meta or {}))
            for i, doc, meta, dist in zip(
                result["ids"][0],
                (result["documents"] or [[]])[0],
                (result["metadatas"] or [[]])[0],
                (result["distances"] or [[]])[0],
                strict=False,
            )
        ]

    def search_questions(
        self,
        query: str,
        k: int = 5,
        *,
        track: str | None = None,
        difficulty: str | None = None,
        exclude_question_ids: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        """Bank question ids ranked by their best match, on the question or a talking point."""
        hits = self.search(
            query,
            k=max(8 * k, 40),
            track=track,
            difficulty=difficulty,
            exclude_question_ids=exclude_question_ids,
        )
        best: dict[str, float] = {}
        for hit in hits:
            question_id = hit.metadata.get("question_id")
            if not question_id:
                continue
            weight = 1.0 if hit.metadata.get("kind") == "question" else TALKING_POINT_WEIGHT
            best[question_id] = max(best.get(question_id, 0.0), hit.score * weight)
        ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)
        return [(qid, round(score, 4)) for qid, score in ranked[:k]]
