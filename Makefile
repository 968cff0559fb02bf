# The only commands anyone needs. `make demo` and `make test` set everything up on a fresh
# Debian machine (venv, packages, PostGIS, browser) and fail with a message saying what is missing.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
GS := $(VENV)/bin/gridscope
SIZE ?= city
SEED ?= 42
PORT ?= 8050
export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/gridscope
export REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: demo test setup migrate load serve live lint format bench screenshots clean

demo: setup migrate ## Run the product on the city demo (server + live simulator)
	$(GS) demo load --size $(SIZE) --seed $(SEED) --reuse
	PORT=$(PORT) scripts/run_demo.sh

test: ## Run every test tier (unit, PostGIS + Redis, browser), lint and type checks
	scripts/setup.sh --browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy domain queries layers
	$(VENV)/bin/pytest $(PYTEST_ARGS)

setup: ## Venv, packages, PostgreSQL/PostGIS and Redis checks
	scripts/setup.sh

migrate: setup
	$(GS) db migrate

load: migrate ## Reload the demo: make load SIZE=small|city|large SEED=42
	$(GS) demo load --size $(SIZE) --seed $(SEED)

serve: migrate
	$(GS) serve --port $(PORT)

live:
	$(GS) demo live

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup ## Benchmarks (print medians): make bench BENCH=load|feed|api|imports|layers|layerslive
	$(PY) -m bench $(BENCH)

screenshots: setup ## Screenshots of /screen at 1920x1080 and 3840x2160 into docs/img
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
