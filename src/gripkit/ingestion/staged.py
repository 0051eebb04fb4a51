"""Process pipeline: worker processes read, parse and check files; the writer memory-maps the rows.

Parsing and checking are CPU-bound Python/Arrow work; on a large input (a national police.uk
archive, or a monthly update of all forces) they run in worker processes of
:func:`gripkit.workers.process_pool` (forked on Linux, each taking a few files at a time), which
leaves the parent free for DuckDB's inserts. A worker writes
each checked file's rows and quarantine to Arrow IPC files in a staging folder and returns only
their paths and counts; the parent memory-maps them (no copy through a pipe), inserts them in its
batch transaction and deletes them. Results come back in input order, so the outcome (what is
loaded, quarantined, skipped or replaced) is the same as the thread pipeline's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import TypeVar

import pyarrow as pa

from gripkit.errors import WorkspaceError
from gripkit.ingestion.checks import warm_caches
from gripkit.ingestion.discover import InputFile
from gripkit.ingestion.generic import ColumnMapping
from gripkit.ingestion.load import Loaded, check, load
from gripkit.ingestion.records import FileResult
from gripkit.locking import pid_alive
from gripkit.workers import forking, process_pool, worker_deaths

#: Files per worker task (police.uk force-month files hold ~2k-30k rows each).
FILES_PER_TASK = 4
#: Staging folders are ``<TMPDIR>/gripkit-ingest-<pid>-<random>``; the pid names their owner.
STAGING_PREFIX = "gripkit-ingest-"
T = TypeVar("T")
R = TypeVar("R")
#: Input size from which :func:`gripkit.ingestion.ingest` uses worker processes by default: forked
#: (Linux), 32 MB; spawned, 512 MB. Measured on 2 cores, a monthly update of 43 forces (148 MB,
#: 682k rows): threads 4.3-4.6 s, 2 forked workers ~2.5 s; spawned workers cost ~2-3 s to start
#: (a 280 MB update: threads 6.2 s, spawned processes 7.7 s), and only pay off above ~0.5 GB.
PROCESS_THRESHOLD_BYTES = (32 if forking() else 512) * 1024 * 1024
#: Input size below which even an explicit ``workers`` count reads in threads (a few files: the
#: staging round trip through Arrow IPC files costs more than the second core saves).
MIN_PROCESS_BYTES = 32 * 1024 * 1024


@dataclass
class Spilled:
    """A checked file's result, its tables stored as Arrow IPC files."""

    kind: str
    table: str
    quarantine: str
    force: str | None
    month: date | None
    notes: list[str]
    format: str = ""

    def restore(self) -> FileResult:
        """The :class:`FileResult`, its tables memory-mapped (the files can be deleted afterwards)."""
        return FileResult(self.kind, _read(self.table), _read(self.quarantine), self.force, self.month,
                          self.notes, self.format)

    def remove(self) -> None:
        """Delete the IPC files (memory-mapped tables stay readable until released)."""
        for path in (self.table, self.quarantine):
            Path(path).unlink(missing_ok=True)


def _write(table: pa.Table, folder: str) -> str:
    path = os.path.join(folder, f"{uuid.uuid4().hex}.arrow")
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return path


def _read(path: str) -> pa.Table:
    with pa.memory_map(path) as source:
        return pa.ipc.open_file(source).read_all()


def spill(result: FileResult, folder: str) -> Spilled:
    """Store a result's tables in ``folder``."""
    return Spilled(result.kind, _write(result.table, folder), _write(result.quarantine, folder),
                   result.force, result.month, list(result.notes), result.format)


def stage(files: list[InputFile], mapping: ColumnMapping | None, known: frozenset[str],
          folder: str) -> list[tuple[Loaded, Spilled | None]]:
    """Worker-process task: load and check ``files``, spilling each checked result to ``folder``."""
    loaded = [load(f, mapping, known) for f in files]
    pending = [item.pending for item in loaded if item.pending is not None]
    check(pending, mapping)
    out: list[tuple[Loaded, Spilled | None]] = []
    for item in loaded:
        spilled = None
        if item.pending is not None and item.pending.result is not None:
            spilled = spill(item.pending.result, folder)
            item.pending.result = None  # travels as files, not through the pipe
        out.append((item, spilled))
    return out


def _restored(item: Loaded, spilled: Spilled | None) -> Loaded:
    if spilled is not None and item.pending is not None:
        item.pending.result = spilled.restore()  # its key was set by the worker's check
        spilled.remove()
    return item


def remove_orphans(parent: str | None = None) -> list[str]:
    """Delete staging folders (``gripkit-ingest-<pid>-*`` in ``parent``, default the temporary
    folder) whose owner process is gone: what a killed ingest left behind. Returns their paths."""
    removed = []
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{STAGING_PREFIX}*"):
        owner = folder.name[len(STAGING_PREFIX):].split("-", 1)[0]
        if folder.is_dir() and owner.isdigit() and not pid_alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(str(folder))
    return removed


def in_order(pool: Executor, fn: Callable[[T], R], tasks: Iterable[T], *, ahead: int,
             size: Callable[[T], int] | None = None, ahead_bytes: int = 0) -> Iterator[R]:
    """``fn(task)`` for each task, run on ``pool`` and yielded in task order.

    At least ``ahead`` tasks are kept submitted ahead of the consumer, and more while the tasks in
    flight hold less than ``ahead_bytes`` of input (by ``size``), so the pool keeps working while
    the consumer is busy (e.g. waiting for a batch to be stored).
    """
    queue: deque[tuple[int, Future[R]]] = deque()
    todo = iter(tasks)
    in_flight = 0

    def fill() -> None:
        nonlocal in_flight
        while len(queue) < ahead or in_flight < ahead_bytes:
            task = next(todo, None)
            if task is None:
                return
            weight = size(task) if size is not None else 0
            queue.append((weight, pool.submit(fn, task)))
            in_flight += weight

    fill()
    while queue:
        weight, future = queue.popleft()
        in_flight -= weight
        result = future.result()
        fill()
        yield result


def staged(files: list[InputFile], mapping: ColumnMapping | None, known: frozenset[str],
           workers: int, ahead_bytes: int = 256 * 1024 * 1024) -> Generator[Loaded, None, None]:
    """Loaded and checked files, in input order, from ``workers`` processes (:mod:`gripkit.workers`).

    Workers run ahead of the consumer by up to ``ahead_bytes`` of input (at least two tasks per
    worker), so they keep parsing while the consumer waits for a batch to be stored.
    """
    if forking():
        warm_caches()  # built once here, inherited by every worker
    chunks = [files[i: i + FILES_PER_TASK] for i in range(0, len(files), FILES_PER_TASK)]
    remove_orphans()
    staging = tempfile.TemporaryDirectory(prefix=f"{STAGING_PREFIX}{os.getpid()}-",
                                          ignore_cleanup_errors=True)
    with staging as folder, worker_deaths("reading and checking files"), process_pool(workers) as pool:
        task = partial(stage, mapping=mapping, known=known, folder=folder)
        try:
            for results in in_order(pool, task, chunks, ahead=2 * workers, ahead_bytes=ahead_bytes,
                                    size=lambda chunk: sum(f.size for f in chunk)):
                for item, spilled in results:
                    yield _restored(item, spilled)
        except OSError as exc:  # reading errors are per file (Loaded.error): this is the spill
            raise WorkspaceError(
                f"cannot write ingest staging files in {folder}: {exc}. Set TMPDIR to a folder "
                "with free space (about the size of the input) or pass --workers 0."
            ) from exc
        finally:  # the consumer failed or stopped early: drop the queued tasks, let workers leave
            pool.shutdown(wait=True, cancel_futures=True)
