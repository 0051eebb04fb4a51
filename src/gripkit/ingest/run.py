"""Ingest files into the workspace: discover, parse, check, and store in atomic batches.

Every street row read is either loaded into ``crimes`` or stored in ``quarantine`` with its raw text
and a reason; a file that is not a crime file is rejected whole, named, and the batch goes on. A file
already ingested (same SHA-256) adds nothing; a corrected file (same force, month and kind, other
content) replaces its earlier version in the same transaction that loads it. Files are checked
and committed in batches of about ``batch_rows`` rows: a killed ingest keeps the committed batches
and running it again completes the rest.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from gripkit.errors import InputError
from gripkit.ingest.decode import decode
from gripkit.ingest.discover import POLICE_UK_NAME, InputFile, discover
from gripkit.ingest.generic import ColumnMapping, check_mapping, read_generic
from gripkit.ingest.policeuk import READERS, detect_kind, expected_header
from gripkit.ingest.records import FileResult, Stack
from gripkit.ingest.report import IngestReport
from gripkit.ingest.table import ParsedTable, parse
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")
Progress = Callable[[int, int, str], None]
_SOURCES_SCHEMA = pa.schema(
    [
        ("source_id", pa.int32()),
        ("path", pa.string()),
        ("name", pa.string()),
        ("sha256", pa.string()),
        ("kind", pa.string()),
        ("format", pa.string()),
        ("source_key", pa.string()),
        ("force", pa.string()),
        ("month", pa.date32()),
        ("encoding", pa.string()),
        ("rows_read", pa.int64()),
        ("rows_loaded", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("status", pa.string()),
        ("ingested_at", pa.timestamp("us")),
        ("note", pa.string()),
    ]
)
_WORKERS = 2
_PREFETCH = 4
_TABLES = {"street": "crimes", "csv": "crimes", "outcomes": "outcomes", "stop-and-search": "stop_search"}


@dataclass
class _Pending:
    file: InputFile
    sha256: str
    encoding: str
    parsed: ParsedTable
    kind: str
    result: FileResult | None = None
    key: str = ""


def _source_key(file: InputFile, result: FileResult) -> str:
    if result.kind == "csv":
        return f"csv:{Path(file.name).name}"
    match = POLICE_UK_NAME.search(file.name)
    force = result.force or (match.group("force") if match else file.name)
    month = result.month.strftime("%Y-%m") if result.month else (match.group("month") if match else "?")
    return f"{result.kind}:{force}:{month}"


def _parse_file(file: InputFile, data: bytes, mapping: ColumnMapping | None) -> tuple[ParsedTable, str, str]:
    """Parse one file's bytes; return (parsed, kind, encoding) or raise InputError if not a crime file."""
    decoded = decode(data)
    parsed = parse(decoded)
    if not parsed.header:
        raise InputError(f"{file.display}: the file is empty; expected {expected_header()}.")
    if mapping is not None:
        check_mapping(parsed, mapping, file.display)
        return parsed, "csv", decoded.encoding
    kind = detect_kind(parsed.header)
    if kind is None:
        found = ", ".join(parsed.header[:12]) or "nothing"
        raise InputError(
            f"{file.display}: not a police.uk crime file; expected {expected_header()} "
            f"(or an outcomes/stop-and-search file); found columns: {found}. For a force's own CSV "
            "use --format csv with --map or --col."
        )
    return parsed, kind, decoded.encoding


class _Writer:
    """Checks and writes pending files, one transaction per batch."""

    def __init__(self, ws: Workspace, report: IngestReport, mapping: ColumnMapping | None) -> None:
        self.ws = ws
        self.report = report
        self.mapping = mapping
        row = ws.con.execute("SELECT coalesce(max(source_id), 0) FROM sources").fetchone()
        self.next_id = int(row[0]) + 1 if row else 1
        active = ws.con.execute(
            "SELECT source_id, sha256, source_key, path FROM sources WHERE status = 'active'"
        ).fetchall()
        self.known_sha = {sha: path for _, sha, _, path in active}
        self.by_key = {key: (sid, path) for sid, _, key, path in active}

    def check(self, batch: list[_Pending]) -> None:
        """Run the row checks of a batch (per kind, vectorised over all its files)."""
        for kind in dict.fromkeys(p.kind for p in batch):
            items = [p for p in batch if p.kind == kind]
            stack = Stack([p.parsed for p in items])
            if kind == "csv":
                assert self.mapping is not None
                results = read_generic(stack, self.mapping)
            else:
                results = READERS[kind](stack)
            for item, result in zip(items, results, strict=True):
                item.result = result
                item.key = _source_key(item.file, result)

    def write(self, batch: list[_Pending]) -> None:
        """Store a checked batch in one transaction."""
        if not batch:
            return
        last = {item.key: i for i, item in enumerate(batch)}
        tables: dict[str, list[pa.Table]] = {}
        quarantined: list[pa.Table] = []
        sources: list[dict[str, Any]] = []
        with self.ws.transaction() as con:
            for i, item in enumerate(batch):
                res = item.result
                assert res is not None
                superseded = last[item.key] != i
                self._replace_earlier(con, item)
                sources.append(self._record_source(item, res, "replaced" if superseded else "active"))
                sid = sources[-1]["source_id"]
                if superseded:  # a corrected version follows in this same batch
                    continue
                self.report.add(res)
                ids = pa.array(np.full(res.rows_loaded, sid, dtype=np.int32))
                tables.setdefault(_TABLES[res.kind], []).append(res.table.append_column("source_id", ids))
                quarantined.append(
                    res.quarantine.append_column(
                        "source_id", pa.array(np.full(res.rows_quarantined, sid, dtype=np.int32))
                    )
                )
            self._insert(con, "sources", pa.Table.from_pylist(sources, schema=_SOURCES_SCHEMA))
            for name, parts in tables.items():
                self._insert(con, name, pa.concat_tables(parts, promote_options="permissive"))
            if quarantined:
                self._insert(con, "quarantine", pa.concat_tables(quarantined))

    def _record_source(self, item: _Pending, res: FileResult, status: str) -> dict[str, Any]:
        """The ``sources`` row of a file (written with the batch); assigns its source_id."""
        sid = self.next_id
        self.next_id += 1
        self.by_key[item.key] = (sid, item.file.display)
        self.known_sha[item.sha256] = item.file.display
        return {
            "source_id": sid,
            "path": item.file.display,
            "name": item.file.name,
            "sha256": item.sha256,
            "kind": res.kind,
            "format": "csv" if res.kind == "csv" else "police.uk",
            "source_key": item.key,
            "force": res.force,
            "month": res.month,
            "encoding": item.encoding,
            "rows_read": res.rows_read,
            "rows_loaded": res.rows_loaded,
            "rows_quarantined": res.rows_quarantined,
            "status": status,
            "ingested_at": datetime.now(UTC).replace(tzinfo=None),
            "note": "; ".join(res.notes) or None,
        }

    def _replace_earlier(self, con: Any, item: _Pending) -> None:
        earlier = self.by_key.get(item.key)
        if earlier is None:
            return
        sid, path = earlier
        for table in ("crimes", "quarantine", "outcomes", "stop_search"):
            con.execute(f"DELETE FROM {table} WHERE source_id = ?", [sid])
        con.execute("UPDATE sources SET status = 'replaced', replaced_at = now() WHERE source_id = ?", [sid])
        self.report.replaced_files.append({"path": item.file.display, "replaces": path, "key": item.key})
        log.info("%s replaces %s (same %s, new content)", item.file.display, path, item.key)

    @staticmethod
    def _insert(con: Any, table: str, frame: pa.Table) -> None:
        """Insert an Arrow table, storing blank text as NULL (in DuckDB, on the writer thread)."""
        if frame.num_rows == 0:
            return
        present = set(frame.column_names)
        schema = con.execute(f"DESCRIBE {table}").fetchall()
        names = [name for name, *_ in schema if name in present]
        exprs = [
            f"NULLIF(\"{name}\", '')" if kind == "VARCHAR" and name != "raw" else f'"{name}"'
            for name, kind, *_ in schema
            if name in present
        ]
        con.register("_batch", frame)
        try:
            columns = ", ".join(f'"{n}"' for n in names)
            con.execute(f"INSERT INTO {table} ({columns}) SELECT {', '.join(exprs)} FROM _batch")
        finally:
            con.unregister("_batch")


def ingest(
    paths: Iterable[str | Path],
    workspace: Workspace,
    *,
    mapping: ColumnMapping | None = None,
    batch_rows: int = 60_000,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest police.uk files (or, with ``mapping``, a force's own CSVs) into ``workspace``.

    Parameters
    ----------
    paths
        Files, folders (searched recursively) and zip archives, in any mix.
    workspace
        An open :class:`~gripkit.workspace.Workspace`.
    mapping
        Column mapping for a force's own CSV (see :class:`~gripkit.ingest.generic.ColumnMapping`);
        None reads police.uk files.
    batch_rows
        Rows per transaction: each batch of files is checked and committed atomically.
    progress
        Called as ``progress(done, total, name)`` after each file.

    Examples
    --------
    >>> from gripkit import Workspace, datasets
    >>> from gripkit.ingest import ingest
    >>> with Workspace(":memory:") as ws:
    ...     report = ingest(datasets.bedfordshire_street_files()[:1], ws)
    >>> report.crimes.read == report.crimes.loaded + report.crimes.quarantined
    True
    """
    started = time.perf_counter()
    files = discover(paths)
    report = IngestReport(files=len(files))
    writer = _Writer(workspace, report, mapping)
    batch: list[_Pending] = []
    seen: dict[str, str] = {}
    # Pipeline: worker threads read and parse files ahead (Arrow's parser releases the GIL), this
    # thread checks each batch, and one writer thread stores the previous batch meanwhile (DuckDB
    # releases the GIL too). Batches are written in order, one transaction each.
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool, ThreadPoolExecutor(max_workers=1) as store:
        writing: Future[None] | None = None

        def flush(items: list[_Pending]) -> Future[None] | None:
            writer.check(items)
            if writing is not None:
                writing.result()  # keep order, and surface a failed write before going on
            return store.submit(writer.write, items) if items else None

        known = frozenset(writer.known_sha)  # files committed before this run: hashed, not parsed
        ahead: deque[Future[_Loaded]] = deque()
        todo = iter(files)
        for file in islice(todo, _PREFETCH):
            ahead.append(pool.submit(_load, file, mapping, known))
        done = 0
        while ahead:
            loaded = ahead.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                ahead.append(pool.submit(_load, nxt, mapping, known))
            pending = _accept(loaded, writer, report, seen)
            if pending is not None:
                batch.append(pending)
            if sum(p.parsed.rows for p in batch) >= batch_rows:
                writing = flush(batch)
                batch = []
            done += 1
            if progress is not None:
                progress(done, len(files), loaded.file.display)
        writing = flush(batch)
        if writing is not None:
            writing.result()
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Loaded:
    file: InputFile
    sha256: str = ""
    parsed: tuple[ParsedTable, str, str] | None = None
    error: str | None = None


def _load(file: InputFile, mapping: ColumnMapping | None, known: frozenset[str]) -> _Loaded:
    """Read, hash and (unless already ingested) parse one file; runs on a worker thread."""
    try:
        data = file.read()
    except OSError as exc:
        return _Loaded(file, error=f"cannot read the file: {exc}")
    sha = hashlib.sha256(data).hexdigest()
    if sha in known:
        return _Loaded(file, sha)
    try:
        return _Loaded(file, sha, _parse_file(file, data, mapping))
    except InputError as exc:
        return _Loaded(file, sha, error=str(exc))


def _accept(loaded: _Loaded, writer: _Writer, report: IngestReport, seen: dict[str, str]) -> _Pending | None:
    """Turn a loaded file into pending work, or record why it is rejected or skipped."""
    file = loaded.file
    earlier = writer.known_sha.get(loaded.sha256) or seen.get(loaded.sha256)
    if loaded.sha256 and earlier is not None:
        report.skipped_files.append(
            {"path": file.display, "reason": f"already ingested (same SHA-256 as {earlier})"}
        )
        return None
    if loaded.error is not None or loaded.parsed is None:
        report.reject(file.display, loaded.error or "unreadable")
        log.warning("%s", loaded.error)
        return None
    seen[loaded.sha256] = file.display
    parsed, kind, encoding = loaded.parsed
    return _Pending(file, loaded.sha256, encoding, parsed, kind)
