"""Shared CLI pieces: the Typer app, consoles, logging, the workspace option, progress bars."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from gripkit.progress import Progress
from gripkit.workspace import ENV_VAR, Workspace, default_path

app = typer.Typer(
    name="gripkit",
    help="Evidence-based hotspot policing: ingest police.uk data, weight harm, find hotspots.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts say "[default: ...]"; not Rich markup
)
console = Console()
console_err = Console(stderr=True)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar=ENV_VAR,
        help=f"DuckDB workspace file [default: ./gripkit.duckdb, or ${ENV_VAR}].",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout and nothing else.")]


def setup_logging(quiet: bool = False) -> None:
    """Announce auto-chosen values (logger ``gripkit``, INFO) on stderr."""
    logger = logging.getLogger("gripkit")
    logger.handlers.clear()
    handler = RichHandler(console=console_err, show_time=False, show_path=False, markup=False)
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)


def open_workspace(path: Path | None, *, read_only: bool = False) -> Workspace:
    """Open the workspace at ``path`` (or the default), announcing which file is used."""
    target = path if path is not None else default_path()
    logging.getLogger("gripkit").debug("workspace %s", target)
    return Workspace(target, read_only=read_only)


def print_json(payload: Any) -> None:
    """Write one JSON object to stdout."""
    typer.echo(json.dumps(payload, default=str))


@contextmanager
def progress_bar(label: str, *, enabled: bool = True) -> Iterator[Progress]:
    """A Rich progress bar on stderr; yields ``update(done, total, name)`` (a :data:`Progress`).

    Draws nothing (the callback does nothing) when ``enabled`` is False (``--json``) or standard
    error is not a terminal (a pipe, a file, CI), so logs and captured output stay clean.
    """
    if not enabled or not console_err.is_terminal:
        yield lambda done, total, name: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[name]}", style="dim"),
    )
    with RichProgress(*columns, console=console_err, transient=True) as bar:
        task = bar.add_task(label, total=None, name="")

        def update(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, name=Path(name.split("!")[-1]).name)

        yield update
