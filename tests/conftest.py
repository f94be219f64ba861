"""Shared test setup.

Keras must see its backend before its first import, whichever test module imports it first;
jaxinit's conformance tests always run Keras 3 on JAX.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
