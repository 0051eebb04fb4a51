"""The ``gripkit`` command line: thin Typer shells over the Python API.

Each subcommand lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

import sys

from gripkit.cli.common import app, console_err
from gripkit.errors import GripkitError

# Subcommand modules register on ``app`` when imported.
from gripkit.cli import demo, hotspots, info, ingest  # noqa: F401  isort: skip
from gripkit.cli import backtest  # noqa: F401  isort: skip
from gripkit.cli import plan  # noqa: F401  isort: skip
from gripkit.cli import gps  # noqa: F401  isort: skip
from gripkit.cli import serve  # noqa: F401  isort: skip
from gripkit.cli import users  # noqa: F401  isort: skip
from gripkit.cli import report  # noqa: F401  isort: skip
from gripkit.cli import evaluate  # noqa: F401  isort: skip
from gripkit.cli import allocate  # noqa: F401  isort: skip
from gripkit.cli import national  # noqa: F401  isort: skip


def main() -> None:
    """Entry point of the ``gripkit`` console script."""
    try:
        app()
    except GripkitError as exc:
        console_err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)


__all__ = ["app", "main"]
