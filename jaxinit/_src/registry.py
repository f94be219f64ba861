"""The registry of initialization schemes, by name.

`register(name, aliases=...)` decorates a builder `(**hyperparameters) -> Initializer`;
`get(name, **hyperparameters)` builds one, validating the hyperparameter names against the
builder's signature (with a did-you-mean) before the builder validates their values.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Iterable

from jaxinit._src.errors import HyperparameterError, JaxinitError, did_you_mean, unknown

_REQUIRED = inspect.Parameter.empty


@dataclasses.dataclass(frozen=True)
class SchemeInfo:
    """What the registry knows about one scheme."""

    name: str
    builder: Callable[..., Any]
    family: str
    aliases: tuple[str, ...]
    formula: str
    source: str
    summary: str
    defaults: dict[str, Any]  # hyperparameter -> default (`REQUIRED` when it has none)

    @property
    def required(self) -> tuple[str, ...]:
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
    """Records that `name` (a registered name, here with its jaxinit meaning) means
    `choices = ((scheme, framework), ...)` elsewhere; hyperparameter errors on `name` then end
    with "did you mean 'kaiming_uniform_' (torch semantics)?"."""
    canonical_name(name)
    for scheme, _ in choices:
        canonical_name(scheme)
    _ELSEWHERE[name] = tuple(choices)


def other_meanings(name: str) -> tuple[tuple[str, str], ...]:
    """`((scheme, framework), ...)` that `name` means in other frameworks (empty if none)."""
    return _ELSEWHERE.get(name, ())


def meaning_hint(name: Any) -> str:
    """The hint appended to hyperparameter errors on an ambiguous name, or "" if none."""
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
    import jax
    import jax.numpy as jnp
    import numpy as np

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
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Registers a builder under `name` (and `aliases`). Returns the builder unchanged.

    The builder's docstring should carry `Formula:` and `Source:` lines; they are shown by
    `jaxinit.describe` and `python -m jaxinit list`.
    """
    aliases = tuple(aliases)

    def deco(builder: Callable[..., Any]) -> Callable[..., Any]:
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


def unregister(name: str) -> None:
    """Removes the scheme `name` (canonical name or alias) and all its aliases.

    A minimal stand-in for H1's registry.unregister, to be dropped at the merge.
    """
    info = describe(name)
    for a in info.aliases:
        _ALIASES.pop(a, None)
    _ELSEWHERE.pop(info.name, None)
    del _SCHEMES[info.name]


def canonical_name(name: str) -> str:
    """The canonical scheme name for `name` or one of its aliases; raises if unknown."""
    if not isinstance(name, str):
        raise unknown("scheme", name, names(), where="jaxinit.get", suggest_from=all_names())
    if name in _SCHEMES:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    raise unknown("scheme", name, names(), where="jaxinit.get", suggest_from=all_names())


def names() -> list[str]:
    """Canonical names of every registered scheme, sorted."""
    return sorted(_SCHEMES)


def all_names() -> list[str]:
    """Canonical names and aliases, sorted."""
    return sorted(list(_SCHEMES) + list(_ALIASES))


def describe(name: str) -> SchemeInfo:
    """The registry entry (formula, source, hyperparameters with defaults) of `name`."""
    return _SCHEMES[canonical_name(name)]


def check_hyperparameters(name: str, hyperparameters: dict[str, Any], where: str = "") -> None:
    """Raises if `hyperparameters` has a name the scheme does not take or misses a required one."""
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


def get(name: str, **hyperparameters: Any) -> Callable[..., Any]:
    """Builds the initializer registered as `name` with `hyperparameters`.

    >>> import jax, jaxinit
    >>> init = jaxinit.get("torch_bias", fan_in=16)
    >>> init(jax.random.key(0), (4,)).shape
    (4,)
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
