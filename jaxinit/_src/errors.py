"""One root exception for jaxinit, with named subclasses (cf. `flax/errors.py`).

Every message is a full sentence naming the bad value, the valid choices and, where a name is
close to a valid one, a did-you-mean suggestion.
"""

from __future__ import annotations

import difflib
from typing import Iterable


class JaxinitError(ValueError):
    """Root of every error raised by jaxinit."""


class UnknownNameError(JaxinitError, KeyError):
    """An unknown scheme, mode, distribution, nonlinearity, preset or config key."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class HyperparameterError(JaxinitError):
    """A hyperparameter value that the scheme does not accept."""


class ShapeError(JaxinitError):
    """A shape or dtype that the scheme cannot produce."""


class PolicyError(JaxinitError):
    """An invalid rule or policy, or a policy that does not fit a model."""


class ConfigError(JaxinitError):
    """A config file or policy document that cannot be loaded."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """The did-you-mean tail of an error message.

    Args:
      name: the misspelt name.
      choices: the valid names.

    Returns:
      " Did you mean 'x'?" (up to three close matches, by `difflib.get_close_matches`), or ""
      when nothing is close.

    >>> did_you_mean("glorot_unifrom", ["glorot_uniform", "he_normal"])
    " Did you mean 'glorot_uniform'?"
    >>> did_you_mean("xyz", ["glorot_uniform"])
    ''
    """
    close = difflib.get_close_matches(str(name), list(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def unknown(
    what: str,
    name: object,
    choices: Iterable[str],
    where: str = "",
    suggest_from: Iterable[str] | None = None,
) -> UnknownNameError:
    """Builds the error for an unknown choice, with the valid choices and a did-you-mean.

    Args:
      what: what kind of name it is ("scheme", "fallback").
      name: the unknown name.
      choices: the valid names (listed sorted in the message).
      where: a prefix naming where the name was given ("Policy", a rule's label).
      suggest_from: where the did-you-mean looks (default: `choices`), e.g. aliases too.

    Returns:
      The UnknownNameError (to raise).

    >>> print(unknown("fallback", "strcit", ("keep", "strict"), where="Policy"))
    Policy: unknown fallback 'strcit'. Did you mean 'strict'? Valid choices: keep, strict.
    """
    choices = sorted(set(choices))
    pool = choices if suggest_from is None else list(suggest_from)
    prefix = f"{where}: " if where else ""
    return UnknownNameError(
        f"{prefix}unknown {what} {name!r}.{did_you_mean(str(name), pool)} "
        f"Valid choices: {', '.join(choices)}."
    )
