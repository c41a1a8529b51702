from __future__ import annotations

from pathlib import Path

import numpy as np

from app.store.embeddings import embed
from app.store.vector_cache import VectorCache


def test_cache_returns_model_vectors_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "v.npz"
    cache = VectorCache(path)
    texts = ["feature store", "shadow deployment", "feature store"]
    vectors = cache.embed(texts)
    assert np.allclose(vectors, embed(texts), atol=1e-5)
    cache.save()
    reloaded = VectorCache(path)
    assert np.allclose(reloaded.embed(texts[:2]), vectors[:2])
    assert len(reloaded._vectors) == 2


def test_damaged_cache_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "v.npz"
    path.write_bytes(b"not an npz")
    cache = VectorCache(path)
    assert cache.embed(["x"]).shape == (1, 384)


def test_capacity_is_bounded() -> None:
    cache = VectorCache(capacity=3)
    cache.embed(["a", "b", "c", "d"])
    assert len(cache._vectors) == 3
