"""`calculate_gain`: torch's table of recommended gains (torch `nn.init.calculate_gain`)."""

from __future__ import annotations

import math

from jaxinit._src.errors import HyperparameterError, unknown

_UNIT = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)
NONLINEARITIES = _UNIT + ("tanh", "relu", "leaky_relu", "selu")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Returns torch's recommended gain for `nonlinearity`.

    Formula: linear/conv*/sigmoid -> 1; tanh -> 5/3; relu -> sqrt(2);
    leaky_relu -> sqrt(2 / (1 + slope**2)) with slope = param or 0.01; selu -> 3/4.
    Source: torch `nn.init.calculate_gain` (selu's 3/4 is torch's empirical value, PR #50664).

    Args:
      nonlinearity: one of `NONLINEARITIES` ("linear", "conv1d", ..., "sigmoid", "tanh",
        "relu", "leaky_relu", "selu").
      param: the negative slope of "leaky_relu" (default 0.01); ignored otherwise.

    Returns:
      The gain.

    Raises:
      UnknownNameError: for an unknown nonlinearity, with a did-you-mean.

    >>> import jaxinit
    >>> round(jaxinit.calculate_gain("relu"), 6)
    1.414214
    >>> round(calculate_gain("leaky_relu", 5 ** 0.5), 6)
    0.57735
    """
    if nonlinearity in _UNIT:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, (int, float)):
            raise HyperparameterError(
                f"calculate_gain: negative_slope {param!r} is not a valid number "
                "(torch raises for bools too); pass a float such as 0.01."
            )
        else:
            slope = float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4  # torch's empirical value for self-normalizing networks
    raise unknown("nonlinearity", nonlinearity, NONLINEARITIES, where="calculate_gain")
