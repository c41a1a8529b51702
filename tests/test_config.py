from __future__ import annotations

from pathlib import Path

import pytest

from app.config import load_settings
from app.errors import UserInputError


def test_auto_engine_is_offline_without_key_or_url() -> None:
    settings = load_settings({"COACH_DATA_DIR": "/tmp/x"})
    assert settings.resolved_engine == "offline"
    assert settings.data_dir == Path("/tmp/x")


@pytest.mark.parametrize("var", ["OPENAI_API_KEY", "OPENAI_BASE_URL"])
def test_auto_engine_is_llm_with_key_or_url(var: str) -> None:
    assert load_settings({var: "http://127.0.0.1:9/v1"}).resolved_engine == "llm"


def test_explicit_engine_wins() -> None:
    assert load_settings({"OPENAI_API_KEY": "k", "COACH_ENGINE": "offline"}).resolved_engine == "offline"


def test_bad_values_are_user_errors() -> None:
    with pytest.raises(UserInputError, match="COACH_ENGINE"):
        load_settings({"COACH_ENGINE": "gpt"})
    with pytest.raises(UserInputError, match="CHROMA_PORT"):
        load_settings({"CHROMA_PORT": "eighty"})


def test_api_key_never_shown() -> None:
    secret = "sk-test-SECRET-value-123"
    settings = load_settings({"OPENAI_API_KEY": secret})
    assert secret not in repr(settings)
    assert secret not in str(settings.describe())
    assert settings.describe()["openai_api_key"] == "set"


def test_default_data_dir_is_per_user() -> None:
    settings = load_settings({})
    assert "mle-interview-coach" in str(settings.data_dir)
    assert settings.chroma_dir.parent == settings.data_dir
    assert settings.database_path.parent == settings.data_dir
