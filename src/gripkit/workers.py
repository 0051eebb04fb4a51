"""Worker processes (standard library ``ProcessPoolExecutor``), forked where that is safe.

On Linux workers are *forked*: a fork costs milliseconds and the child inherits every imported
module and the parent's data, where a spawned worker is a fresh interpreter that needs about 2-3 s
on 2 cores to import the geospatial stack. The parent may hold DuckDB's (and Arrow's) threads
when it forks; the children never call DuckDB (they parse, check and compute with Python, Arrow,
NumPy, pandas and Shapely, whose allocators and thread pools re-initialise after a fork) and leave
with ``os._exit``, as every ``multiprocessing`` fork child does, so no inherited connection is
flushed or closed twice. Elsewhere (macOS, Windows) workers are spawned.

Every worker leaves when its parent dies, so a killed run leaves no orphan behind.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from gripkit.errors import WorkerError
from gripkit.locking import pid_alive

#: How worker processes start: "fork" on Linux, else "spawn".
START_METHOD = "fork" if sys.platform == "linux" else "spawn"


def forking() -> bool:
    """True when workers are forked (cheap to start), False when they are spawned."""
    return START_METHOD == "fork"


def process_pool(
    processes: int,
    setup: Callable[..., None] | None = None,
    setup_args: tuple[Any, ...] = (),
    *,
    start_method: str | None = None,
) -> ProcessPoolExecutor:
    """A pool of ``processes`` workers that leave with their parent; ``setup(*setup_args)`` runs in each.

    ``start_method`` overrides :data:`START_METHOD`: a long-running multi-threaded parent (the
    dashboard server, whose threads hold DuckDB and the event loop) passes ``"spawn"``, since a
    fork copies only the forking thread and any lock another thread held.

    Examples
    --------
    >>> with process_pool(1) as pool:
    ...     pool.submit(pow, 2, 10).result()
    1024
    """
    context = multiprocessing.get_context(start_method or START_METHOD)
    return ProcessPoolExecutor(processes, mp_context=context, initializer=_start,
                               initargs=(os.getpid(), setup, setup_args))


@contextmanager
def worker_deaths(doing: str) -> Iterator[None]:
    """Turn a dead worker (``BrokenProcessPool``) into a :class:`WorkerError` saying what to do.

    Examples
    --------
    >>> import os
    >>> with worker_deaths("testing"), process_pool(1) as pool:
    ...     pool.submit(os._exit, 1).result()
    Traceback (most recent call last):
    gripkit.errors.WorkerError: a worker process died while testing ...
    """
    try:
        yield
    except BrokenProcessPool as exc:
        raise WorkerError(
            f"a worker process died while {doing} ({exc}); the system may have stopped it for lack "
            "of memory. Free memory, or run the same command again with --workers 1 (one process, "
            "less memory); work already committed is kept."
        ) from exc


def _start(parent: int, setup: Callable[..., None] | None, setup_args: tuple[Any, ...]) -> None:
    exit_with_parent(parent)
    if setup is not None:
        setup(*setup_args)


def exit_with_parent(parent: int) -> None:
    """Worker initializer: exit when ``parent`` dies (a killed run leaves no worker behind)."""

    def watch() -> None:
        while pid_alive(parent):
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="gripkit-parent-watch").start()
