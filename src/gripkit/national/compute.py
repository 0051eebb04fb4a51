"""Every force's row from one read of the workspace: in-process, or on worker processes.

Worker processes come from :func:`gripkit.workers.process_pool`: forked on Linux, where a fork costs
milliseconds and the children inherit the forces' data and every imported module (nothing is
pickled but the rows coming back); a spawned worker needs about 3 s to start and its data pickled.
A pool is used for :data:`FORK_MIN_CRIMES` crimes or more when forking (else :data:`SPAWN_MIN_CRIMES`);
below that the stage is short and runs in-process. Each force is one task, largest first, so the
workers stay balanced.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from concurrent.futures import as_completed
from contextlib import contextmanager
from typing import Any

from threadpoolctl import threadpool_limits

from gripkit.harm import HarmTable
from gripkit.national.force import ForceData, NationalParams, read_forces, summarise_data
from gripkit.progress import Progress
from gripkit.workers import forking, process_pool, worker_deaths
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")

#: Fewest crimes (in the windows of the forces to compute) for which the rows are computed on
#: forked workers. Forking costs ~0.05 s per worker, while the rows cost about 0.1 s per force
#: plus 0.6 us per crime in-process. Measured on 2 cores, 43 forces, 2.3M crimes: 6.8 s in-process,
#: 3.9 s on 2 forked workers.
FORK_MIN_CRIMES = 100_000
#: The same where fork is not available: a spawned worker costs about 3 s to start, more than the
#: whole national stage (43 forces, 2.3M crimes) saves on 2 cores.
SPAWN_MIN_CRIMES = 10_000_000

#: What forked workers compute from (set in the parent just before the fork, inherited).
_SHARED: dict[str, Any] = {}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (it is restored, not forced on, afterwards).

    The per-force work allocates about a million short-lived objects (grid cells and their ids),
    which triggers collections that walk every live object each time; on the national replica
    (43 forces, 18M rows) they took 1 to 1.5 s of a 5 to 6.5 s stage. The work makes no reference
    cycles to collect (a collection afterwards finds none).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compute_rows(
    ws: Workspace,
    forces: list[str],
    params: NationalParams,
    table: HarmTable | None,
    workers: int,
    progress: Progress | None = None,
) -> dict[str, dict[str, Any]]:
    """``{force: row}`` for ``forces``: one read of the workspace, then each row from its force's data.

    ``workers`` is the most processes to use (1: in-process). Before workers are forked, the
    workspace is checkpointed (:meth:`Workspace.checkpoint`; after a monthly ingest ~0.8 s, which
    DuckDB would otherwise do at the next commit, in a parent whose pages the children share: every
    page it then writes is copied, and the same checkpoint took 1.4-2.4 s while the workers ran).
    ``progress(done, len(forces), force)`` is called as each force's row is finished.
    """
    if not forces:
        return {}
    data = read_forces(ws, forces, params.last)
    crimes = sum(d.n_crimes for d in data.values())
    processes = min(workers, len(forces))
    can_fork = forking()
    if processes <= 1 or crimes < (FORK_MIN_CRIMES if can_fork else SPAWN_MIN_CRIMES):
        # one BLAS thread: per-force arrays are small, and BLAS threads spinning between calls took
        # a second core (43 forces, 2 cores: 6.8 s with OpenBLAS's default, 5.4 s with one thread)
        rows = {}
        with gc_paused(), threadpool_limits(limits=1, user_api="blas"):
            for done, f in enumerate(forces, start=1):
                rows[f] = summarise_data(data[f], params, workspace=ws.path, table=table)
                if progress is not None:
                    progress(done, len(forces), f)
        return rows
    log.info("computing %d forces' rows on %d worker processes", len(forces), processes)
    largest_first = sorted(forces, key=lambda f: -data[f].n_crimes)
    ws.checkpoint()
    _SHARED.update(data=data, params=params, table=table, workspace=ws.path)
    try:
        with worker_deaths("computing the forces' rows"), process_pool(processes, _worker_setup) as pool:
            if can_fork:
                futures = {f: pool.submit(_forked_row, f) for f in largest_first}
            else:
                futures = {f: pool.submit(summarise_data, data[f], params, workspace=ws.path, table=table)
                           for f in largest_first}
            if progress is not None:
                named = {future: f for f, future in futures.items()}
                for done, future in enumerate(as_completed(named), start=1):
                    progress(done, len(forces), named[future])
            return {f: futures[f].result() for f in forces}
    finally:
        _SHARED.clear()


def _worker_setup() -> None:
    """No cyclic GC and one BLAS thread in each worker, as in-process."""
    gc.disable()
    _SHARED["limits"] = threadpool_limits(limits=1, user_api="blas")


def _forked_row(force: str) -> dict[str, Any]:
    data: ForceData = _SHARED["data"][force]
    return summarise_data(data, _SHARED["params"], workspace=_SHARED["workspace"], table=_SHARED["table"])

