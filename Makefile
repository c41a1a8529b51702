# One task runner; .ci/run calls `make test`, so the README cannot drift from CI.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 7860
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: install run ingest test test-all lint format bench calibrate fit clean

# Reinstall only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

ingest: install
	$(BIN)/coach ingest

run: ingest
	$(BIN)/coach serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

# Everything, slow tests included (not part of CI).
test-all: install
	$(BIN)/python -m pytest -m ""

lint: install
	$(BIN)/ruff check app tests evals
	$(BIN)/ruff format --check app tests evals
	$(BIN)/mypy app

format: install
	$(BIN)/ruff format app tests evals
	$(BIN)/ruff check --fix app tests evals

bench: install
	$(BIN)/python -m evals.bench

# Calibration of the offline scorer against human labels -> docs/EVALS.md
calibrate: install
	$(BIN)/python -m evals.calibrate

# Refit the offline scorer's weights (team dev split; SAF training when present)
fit: install
	$(BIN)/python -m evals.fit_offline

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
