"""The int8 embedding model, built once on this machine from the packaged model file.

The packaged all-MiniLM-L6-v2 stores int8 weights that onnxruntime turns back into float32 at
load, so every matrix product runs in float32. Here onnxruntime folds those weights into a
float32 copy, and its quantiser (`quantize_dynamic`, per output channel) rewrites each weight
product as an int8 one whose activations are quantised per run. Measured on the 2-core bench
machine (docs/PERFORMANCE.md): 1.6x less model time; vectors at cosine 0.9925 on average (0.978
at least) to the float32 ones; the calibration against human labels did not move beyond its
noise (docs/EVALS.md).

Nothing is downloaded: the input is the installed, sha256-checked package file, the tools are
onnxruntime and onnx (pinned in pyproject.toml). The result is written next to the Python
environment (or, when that is read-only, to the user's cache folder) with a small record of what
it was built from and its own sha256; a file that does not match its record (a crash mid-write)
is built again, never trusted.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path

from app.errors import IntegrityError

# The file this code builds from the pinned packages; another digest means other tool versions,
# so vectors may differ slightly from the ones the scorer was fitted and calibrated with.
BUILT_SHA256 = "9e80251537633bab7d98c9a4f07070371d83f1d28e6994a1f5d93c53de3c5454"
FILE_NAME = "all-MiniLM-L6-v2-int8-dynamic-v1.onnx"
_build_lock = threading.Lock()
log = logging.getLogger("coach")


def model_dirs() -> list[Path]:
    """Where the built model may live: COACH_MODEL_DIR alone when set, else the Python
    environment's share/ folder, then the user's cache folder."""
    from platformdirs import user_cache_dir

    override = os.environ.get("COACH_MODEL_DIR", "").strip()
    if override:
        return [Path(override).expanduser()]
    return [Path(sys.prefix) / "share" / "mle-interview-coach", Path(user_cache_dir("mle-interview-coach"))]


def _record_path(model: Path) -> Path:
    return model.with_suffix(".json")


def _valid(model: Path, source_sha256: str) -> bool:
    from app.store.embeddings import sha256_of

    try:
        record = json.loads(_record_path(model).read_text(encoding="utf-8"))
        return bool(record.get("source_sha256") == source_sha256 and record.get("sha256") == sha256_of(model))
    except (OSError, ValueError, AttributeError):
        return False


def quantized_model(source: Path) -> Path:
    """The built int8 model for this (sha256-checked) source file; built first if needed."""
    from app.store.embeddings import MODEL_SHA256

    with _build_lock:
        for folder in model_dirs():
            if _valid(folder / FILE_NAME, MODEL_SHA256):
                return folder / FILE_NAME
        errors = []
        for folder in model_dirs():
            try:
                return build(source, folder)
            except OSError as err:  # a read-only folder: try the next one
                errors.append(f"{folder}: {err}")
        raise IntegrityError("cannot write the int8 embedding model anywhere: " + "; ".join(errors))


def build(source: Path, folder: Path) -> Path:
    """Fold, quantise, check and record; the file appears atomically under its final name."""
    import onnxruntime as ort

    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as err:  # onnx is a pinned dependency; a partial install lacks it
        raise IntegrityError(
            f"cannot build the int8 embedding model ({err}); reinstall with `make install`"
        ) from None

    from app.store.embeddings import MODEL_SHA256, sha256_of

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / FILE_NAME
    with tempfile.TemporaryDirectory(dir=folder, prefix=".building-") as work:
        folded, quantized = Path(work) / "folded.onnx", Path(work) / "int8.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)  # weights folded to float32, nothing else
        options.log_severity_level = 3
        ort.InferenceSession(str(source), sess_options=options, providers=["CPUExecutionProvider"])
        root = logging.getLogger()
        root.addFilter(_quiet_quantiser)  # it logs ~40 INFO lines and a warning on the root logger
        try:
            quantize_dynamic(folded, quantized, weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.removeFilter(_quiet_quantiser)
        digest = sha256_of(quantized)
        record = {
            "source_sha256": MODEL_SHA256,
            "sha256": digest,
            "onnxruntime": ort.__version__,
            "onnx": _onnx_version(),
        }
        Path(work, "record.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
        os.replace(quantized, target)
        os.replace(Path(work, "record.json"), _record_path(target))
    if digest != BUILT_SHA256:
        log.warning(
            "the int8 embedding model built here (onnxruntime %s, onnx %s) differs from the reference"
            " build; scores may differ slightly from docs/EVALS.md",
            record["onnxruntime"],
            record["onnx"],
        )
    log.info("built the int8 embedding model in %s", target)
    return target


def _quiet_quantiser(record: logging.LogRecord) -> bool:
    """Drop what onnxruntime's quantiser logs straight on the root logger (its progress)."""
    return "/onnxruntime/quantization/" not in record.pathname.replace("\\", "/")


def _onnx_version() -> str:
    import onnx

    return str(onnx.__version__)
