from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.errors import IntegrityError
from app.store import embeddings
from app.store.embeddings import (
    DIMENSION,
    MODEL_ID,
    CoachEmbeddingFunction,
    LangChainEmbeddings,
    embed,
)


def test_vectors_are_unit_length_384d() -> None:
    vectors = embed(["feature store for a ranking model", "bias and variance"])
    assert vectors.shape == (2, DIMENSION)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_paraphrase_is_closer_than_unrelated_text() -> None:
    a, b, c = embed(
        [
            "How would you design the ranking of a social news feed?",
            "Build a system that orders posts in a user's feed.",
            "Explain L2 regularisation in linear regression.",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_a_vector_does_not_depend_on_the_texts_embedded_with_it() -> None:
    """One text per run: the int8 products quantise a run's activations with one scale, so in a
    batch a sentence's vector moved with its neighbours (cosine down to 0.985)."""
    short = "precision and recall"
    alone = embed([short])[0]
    together = embed(["a much longer text " * 30, short, "Explain L2 regularisation."])[1]
    assert np.array_equal(alone, together)


def _packaged_float32_vectors(texts: list[str]) -> np.ndarray:
    """The packaged model as onnxruntime runs it unchanged (float32 products), for comparison."""
    import onnxruntime as ort

    model, _ = embeddings.model_files()
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    tokenizer = embeddings.MiniLM.shared()._tokenizer
    rows = []
    for encoding in tokenizer.encode_batch(texts):
        ids = np.asarray([encoding.ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        pooled = session.run(None, feeds)[0][0].mean(axis=0)
        rows.append(pooled / np.linalg.norm(pooled))
    return np.asarray(rows)


def test_int8_vectors_stay_close_to_the_packaged_models() -> None:
    texts = [
        "I would frame churn as a binary label over a 30-day window and predict it weekly.",
        "Position bias means people click the top slots whatever their quality.",
        "Shadow deployments log a new model's outputs without serving them.",
        "Heaps give O(log n) inserts and O(1) access to the smallest element.",
        "The business value is fewer chargebacks at the same approval rate.",
    ]
    cosines = (embed(texts) * _packaged_float32_vectors(texts)).sum(axis=1)
    assert cosines.min() > 0.97 and cosines.mean() > 0.985, cosines


def test_the_int8_model_is_the_reference_build_and_uses_int8_products() -> None:
    import onnx

    from app.store import quantized

    path = quantized.quantized_model(embeddings.model_files()[0])
    assert embeddings.sha256_of(path) == quantized.BUILT_SHA256  # same bytes as the build measured
    ops = [node.op_type for node in onnx.load(str(path), load_external_data=False).graph.node]
    assert ops.count("MatMulInteger") == 36 and "DynamicQuantizeLinear" in ops  # 6 layers x 6


def test_a_damaged_int8_model_is_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.store import quantized

    monkeypatch.setenv("COACH_MODEL_DIR", str(tmp_path))
    source = embeddings.model_files()[0]
    built = quantized.build(source, tmp_path)
    assert quantized.quantized_model(source) == built
    with built.open("r+b") as handle:  # as a crash mid-write or a full disk would leave it
        handle.truncate(1000)
    again = quantized.quantized_model(source)
    assert again == built and embeddings.sha256_of(again) == quantized.BUILT_SHA256
    assert not list(tmp_path.glob(".building-*"))  # no half-built files left behind


def test_idle_pool_threads_do_not_spin() -> None:
    """Spinning doubled the CPU of every model run (issue 16: per-turn CPU under load)."""
    options = embeddings.MiniLM.shared()._session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_runs_side_by_side_keep_each_text_in_its_row() -> None:
    """An answer's sentences run as single-thread model runs on a small pool (half the wall time
    of one run at a time with two threads each, a third less CPU): each row is still its text's
    vector, the same as embedding it alone, also when several callers encode at once."""
    import threading

    options = embeddings.MiniLM.shared()._session.get_session_options()
    assert options.intra_op_num_threads == 1
    texts = [f"sentence {i}: retrain when the weekly PSI passes {i / 10:.1f}" for i in range(24)]
    alone = np.vstack([embed([t]) for t in texts])
    results: dict[int, np.ndarray] = {}

    def caller(k: int) -> None:
        results[k] = embed(texts[k:] + texts[:k])

    threads = [threading.Thread(target=caller, args=(k,)) for k in (0, 5, 11)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k, vectors in results.items():
        assert np.array_equal(np.roll(vectors, k, axis=0), alone)


def test_empty_text_still_embeds() -> None:
    assert embed([""]).shape == (1, DIMENSION)
    assert embed([]).shape == (0, DIMENSION)


def test_chroma_function_config_round_trip() -> None:
    fn = CoachEmbeddingFunction()
    assert fn.get_config() == {"model_id": MODEL_ID}
    assert isinstance(CoachEmbeddingFunction.build_from_config(fn.get_config()), CoachEmbeddingFunction)
    with pytest.raises(IntegrityError):
        CoachEmbeddingFunction.build_from_config({"model_id": "other-model"})
    assert len(fn(["hello"])[0]) == DIMENSION


def test_langchain_interface_matches_chroma_function() -> None:
    lc = LangChainEmbeddings()
    q = lc.embed_query("model monitoring")
    docs = lc.embed_documents(["model monitoring"])
    assert len(q) == DIMENSION and np.allclose(q, docs[0], atol=1e-5)


def test_model_checksum_is_enforced(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not a model")
    with pytest.raises(IntegrityError, match="sha256"):
        embeddings._check_sha256(fake, embeddings.MODEL_SHA256)


def test_collection_reopens_in_a_new_process(tmp_path: Path) -> None:
    """Vectors written here are queried by a fresh interpreter that rebuilds the function."""
    from app.config import Settings
    from app.store.vectors import Chunk, CorpusStore

    settings = Settings(data_dir=tmp_path)
    store = CorpusStore.open(settings)
    store.upsert(
        [
            Chunk(
                "a",
                "Design a recommendation system for videos.",
                {"source": "x", "kind": "question"},
            ),
            Chunk("b", "Explain gradient descent.", {"source": "x", "kind": "question"}),
        ]
    )
    code = (
        "import chromadb, sys\n"
        "from chromadb.config import Settings\n"
        "import app.store.embeddings  # registers the function\n"
        "from app.store.vectors import collection_name\n"
        f"client = chromadb.PersistentClient(path={str(settings.chroma_dir)!r}, "
        "settings=Settings(anonymized_telemetry=False))\n"
        "col = client.get_collection(collection_name())\n"
        "print(col.metadata['embedding_model'])\n"
        "print(col.query(query_texts=['suggest videos to watch'], n_results=1)['ids'][0][0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [MODEL_ID, "a"]


def test_langchain_chroma_vectorstore_uses_our_embeddings(tmp_path: Path) -> None:
    from langchain_chroma import Chroma

    store = Chroma(
        collection_name="lc_test",
        embedding_function=LangChainEmbeddings(),
        persist_directory=str(tmp_path / "lc"),
    )
    store.add_texts(["Shadow deployments log a new model's outputs.", "Heaps give O(log n) inserts."])
    top = store.similarity_search("run the new model silently on live traffic", k=1)
    assert top[0].page_content.startswith("Shadow")


def test_a_missing_onnx_package_is_one_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.store import quantized

    monkeypatch.setenv("COACH_MODEL_DIR", str(tmp_path))
    for name in [
        m for m in sys.modules if m == "onnx" or m.startswith(("onnx.", "onnxruntime.quantization"))
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now fails, as when it is not installed
    with pytest.raises(IntegrityError, match="reinstall with `make install`"):
        quantized.quantized_model(embeddings.model_files()[0])
    assert not list(tmp_path.iterdir())  # nothing half-built left


def test_building_the_int8_model_logs_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """onnxruntime's quantiser logs ~40 INFO lines and a warning on the root logger; a server
    logging at INFO showed them all at its first start."""
    import logging

    from app.store import quantized

    monkeypatch.setenv("COACH_MODEL_DIR", str(tmp_path))
    with caplog.at_level(logging.INFO):
        quantized.quantized_model(embeddings.model_files()[0])
        logging.getLogger().info("the root logger still logs afterwards")
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if "int8 embedding model" in m] == [messages[0]]
    assert len(messages) == 2 and messages[1] == "the root logger still logs afterwards"
