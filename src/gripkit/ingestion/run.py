"""Ingest files into the workspace: discover, parse, check, and store in atomic batches.

Every street row read is either loaded into ``crimes`` or stored in ``quarantine`` with its raw text
and a reason; a file that is not a crime file is rejected whole, named, and the batch goes on. A file
already ingested (same SHA-256) adds nothing; a corrected file (same force, month and kind, other
content) replaces its earlier version in the same transaction that loads it. Files are checked
and committed in batches of about ``batch_rows`` rows: a killed ingest keeps the committed batches
and running it again completes the rest.

Two pipelines give the same result. Threads (small inputs, in-memory workspaces): worker threads
read and parse files ahead (Arrow's parser releases the GIL), the calling thread checks each batch
and a writer thread stores the previous one. Processes (large inputs into a workspace file, see
:mod:`gripkit.ingestion.staged`): spawned workers parse and check, the calling thread only stores.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from functools import partial
from pathlib import Path

from gripkit.ingestion import staged
from gripkit.ingestion.discover import InputFile, discover
from gripkit.ingestion.generic import ColumnMapping
from gripkit.ingestion.load import Loaded, Pending, check, load
from gripkit.ingestion.report import IngestReport
from gripkit.ingestion.writer import Writer
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")
Progress = Callable[[int, int, str], None]
_THREADS = 2
UNCHANGED = "unchanged since ingested (same path and stamp); not re-read"
_PREFETCH = 4


def _threaded(
    files: list[InputFile], mapping: ColumnMapping | None, known: frozenset[str]
) -> Iterator[Loaded]:
    """Loaded (parsed, not yet checked) files in input order, read ahead by worker threads."""
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        yield from staged.in_order(pool, partial(load, mapping=mapping, known=known), files, ahead=_PREFETCH)


def choose_workers(files: list[InputFile], workspace: Workspace, workers: int | None) -> int:
    """Worker processes to read ``files`` with (0: threads in this process).

    ``workers`` if given, for inputs of :data:`~gripkit.ingestion.staged.MIN_PROCESS_BYTES` or more
    (below that starting processes costs more than it saves); None: the CPU count for inputs of
    :data:`~gripkit.ingestion.staged.PROCESS_THRESHOLD_BYTES` or more into a workspace file
    (announced), else 0.
    """
    size = sum(f.size for f in files)
    if workers is not None:
        return max(0, workers) if size >= staged.MIN_PROCESS_BYTES else 0
    if workspace.path == ":memory:" or size < staged.PROCESS_THRESHOLD_BYTES:
        return 0
    chosen = os.cpu_count() or 1
    log.info("ingest: %d files, %.0f MB: parsing and checking in %d worker processes (--workers to change)",
             len(files), size / 1e6, chosen)
    return chosen


def ingest(
    paths: Iterable[str | Path],
    workspace: Workspace,
    *,
    mapping: ColumnMapping | None = None,
    batch_rows: int = 60_000,
    progress: Progress | None = None,
    workers: int | None = None,
    rehash: bool = False,
    store: bool = True,
) -> IngestReport:
    """Ingest police.uk files (or, with ``mapping``, a force's own CSVs) into ``workspace``.

    Parameters
    ----------
    paths
        Files, folders (searched recursively) and zip archives, in any mix.
    workspace
        An open :class:`~gripkit.workspace.Workspace`.
    mapping
        Column mapping for a force's own CSV (see :class:`~gripkit.ingestion.generic.ColumnMapping`);
        None reads police.uk files.
    batch_rows
        Rows per transaction: each batch of files is checked and committed atomically.
    progress
        Called as ``progress(done, total, name)`` after each file.
    workers
        Worker processes for parsing and checking (0: threads in this process), used for inputs of
        32 MB or more. None chooses: processes for inputs of
        :data:`~gripkit.ingestion.staged.PROCESS_THRESHOLD_BYTES` or more into a workspace file (32 MB
        where workers are forked, i.e. Linux; 512 MB where they are spawned; announced), else
        threads.
    rehash
        Read and hash every file. By default a file whose path and stamp (size and modification
        time, or a zip member's size and CRC-32) match an ingested one is skipped unread.
    store
        Store the :class:`IngestReport` in ``workspace`` (kind ``"ingest"``, with its per-file
        table) after the last batch is committed, for the report and the dashboard.

    Examples
    --------
    >>> from gripkit import Workspace, datasets
    >>> from gripkit.ingestion import ingest
    >>> ws = Workspace(":memory:")
    >>> report = ingest(datasets.bedfordshire_street_files()[:1], ws)
    >>> report.crimes.read == report.crimes.loaded + report.crimes.quarantined
    True
    >>> ws.latest_result("ingest").summary == report.summary()
    True
    """
    started = time.perf_counter()
    inputs = [str(p) for p in paths]
    files = discover(inputs)
    report = IngestReport(files=len(files))
    writer = Writer(workspace, report)
    known = frozenset(writer.known_sha)  # files committed before this run: hashed, not parsed
    if not rehash:
        files = _skip_unchanged(files, writer, report)
    processes = choose_workers(files, workspace, workers)
    source = (
        staged.staged(files, mapping, known, processes) if processes else _threaded(files, mapping, known)
    )
    batch: list[Pending] = []
    seen: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=1) as writer_thread:
        writing: Future[None] | None = None

        def flush(items: list[Pending]) -> Future[None] | None:
            check(items, mapping)  # a no-op for files checked by worker processes
            if writing is not None:
                writing.result()  # keep order, and surface a failed write before going on
            return writer_thread.submit(writer.write, items) if items else None

        for done, loaded in enumerate(source, start=1):
            pending = _accept(loaded, writer, report, seen)
            if pending is not None:
                batch.append(pending)
            if sum(p.rows for p in batch) >= batch_rows:
                writing = flush(batch)
                batch = []
            if progress is not None:
                progress(done, len(files), loaded.file.display)
        writing = flush(batch)
        if writing is not None:
            writing.result()
    report.seconds = time.perf_counter() - started
    report.meta.update(
        inputs=inputs,
        format="csv" if mapping is not None else "police.uk",
        mapping=asdict(mapping) if mapping is not None else None,
        batch_rows=batch_rows,
        workers=processes,
        rehash=rehash,
        files=report.files,
        workspace=workspace.path,
        **report.describe(),
    )
    if store:  # after the last batch's commit, in its own transaction
        workspace.save_result(report)
        workspace.yield_to_waiting()
    return report


def _skip_unchanged(files: list[InputFile], writer: Writer, report: IngestReport) -> list[InputFile]:
    """Files to read: those whose (path, stamp) is not an ingested source's; the others skipped."""
    todo = []
    for file in files:
        if file.stamp and (file.display, file.stamp) in writer.known_stamps:
            report.skipped_files.append({"path": file.display, "reason": UNCHANGED})
        else:
            todo.append(file)
    if len(todo) < len(files):
        log.info("ingest: %d of %d files unchanged since ingested (same size and modification time, or zip "
                 "CRC-32), not re-read; --rehash reads and hashes them", len(files) - len(todo), len(files))
    return todo


def _accept(loaded: Loaded, writer: Writer, report: IngestReport, seen: dict[str, str]) -> Pending | None:
    """The file's pending work, or None after recording why it is rejected or skipped."""
    file = loaded.file
    earlier = writer.known_sha.get(loaded.sha256) or seen.get(loaded.sha256)
    if loaded.sha256 and earlier is not None:
        report.skipped_files.append(
            {"path": file.display, "reason": f"already ingested (same SHA-256 as {earlier})"}
        )
        return None
    if loaded.error is not None or loaded.pending is None:
        report.reject(file.display, loaded.error or "unreadable")
        log.warning("%s", loaded.error)
        return None
    seen[loaded.sha256] = file.display
    return loaded.pending
