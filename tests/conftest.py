"""Shared fixtures: a data dir per test, real Chroma, no network but loopback."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

GUARD_DIR = Path(__file__).parent / "netguard"
sys.path.insert(0, str(GUARD_DIR))
import sitecustomize as netguard  # noqa: E402

netguard.install()
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(GUARD_DIR), os.environ.get("PYTHONPATH", "")) if p)
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "COACH_ENGINE", "CHROMA_HOST", "COACH_MODEL"):
    os.environ.pop(var, None)

from app.config import PROJECT_ROOT, Settings  # noqa: E402
from app.services import Services, prepare_offline_environment  # noqa: E402

if TYPE_CHECKING:
    from local_llm import LocalModel

SEEDS_DIR = PROJECT_ROOT.parent / "shared" / "seeds"
CORPUS_DIR = PROJECT_ROOT / "corpus"


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("coach-data")
    os.environ["COACH_DATA_DIR"] = str(path)
    prepare_offline_environment(Settings(data_dir=path))
    return path


@pytest.fixture
def settings(tmp_path: Path, shared_data_dir: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    return Settings(data_dir=data)


@pytest.fixture
def services(settings: Settings) -> Services:
    prepare_offline_environment(settings)
    return Services(settings)


@pytest.fixture(scope="session")
def corpus_services(tmp_path_factory: pytest.TempPathFactory, shared_data_dir: Path) -> Services:
    """Services over the real corpus, ingested once for the session."""
    from app.store.ingest import ingest

    data = tmp_path_factory.mktemp("corpus-data")
    services = Services(Settings(data_dir=data))
    prepare_offline_environment(services.settings)
    ingest(services.store, [CORPUS_DIR])
    return services


@pytest.fixture(scope="session")
def local_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalModel]:
    """The small real model (llama.cpp's server), one for the whole run; skipped, with the reason,
    when `make llm-local-for-tests` could not install it."""
    from local_llm import LocalModel, unavailable

    reason = unavailable()
    if reason:
        pytest.skip(f"the local model cannot run here: {reason}")
    model = LocalModel(tmp_path_factory.mktemp("llm-local"))
    yield model
    model.stop()


@pytest.fixture(scope="session")
def corpus_server(corpus_services: Services) -> Iterator[str]:
    """One `coach serve` over the ingested corpus for every test that only needs a running app
    (API, browser, retry): a server takes seconds to start, so they share it. Tests that need other
    settings (a login, the LLM engine) or must not see others' sessions start their own."""
    from live_server import coach_server

    with coach_server(corpus_services.settings.data_dir) as url:
        yield url
