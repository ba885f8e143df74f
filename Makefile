# `make run` and `make test` work on a fresh machine: they create .venv when needed.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 7860
# Three installs, each with its stamp; a bigger one also touches the stamps of those it covers,
# so `make test` then `make run` installs nothing, and `make run` then `make test` adds the extras.
BASE_STAMP := $(VENV)/.stamp-base
LLM_STAMP := $(VENV)/.stamp-llm
# The full one keeps the name it had when it was the only stamp, so venvs made before stay valid.
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
# pip's local mirrors print a warning per package they do not hold; they are noise.
PIP_FILTER := { grep -v "is ignored: it is neither a file nor a directory" || true; }
NO_CUDA := ! $(PY) -m pip list 2>/dev/null | grep -qi '^nvidia-' || { echo "error: CUDA packages were pulled in"; exit 1; }
# The fast tier: what `make check` runs; the markers are registered in pyproject.toml.
FAST := not slow and not llm and not browser and not bench

.PHONY: setup setup-base setup-llm run check test lint bench bench-quick bench-load eval clean chromium \
	train-reader train-reader-pilot reader-eval fit-answerer

# Everything: every extra (dev, llm, milvus, mcp, train), what `make test` and the other targets use.
setup: $(STAMP)
# What the web chat needs and nothing more: the base dependencies, all of them wheels (no compiler).
setup-base: $(BASE_STAMP)
# The base plus the `llm` extra (`--llm llamacpp` / `openai-like`); llama.cpp compiles for 10-15 minutes.
setup-llm: $(LLM_STAMP)

# llama-cpp-python compiles llama.cpp: a portable AVX2 build, because the default native one
# crashes on the first decode on CPUs that advertise AMX. --no-cache-dir keeps pip from reusing
# a wheel it once built with other flags.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

$(BASE_STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "installing the chat's dependencies into $(VENV) (CPU torch; first time takes a few minutes)..."
	@$(PY) -m pip install -q -e . 2>&1 | $(PIP_FILTER)
	@$(NO_CUDA)
	@touch $(BASE_STAMP)

$(LLM_STAMP): pyproject.toml $(BASE_STAMP)
	@echo "installing the llm extra into $(VENV) (llama.cpp compiles: first time takes 10-15 minutes)..."
	@CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install -q --no-cache-dir -e '.[llm]' 2>&1 | $(PIP_FILTER)
	@$(NO_CUDA)
	@touch $(LLM_STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "installing into $(VENV) (CPU torch, and llama.cpp compiles: first time takes 10-15 minutes)..."
	@CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install -q --no-cache-dir -e '.[dev,llm,milvus,mcp,train]' 2>&1 | $(PIP_FILTER)
	@$(NO_CUDA)
	@touch $(BASE_STAMP) $(LLM_STAMP) $(STAMP)

# The chat's documents live in .qa/docs, seeded from seeds/ (uploads land there, never in the
# repo); `qa serve` indexes them incrementally, then serves http://127.0.0.1:$(PORT) (7860 unless PORT=...).
run: $(BASE_STAMP)
	@mkdir -p .qa/docs && cp -n seeds/* .qa/docs/
	$(VENV)/bin/qa serve --docs .qa/docs --port $(PORT)

# The browser tests drive Debian's chromium; install it once when missing (needs root).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "warning: chromium is missing and only root can install it; the browser tests will fail" \
	    "until someone runs: sudo apt-get install -y chromium"; fi; }

# The full suite, every backend for real; it ends with its 15 slowest tests.
test: $(STAMP) chromium
	$(PY) -m pytest --durations=15

# The fast tier for everyday work (under a minute): no LLM, browser, benchmark or slow tests,
# on two worker processes (pytest-xdist; one test file per worker, so a file's fixtures load once).
check: $(STAMP)
	$(PY) -m pytest -m "$(FAST)" -n 2 --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check qa index ui eval tests

# Gold-set reports for the seed article and the public ClapNQ half (see eval/RESULTS.md).
eval: $(STAMP)
	$(VENV)/bin/qa eval eval/gold/seed.jsonl --docs seeds --baseline llamaindex --out qa-eval/seed
	$(VENV)/bin/qa eval ../shared/data/clapnq/*.jsonl --baseline llamaindex --out qa-eval/clapnq

# Every stage against its limit (BENCHMARKS.md); the full run took 5-10 minutes on 2 cores (quick: ~2).
bench: $(STAMP)
	$(PY) -m eval.bench --out qa-bench

bench-quick: $(STAMP)
	$(PY) -m eval.bench --quick --out qa-bench-quick

bench-load: $(STAMP)
	$(PY) -m ui.bench_load

# The reader (qa/models/reader): fine-tune MiniLM on the train splits of ../shared/data, export int8
# ONNX, fit the no-answer threshold on the fit split, score the report split, write the card.
# The full run is a fixed 1,200 steps (about 60-75 minutes on 2 quiet cores); the pilot about 15.
train-reader: $(STAMP)
	$(PY) -m eval.train_reader --config full

train-reader-pilot: $(STAMP)
	$(PY) -m eval.train_reader --config pilot --out qa-reader-pilot

# The shipped reader alone on the squad2 report articles (own paragraph): EM, F1, HasAns, NoAns, latency.
reader-eval: $(STAMP)
	$(PY) -m eval.reader_eval

# Refit the default answerer (threshold, feature weights, passages read, join margin) on the fit
# splits; writes qa/models/answerer.json and prints the ablation (about 4 minutes).
fit-answerer: $(STAMP)
	$(PY) -m eval.fit_answerer

clean:
	rm -rf .qa .pytest_cache
