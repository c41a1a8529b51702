"""Embeddings remembered by text: in memory (bounded) and, for fixed corpus texts, on disk."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np

from app.store.embeddings import DIMENSION, MODEL_ID, embed


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class VectorCache:
    """Text -> unit vector. Misses are embedded in one batch; `save` persists to an .npz file."""

    def __init__(
        self, path: Path | None = None, capacity: int = 20_000, autosave_s: float | None = None
    ) -> None:
        """autosave_s: with a path, new vectors are written to it that many seconds after the
        first of them (in a background thread), so a server started over a missing or stale
        file (another model's) stops re-embedding after its first minute, restarts included."""
        self.path = path
        self.capacity = capacity
        self.autosave_s = autosave_s
        self._autosave: threading.Timer | None = None
        self.stale = False  # the file held another embedding model's vectors (an upgrade)
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[str, threading.Event] = {}  # key -> set once its vector is stored
        self._dirty = False
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["model"]) != MODEL_ID:
                    self.stale = True
                    return
                for key, row in zip(data["keys"], data["vectors"], strict=True):
                    self._vectors[str(key)] = row
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
            # a damaged cache (truncated by a full disk or a kill mid-write) is rebuilt, never trusted
            self._vectors.clear()
            self._dirty = True

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of `texts`, in order. A text another thread is embedding right now is waited
        for, not embedded again: 50 answers arriving together on a cold cache cost one model run
        per text, not fifty."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        keys = [_key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        while True:
            mine, theirs = self._claim(texts, keys, found)
            if mine:
                self._fill(mine, found)
            for event in theirs:
                event.wait()
            if all(k in found for k in keys):
                break
        with self._lock:
            for k in keys:
                self._vectors[k] = found[k]
                self._vectors.move_to_end(k)
            while len(self._vectors) > self.capacity:
                self._vectors.popitem(last=False)
        return np.vstack([found[k] for k in keys])

    def _claim(
        self, texts: list[str], keys: list[str], found: dict[str, np.ndarray]
    ) -> tuple[dict[str, str], list[threading.Event]]:
        """Under the lock: take what is cached, claim the misses nobody is embedding (key ->
        text), and return the events of those another thread is embedding."""
        mine: dict[str, str] = {}
        theirs: list[threading.Event] = []
        with self._lock:
            for text, k in zip(texts, keys, strict=True):
                if k in found or k in mine:
                    continue
                if k in self._vectors:
                    found[k] = self._vectors[k]
                elif k in self._pending:
                    theirs.append(self._pending[k])
                else:
                    mine[k] = text
                    self._pending[k] = threading.Event()
        return mine, theirs

    def _fill(self, mine: dict[str, str], found: dict[str, np.ndarray]) -> None:
        """Embed the claimed misses in one batch, publish them, and wake whoever waits on them
        (also when the model fails: the waiters then claim the texts themselves)."""
        fresh: np.ndarray | None = None
        try:
            fresh = embed(list(mine.values()))
        finally:
            with self._lock:
                for i, k in enumerate(mine):
                    if fresh is not None:
                        found[k] = self._vectors[k] = fresh[i]
                    self._pending.pop(k).set()
                if fresh is not None:
                    self._dirty = True
                    self._schedule_save()

    def _schedule_save(self) -> None:
        """(Under the lock.) One pending background save at a time."""
        if self.path is None or self.autosave_s is None or self._autosave is not None:
            return
        self._autosave = threading.Timer(self.autosave_s, self._autosave_now)
        self._autosave.daemon = True
        self._autosave.name = "coach-vector-cache-save"
        self._autosave.start()

    def _autosave_now(self) -> None:
        with self._lock:
            self._autosave = None
        try:
            self.save()
        except OSError as err:  # a full or read-only disk: the vectors stay in memory
            logging.getLogger("coach").warning("could not save the vector cache %s: %s", self.path, err)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def save(self) -> None:
        """Write the cache to its file (atomically) when it changed."""
        if self.path is None or not self._dirty:
            return
        with self._lock:
            keys = np.array(list(self._vectors), dtype="U40")
            vectors = (
                np.vstack(list(self._vectors.values()))
                if self._vectors
                else np.zeros((0, DIMENSION), np.float32)
            )
            self._dirty = False
        # a name of its own: two replicas (or an autosave and `coach ingest`) may save at once
        tmp = self.path.with_name(f"{self.path.stem}.{os.getpid()}-{threading.get_ident()}.tmp.npz")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(tmp, keys=keys, vectors=vectors, model=np.array(MODEL_ID))
            tmp.replace(self.path)
        except OSError:
            self._dirty = True
            tmp.unlink(missing_ok=True)
            raise
