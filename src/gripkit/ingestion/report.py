"""What an ingest did: the :class:`IngestReport` it returns, stores and ``gripkit ingest --json`` prints.

It follows the result protocol (:mod:`gripkit.results`): ``kind`` "ingest", ``meta`` (inputs, rows
quarantined per reason, months covered, files skipped and replaced), ``to_dict()``, ``summary()``
(e.g. "Read 182,113 rows from 36 files: 175,732 loaded, 6,381 quarantined (no_coordinates 6,381);
months 2021-05 to 2024-04.") and ``tables()`` (one row per file).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

import pandas as pd
import pyarrow.compute as pc

from gripkit import columns as C
from gripkit.ingestion.records import FileResult
from gripkit.results import ResultMixin, to_jsonable

#: Columns of the per-file table (``tables()["files"]``).
#: ``status`` of a file read: ``active`` (applied), ``superseded`` (by a later file of the same run),
#: ``held`` (held back: it would drop too many of the active version's rows), or ``skipped`` or
#: ``rejected`` (not stored).
FILE_COLUMNS = (
    "path", "status", "kind", C.FORCE, C.MONTH, "read", "loaded", "quarantined", "source_id", "note",
)


@dataclass
class KindTally:
    """Rows read, loaded and quarantined for one kind of file."""

    files: int = 0
    read: int = 0
    loaded: int = 0
    quarantined: int = 0

    def add(self, result: FileResult) -> None:
        """Count one file's rows."""
        self.files += 1
        self.read += result.rows_read
        self.loaded += result.rows_loaded
        self.quarantined += result.rows_quarantined


def _drop(held: dict[str, Any]) -> str:
    """How much smaller a held-back file is than the active version, e.g. ``84%``."""
    return f"{1 - held['rows'] / held['active_rows']:.0%}" if held["active_rows"] else "0%"


def _months(result: FileResult) -> tuple[date | None, date | None]:
    """First and last month of a file's loaded rows (its police.uk month, or its rows' range)."""
    if result.month is not None:
        return result.month, result.month
    if C.MONTH not in result.table.column_names or result.table.num_rows == 0:
        return None, None
    span = pc.min_max(result.table.column(C.MONTH))
    return span["min"].as_py(), span["max"].as_py()


@dataclass
class IngestReport(ResultMixin):
    """What an ingest did. ``read/loaded/quarantined`` count street-crime (or force CSV) rows.

    ``files`` counts every file found; each is counted in exactly one of: a tally (crimes,
    outcomes, stop_and_search: every file read and stored, whatever its status), ``rejected_files``
    or ``skipped_files`` (already ingested, or unchanged). A tally counts the rows of every file it
    stored, so ``read == loaded + quarantined`` in total and per file (``per_file``, with each
    file's status: active, superseded by a later file of the same run, or held back);
    ``held_files`` lists the files held back with both row counts. ``meta`` holds the inputs and
    options (set by :func:`gripkit.ingestion.ingest`), the rows quarantined per reason, the months
    covered and the counts of files skipped, replaced, held back and rejected.

    Examples
    --------
    >>> report = IngestReport(files=1)
    >>> report.crimes.files, report.crimes.read, report.crimes.loaded = 1, 10, 9
    >>> report.crimes.quarantined = 1
    >>> report.by_reason["no_coordinates"] = 1
    >>> print(report.summary())
    Read 10 rows from 1 file: 9 loaded, 1 quarantined (no_coordinates 1).
    """

    kind: ClassVar[str] = "ingest"
    files: int = 0
    crimes: KindTally = field(default_factory=KindTally)
    outcomes: KindTally = field(default_factory=KindTally)
    stop_and_search: KindTally = field(default_factory=KindTally)
    by_reason: Counter[str] = field(default_factory=Counter)
    rejected_files: list[dict[str, str]] = field(default_factory=list)
    skipped_files: list[dict[str, str]] = field(default_factory=list)
    replaced_files: list[dict[str, str]] = field(default_factory=list)
    #: files held back (not applied): path, key, rows, active_rows, active_path, source ids
    held_files: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    #: one row per file loaded (see :data:`FILE_COLUMNS`)
    loaded_files: list[dict[str, Any]] = field(default_factory=list)
    first_month: date | None = None
    last_month: date | None = None

    def add(self, result: FileResult, path: str = "", *, status: str = "active",
            source_id: int | None = None) -> None:
        """Count a stored file in its kind's tally (and its quarantine reasons)."""
        if result.kind == "outcomes":
            self.outcomes.add(result)
        elif result.kind == "stop-and-search":
            self.stop_and_search.add(result)
        else:
            self.crimes.add(result)
            counts = pc.value_counts(result.quarantine.column("reason"))
            self.by_reason.update(dict(zip(counts.field("values").to_pylist(),
                                           counts.field("counts").to_pylist(), strict=True)))
            first, last = _months(result)
            if first is not None and (self.first_month is None or first < self.first_month):
                self.first_month = first
            if last is not None and (self.last_month is None or last > self.last_month):
                self.last_month = last
        self.loaded_files.append({
            "path": path, "status": status, "kind": result.kind, C.FORCE: result.force,
            C.MONTH: result.month, "read": result.rows_read, "loaded": result.rows_loaded,
            "quarantined": result.rows_quarantined, "source_id": source_id,
            "note": "; ".join(result.notes) or None,
        })

    def reject(self, path: str, reason: str) -> None:
        """Record a whole file rejected."""
        self.rejected_files.append({"path": path, "reason": reason})

    @property
    def exit_code(self) -> int:
        """0 when anything loaded or everything was already there; 2 when every file was rejected."""
        return 2 if self.files and len(self.rejected_files) == self.files else 0

    @property
    def months(self) -> dict[str, str | None]:
        """First and last month of the crimes loaded (``"YYYY-MM"``; None when none were)."""
        return {
            "first": f"{self.first_month:%Y-%m}" if self.first_month else None,
            "last": f"{self.last_month:%Y-%m}" if self.last_month else None,
        }

    def describe(self) -> dict[str, Any]:
        """The counts recorded in ``meta``: reasons, months, files skipped/replaced/rejected."""
        return {
            "by_reason": dict(sorted(self.by_reason.items())),
            "months": self.months,
            "files_skipped": len(self.skipped_files),
            "files_replaced": len(self.replaced_files),
            "files_held_back": len(self.held_files),
            "files_rejected": len(self.rejected_files),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (the ``--json`` output), with ``meta`` and ``months``."""
        out = to_jsonable({
            "files": self.files,
            "read": self.crimes.read,
            "loaded": self.crimes.loaded,
            "quarantined": self.crimes.quarantined,
            "by_reason": dict(sorted(self.by_reason.items())),
            "months": self.months,
            "rejected_files": self.rejected_files,
            "skipped_files": self.skipped_files,
            "replaced_files": self.replaced_files,
            "held_files": self.held_files,
            "per_file": self.loaded_files,
            "street_files": self.crimes.files,
            "outcomes": vars(self.outcomes),
            "stop_and_search": vars(self.stop_and_search),
            "seconds": round(self.seconds, 3),
            "meta": self.meta,
        })
        assert isinstance(out, dict)
        return out

    def summary(self) -> str:
        """One paragraph: rows read, loaded and quarantined (by reason), months, other files."""
        c = self.crimes
        files = f"{c.files:,} file" + ("" if c.files == 1 else "s")
        text = f"Read {c.read:,} rows from {files}: {c.loaded:,} loaded, {c.quarantined:,} quarantined"
        if self.by_reason:
            reasons = sorted(self.by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
            text += " (" + ", ".join(f"{reason} {n:,}" for reason, n in reasons) + ")"
        first, last = self.months["first"], self.months["last"]
        if first:
            text += f"; months {first}" + ("" if first == last else f" to {last}")
        text += "."
        kinds = ((self.outcomes, "outcome"), (self.stop_and_search, "stop-and-search"))
        other = [
            f"{t.loaded:,} {label} rows from {t.files:,} file{'s' if t.files != 1 else ''}"
            for t, label in kinds if t.files
        ]
        if other:
            text += " Also " + " and ".join(other) + "."
        files_note = [
            f"{n:,} {what}" for n, what in (
                (len(self.skipped_files), "skipped (already ingested)"),
                (len(self.replaced_files), "replaced an earlier version"),
                (len(self.rejected_files), "rejected whole"),
            ) if n
        ]
        if files_note:
            text += " Files: " + ", ".join(files_note) + "."
        superseded = sum(f["status"] == "superseded" for f in self.loaded_files)
        if superseded:
            text += (f" {superseded:,} file{'s were' if superseded != 1 else ' was'} superseded by a later "
                     "version in the same run (kept, inactive).")
        for held in self.held_files:
            text += (
                f" Held back, not applied: {held['path']} has {held['rows']:,} rows where the active "
                f"version has {held['active_rows']:,} ({_drop(held)} fewer); pass 'accept_shrink' to "
                "apply it."
            )
        return text

    def tables(self) -> dict[str, pd.DataFrame]:
        """``"files"``: one row per file found (loaded, skipped or rejected), when there are any."""
        rows = list(self.loaded_files)
        rows += [{"path": f["path"], "status": "skipped", "note": f["reason"]} for f in self.skipped_files]
        rows += [{"path": f["path"], "status": "rejected", "note": f["reason"]} for f in self.rejected_files]
        if not rows:
            return {}
        frame = pd.DataFrame(rows, columns=list(FILE_COLUMNS))
        frame[C.MONTH] = pd.to_datetime(frame[C.MONTH])
        for name in ("read", "loaded", "quarantined", "source_id"):
            frame[name] = frame[name].astype("Int64")
        return {"files": frame}
