# Each target creates .venv if missing and installs what it needs by itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export KERAS_BACKEND := jax

.PHONY: test demo bench lint format clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test,examples,bench,dev]"
	touch $@

$(VENV)/.installed-examples: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[examples]"
	touch $@

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q tests examples/digits/train_test.py

demo: $(VENV)/.installed-examples
	$(BIN)/python -m examples.demo
	$(BIN)/python -m examples.parity.main --config=examples/parity/configs/default.py --workdir=out

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff format --check jaxinit tests configs examples benchmarks
	$(BIN)/ruff check jaxinit tests configs examples benchmarks

format: $(VENV)/.installed-test
	$(BIN)/ruff format jaxinit tests configs examples benchmarks
	$(BIN)/ruff check --fix jaxinit tests configs examples benchmarks

clean:
	rm -rf $(VENV) out .pytest_cache
