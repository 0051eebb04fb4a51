"""The ``gripkit`` command line: thin Typer shells over the Python API.

Each subcommand lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from pathlib import Path
from typing import NoReturn

from gripkit.cli.common import app, console_err
from gripkit.cli.options import flag_message
from gripkit.errors import GripkitError

# Subcommand modules register on ``app`` when imported.
from gripkit.cli import demo, hotspots, info, ingest  # noqa: F401  isort: skip
from gripkit.cli import backtest  # noqa: F401  isort: skip
from gripkit.cli import plan  # noqa: F401  isort: skip
from gripkit.cli import publish  # noqa: F401  isort: skip
from gripkit.cli import gps  # noqa: F401  isort: skip
from gripkit.cli import serve  # noqa: F401  isort: skip
from gripkit.cli import users  # noqa: F401  isort: skip
from gripkit.cli import report  # noqa: F401  isort: skip
from gripkit.cli import evaluate  # noqa: F401  isort: skip
from gripkit.cli import allocate  # noqa: F401  isort: skip
from gripkit.cli import national  # noqa: F401  isort: skip
from gripkit.cli import harm  # noqa: F401  isort: skip
from gripkit.cli import sources  # noqa: F401  isort: skip
from gripkit.cli import emerging  # noqa: F401  isort: skip
from gripkit.cli import fetch  # noqa: F401  isort: skip
from gripkit.cli import audit  # noqa: F401  isort: skip
from gripkit.cli import returns  # noqa: F401  isort: skip
from gripkit.cli import match  # noqa: F401  isort: skip


def main() -> None:
    """Entry point of the ``gripkit`` console script."""
    try:
        app()
    except GripkitError as exc:
        # one line however long (soft_wrap): a script greps it, a terminal wraps it anyway
        message = flag_message(str(exc), command_flags())
        console_err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
        _leave(1)
    except SystemExit as exc:  # how Typer ends every command, 0 included
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
            _leave(1)
        _leave(exc.code or 0)
    except Exception as exc:  # a bug: one line for the user, the traceback in a log file
        log = crash_log(exc)
        command = " ".join(w for w in sys.argv[1:2] if not w.startswith("-")) or "gripkit"
        where = f"the traceback is in {log}" if log else "no log file could be written"
        console_err.print(
            f"error: gripkit {command} failed unexpectedly ({type(exc).__name__}: {_first_line(exc)}); "
            f"{where}. Work already committed is kept; please report this with the log.",
            highlight=False, soft_wrap=True, markup=False,
        )
        _leave(INTERNAL_ERROR)
    _leave(0)


#: Exit code of an unexpected failure (a bug), as BSD's ``EX_SOFTWARE``; see docs/cli.md.
INTERNAL_ERROR = 70


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no message"


def crash_dir() -> Path:
    """Where crash logs go: ``$XDG_STATE_HOME/gripkit/crashes`` (default ``~/.local/state/...``)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "gripkit" / "crashes"


def crash_log(exc: BaseException) -> Path | None:
    """Write ``exc``'s traceback (and the command line) to a new file in :func:`crash_dir`, or in the
    temporary folder if that cannot be written; its path, or None if neither can."""
    import tempfile
    import time
    import traceback

    text = f"gripkit {' '.join(sys.argv[1:])}\n\n" + "".join(traceback.format_exception(exc))
    name = f"crash-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    for folder in (crash_dir(), Path(tempfile.gettempdir()) / "gripkit-crashes"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def _leave(code: int) -> NoReturn:
    """Exit without tearing the interpreter down.

    Every command has closed what it opened (workspace, worker pools, output files) when it returns;
    what remains is Python's finalisation, which frees every object of pandas, DuckDB, Arrow and
    the geospatial stack one by one: 0.4-0.7 s after a national run, measured with strace (no system
    call in between). The exit handlers still run, and the standard streams are flushed.
    """
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or broken pipe: nothing to flush to
            stream.flush()
    os._exit(code)


__all__ = ["app", "main"]


def command_flags(argv: list[str] | None = None) -> dict[str, str]:
    """Python parameter name -> long flag of the command named in ``argv`` (default sys.argv).

    Library errors name parameters (``'cell_size'``); the CLI prints them as flags (``--cell-size``).
    """
    import typer.main

    words = [w for w in (sys.argv[1:] if argv is None else argv) if not w.startswith("-")]
    group = typer.main.get_command(app)
    command = getattr(group, "commands", {}).get(words[0]) if words else None
    while command is not None and hasattr(command, "commands") and len(words) > 1:
        words = words[1:]
        command = command.commands.get(words[0])
    flags: dict[str, str] = {}
    for param in getattr(command, "params", []) if command is not None else []:
        long = [o for o in param.opts if o.startswith("--")]
        if param.name and long:
            flags[param.name] = long[0]
    return flags
