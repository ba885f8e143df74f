# `make run` and `make test` work on a fresh machine: they create .venv when needed.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
# pip's local mirrors print a warning per package they do not hold; they are noise.
PIP_FILTER := { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: setup run test lint bench bench-quick bench-load eval clean chromium train-reader train-reader-pilot reader-eval fit-answerer

setup: $(STAMP)

# llama-cpp-python compiles llama.cpp: a portable AVX2 build, because the default native one
# crashes on the first decode on CPUs that advertise AMX. --no-cache-dir keeps pip from reusing
# a wheel it once built with other flags.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "installing into $(VENV) (CPU torch, and llama.cpp compiles: first time takes 10-15 minutes)..."
	@CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install -q --no-cache-dir -e '.[dev,llm,milvus,mcp,train]' 2>&1 | $(PIP_FILTER)
	@! $(PY) -m pip list 2>/dev/null | grep -qi '^nvidia-' || { echo "error: CUDA packages were pulled in"; exit 1; }
	@touch $(STAMP)

# The chat's documents live in .qa/docs, seeded from seeds/ (uploads land there, never in the
# repo); `qa serve` indexes them incrementally, then serves http://127.0.0.1:7860.
run: $(STAMP)
	@mkdir -p .qa/docs && cp -n seeds/* .qa/docs/
	$(VENV)/bin/qa serve --docs .qa/docs

# The browser tests drive Debian's chromium; install it once when missing (needs root).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "warning: chromium is missing and only root can install it; the browser tests will fail" \
	    "until someone runs: sudo apt-get install -y chromium"; fi; }

test: $(STAMP) chromium
	$(PY) -m pytest

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
