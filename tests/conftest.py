"""Shared test setup.

Keras must see its backend before its first import, whichever test module imports it first;
jaxinit's conformance tests always run Keras 3 on JAX.
"""

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

# The suite compiles hundreds of small XLA programs (every scheme x shape x dtype, Keras layers
# built eagerly); XLA's CPU optimizer spends most of the suite's time on them for nothing.
# Optimization level 0 roughly halves compile time; it changes no IEEE semantics, so values are
# the same. Set before JAX's backend starts, and never overriding flags set by the caller.
os.environ.setdefault(
    "XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
)


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    """`--doctest-modules` (`make test`) runs the examples of the package, not of tests/: here it
    would import every .py file as a module, the reference-recording scripts of
    tests/reference/ included (they change sys.path and need tensorflow or timm)."""
    collectors = yield
    return [c for c in collectors if type(c).__name__ != "DoctestModule"]
