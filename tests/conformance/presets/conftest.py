"""Preset conformance suite: jaxinit's presets against real PyTorch 2.13 and Keras 3 (JAX).

Every comparison is collected by the session-scoped `table` fixture and printed as one table
at the end of the run (`pytest_terminal_summary`), and written to `out/conformance_table.md`.
"""

import os

os.environ["KERAS_BACKEND"] = "jax"  # before anything imports keras (XLA flags: tests/conftest.py)

import pytest  # noqa: E402

from ._harness import Recorder  # noqa: E402
from ._table import render  # noqa: E402

_ROWS: list = []


@pytest.fixture(scope="session")
def table() -> Recorder:
    return Recorder(_ROWS)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _ROWS:
        return
    text = render(_ROWS)
    terminalreporter.write_sep("=", "preset conformance table")
    terminalreporter.write_line(text)
    out = config.rootpath / "out"
    out.mkdir(exist_ok=True)
    (out / "conformance_table.md").write_text(text + "\n")
    terminalreporter.write_line(f"(written to {out / 'conformance_table.md'})")
