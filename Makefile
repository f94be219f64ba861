# Each target creates .venv if missing and installs what it needs by itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export KERAS_BACKEND := jax

.PHONY: test demo bench lint format clean refs-tf

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test,examples,bench,dev]"
	touch $@

$(VENV)/.installed-examples: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[examples]"
	touch $@

# jaxinit: its docstring examples (--doctest-modules, also in pyproject's addopts; tests/conftest.py
# keeps doctest collection out of tests/).
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q --doctest-modules jaxinit tests examples/digits/train_test.py

demo: $(VENV)/.installed-examples
	$(BIN)/python -m examples.demo
	$(BIN)/python -m examples.parity.main --config=examples/parity/configs/default.py --workdir=out

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run.py

# TensorFlow's reference draws for tests/test_tf_seed.py (not part of `make test`, which reads
# the committed files): a separate environment, since TF and jaxinit's jax/keras do not share one.
TFVENV := .venv-tf
refs-tf:
	rm -rf $(TFVENV)
	$(PY) -m venv $(TFVENV)
	$(TFVENV)/bin/python -m pip install -q "tensorflow-cpu==2.21.*" "tf-keras==2.21.*"
	$(TFVENV)/bin/python tests/reference/tf/record_tf.py
	$(TFVENV)/bin/python tests/reference/tf/record_tf1.py

# timm/torchvision reference draws for tests/conformance/ported/test_refs.py (not part of
# `make test`, which reads the committed tests/reference/ported/refs.{json,npz}): torchvision
# and timm need their own torch, so a separate environment.
REFSVENV := .venv-refs
refs-ported:
	rm -rf $(REFSVENV)
	$(PY) -m venv $(REFSVENV)
	$(REFSVENV)/bin/python -m pip install -q "torch==2.14.1" "torchvision==0.29.1" "timm==1.0.31" numpy
	$(REFSVENV)/bin/python tests/reference/ported/record_refs.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff format --check jaxinit tests configs examples benchmarks
	$(BIN)/ruff check jaxinit tests configs examples benchmarks

format: $(VENV)/.installed-test
	$(BIN)/ruff format jaxinit tests configs examples benchmarks
	$(BIN)/ruff check --fix jaxinit tests configs examples benchmarks

clean:
	rm -rf $(VENV) out .pytest_cache
