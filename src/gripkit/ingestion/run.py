"""Ingest files into the workspace: discover, parse, check, and store in atomic batches.

Every street row read is either loaded into ``crimes`` or stored in ``quarantine`` with its raw text
and a reason; a file that is not a crime file is rejected whole, named, and the batch goes on. A file
already ingested (same SHA-256 as any version ever ingested) adds nothing, so running the same
command again changes nothing; a corrected file (same force, month and kind, other content)
replaces the active version in the same transaction that loads it, unless it would drop more than
:data:`~gripkit.ingestion.versions.MAX_SHRINK` of its rows (held back, see
:mod:`gripkit.ingestion.versions`). Files are applied in command-line order (folders and zips
expanded in sorted order). Files are checked and committed in batches of about ``batch_rows``
rows: a killed ingest keeps the committed batches and running it again completes the rest. Two
ingests into one workspace file take turns batch by batch (:mod:`gripkit.ingestion.writer` reads
the workspace afresh in each batch's transaction): the result is that of one ingest.

Two pipelines give the same result. Threads (small inputs, in-memory workspaces): worker threads
read and parse files ahead (Arrow's parser releases the GIL), the calling thread checks each batch
and a writer thread stores the previous one. Processes (large inputs into a workspace file, see
:mod:`gripkit.ingestion.staged`): spawned workers parse and check, the calling thread only stores.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import asdict
from functools import partial
from pathlib import Path

from gripkit.ingestion import staged
from gripkit.ingestion.discover import InputFile, discover
from gripkit.ingestion.generic import ColumnMapping
from gripkit.ingestion.load import Loaded, Pending, check, load
from gripkit.ingestion.report import IngestReport
from gripkit.ingestion.writer import Known, Writer, known_state
from gripkit.progress import Progress
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")
_THREADS = 2
UNCHANGED = "unchanged since ingested (same path and stamp); not re-read"
_PREFETCH = 4
_STATUS_NOTES = {
    "superseded": "; superseded since: `gripkit sources restore` makes a version active again",
    "held": "; held back: pass 'accept_shrink' to apply it",
}


def _threaded(
    files: list[InputFile], mapping: ColumnMapping | None, known: frozenset[str]
) -> Generator[Loaded, None, None]:
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
    accept_shrink: bool = False,
    store: bool = True,
) -> IngestReport:
    """Ingest police.uk files (or, with ``mapping``, a force's own CSVs) into ``workspace``.

    Parameters
    ----------
    paths
        Files, folders (searched recursively) and zip archives, in any mix; applied in this order
        (a folder's or zip's files in sorted order, street files first), so of two versions of a
        month the later one given replaces the earlier.
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
    accept_shrink
        Apply corrected files even when they drop more than
        :data:`~gripkit.ingestion.versions.MAX_SHRINK` (20%) of the active version's rows (also
        those held back by an earlier run). By default such a file is stored but held back, and
        reported (``held_files``, the summary, a warning).
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
    files = command_line_order(discover(inputs), inputs)
    report = IngestReport(files=len(files))
    writer = Writer(workspace, report, accept_shrink=accept_shrink)
    by_sha, stamps = known_state(workspace)  # a snapshot to skip work early; the writer re-checks
    known = frozenset(by_sha)  # files committed before this run: hashed, not parsed
    if not rehash:
        files = _skip_unchanged(files, stamps, report, accept_shrink)
    processes = choose_workers(files, workspace, workers)
    source = (
        staged.staged(files, mapping, known, processes) if processes else _threaded(files, mapping, known)
    )
    batch: list[Pending | Known] = []
    batch_size = 0  # rows in ``batch``, kept as files come (summing per file made many files quadratic)
    seen: dict[str, str] = {}
    # closing: a failed write ends the reading generator at once (its workers leave with it)
    with closing(source), ThreadPoolExecutor(max_workers=1) as writer_thread:
        writing: Future[None] | None = None

        def flush(items: list[Pending | Known]) -> Future[None] | None:
            # a no-op for files checked by worker processes
            check([p for p in items if isinstance(p, Pending)], mapping)
            if writing is not None:
                writing.result()  # keep order, and surface a failed write before going on
            return writer_thread.submit(writer.write, items) if items else None

        for done, loaded in enumerate(source, start=1):
            pending = _accept(loaded, by_sha, report, seen, accept_shrink)
            if pending is not None:
                batch.append(pending)
                batch_size += pending.rows
            if batch_size >= batch_rows:
                writing = flush(batch)
                batch, batch_size = [], 0
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
        accept_shrink=accept_shrink,
        files=report.files,
        workspace=workspace.path,
        **report.describe(),
    )
    if store:  # after the last batch's commit, in its own transaction
        workspace.save_result(report)
        workspace.yield_to_waiting()
    return report


def command_line_order(files: list[InputFile], inputs: list[str]) -> list[InputFile]:
    """``files`` (as :func:`discover` sorts them) reordered by the input each came from, stably.

    >>> a, b = InputFile("/b/x.csv", "x.csv", "/b/x.csv"), InputFile("/a/y.csv", "y.csv", "/a/y.csv")
    >>> [f.display for f in command_line_order([b, a], ["/b", "/a"])]
    ['/b/x.csv', '/a/y.csv']
    """
    roots = [Path(p).absolute() for p in inputs]

    def origin(file: InputFile) -> int:
        path = Path(file.path)
        for i, root in enumerate(roots):
            if path == root or root in path.parents:
                return i
        return len(roots)

    return sorted(files, key=origin)


def _skip_unchanged(
    files: list[InputFile], stamps: dict[tuple[str, str], str], report: IngestReport, accept_shrink: bool
) -> list[InputFile]:
    """Files to read: those whose (path, stamp) is not an ingested source's; the others skipped.

    With ``accept_shrink`` a held-back file is read again, so that it can be applied.
    """
    todo = []
    for file in files:
        status = stamps.get((file.display, file.stamp)) if file.stamp else None
        if status is not None and not (accept_shrink and status == "held"):
            report.skipped_files.append({"path": file.display, "reason": UNCHANGED})
        else:
            todo.append(file)
    if len(todo) < len(files):
        log.info("ingest: %d of %d files unchanged since ingested (same size and modification time, or zip "
                 "CRC-32), not re-read; --rehash reads and hashes them", len(files) - len(todo), len(files))
    return todo


def _accept(
    loaded: Loaded,
    by_sha: dict[str, tuple[str, str]],
    report: IngestReport,
    seen: dict[str, str],
    accept_shrink: bool,
) -> Pending | Known | None:
    """The file's work for the writer, or None after recording why it is rejected or skipped."""
    file = loaded.file
    version = by_sha.get(loaded.sha256)
    if loaded.sha256 and version is not None and version[1] == "held" and accept_shrink:
        if loaded.sha256 in seen:
            return None  # the same held-back file twice: the first one applies it
        seen[loaded.sha256] = file.display
        return Known(file, loaded.sha256)  # applied in order, in the writer's transaction
    earlier = version[0] if version is not None else seen.get(loaded.sha256)
    if loaded.sha256 and earlier is not None:
        note = _STATUS_NOTES.get(version[1], "") if version is not None else ""
        report.skipped_files.append(
            {"path": file.display, "reason": f"already ingested (same SHA-256 as {earlier}){note}"}
        )
        return None
    if loaded.error is not None or loaded.pending is None:
        report.reject(file.display, loaded.error or "unreadable")
        log.warning("%s", loaded.error)
        return None
    seen[loaded.sha256] = file.display
    return loaded.pending
