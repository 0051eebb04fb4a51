"""Store checked files in the workspace: one transaction per batch, corrected files replacing.

A batch's ``sources`` rows, loaded rows and quarantined rows are written in one transaction, so a
killed ingest keeps whole batches only. A corrected file (same force, month and kind, other
content) replaces its earlier version in the transaction that loads it.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from gripkit.errors import WorkspaceError
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
        ("note", pa.string()),
        ("stamp", pa.string()),
    ]
)
_TABLES = {"street": "crimes", "csv": "crimes", "outcomes": "outcomes", "stop-and-search": "stop_search"}


class Writer:
    """Writes checked files, one transaction per batch."""

    def __init__(self, ws: Workspace, report: IngestReport) -> None:
        self.ws = ws
        self.report = report
        row = ws.con.execute("SELECT coalesce(max(source_id), 0) FROM sources").fetchone()
        self.next_id = int(row[0]) + 1 if row else 1
        active = ws.con.execute(
            "SELECT source_id, sha256, source_key, path, stamp FROM sources WHERE status = 'active'"
        ).fetchall()
        self.known_sha = {sha: path for _, sha, _, path, _ in active}
        self.by_key = {key: (sid, path) for sid, _, key, path, _ in active}
        #: ``(path, stamp)`` of active sources: files unchanged since ingested, skipped unread
        self.known_stamps = {(path, stamp) for *_, path, stamp in active if stamp}

    def write(self, batch: list[Pending]) -> None:
        """Store a checked batch in one transaction (a failed write: :class:`WorkspaceError`)."""
        if not batch:
            return
        try:
            self._write(batch)
        except (duckdb.IOException, duckdb.TransactionException, OSError) as exc:
            raise WorkspaceError(
                f"cannot write workspace {self.ws.path}: {exc}. Free disk space (or pass --workspace on "
                "another disk) and run the same command again: the batches committed so far are kept "
                "whole and the rest is completed; this batch was rolled back."
            ) from exc

    def _write(self, batch: list[Pending]) -> None:
        started = time.perf_counter()
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
                self.report.add(res, item.file.display)
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
        log.debug("ingest: stored %d files, %d rows in %.2f s", len(batch), sum(p.rows for p in batch),
                  time.perf_counter() - started)
        self.ws.yield_to_waiting()  # a report or dashboard waiting for the file reads this batch

    def _record_source(self, item: Pending, res: FileResult, status: str) -> dict[str, Any]:
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
            "stamp": item.file.stamp or None,
        }

    def _replace_earlier(self, con: Any, item: Pending) -> None:
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
        # rows are identified by (source_id, source_row), not by their order: let DuckDB append in
        # parallel without keeping the batch's order (faster), for this statement only
        con.execute("SET preserve_insertion_order = false")
        try:
            columns = ", ".join(f'"{n}"' for n in names)
            con.execute(f"INSERT INTO {table} ({columns}) SELECT {', '.join(exprs)} FROM _batch")
        finally:
            con.execute("RESET preserve_insertion_order")
            con.unregister("_batch")


