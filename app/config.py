"""One typed settings object, read from the environment."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from platformdirs import user_data_dir

from app.errors import UserInputError

EngineChoice = Literal["offline", "llm", "auto"]
ENGINE_CHOICES: tuple[str, ...] = ("offline", "llm", "auto")
DEFAULT_MODEL = "gpt-4o-mini"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAX_TIMEOUT_S = 3600.0  # an hour: beyond that a hung server looks like a hung coach
MAX_RETRIES = 10


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with defaults that work offline."""

    data_dir: Path
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    model: str = DEFAULT_MODEL
    engine: EngineChoice = "auto"
    chroma_host: str | None = None
    chroma_port: int = 8000
    llm_timeout_s: float = 30.0
    llm_max_retries: int = 2
    # Completion tokens per call: enough for a judge's JSON; a model that talks on is cut off.
    llm_max_tokens: int = 2_000
    # USD per 1M tokens (input, output) for models beyond the built-in table (COACH_PRICES).
    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict, hash=False, compare=False)
    # PostgreSQL for sessions, users and checkpoints (replicas share it); None: SQLite files in data_dir.
    database_url: str | None = field(default=None, repr=False)

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "coach.sqlite3"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def tiktoken_cache_dir(self) -> Path:
        return self.cache_dir / "tiktoken"

    @property
    def resolved_engine(self) -> Literal["offline", "llm"]:
        """`auto` means llm when a key or a base URL is set, else offline."""
        if self.engine != "auto":
            return self.engine
        return "llm" if (self.openai_api_key or self.openai_base_url) else "offline"

    def describe(self) -> dict[str, str]:
        """Settings fit to print: the API key is only ever shown as set or not set."""
        return {
            "data_dir": str(self.data_dir),
            "corpus_dir": str(self.corpus_dir),
            "engine": f"{self.engine} -> {self.resolved_engine}",
            "model": self.model,
            "openai_base_url": self.openai_base_url or "(OpenAI default)",
            "openai_api_key": "set" if self.openai_api_key else "not set",
            "sessions": (
                _without_password(self.database_url) if self.database_url else f"local {self.database_path}"
            ),
            "chroma": (
                f"server {self.chroma_host}:{self.chroma_port}"
                if self.chroma_host
                else f"local {self.chroma_dir}"
            ),
        }


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UserInputError(f"{name} must be a whole number from {low} to {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise UserInputError(f"{name} must be from {low} to {high}, got {raw!r}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    """A number in (low, high]: a timeout of 0 or less would fail every call, and be blamed on the model."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low < value <= high):
        raise UserInputError(
            f"{name} must be a number of seconds above {low:g} and at most {high:g}, got {raw!r}"
        )
    return value


def _prices(raw: str) -> dict[str, tuple[float, float]]:
    """COACH_PRICES: JSON like {"my-model": [0.1, 0.4]}, USD per 1M input and output tokens."""
    if not raw.strip():
        return {}
    problem = 'COACH_PRICES must be JSON like {"my-model": [0.1, 0.4]} (USD per 1M input and output tokens)'
    try:
        data = json.loads(raw)
        table = {str(k): (float(v[0]), float(v[1])) for k, v in data.items() if len(v) == 2}
    except (ValueError, TypeError, IndexError, AttributeError, KeyError):
        raise UserInputError(problem) from None
    if len(table) != len(data) or not all(
        math.isfinite(x) and x >= 0 for pair in table.values() for x in pair
    ):
        raise UserInputError(problem + "; prices are numbers of 0 or more")
    return table


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _database_url(raw: str) -> str | None:
    """COACH_DATABASE_URL: postgresql://user:password@host:port/database, or empty for SQLite."""
    value = raw.strip()
    if not value:
        return None
    try:
        parts = urlsplit(value)
        good = parts.scheme in ("postgresql", "postgres") and (parts.port or 0) >= 0
    except ValueError:  # a port that is not a number
        good = False
    if not good:
        raise UserInputError(
            "COACH_DATABASE_URL must look like postgresql://user:password@host:5432/database"
            " (or be unset to keep the sessions in a local SQLite file)"
        )
    return value


def _engine(raw: str) -> EngineChoice:
    value = raw.strip().lower() or "auto"
    if value not in ENGINE_CHOICES:
        raise UserInputError(f"COACH_ENGINE must be one of offline, llm, auto; got {raw!r}")
    return value  # type: ignore[return-value]


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment (os.environ by default)."""
    env = os.environ if env is None else env
    data_dir = env.get("COACH_DATA_DIR", "").strip() or user_data_dir("mle-interview-coach")
    corpus_dir = env.get("COACH_CORPUS_DIR", "").strip()
    return Settings(
        data_dir=Path(data_dir).expanduser(),
        corpus_dir=Path(corpus_dir) if corpus_dir else PROJECT_ROOT / "corpus",
        openai_api_key=env.get("OPENAI_API_KEY", "").strip() or None,
        openai_base_url=env.get("OPENAI_BASE_URL", "").strip() or None,
        model=env.get("COACH_MODEL", "").strip() or DEFAULT_MODEL,
        engine=_engine(env.get("COACH_ENGINE", "")),
        chroma_host=env.get("CHROMA_HOST", "").strip() or None,
        chroma_port=_int(env, "CHROMA_PORT", 8000, 1, 65535),
        llm_timeout_s=_float(env, "COACH_LLM_TIMEOUT", 30.0, 0, MAX_TIMEOUT_S),
        llm_max_retries=_int(env, "COACH_LLM_MAX_RETRIES", 2, 0, MAX_RETRIES),
        llm_max_tokens=_int(env, "COACH_LLM_MAX_TOKENS", 2_000, 64, 32_000),
        prices=_prices(env.get("COACH_PRICES", "")),
        database_url=_database_url(env.get("COACH_DATABASE_URL", "")),
    )
