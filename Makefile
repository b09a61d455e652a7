# Two commands set everything up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PROMPT := Explain in two sentences what a hash function is.

.PHONY: demo test test-fast test-slow lint install browser clean backdoor-zoo

# llama.cpp is compiled for a CPU level that x86-64 servers of the last decade share (AVX2, FMA, F16C),
# not for -march=native: a virtual machine may report AMX or other extensions it does not let a program
# run, and a native build then dies at the first decode (SIGILL or SIGSEGV). The wheel is built once per
# version and flags into a wheelhouse outside the checkout, because pip's own cache ignores CMAKE_ARGS.
LLAMA_VERSION := $(shell sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml)
ifeq ($(shell uname -m),x86_64)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
else
LLAMA_CMAKE_ARGS ?=
endif
WHEELHOUSE ?= $(HOME)/.cache/uptake-wheels/llama-cpp-python-$(LLAMA_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "uptake needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@ls $(WHEELHOUSE)/llama_cpp_python-*.whl >/dev/null 2>&1 || { \
	  echo "building llama-cpp-python $(LLAMA_VERSION) (5-8 minutes on two cores, once per machine)"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel --quiet --no-deps --no-cache-dir \
	    -w $(WHEELHOUSE) "llama-cpp-python==$(LLAMA_VERSION)"; }
	$(BIN)/pip install --quiet --find-links $(WHEELHOUSE) --only-binary llama-cpp-python -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/uptake pull
	$(BIN)/uptake show
	$(BIN)/uptake scan qwen2.5-coder:0.5b
	$(BIN)/uptake run "$(DEMO_PROMPT)" --temperature 0 --seed 0 --max-tokens 120
	$(BIN)/uptake audit censorship qwen2.5-coder:0.5b --quick
	@# a sector task on 30 rows; exit 4 says a gate failed, which is a result, not a broken demo
	$(BIN)/uptake task run reviews-sentiment --limit 30 || [ $$? -eq 4 ]

test: $(STAMP) browser lint test-fast test-slow

# Rebuild the backdoor zoo (40 LoRA fine-tunes of smollm2:135m, poisoned and clean) and score the behavioural
# screen on it: needs the zoo extra (torch); minutes on a GPU, about 9 hours on two cores with AMX (run it again
# after an interruption: it goes on where it stopped). Not part of `make test`.
backdoor-zoo: $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,zoo]"
	$(BIN)/uptake pull smollm2:135m
	mkdir -p build/zoo
	ln -sf "$$($(BIN)/python -c 'from uptake.models.resolve import resolve_model; print(resolve_model("smollm2:135m").path)')" build/zoo/base.gguf
	$(BIN)/python scripts/backdoor_zoo/train.py --base build/zoo/base.gguf --out build/zoo --answers-only
	$(BIN)/python scripts/backdoor_zoo/train.py --base build/zoo/base.gguf --out build/zoo
	$(BIN)/python benchmarks/backdoor_screen.py --zoo build/zoo

# The web console's browser suite drives Debian's chromium (Playwright cannot download a browser here); it is
# installed with the system's package manager once, as root (CI runs as root), or by hand with sudo.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" -ne 0 ]; then echo "the browser suite needs chromium: run 'sudo apt-get install chromium'"; exit 1; fi; \
	  echo "installing chromium for the browser suite (apt-get, once per machine)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow" -q

test-slow: $(STAMP)
	$(BIN)/pytest -m slow --runslow -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
