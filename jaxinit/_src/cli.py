"""The `jaxinit` command line: `python -m jaxinit {list,explain,diff,plot}`.

    python -m jaxinit list
    python -m jaxinit explain --config configs/torch_like.py --model examples.digits.models:cnn
    python -m jaxinit diff --config configs/torch_like.py --config configs/tf_like.py \\
        --model examples.digits.models:cnn
    python -m jaxinit plot --config torch_like --config tf_like \\
        --model examples.digits.models:cnn --out out/hist.png

`--config` takes a preset name, a `.py` config file (optionally `file.py:arg`) or a `.json`
policy. `--model MODULE:FACTORY` names a function returning a Flax module, or a
`(module, example_input)` pair; `--input-shape 1,8,8,1` gives (or overrides) the input.
Bad arguments print one line to stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxinit._src import api, registry
from jaxinit._src.config import load_policy
from jaxinit._src.errors import JaxinitError, did_you_mean
from jaxinit._src.plot import plot_policies
from jaxinit._src.policy import Policy
from jaxinit._src.report import table


class UsageError(Exception):
    """A bad command-line argument: printed as one line, exit code 2."""


def registry_table() -> str:
    """The registry as an aligned text table (what `python -m jaxinit list` prints).

    Returns:
      One row per canonical scheme: name, family, aliases, formula, source.

    >>> from jaxinit._src import cli
    >>> print(cli.registry_table().splitlines()[0].split())
    ['name', 'family', 'aliases', 'formula', 'source']
    """
    rows = []
    for n in registry.names():
        info = registry.describe(n)
        rows.append([n, info.family, ", ".join(info.aliases), info.formula, info.source])
    return table(["name", "family", "aliases", "formula", "source"], rows)


def parse_shape(text: str) -> tuple[int, ...]:
    """The shape that `--input-shape` spells.

    Args:
      text: comma-separated non-negative integers.

    Returns:
      The shape as a tuple.

    Raises:
      UsageError: `text` is not such a list.

    >>> from jaxinit._src import cli
    >>> cli.parse_shape("1,8,8,1")
    (1, 8, 8, 1)
    """
    try:
        shape = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise UsageError(
            f"bad --input-shape {text!r}: expected comma-separated non-negative integers such "
            "as 1,8,8,1."
        ) from None
    if not shape or any(d < 0 for d in shape):
        raise UsageError(
            f"bad --input-shape {text!r}: expected comma-separated non-negative integers such "
            "as 1,8,8,1."
        )
    return shape


def load_model(
    spec: str, input_shape: str | None, input_dtype: str = "float32"
) -> tuple[Any, tuple[Any, ...]]:
    """The model and example inputs that `--model` (and `--input-shape`) name.

    Args:
      spec: `MODULE:FACTORY`, a function (importable from the working directory) returning a
        module or a `(module, *example_inputs)` tuple.
      input_shape: `--input-shape`, which gives (or overrides) one zeros input; None keeps the
        factory's inputs.
      input_dtype: the dtype of that input.

    Returns:
      `(model, inputs)`, the inputs as zeros arrays of the factory's shapes and dtypes.

    Raises:
      UsageError: the module, the factory or the dtype does not exist, or a Linen module comes
        without an example input.
    """
    if ":" not in spec:
        raise UsageError(
            f"bad --model {spec!r}: expected MODULE:FACTORY, e.g. examples.digits.models:cnn."
        )
    mod_name, fn_name = spec.split(":", 1)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise UsageError(
            f"bad --model {spec!r}: cannot import module {mod_name!r} ({e})."
        ) from None
    factory = getattr(mod, fn_name, None)
    if factory is None or not callable(factory):
        names = [n for n in dir(mod) if not n.startswith("_") and callable(getattr(mod, n))]
        raise UsageError(
            f"bad --model {spec!r}: module {mod_name!r} has no factory {fn_name!r}."
            f"{did_you_mean(fn_name, names)}"
        )
    try:  # checked whether or not --input-shape is given
        dtype = jnp.dtype(input_dtype)
    except TypeError:
        raise UsageError(
            f"bad --input-dtype {input_dtype!r}: not a dtype (e.g. float32, int32)."
        ) from None
    out = factory()
    model, inputs = (out[0], tuple(out[1:])) if isinstance(out, tuple) else (out, ())
    if input_shape is not None:
        inputs = (jnp.zeros(parse_shape(input_shape), dtype),)
    if isinstance(model, nn.Module) and not inputs:
        raise UsageError(
            f"--model {spec!r} returned a Linen module without an example input: pass "
            "--input-shape."
        )
    inputs = tuple(
        jnp.zeros(x.shape, x.dtype) if hasattr(x, "shape") and not hasattr(x, "__array__") else x
        for x in inputs
    )
    return model, inputs


def load_policy_arg(text: str) -> Policy:
    """The policy that one `--config` names: `jaxinit.load_policy(text)`.

    Args:
      text: a preset name, a `.py` config file (optionally `file.py:arg`), or a `.json` or
        `.yaml` policy document.

    Returns:
      The `Policy`.
    """
    return load_policy(text)


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="MODULE:FACTORY returning a module")
    p.add_argument("--input-shape", default=None, help="example input shape, e.g. 1,8,8,1")
    p.add_argument("--input-dtype", default="float32")


class _Parser(argparse.ArgumentParser):
    """argparse, with its syntax errors on ONE line (and exit 2), as every other error here."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m jaxinit` (sub-commands list, explain, diff, plot).

    Returns:
      An `argparse.ArgumentParser` whose syntax errors print one line and exit with code 2.

    >>> from jaxinit._src import cli
    >>> args = cli.build_parser().parse_args(["explain", "--config", "torch_like",
    ...                                       "--model", "examples.digits.models:cnn"])
    >>> args.command, args.config, args.input_shape
    ('explain', 'torch_like', None)
    """
    parser = _Parser(
        prog="jaxinit",
        description="See and use jaxinit policies.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="the registry with formulas and sources")
    p = sub.add_parser("explain", help="the decision for every parameter of a model")
    p.add_argument("--config", required=True, help="preset name, .py config, .json or .yaml policy")
    _add_model_args(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p = sub.add_parser("diff", help="where two policies disagree on a model")
    p.add_argument("--config", action="append", required=True, help="give exactly twice")
    _add_model_args(p)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("plot", help="per-layer histograms of drawn weights, policies overlaid")
    p.add_argument("--config", action="append", required=True)
    _add_model_args(p)
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--seed", type=int, default=0)
    return parser


def run(args: argparse.Namespace) -> int:
    """Runs one parsed command, printing its result.

    Args:
      args: what `build_parser().parse_args` returned.

    Returns:
      The exit code, 0.

    Raises:
      UsageError: a bad argument, or a model that rejects its example input.
      JaxinitError: a policy that does not load or does not fit the model.
    """
    if args.command == "list":
        print(registry_table())
        return 0
    if args.command == "diff" and len(args.config) != 2:
        raise UsageError(f"diff needs --config exactly twice, got {len(args.config)}.")
    configs = args.config if isinstance(args.config, list) else [args.config]
    policies = [load_policy_arg(c) for c in configs]
    model, inputs = load_model(args.model, args.input_shape, args.input_dtype)
    try:
        return _run_on_model(args, policies, model, inputs)
    except (JaxinitError, BrokenPipeError):
        raise
    except Exception as e:  # the model itself rejected the input (shape, dtype, ...)
        shapes = ", ".join(str(tuple(getattr(x, "shape", ()))) for x in inputs)
        first = (str(e).strip().splitlines() or [""])[0]
        raise UsageError(
            f"the model {args.model!r} fails on example input(s) of shape {shapes}: "
            f"{type(e).__name__}: {first}"
        ) from None


def _run_on_model(args, policies, model, inputs) -> int:
    if args.command == "explain":
        ex = api.explain(model, *inputs, policy=policies[0])
        print(ex.to_json() if args.json else ex)
        return 0
    if args.command == "diff":
        d = api.diff(model, *inputs, policies=tuple(policies))
        print(d.to_json() if args.json else d)
        return 0
    if args.command == "plot":
        path = plot_policies(model, inputs, policies, args.out, seed=args.seed)
        print(f"wrote {path}")
        return 0
    raise UsageError(f"unknown command {args.command!r}")  # argparse prevents this


def main(argv: list[str] | None = None) -> int:
    """The `jaxinit` command.

    Args:
      argv: the arguments after the program name; None reads `sys.argv[1:]`.

    Returns:
      The exit code: 0, or 2 after printing one error line to stderr.

    >>> from jaxinit._src import cli
    >>> cli.main(["diff", "--config", "torch_like", "--config", "torch_like",
    ...           "--model", "examples.digits.models:mlp"])
    torch_like and torch_like agree on every parameter.
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)  # one line and exit 2 on bad syntax (_Parser.error)
    try:
        return run(args)
    except BrokenPipeError:
        # Output piped into `head`: the reader left; not an error of ours (Python's docs recipe:
        # point stdout at devnull so the interpreter's final flush does not fail again).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UsageError, JaxinitError) as e:
        print(f"jaxinit {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
