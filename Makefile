# One task runner; .ci/run calls `make test`, so the README cannot drift from CI.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 7860
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False


LLM_STAMP := $(VENV)/.llm-local-stamp
LLM_PORT ?= 8080

.PHONY: browser install run ingest test test-all lint format bench bench-replicas calibrate fit clean \
	llm-local llm-local-install llm-local-for-tests test-llm-local

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

# A small real model for proving the LLM path (issue 17): llama.cpp's server from the `llm-local`
# extra, and Qwen2.5-Coder-0.5B-Instruct from six data wheels installed as plain files into the
# app's cache (no dependencies, never imported), joined and checked against a pinned SHA-256.
# All downloading happens here, at install time; the app never downloads anything.
$(LLM_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,llm-local]'
	@touch $(LLM_STAMP)

llm-local-install: $(LLM_STAMP)
	$(BIN)/python -m app.engines.local_model install

# Serves it on 127.0.0.1 and prints the OPENAI_BASE_URL to use; Ctrl-C stops it.
llm-local: llm-local-install
	$(BIN)/coach llm-local --host 127.0.0.1 --port $(LLM_PORT)

# The tests run against it; when it cannot be installed they are skipped with a loud warning.
llm-local-for-tests:
	@$(MAKE) --no-print-directory llm-local-install \
	  || echo "WARNING: could not install the local model: LOCAL-MODEL TESTS WILL BE SKIPPED"

# The local-model tests (issue 17) are part of it: their model is installed first, or they are
# skipped with a loud warning when it cannot be.
test: install browser llm-local-for-tests
	$(BIN)/python -m pytest

# The real-model tests alone (issue 17).
test-llm-local: install browser llm-local-for-tests
	$(BIN)/python -m pytest -m llm_local tests/test_local_llm.py

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
	@echo "The replica figures (100 users over two replicas on PostgreSQL + chroma run, and one replica"
	@echo "on SQLite) are a separate, slower target: make bench-replicas (docs/PERFORMANCE.md, Replicas)."

# 100 concurrent users over two replicas on a real PostgreSQL and a real `chroma run`, and one replica
# on SQLite (issue 18); about 25 minutes on 2 busy cores, so not part of `make bench`
bench-replicas: install
	$(BIN)/python -m evals.bench_replicas 100

# Calibration of the offline scorer against human labels -> docs/EVALS.md
calibrate: install
	$(BIN)/python -m evals.calibrate

# Refit the offline scorer's weights (team dev split; SAF training when present)
fit: install
	$(BIN)/python -m evals.fit_offline

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
