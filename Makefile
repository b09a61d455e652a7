# Two commands set everything up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PROMPT := Explain in two sentences what a hash function is.

.PHONY: demo test test-fast test-slow lint install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "uptake needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/uptake pull
	$(BIN)/uptake show
	$(BIN)/uptake scan qwen2.5-coder:0.5b
	$(BIN)/uptake run "$(DEMO_PROMPT)" --temperature 0 --seed 0 --max-tokens 120
	$(BIN)/uptake audit censorship qwen2.5-coder:0.5b --quick

test: $(STAMP) lint test-fast test-slow

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow" -q

test-slow: $(STAMP)
	$(BIN)/pytest -m slow --runslow -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
