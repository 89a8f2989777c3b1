# The two commands of the README: `make test` and `make demo`.
# Each creates .venv when missing and installs the project with the extras it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export MPLBACKEND := Agg

.PHONY: test demo distill lint clean dashboard

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip setuptools wheel

# A stamp per extra set, so a pyproject change reinstalls and a second run does not.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev,ray,dashboard,chat,improve]'
	touch $@

# The browser test drives Debian's Chromium with Playwright (no browser download).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	touch $@

$(VENV)/.installed-chat: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[chat]'
	touch $@

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint $(CHROMIUM)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

demo: $(VENV)/.installed-demo
	$(BIN)/swarm demo --out runs/demo

# The distillation recipe (README): a served teacher, its transcripts, a student, A/B.
distill: $(VENV)/.installed-chat
	$(BIN)/swarm distill experiments/distill.yaml --out runs/distill

dashboard: $(VENV)/.installed-dev
	$(BIN)/swarm dashboard

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache test-artifacts
