"""Build-time checks of hyperparameter values, shared by every scheme builder.

Each raises `HyperparameterError` with a message that names the scheme, the hyperparameter and
its value, so a bad value fails when the builder is called, not when the initializer first
draws.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit._src.errors import HyperparameterError, unknown
from jaxinit._src.types import Axes


def is_real_0d(v: Any) -> bool:
    """Whether `v` is a concrete 0-d NumPy/JAX array of a real dtype, e.g. `jnp.array(1.0)`.

    Args:
      v: any value.

    Returns:
      True for a 0-d integer or floating array that is not a tracer.
    """
    return (
        isinstance(v, (np.ndarray, jax.Array))
        and not isinstance(v, jax.core.Tracer)
        and v.ndim == 0
        and (jnp.issubdtype(v.dtype, jnp.floating) or jnp.issubdtype(v.dtype, jnp.integer))
    )


def finite(scheme: str, **values: float) -> None:
    """Raises unless every value is a finite real number (not a bool).

    Args:
      scheme: the scheme name the message starts with.
      **values: hyperparameter name -> value.

    Raises:
      HyperparameterError: naming the first bad hyperparameter and its value.

    >>> finite("eye", gain=float("nan"))
    Traceback (most recent call last):
    ...
    jaxinit._src.errors.HyperparameterError: eye: gain=nan must be finite.
    """
    for name, v in values.items():
        if is_real_0d(v):
            v = v.item()
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
            raise HyperparameterError(f"{scheme}: {name}={v!r} must be a real number.")
        if not math.isfinite(float(v)):
            raise HyperparameterError(f"{scheme}: {name}={v!r} must be finite.")


def nonneg(scheme: str, **values: float) -> None:
    """Raises unless every value is a finite real number >= 0.

    Args:
      scheme: the scheme name the message starts with.
      **values: hyperparameter name -> value.

    Raises:
      HyperparameterError: naming the first bad hyperparameter and its value.
    """
    finite(scheme, **values)
    for name, v in values.items():
        if v < 0:
            raise HyperparameterError(f"{scheme}: {name}={v!r} must be >= 0.")


def positive(scheme: str, **values: float) -> None:
    """Raises unless every value is a finite real number > 0.

    Args:
      scheme: the scheme name the message starts with.
      **values: hyperparameter name -> value.

    Raises:
      HyperparameterError: naming the first bad hyperparameter and its value.
    """
    finite(scheme, **values)
    for name, v in values.items():
        if v <= 0:
            raise HyperparameterError(f"{scheme}: {name}={v!r} must be > 0.")


def choice(scheme: str, what: str, value: str, choices: Sequence[str]) -> None:
    """Raises unless `value` is one of `choices`.

    Args:
      scheme: the scheme name the message starts with.
      what: what the value is ("mode", "distribution", ...).
      value: the value given.
      choices: the valid values.

    Raises:
      UnknownNameError: listing the choices, with a did-you-mean.
    """
    if value not in choices:
        raise unknown(what, value, choices, where=scheme)


def axes(scheme: str, **named_axes: Axes) -> None:
    """Raises unless every value is an int or a sequence of ints (bools are not axes).

    Args:
      scheme: the scheme name the message starts with.
      **named_axes: hyperparameter name -> axes.

    Raises:
      HyperparameterError: naming the first bad hyperparameter and its value.
    """
    for name, a in named_axes.items():
        items = (a,) if isinstance(a, int) and not isinstance(a, bool) else a
        try:
            ok = all(isinstance(i, int) and not isinstance(i, bool) for i in items)
        except TypeError:
            ok = False
        if not ok:
            raise HyperparameterError(f"{scheme}: {name}={a!r} must be an int or a tuple of ints.")


def positive_int(scheme: str, name: str, value: Any) -> None:
    """Raises unless `value` is an int >= 1 (not a bool): group counts and the like.

    Args:
      scheme: the scheme name the message starts with.
      name: the hyperparameter's name.
      value: its value.

    Raises:
      HyperparameterError: naming the hyperparameter and its value.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HyperparameterError(f"{scheme}: {name}={value!r} must be a positive integer.")
