"""How `make test` runs the suite (issue 17 item 2): the local model is installed first and its
tests are selected; only `slow` ones are left out."""

from __future__ import annotations

import shutil
import subprocess
import tomllib

import pytest

from app.config import PROJECT_ROOT


def test_pytest_leaves_out_only_slow_tests() -> None:
    options = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "-m 'not slow'" in options["addopts"] and "llm_local" not in options["addopts"]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_installs_the_local_model_before_the_tests() -> None:
    planned = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "test"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    install, tests = planned.find("llm-local-install"), planned.rfind("-m pytest")
    assert install != -1 and tests != -1 and install < tests, planned
