"""What reading files produces: rows to load and rows to quarantine, with their reasons.

Files of one kind are checked together as a :class:`Stack` (one set of vectorised checks for a
whole batch), then split back into one :class:`FileResult` per file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gripkit import columns as C
from gripkit.ingestion.checks import RowChecker, check_coordinates, check_duplicates, stripped
from gripkit.ingestion.table import ParsedTable

QUARANTINE_SCHEMA = pa.schema(
    [("source_row", pa.int32()), ("raw", pa.string()), ("reason", pa.string()), ("detail", pa.string())]
)


@dataclass
class FileResult:
    """One file read: its kind, rows to load (``table``), rows quarantined, and identity."""

    kind: str
    table: pa.Table
    quarantine: pa.Table
    force: str | None = None
    month: date | None = None
    notes: list[str] = field(default_factory=list)
    #: the ``sources.format`` of the file ("" : csv or police.uk by kind; "ed": hospital ED records)
    format: str = ""

    @property
    def rows_loaded(self) -> int:
        """Rows to load."""
        return int(self.table.num_rows)

    @property
    def rows_read(self) -> int:
        """Rows read = rows loaded + rows quarantined (by construction)."""
        return int(self.table.num_rows) + int(self.quarantine.num_rows)

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined."""
        return int(self.quarantine.num_rows)


def most_common(values: pa.Array | pa.ChunkedArray) -> object:
    """The most frequent non-null value, or None."""
    counts = pc.value_counts(values.drop_null())
    if len(counts) == 0:
        return None
    best = int(np.argmax(counts.field("counts").to_numpy()))
    return counts.field("values")[best].as_py()


class Stack:
    """Several parsed files of one kind, checked as one table and split back per file."""

    def __init__(self, parsed: Sequence[ParsedTable]) -> None:
        self.parsed = list(parsed)
        self.sizes = np.array([p.table.num_rows for p in self.parsed], dtype=np.int64)
        self.owner = np.repeat(np.arange(len(self.parsed)), self.sizes)
        self.n = int(self.sizes.sum())

    def column(self, name: str) -> pa.Array:
        """The named column of every file, stacked (all-null for files that lack it)."""
        parts = [p.column(name) for p in self.parsed]
        return pa.concat_arrays(parts) if parts else pa.array([], pa.string())

    def checker(self) -> RowChecker:
        """A fresh checker for the stacked rows."""
        return RowChecker(self.n)

    def split(
        self,
        kind: str,
        checker: RowChecker,
        values: dict[str, pa.Array | np.ndarray],
        identity: Sequence[str] = (),
    ) -> list[FileResult]:
        """One FileResult per file: its loaded rows (with ``source_row``) and its quarantine.

        ``identity`` names the columns (force, month) whose most common loaded value identifies
        the file, in that order.
        """
        ok = checker.ok
        table = pa.table(values).filter(pa.array(ok))
        rows = np.concatenate([p.row_numbers for p in self.parsed]) if self.parsed else np.empty(0, np.int64)
        table = table.append_column("source_row", pa.array(rows[ok].astype(np.int32)))
        kept = np.bincount(self.owner[ok], minlength=len(self.parsed))
        starts = np.concatenate([[0], np.cumsum(kept)[:-1]])
        bad = np.flatnonzero(~ok)
        bad_owner = self.owner[bad]
        results = []
        for i, parsed in enumerate(self.parsed):
            mine = table.slice(int(starts[i]), int(kept[i]))
            quarantine = _quarantine(parsed, rows, bad[bad_owner == i], checker)
            ident = [most_common(mine.column(c)) if c in mine.column_names else None for c in identity]
            ident += [None] * (2 - len(ident))
            results.append(FileResult(kind, mine, quarantine, ident[0], ident[1]))  # type: ignore[arg-type]
        return results


@dataclass
class CrimeColumns:
    """Parsed columns of crime rows, whatever file format they came from.

    ``first``/``second`` are the raw coordinates in ``crs`` (lon/lat for EPSG:4326, else x/y);
    ``text`` holds the pass-through columns (``lsoa_code``, ``location``...), stored as read;
    ``source`` is the record source stored on every row (``police``, ``health``, a partner).
    """

    month: pa.Array
    crime_type: pa.Array
    force: pa.Array
    crime_id: pa.Array
    first: pa.Array
    second: pa.Array
    crs: str
    text: dict[str, pa.Array]
    occurred_at: pa.Array | None = None
    crime_type_detail: np.ndarray | None = None
    source: str = "police"


def crime_results(stack: Stack, checker: RowChecker, kind: str, cols: CrimeColumns) -> list[FileResult]:
    """The checks every crime row gets (month, type, coordinates, force, duplicates), then split."""
    checker.fail(_is_null(cols.month), "bad_month")
    checker.fail(_is_null(cols.crime_type), "unknown_crime_type", cols.crime_type_detail)
    coords = check_coordinates(checker, cols.first, cols.second, crs=cols.crs, force=cols.force)
    check_duplicates(checker, cols.crime_id, stack.owner)
    values: dict[str, pa.Array | np.ndarray] = {
        C.CRIME_ID: stripped(cols.crime_id),
        C.MONTH: cols.month,
        C.CRIME_TYPE: cols.crime_type,
        C.FORCE: cols.force,
        **coords,
        **cols.text,
        C.SOURCE: pa.array([cols.source] * stack.n, pa.string()),
    }
    if cols.occurred_at is not None:
        values[C.OCCURRED_AT] = cols.occurred_at
    return stack.split(kind, checker, values, identity=(C.FORCE, C.MONTH))


def _is_null(values: pa.Array) -> np.ndarray:
    return np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _quarantine(parsed: ParsedTable, rows: np.ndarray, bad: np.ndarray, checker: RowChecker) -> pa.Table:
    failed = rows[bad].astype(np.int64)
    numbers = np.concatenate([failed, np.array([r.row for r in parsed.rejects], dtype=np.int64)])
    order = np.argsort(numbers, kind="stable")
    raw = pa.concat_arrays([parsed.raws(failed), pa.array([r.raw for r in parsed.rejects], pa.string())])
    columns = {
        "source_row": pa.array(numbers.astype(np.int32)),
        "raw": raw,
        "reason": list(checker.reason[bad]) + [r.reason for r in parsed.rejects],
        "detail": list(checker.detail[bad]) + [r.detail for r in parsed.rejects],
    }
    return pa.table(columns, schema=QUARANTINE_SCHEMA).take(pa.array(order, pa.int64()))
