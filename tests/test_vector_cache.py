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


def test_concurrent_misses_embed_each_text_once(monkeypatch: object) -> None:
    """Fifty answers to one question arriving together on a cold cache (a server started over a
    cache of an older model) embedded the question's ~100 fixed texts fifty times: 60% of the
    server's time in a 50-user load, p95 10 s. A text in flight is now waited for."""
    import threading

    import app.store.vector_cache as module

    embedded: list[str] = []
    real = module.embed

    def counting(texts: list[str]) -> np.ndarray:
        embedded.extend(texts)
        return real(texts)

    monkeypatch.setattr(module, "embed", counting)  # type: ignore[attr-defined]
    cache = VectorCache()
    texts = [f"talking point number {i} about label delay" for i in range(24)]
    start = threading.Barrier(8)
    results: list[np.ndarray] = []

    def user(offset: int) -> None:
        start.wait()
        ordered = texts[offset:] + texts[:offset]  # overlapping, in different orders
        results.append(np.roll(cache.embed(ordered), offset, axis=0))

    threads = [threading.Thread(target=user, args=(3 * i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(embedded) == sorted(texts)
    assert len(results) == 8
    for vectors in results:
        assert np.allclose(vectors, results[0])
    assert np.allclose(results[0], real(texts), atol=1e-5)


def test_a_failed_model_run_wakes_the_waiters(monkeypatch: object) -> None:
    import threading

    import app.store.vector_cache as module

    real = module.embed
    calls: list[int] = []
    gate = threading.Event()

    def failing_once(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        if len(calls) == 1:
            gate.wait(timeout=5)  # the second thread is waiting on this text by now
            raise RuntimeError("model crashed")
        return real(texts)

    monkeypatch.setattr(module, "embed", failing_once)  # type: ignore[attr-defined]
    cache = VectorCache()
    errors: list[Exception] = []

    def first() -> None:
        try:
            cache.embed(["retrain weekly"])
        except RuntimeError as err:
            errors.append(err)

    owner = threading.Thread(target=first)
    owner.start()
    while not cache._pending:
        pass
    second: list[np.ndarray] = []
    waiter = threading.Thread(target=lambda: second.append(cache.embed(["retrain weekly"])))
    waiter.start()
    gate.set()
    owner.join(timeout=10)
    waiter.join(timeout=10)
    assert len(errors) == 1 and len(second) == 1 and second[0].shape == (1, 384)


def test_new_vectors_are_saved_in_the_background(tmp_path: Path) -> None:
    """A server over a stale or missing cache file (another model's vectors) wrote nothing until
    `coach ingest`: each restart embedded the bank's ~6,500 fixed texts again as answers came."""
    import time

    path = tmp_path / "cache" / "v.npz"
    cache = VectorCache(path, autosave_s=0.05)
    cache.embed(["offline replay of logged traffic", "a holdout week"])
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(VectorCache(path)._vectors) == 2
    assert not list(path.parent.glob("*.tmp.npz"))


def test_a_file_of_another_model_is_stale_until_warmed(tmp_path: Path, monkeypatch: object) -> None:
    """After an embedding-model upgrade the server's warm-up re-embeds the bank's fixed texts
    (Services.warm_up checks `vectors_are_stale`); here on two questions, to stay fast."""
    import app.engines.features as features
    from app.config import PROJECT_ROOT
    from app.corpus.loader import load_bank

    path = tmp_path / "corpus_vectors.npz"
    np.savez(
        path,
        keys=np.array(["k"], dtype="U40"),
        vectors=np.zeros((1, 384), np.float32),
        model=np.array("old-model"),
    )
    monkeypatch.setattr(features, "CORPUS_VECTORS", VectorCache(path))  # type: ignore[attr-defined]
    assert features.vectors_are_stale()
    questions = list(load_bank(PROJECT_ROOT / "corpus").questions.values())[:2]
    count = features.warm_vectors(questions)
    assert not features.vectors_are_stale()
    reloaded = VectorCache(path)
    assert not reloaded.stale and len(reloaded._vectors) == count > 20
