"""Chooses the engine: COACH_ENGINE / --engine offline|llm|auto."""

from __future__ import annotations

from app.config import Settings
from app.engines.llm import LLMEngine
from app.engines.offline import OfflineEngine
from app.engines.types import ModelSeam
from app.errors import UserInputError


def make_engine(settings: Settings, choice: str | None = None, judge_prompt: str | None = None) -> ModelSeam:
    """The engine for a choice (default: the settings'); llm needs a key or a base URL.

    judge_prompt pins the LLM judge's prompt version (evals); the offline engine has none."""
    wanted = (choice or settings.engine).lower()
    if wanted not in ("offline", "llm", "auto"):
        raise UserInputError(f"engine must be offline, llm or auto; got {choice!r}")
    if wanted == "auto":
        wanted = settings.resolved_engine
    if wanted == "offline":
        return OfflineEngine()
    if not (settings.openai_api_key or settings.openai_base_url):
        raise UserInputError("the llm engine needs OPENAI_API_KEY or OPENAI_BASE_URL")
    return LLMEngine(settings, judge_prompt=judge_prompt)
