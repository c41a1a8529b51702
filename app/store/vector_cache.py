"""Embeddings remembered by text: in memory (bounded) and, for fixed corpus texts, on disk."""

from __future__ import annotations

import hashlib
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

    def __init__(self, path: Path | None = None, capacity: int = 20_000) -> None:
        self.path = path
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._dirty = False
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["model"]) != MODEL_ID:
                    return
                for key, row in zip(data["keys"], data["vectors"], strict=True):
                    self._vectors[str(key)] = row
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
            # a damaged cache (truncated by a full disk or a kill mid-write) is rebuilt, never trusted
            self._vectors.clear()
            self._dirty = True

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        keys = [_key(t) for t in texts]
        with self._lock:
            found = {k: self._vectors[k] for k in keys if k in self._vectors}
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        if missing:
            fresh = embed(missing)
            found.update({_key(t): row for t, row in zip(missing, fresh, strict=True)})
        with self._lock:
            for k in keys:
                self._vectors[k] = found[k]
                self._vectors.move_to_end(k)
            self._dirty = self._dirty or bool(missing)
            while len(self._vectors) > self.capacity:
                self._vectors.popitem(last=False)
        return np.vstack([found[k] for k in keys])

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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors, model=np.array(MODEL_ID))
        tmp.replace(self.path)
