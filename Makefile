# One task runner; .ci/run calls `make test`, so the README cannot drift from CI.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 7860
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False


.PHONY: browser install run ingest test test-all lint format bench calibrate fit clean

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

# Debian's chromium for the browser tests: installed with apt when missing and running as root;
# otherwise the browser tests are skipped with a loud warning.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null) \
	  || echo "WARNING: could not install chromium: BROWSER TESTS WILL BE SKIPPED"; \
	else echo "WARNING: chromium is missing and this is not root: BROWSER TESTS WILL BE SKIPPED"; fi

test: install browser
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
