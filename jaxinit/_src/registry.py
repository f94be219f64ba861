"""The registry of initialization schemes, by name.

`register(name, aliases=...)` decorates a builder `(**hyperparameters) -> Initializer`;
`get(name, **hyperparameters)` builds one, validating the hyperparameter names against the
builder's signature (with a did-you-mean) before the builder validates their values;
`unregister(name)` removes a scheme with its aliases. The schemes themselves register from the
scheme modules (`schemes.py` lists them).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit._src.errors import HyperparameterError, JaxinitError, did_you_mean, unknown
from jaxinit._src.types import Initializer

Builder = Callable[..., Initializer]  # (**hyperparameters) -> Initializer

_REQUIRED = inspect.Parameter.empty


@dataclasses.dataclass(frozen=True)
class SchemeInfo:
    """What the registry knows about one scheme (`jaxinit.describe(name)`).

    Attributes:
      name: the canonical name.
      builder: `builder(**hyperparameters) -> Initializer`.
      family: a coarse grouping ("variance_scaling", "constant", "layer_default", ...).
      aliases: the other names it is registered under.
      formula: the `Formula:` line of the builder's docstring.
      source: the `Source:` line: the framework function it reproduces.
      summary: the first paragraph of the builder's docstring.
      defaults: hyperparameter -> default (`REQUIRED` when it has none).
    """

    name: str
    builder: Builder
    family: str
    aliases: tuple[str, ...]
    formula: str
    source: str
    summary: str
    defaults: dict[str, Any]  # hyperparameter -> default (`REQUIRED` when it has none)

    @property
    def required(self) -> tuple[str, ...]:
        """The hyperparameters without a default."""
        return tuple(k for k, v in self.defaults.items() if v is REQUIRED)


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED = _Required()

_SCHEMES: dict[str, SchemeInfo] = {}
_ALIASES: dict[str, str] = {}
# A name that means something else in another framework -> ((scheme there, framework), ...):
# every hyperparameter error on that name points to them (see `note_other_meanings`).
_ELSEWHERE: dict[str, tuple[tuple[str, str], ...]] = {}


def note_other_meanings(name: str, *choices: tuple[str, str]) -> None:
    """Records that `name` means other schemes in other frameworks.

    Hyperparameter errors on `name` then end with "did you mean 'kaiming_uniform_' (torch
    semantics)?".

    Args:
      name: a registered name, here with its jaxinit meaning.
      *choices: `(scheme, framework)` pairs, each scheme a registered name.
    """
    canonical_name(name)
    for scheme, _ in choices:
        canonical_name(scheme)
    _ELSEWHERE[name] = tuple(choices)


def other_meanings(name: str) -> tuple[tuple[str, str], ...]:
    """What `name` means in other frameworks.

    Args:
      name: a registered name.

    Returns:
      `((scheme, framework), ...)`, empty if none.
    """
    return _ELSEWHERE.get(name, ())


def meaning_hint(name: Any) -> str:
    """The hint appended to hyperparameter errors on an ambiguous name.

    Args:
      name: the name the user asked for.

    Returns:
      The hint, or "" if `name` means nothing else elsewhere.
    """
    choices = _ELSEWHERE.get(name) if isinstance(name, str) else None
    if not choices:
        return ""
    alts = " or ".join(f"{s!r} ({fw} semantics)" for s, fw in choices)
    here = canonical_name(name)
    same = f" (= {here!r})" if here != name else ""
    return f" {name!r} has JAX/Flax semantics here{same}; did you mean {alts}?"


def _plain(v: Any) -> Any:
    """A 0-d NumPy/JAX array or a NumPy scalar of a real dtype as the Python number it holds
    (`jnp.array(1.0)`, as JAX's own factories accept it): the result's dtype is then the one
    requested, never upcast. Anything else (tracers included) is passed on unchanged."""
    if isinstance(v, jax.core.Tracer) or not isinstance(v, (np.generic, np.ndarray, jax.Array)):
        return v
    if np.ndim(v) == 0 and (
        jnp.issubdtype(v.dtype, jnp.floating) or jnp.issubdtype(v.dtype, jnp.integer)
    ):
        return v.item()
    return v


def _doc_field(doc: str, field: str) -> str:
    lines = [ln.strip() for ln in doc.splitlines()]
    for i, ln in enumerate(lines):
        if ln.startswith(field + ":"):
            text = [ln[len(field) + 1 :].strip()]
            for nxt in lines[i + 1 :]:
                if not nxt or nxt.endswith(":") or ":" in nxt.split(" ")[0]:
                    break
                text.append(nxt)
            return " ".join(text)
    return ""


def register(
    name: str, *, aliases: Iterable[str] = (), family: str = "other"
) -> Callable[[Builder], Builder]:
    """Registers a builder under `name` (and `aliases`).

    The builder's docstring should carry `Formula:` and `Source:` lines; they are shown by
    `jaxinit.describe` and `python -m jaxinit list`. Its signature gives the hyperparameters
    (parameters starting with `_` are private and not listed).

    Args:
      name: the canonical name; it and every alias must be new.
      aliases: other names for the same scheme.
      family: a coarse grouping shown by `python -m jaxinit list`.

    Returns:
      A decorator that registers the builder and returns it unchanged.

    >>> import jax, jaxinit
    >>> @jaxinit.register("halves_example")
    ... def halves_example():
    ...     \"\"\"All 0.5.
    ...
    ...     Formula: w = 0.5
    ...     Source: an example.
    ...     \"\"\"
    ...     return jaxinit.get("constant", value=0.5)
    >>> jaxinit.get("halves_example")(jax.random.key(0), (2,)).tolist()
    [0.5, 0.5]
    >>> jaxinit.describe("halves_example").formula
    'w = 0.5'
    >>> from jaxinit._src.registry import unregister
    >>> unregister("halves_example").name
    'halves_example'
    """
    aliases = tuple(aliases)

    def deco(builder: Builder) -> Builder:
        for n in (name,) + aliases:
            if n in _SCHEMES or n in _ALIASES:
                raise JaxinitError(f"register: the name {n!r} is already registered.")
        doc = inspect.getdoc(builder) or ""
        defaults = {}
        for p in inspect.signature(builder).parameters.values():
            if p.name.startswith("_") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            defaults[p.name] = REQUIRED if p.default is _REQUIRED else p.default
        _SCHEMES[name] = SchemeInfo(
            name=name,
            builder=builder,
            family=family,
            aliases=aliases,
            formula=_doc_field(doc, "Formula"),
            source=_doc_field(doc, "Source"),
            summary=doc.split("\n\n")[0].replace("\n", " ") if doc else "",
            defaults=defaults,
        )
        for a in aliases:
            _ALIASES[a] = name
        return builder

    return deco


def canonical_name(name: str) -> str:
    """The canonical scheme name for a name or alias.

    Args:
      name: a canonical name or an alias.

    Returns:
      The canonical name.

    Raises:
      UnknownNameError: for an unknown name, with a did-you-mean.
    """
    if not isinstance(name, str):
        raise unknown("scheme", name, names(), where="jaxinit.get", suggest_from=all_names())
    if name in _SCHEMES:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    raise unknown("scheme", name, names(), where="jaxinit.get", suggest_from=all_names())


def unregister(name: str) -> SchemeInfo:
    """Removes the scheme registered as `name`, with all its aliases.

    Args:
      name: the canonical name (an alias is refused, naming its scheme, so that one call never
        removes more than the caller named).

    Returns:
      The removed entry (`register(info.name, aliases=info.aliases, family=info.family)(
      info.builder)` puts it back).

    Raises:
      UnknownNameError: for an unknown name, with a did-you-mean.
      JaxinitError: for an alias.
    """
    if isinstance(name, str) and name in _ALIASES:
        raise JaxinitError(
            f"jaxinit.unregister: {name!r} is an alias of {_ALIASES[name]!r}; pass the scheme's "
            f"name, unregister({_ALIASES[name]!r}), which removes it with all its aliases."
        )
    if not isinstance(name, str) or name not in _SCHEMES:
        raise unknown("scheme", name, names(), where="jaxinit.unregister", suggest_from=names())
    info = _SCHEMES.pop(name)
    gone = {name, *info.aliases}
    for a in info.aliases:
        _ALIASES.pop(a, None)
    for key in list(_ELSEWHERE):
        kept = tuple(c for c in _ELSEWHERE[key] if c[0] not in gone)
        if key in gone or not kept:
            del _ELSEWHERE[key]
        else:
            _ELSEWHERE[key] = kept
    return info


def names() -> list[str]:
    """Canonical names of every registered scheme.

    Returns:
      The names, sorted.

    >>> import jaxinit
    >>> "glorot_uniform" in jaxinit.names(), "xavier_uniform" in jaxinit.names()
    (True, False)
    """
    return sorted(_SCHEMES)


def all_names() -> list[str]:
    """Canonical names and aliases of every registered scheme.

    Returns:
      The names, sorted.

    >>> import jaxinit
    >>> "xavier_uniform" in jaxinit.all_names()
    True
    """
    return sorted(list(_SCHEMES) + list(_ALIASES))


def describe(name: str) -> SchemeInfo:
    """The registry entry of a scheme: formula, source, aliases, hyperparameters with defaults.

    Args:
      name: a canonical name or an alias.

    Returns:
      Its `SchemeInfo`.

    >>> import jaxinit
    >>> info = jaxinit.describe("kaiming_uniform_")
    >>> info.name, info.family, info.defaults["nonlinearity"]
    ('torch_kaiming_uniform', 'variance_scaling', 'leaky_relu')
    """
    return _SCHEMES[canonical_name(name)]


def check_hyperparameters(name: str, hyperparameters: dict[str, Any], where: str = "") -> None:
    """Checks the hyperparameter NAMES of a scheme (its builder checks the values).

    Args:
      name: a canonical name or an alias.
      hyperparameters: the hyperparameters to check.
      where: what the message starts with (e.g. the rule or call).

    Raises:
      HyperparameterError: for a name the scheme does not take (with a did-you-mean) or a
        required one missing.
    """
    info = describe(name)
    prefix = f"{where}: " if where else ""
    hint = meaning_hint(name)
    for k in hyperparameters:
        if k not in info.defaults:
            valid = ", ".join(info.defaults) or "(none)"
            raise HyperparameterError(
                f"{prefix}scheme {info.name!r} takes no hyperparameter {k!r}."
                f"{did_you_mean(k, info.defaults)} Valid hyperparameters: {valid}.{hint}"
            )
    missing = [k for k in info.required if k not in hyperparameters]
    if missing:
        raise HyperparameterError(
            f"{prefix}scheme {info.name!r} needs the hyperparameter(s) {', '.join(missing)}.{hint}"
        )


def get(name: str, **hyperparameters: Any) -> Initializer:
    """Builds the initializer registered as `name` with `hyperparameters`.

    Hyperparameter names are checked against the builder's signature first (with a
    did-you-mean), then the builder checks the values; both fail here, not when drawing.

    Args:
      name: a canonical name or an alias (`jaxinit.all_names()`).
      **hyperparameters: the scheme's hyperparameters (`jaxinit.describe(name).defaults`).

    Returns:
      The initializer, `init(key, shape, dtype=None) -> Array` (see `Initializer`).

    Raises:
      UnknownNameError: for an unknown name.
      HyperparameterError: for an unknown, missing or invalid hyperparameter.

    >>> import jax, jaxinit
    >>> init = jaxinit.get("torch_bias", fan_in=16)
    >>> init(jax.random.key(0), (4,)).shape
    (4,)
    >>> x = jaxinit.get("glorot_uniform")(jax.random.key(0), (2, 3))
    >>> bool(abs(x).max() <= (6 / 5) ** 0.5)  # limit sqrt(3 / fan_avg), fan_avg = 2.5
    True
    """
    check_hyperparameters(name, hyperparameters, where=f"jaxinit.get({name!r})")
    hyperparameters = {k: _plain(v) for k, v in hyperparameters.items()}
    hint = meaning_hint(name)
    if not hint:
        return describe(name).builder(**hyperparameters)
    try:
        return describe(name).builder(**hyperparameters)
    except HyperparameterError as e:  # a bad value on a name that means other things elsewhere
        raise HyperparameterError(f"{e}{hint}") from e
