"""`python -m jaxinit`: the command line (see `jaxinit/_src/cli.py`)."""

from jaxinit._src.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
