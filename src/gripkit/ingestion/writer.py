"""Store checked files in the workspace: one transaction per batch, versions kept, none lost.

A batch's ``sources`` rows, loaded rows and quarantined rows are written in one transaction, so a
killed ingest keeps whole batches only. Each transaction first reads the workspace's state afresh
(next source id, every SHA-256 ever ingested, the active version of each source key): another
ingest may have committed batches in between (writers take turns, see :mod:`gripkit.locking`),
so nothing a process read earlier is trusted. Files are applied in batch order:

- a file whose SHA-256 was ever ingested (by this run, an earlier one, or a concurrent one) is
  skipped;
- a corrected file (same force, month and kind, other content) replaces the active version, whose
  rows move to the ``*_inactive`` tables (status ``superseded``, restorable);
- unless it drops more than :data:`~gripkit.ingestion.versions.MAX_SHRINK` of the active
  version's rows: then it is held back (status ``held``, rows kept inactive) and reported, unless
  ``accept_shrink``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from gripkit.errors import WorkspaceError
from gripkit.ingestion import versions
from gripkit.ingestion.discover import InputFile
from gripkit.ingestion.load import Pending
from gripkit.ingestion.records import FileResult
from gripkit.ingestion.report import IngestReport
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")
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
        ("replaced_at", pa.timestamp("us")),
        ("note", pa.string()),
        ("stamp", pa.string()),
    ]
)
_TABLES = {"street": "crimes", "csv": "crimes", "outcomes": "outcomes", "stop-and-search": "stop_search"}


@dataclass
class Known:
    """A file whose SHA-256 matched a held-back version when read: applied in order if ``accept_shrink``."""

    file: InputFile
    sha256: str
    rows: int = 0


@dataclass
class _Version:
    source_id: int
    path: str
    status: str
    key: str
    rows: int


@dataclass
class _Planned:
    item: Pending
    source_id: int
    status: str


class _State:
    """The workspace's versions as committed (read inside the batch's transaction), then this batch's."""

    def __init__(self, con: Any) -> None:
        rows = con.execute(
            "SELECT source_id, sha256, path, status, source_key, rows_read FROM sources ORDER BY source_id"
        ).fetchall()
        self.next_id = max((int(r[0]) for r in rows), default=0) + 1
        self.by_sha = {sha: _Version(int(sid), path, status, key, int(n or 0))
                       for sid, sha, path, status, key, n in rows if sha}
        self.active = {v.key: v for v in self.by_sha.values() if v.status == "active"}
        #: key -> index into the batch's plan, for a version that became active in this batch
        self.planned: dict[str, int] = {}


def known_state(ws: Workspace) -> tuple[dict[str, tuple[str, str]], dict[tuple[str, str], str]]:
    """``sha256 -> (path, status)`` and ``(path, stamp) -> status`` of every version ever ingested.

    A snapshot for skipping work early (files not re-read or not parsed); the writer decides
    again, inside each batch's transaction.
    """
    rows = ws.con.execute("SELECT sha256, path, stamp, status FROM sources").fetchall()
    by_sha = {sha: (path, status) for sha, path, _, status in rows if sha}
    stamps = {(path, stamp): status for _, path, stamp, status in rows if stamp}
    return by_sha, stamps


class Writer:
    """Writes checked files, one transaction per batch (see the module docstring)."""

    def __init__(self, ws: Workspace, report: IngestReport, *, accept_shrink: bool = False) -> None:
        self.ws = ws
        self.report = report
        self.accept_shrink = accept_shrink

    def write(self, batch: list[Pending | Known]) -> None:
        """Store a checked batch in one transaction (a failed write: :class:`WorkspaceError`)."""
        if not batch:
            return
        try:
            self._write(batch)
        except (duckdb.IOException, duckdb.TransactionException, duckdb.FatalException, OSError) as exc:
            raise WorkspaceError(
                f"cannot write workspace {self.ws.path}: {exc}. Free disk space (or pass --workspace on "
                "another disk) and run the same command again: the batches committed so far are kept "
                "whole and the rest is completed; this batch was rolled back."
            ) from exc

    def _write(self, batch: list[Pending | Known]) -> None:
        started = time.perf_counter()
        with self.ws.transaction() as con:
            state = _State(con)
            plan: list[_Planned] = []
            notes: list[tuple[str, dict[str, Any]]] = []
            for item in batch:
                if isinstance(item, Known):
                    self._apply_known(con, item, state, plan, notes)
                else:
                    self._plan(con, item, state, plan, notes)
            self._store(con, plan)
        # the report learns what happened only once it is committed
        for target, entry in notes:
            getattr(self.report, target).append(entry)
        for planned in plan:
            assert planned.item.result is not None
            self.report.add(planned.item.result, planned.item.file.display, status=planned.status,
                            source_id=planned.source_id)
        log.debug("ingest: stored %d files, %d rows in %.2f s", len(plan), sum(p.item.rows for p in plan),
                  time.perf_counter() - started)
        self.ws.yield_to_waiting()  # a report, dashboard or second ingest waiting for the file gets in

    def _plan(self, con: Any, item: Pending, state: _State, plan: list[_Planned],
              notes: list[tuple[str, dict[str, Any]]]) -> None:
        """Decide one new file's status (active, superseded later in this batch, or held back)."""
        res = item.result
        assert res is not None
        earlier = state.by_sha.get(item.sha256)
        if earlier is not None:  # ingested meanwhile (another process), or twice in this batch
            notes.append(("skipped_files", {
                "path": item.file.display, "reason": f"already ingested (same SHA-256 as {earlier.path})"}))
            return
        sid = state.next_id
        state.next_id += 1
        current = state.active.get(item.key)
        status = "active"
        if current is not None and versions.shrinks(res.rows_read, current.rows) and not self.accept_shrink:
            status = "held"
            entry = {"path": item.file.display, "key": item.key, "source_id": sid, "rows": res.rows_read,
                     "active_rows": current.rows, "active_path": current.path,
                     "active_source_id": current.source_id}
            notes.append(("held_files", entry))
            log.warning(
                "%s held back, not applied: %s rows where the active version (%s) has %s (%.0f%% fewer, "
                "more than the %.0f%% allowed); rerun with 'accept_shrink' to apply it, or `gripkit sources "
                "restore %d`", item.file.display, f"{res.rows_read:,}", current.path, f"{current.rows:,}",
                100 * (1 - res.rows_read / current.rows), 100 * versions.MAX_SHRINK, sid)
        elif current is not None:
            self._supersede(con, current, state, plan)
            notes.append(("replaced_files", {"path": item.file.display, "replaces": current.path,
                                             "key": item.key}))
            log.info("%s replaces %s (same %s, new content)", item.file.display, current.path, item.key)
        version = _Version(sid, item.file.display, status, item.key, res.rows_read)
        state.by_sha[item.sha256] = version
        if status == "active":
            state.active[item.key] = version
            state.planned[item.key] = len(plan)
        plan.append(_Planned(item, sid, status))

    def _apply_known(self, con: Any, item: Known, state: _State, plan: list[_Planned],
                     notes: list[tuple[str, dict[str, Any]]]) -> None:
        """A held-back version given again with ``accept_shrink``: make it active (else skip it)."""
        version = state.by_sha.get(item.sha256)
        if version is None or version.status != "held" or not self.accept_shrink:
            where = version.path if version is not None else "an earlier version"
            notes.append(("skipped_files", {"path": item.file.display,
                                            "reason": f"already ingested (same SHA-256 as {where})"}))
            return
        current = state.active.get(version.key)
        if current is not None:
            self._supersede(con, current, state, plan)
        versions.activate(con, version.source_id)
        version.status = "active"
        state.active[version.key] = version
        state.planned.pop(version.key, None)
        notes.append(("replaced_files", {"path": item.file.display, "key": version.key,
                                         "replaces": current.path if current is not None else ""}))
        log.info("%s (held back before) replaces %s: accept_shrink", item.file.display,
                 current.path if current is not None else "nothing")

    @staticmethod
    def _supersede(con: Any, current: _Version, state: _State, plan: list[_Planned]) -> None:
        index = state.planned.pop(current.key, None)
        if index is not None and plan[index].source_id == current.source_id:
            plan[index].status = "superseded"  # not stored yet: its rows go to the inactive tables
        else:
            versions.supersede(con, current.source_id)
        current.status = "superseded"

    def _store(self, con: Any, plan: list[_Planned]) -> None:
        """Insert the batch's sources rows, then every file's rows, live or inactive by status."""
        sources = [self._source_row(p) for p in plan]
        self._insert(con, "sources", pa.Table.from_pylist(sources, schema=_SOURCES_SCHEMA))
        tables: dict[str, list[pa.Table]] = {}
        for p in plan:
            assert p.item.result is not None
            for name, frame in _rows(p.item.result, p.source_id).items():
                target = name if p.status == "active" else versions.INACTIVE[name]
                tables.setdefault(target, []).append(frame)
        for name, parts in tables.items():
            self._insert(con, name, pa.concat_tables(parts, promote_options="permissive"))

    @staticmethod
    def _source_row(planned: _Planned) -> dict[str, Any]:
        """The ``sources`` row of a file (written with the batch)."""
        item, res = planned.item, planned.item.result
        assert res is not None
        now = datetime.now(UTC).replace(tzinfo=None)
        return {
            "source_id": planned.source_id,
            "path": item.file.display,
            "name": item.file.name,
            "sha256": item.sha256,
            "kind": res.kind,
            "format": res.format or ("csv" if res.kind == "csv" else "police.uk"),
            "source_key": item.key,
            "force": res.force,
            "month": res.month,
            "encoding": item.encoding,
            "rows_read": res.rows_read,
            "rows_loaded": res.rows_loaded,
            "rows_quarantined": res.rows_quarantined,
            "status": planned.status,
            "ingested_at": now,
            "replaced_at": now if planned.status == "superseded" else None,
            "note": "; ".join(res.notes) or None,
            "stamp": item.file.stamp or None,
        }

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
        # rows are identified by (source_id, source_row), not by their order: let DuckDB append in
        # parallel without keeping the batch's order (faster), for this statement only
        con.execute("SET preserve_insertion_order = false")
        try:
            columns = ", ".join(f'"{n}"' for n in names)
            con.execute(f"INSERT INTO {table} ({columns}) SELECT {', '.join(exprs)} FROM _batch")
        finally:
            con.execute("RESET preserve_insertion_order")
            con.unregister("_batch")


def _rows(res: FileResult, source_id: int) -> dict[str, pa.Table]:
    """A file's loaded rows and quarantined rows, tagged with its ``source_id``, by live table."""
    def tagged(table: pa.Table) -> pa.Table:
        return table.append_column("source_id", pa.array(np.full(table.num_rows, source_id, dtype=np.int32)))

    return {_TABLES[res.kind]: tagged(res.table), "quarantine": tagged(res.quarantine)}


def insert_rows(con: Any, res: FileResult, source_id: int, *, active: bool) -> None:
    """Insert one file's rows for an existing ``sources`` row (re-reading a version to restore it)."""
    for name, frame in _rows(res, source_id).items():
        Writer._insert(con, name if active else versions.INACTIVE[name], frame)
