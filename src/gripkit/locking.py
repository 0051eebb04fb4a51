"""Taking turns on a workspace file between processes (an ingest, a report, the dashboard).

DuckDB lets one process open a database file for writing, or several processes for reading,
never both at once (https://duckdb.org/docs/stable/connect/concurrency). gripkit takes turns
instead of failing: a process that finds the file locked leaves a marker in ``<file>.waiting/``
and retries until the lock is free (up to ``wait`` seconds, default :data:`DEFAULT_WAIT_S` or
``$GRIPKIT_LOCK_WAIT``). A long-running writer (ingest, dashboard) calls
:meth:`gripkit.workspace.Workspace.yield_to_waiting` between transactions: when a marker is
present it closes its connection, lets the waiting process in and reconnects on its next use. A
reader therefore only ever sees whole committed batches: consistent snapshots.

Example
-------
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "w.duckdb")
>>> con = connect(path, read_only=False, wait=1.0)
>>> waiting(path)
False
>>> con.close()
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

import duckdb

from gripkit.errors import WorkspaceError

log = logging.getLogger("gripkit")
WAIT_ENV = "GRIPKIT_LOCK_WAIT"
#: Seconds a process waits for another to release the workspace before giving up.
DEFAULT_WAIT_S = 300.0
#: Seconds a yielding writer waits for the waiting processes to get in before it goes on.
HANDOVER_S = 5.0


def default_wait() -> float:
    """``$GRIPKIT_LOCK_WAIT`` seconds, else :data:`DEFAULT_WAIT_S`."""
    raw = os.environ.get(WAIT_ENV)
    try:
        return float(raw) if raw else DEFAULT_WAIT_S
    except ValueError as exc:
        raise WorkspaceError(f"${WAIT_ENV} must be a number of seconds; received {raw!r}.") from exc


def _folder(path: str) -> Path:
    return Path(f"{path}.waiting")


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` exists (ours or not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def waiting(path: str) -> bool:
    """True when a live process waits for ``path`` (markers of dead processes are removed)."""
    folder = _folder(path)
    if not folder.is_dir():
        return False
    found = False
    for marker in folder.iterdir():
        pid = marker.name.split("-", 1)[0]
        if pid.isdigit() and pid_alive(int(pid)):
            found = True
        else:
            marker.unlink(missing_ok=True)
    return found


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


def connect(path: str, *, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    """Open ``path``, waiting up to ``wait`` seconds while another process holds it.

    DuckDB's own progress bar is switched off: it prints to standard output for queries over 2 s,
    which would corrupt ``--json`` output (gripkit reports progress itself, on standard error).
    """
    deadline = time.monotonic() + wait
    marker: Path | None = None
    delay = 0.02
    try:
        while True:
            try:
                con = duckdb.connect(path, read_only=read_only)
                con.execute("SET enable_progress_bar = false")
                return con
            except duckdb.IOException as exc:
                if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                    raise
                if marker is None:
                    log.info("workspace %s is in use by another process; waiting up to %.0f s", path, wait)
                    marker = _folder(path) / f"{os.getpid()}-{uuid.uuid4().hex}"
                    marker.parent.mkdir(exist_ok=True)
                    marker.touch()
                time.sleep(delay)
                delay = min(delay * 1.5, 0.2)
    finally:
        if marker is not None:
            marker.unlink(missing_ok=True)


def hand_over(path: str) -> None:
    """After closing: wait (up to :data:`HANDOVER_S`) until the waiting processes have got in."""
    deadline = time.monotonic() + HANDOVER_S
    while waiting(path) and time.monotonic() < deadline:
        time.sleep(0.01)
