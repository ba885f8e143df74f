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

.PHONY: setup run test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "installing into $(VENV) (CPU torch; first time takes a few minutes)..."
	@$(PY) -m pip install -q -e '.[dev,milvus]' 2>&1 | $(PIP_FILTER)
	@! $(PY) -m pip list 2>/dev/null | grep -qi '^nvidia-' || { echo "error: CUDA packages were pulled in"; exit 1; }
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/qa index seeds/
	$(VENV)/bin/qa chat

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check qa index ui eval tests

bench: $(STAMP)
	$(PY) -m eval.bench_core

clean:
	rm -rf .qa .pytest_cache
