"""A file result spilled to Arrow IPC by a worker comes back with its ``sources.format`` (e.g. "ed")."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa

from gripkit.ingestion.records import FileResult
from gripkit.ingestion.staged import spill


def test_spill_keeps_the_format(tmp_path: Path) -> None:
    table = pa.table({"a": [1, 2]})
    result = FileResult("street", table, table.slice(0, 0), "Bedfordshire", date(2024, 4, 1), ["n"], "ed")
    back = spill(result, str(tmp_path)).restore()
    assert (back.format, back.force, back.month) == ("ed", "Bedfordshire", date(2024, 4, 1))
    assert back.notes == ["n"]
    assert back.table.equals(table) and back.quarantine.num_rows == 0
