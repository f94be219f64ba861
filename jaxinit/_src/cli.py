"""The `jaxinit` command line."""

from __future__ import annotations

import argparse
import sys

from jaxinit._src import registry


def registry_table() -> str:
    """The registry as an aligned text table: name, family, formula, source."""
    rows = [("name", "family", "formula", "source")]
    for n in registry.names():
        info = registry.describe(n)
        rows.append((n, info.family, info.formula, info.source))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    out = []
    for i, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3])
        if i == 0:
            out.append("  ".join("-" * w for w in widths) + "  " + "-" * 6)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jaxinit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the registry with formulas and sources")
    sub.add_parser("demo", help="the main demo")
    args = parser.parse_args(argv)
    if args.command in ("list", "demo"):
        print(registry_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
