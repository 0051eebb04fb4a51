"""File versions: a cut-short month cannot replace a complete one, re-ingest is idempotent, restore works.

The month is the real ``2023-05-bedfordshire-street.csv`` of the shared Bedfordshire archive; its
"truncated" and "corrected" versions are cut from it with a few lines of Python in the tests (the
first 1,000 rows; all rows but the last 10), as an interrupted download or a small police.uk
correction would leave them. Expected row counts are counted independently with the csv module.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import duckdb
import pytest

from gripkit import Workspace
from gripkit.errors import InputError
from gripkit.ingestion import ingest
from gripkit.ingestion.versions import MAX_SHRINK, MIN_SHRINK_ROWS, restore, shrinks, versions
from gripkit.workspace import MIGRATIONS

MONTH = "2023-05/2023-05-bedfordshire-street.csv"
CUT = 1_000  # rows kept by the truncated version


@pytest.fixture(scope="module")
def month_text(bedfordshire_zip: Path) -> str:
    with zipfile.ZipFile(bedfordshire_zip) as archive:
        return archive.read(MONTH).decode("utf-8")


def data_rows(text: str) -> int:
    """Rows after the header, counted by the csv module (quoted line breaks kept in one row)."""
    return len(list(csv.reader(io.StringIO(text)))) - 1


def write(folder: Path, text: str) -> Path:
    path = folder / MONTH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def cut(text: str, rows: int) -> str:
    """The header and the first ``rows`` lines (the real file has no line breaks inside fields)."""
    return "".join(text.splitlines(keepends=True)[: rows + 1])


def state(ws: Workspace) -> tuple[list[tuple[object, ...]], int, int]:
    """(source_id, status) of every version, live crimes, inactive crimes."""
    rows = ws.con.execute("SELECT source_id, status FROM sources ORDER BY source_id").fetchall()
    counts = ws.con.execute(
        "SELECT (SELECT count(*) FROM crimes), (SELECT count(*) FROM crimes_inactive)"
    ).fetchone()
    assert counts is not None
    return rows, int(counts[0]), int(counts[1])


def loaded_of(ws: Workspace, source_id: int) -> int:
    row = ws.con.execute("SELECT rows_loaded FROM sources WHERE source_id = ?", [source_id]).fetchone()
    assert row is not None
    return int(row[0])


def test_the_shrink_rule() -> None:
    # 20% of the active version's rows, and at least 50 rows (docs/ingest.md)
    assert (MAX_SHRINK, MIN_SHRINK_ROWS) == (0.20, 50)
    assert shrinks(5_000, 30_749)  # the probe's cut: 84% fewer
    assert not shrinks(24_600, 30_749)  # 30,749 x 0.8 = 24,599.2: 24,600 is within the allowance
    assert shrinks(24_599, 30_749)
    assert not shrinks(1, 2)  # one row of two: a 50% drop of a single row is not held back
    assert not shrinks(30_749, 30_749) and not shrinks(40_000, 30_749)


def test_a_truncated_month_is_held_back_then_accepted_then_restored(
    month_text: str, tmp_path: Path
) -> None:
    full_rows = data_rows(month_text)
    assert data_rows(cut(month_text, CUT)) == CUT and full_rows > 5 * CUT
    full = write(tmp_path / "full", month_text)
    short = write(tmp_path / "short", cut(month_text, CUT))
    with Workspace(tmp_path / "ws.duckdb") as ws:
        first = ingest([full], ws)
        assert first.crimes.read == full_rows
        full_loaded = ws.counts()["crimes"]
        assert full_loaded == first.crimes.loaded

        held = ingest([short], ws)
        assert ws.counts()["crimes"] == full_loaded  # the complete month stays active
        assert held.replaced_files == []
        assert held.held_files == [{
            "path": str(short), "key": "street:Bedfordshire:2023-05", "source_id": 2, "rows": CUT,
            "active_rows": full_rows, "active_path": str(full), "active_source_id": 1,
        }]
        assert held.crimes.read == CUT == held.crimes.loaded + held.crimes.quarantined
        assert f"Held back, not applied: {short} has 1,000 rows where the active version has {full_rows:,}" \
            in held.summary()
        payload = held.to_dict()
        assert payload["held_files"] == held.held_files and payload["meta"]["files_held_back"] == 1
        assert [(f["status"], f["read"]) for f in payload["per_file"]] == [("held", CUT)]
        assert state(ws)[0] == [(1, "active"), (2, "held")]

        again = ingest([short], ws)  # the same command again: nothing changes
        assert again.held_files == [] and state(ws)[0] == [(1, "active"), (2, "held")]

        accepted = ingest([short], ws, accept_shrink=True)
        assert [r["path"] for r in accepted.replaced_files] == [str(short)]
        rows, live, inactive = state(ws)
        assert rows == [(1, "superseded"), (2, "active")]
        assert live == loaded_of(ws, 2) and inactive == full_loaded  # the full month kept, inactive

        restored = restore(ws, 1)
        assert (restored.source_id, restored.superseded, restored.was) == (1, 2, "superseded")
        rows, live, inactive = state(ws)
        assert rows == [(1, "active"), (2, "superseded")]
        assert live == full_loaded and inactive == loaded_of(ws, 2)
        assert ws.counts()["quarantine"] == full_rows - full_loaded  # quarantine follows its version
        assert restore(ws, 1).was == "active"  # restoring the active version changes nothing
        with pytest.raises(InputError, match="'source_id' must name a file version; received 99"):
            restore(ws, 99)


def test_versions_in_one_run_follow_the_command_line_order(month_text: str, tmp_path: Path) -> None:
    """Two versions given in one command: the one given last is active, whichever path sorts last.
    Every file read is accounted for, the superseded one included."""
    full_rows = data_rows(month_text)
    corrected = write(tmp_path / "a", cut(month_text, full_rows - 10))  # "a" sorts first
    original = write(tmp_path / "b", month_text)
    with Workspace(tmp_path / "ws.duckdb") as ws:
        report = ingest([original, corrected], ws)
        rows, live, inactive = state(ws)
        assert rows == [(1, "superseded"), (2, "active")]
        assert live == loaded_of(ws, 2) and inactive == loaded_of(ws, 1)
        payload = report.to_dict()
        assert [(Path(f["path"]).parent.parent.name, f["status"], f["read"]) for f in payload["per_file"]] \
            == [("b", "superseded", full_rows), ("a", "active", full_rows - 10)]
        assert all(f["read"] == f["loaded"] + f["quarantined"] for f in payload["per_file"])
        assert payload["read"] == 2 * full_rows - 10 == payload["loaded"] + payload["quarantined"]
        assert "1 file was superseded by a later version in the same run" in report.summary()

        # the same command again, with every file re-read and hashed: nothing changes
        before = state(ws)
        for rehash in (False, True):
            again = ingest([original, corrected], ws, rehash=rehash)
            assert state(ws) == before and again.crimes.files == 0 and len(again.skipped_files) == 2
        # given alone, the superseded version is recognised, not re-applied
        alone = ingest([original], ws, rehash=True)
        assert state(ws) == before
        assert "superseded since: `gripkit sources restore`" in alone.skipped_files[0]["reason"]

    # and the opposite order makes the original active
    with Workspace(tmp_path / "other.duckdb") as ws:
        ingest([corrected, original], ws)
        assert state(ws)[0] == [(1, "superseded"), (2, "active")]
        active = ws.con.execute("SELECT path FROM sources WHERE status = 'active'").fetchone()
        assert active == (str(original),)


def test_a_truncated_file_in_the_same_run_is_held_back(month_text: str, tmp_path: Path) -> None:
    full = write(tmp_path / "full", month_text)
    short = write(tmp_path / "short", cut(month_text, CUT))
    with Workspace(tmp_path / "ws.duckdb") as ws:
        report = ingest([full, short], ws)
        assert state(ws)[0] == [(1, "active"), (2, "held")]
        assert [h["rows"] for h in report.held_files] == [CUT]
        assert report.crimes.read == data_rows(month_text) + CUT  # both files read, both counted
        assert versions(ws)["status"].tolist() == ["active", "held"]
        before = state(ws)
        for rehash in (False, True):  # the same command again: nothing swapped, nothing added
            assert ingest([full, short], ws, rehash=rehash).held_files == []
            assert state(ws) == before


def test_a_version_replaced_by_an_older_gripkit_is_re_read_to_restore(
    month_text: str, tmp_path: Path
) -> None:
    """Workspaces from before file versions kept their rows: the migration marks those versions
    (rows_kept false), and restore re-reads the file if it is unchanged, else says how to fix it."""
    first = write(tmp_path / "v1", month_text)
    second = write(tmp_path / "v2", cut(month_text, data_rows(month_text) - 10))
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ingest([first], ws)
        ingest([second], ws)
        full_loaded = loaded_of(ws, 1)
        # what the older gripkit left: the replaced version's rows deleted
        ws.con.execute("DELETE FROM crimes_inactive; DELETE FROM quarantine_inactive")
        ws.con.execute("UPDATE sources SET rows_kept = false WHERE source_id = 1")
        restored = restore(ws, 1)
        assert restored.reloaded and ws.counts()["crimes"] == full_loaded
        assert state(ws)[0] == [(1, "active"), (2, "superseded")]
        ws.con.execute("DELETE FROM crimes_inactive")
        ws.con.execute("UPDATE sources SET rows_kept = false WHERE source_id = 2")
        second.write_text("changed", encoding="utf-8")
        with pytest.raises(InputError, match="Put the original file back at that path"):
            restore(ws, 2)
        assert state(ws)[0] == [(1, "active"), (2, "superseded")]  # nothing changed


def test_the_migration_marks_versions_replaced_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMP)")
    for version, sql in enumerate(MIGRATIONS[:5], start=1):  # a workspace of the schema before versions
        con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    con.execute("INSERT INTO sources (source_id, status) VALUES (1, 'replaced'), (2, 'active')")
    con.close()
    with Workspace(path) as ws:
        rows = ws.con.execute("SELECT source_id, status, rows_kept FROM sources ORDER BY 1").fetchall()
    assert rows == [(1, "superseded", False), (2, "active", True)]
