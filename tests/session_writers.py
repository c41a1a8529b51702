"""A second process writing to the same sessions (spawned by test_hardening_sessions.py); kept apart
so the child imports only the application, not the test modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.config import Settings
from app.services import Services, prepare_offline_environment


def answer_each(data_dir: str, session_ids: list[str], texts: list[str], barrier: Any) -> None:
    """Send texts[i] to session i, each at the same moment as the rival process (the barrier)."""
    services = Services(Settings(data_dir=Path(data_dir)))
    prepare_offline_environment(services.settings)
    services.__dict__["_store_if_ready"] = lambda: None  # questions without a focus need no store
    interviews = services.interviews("offline")
    for sid, text in zip(session_ids, texts, strict=True):
        barrier.wait(timeout=120)
        interviews.answer(sid, text)
