"""The DuckDB workspace: schema versioning, migrations, defaults, errors."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from gripkit import Workspace, WorkspaceError
from gripkit.errors import InputError
from gripkit.workspace import SCHEMA_VERSION, default_path


def test_new_file_is_migrated_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        assert ws.schema_version == SCHEMA_VERSION
        assert set(ws.counts()) == {"sources", "crimes", "quarantine", "outcomes", "stop_search"}
    with Workspace(path, read_only=True) as ws:
        assert ws.schema_version == SCHEMA_VERSION
        versions = ws.con.execute("SELECT count(*) FROM schema_version").fetchone()
    assert versions == (SCHEMA_VERSION,)  # one row per applied migration, none applied twice


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    Workspace(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(WorkspaceError, match="newer than this gripkit"):
        Workspace(path)


def test_missing_read_only_workspace_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="gripkit ingest"):
        Workspace(tmp_path / "nope.duckdb", read_only=True)


def test_default_path_honours_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GRIPKIT_WORKSPACE", raising=False)
    assert default_path() == Path("gripkit.duckdb")
    monkeypatch.setenv("GRIPKIT_WORKSPACE", str(tmp_path / "x.duckdb"))
    assert default_path() == tmp_path / "x.duckdb"


def test_crime_filters_validate(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws.duckdb") as ws:
        with pytest.raises(InputError, match="unknown crime type"):
            ws.crimes(crime_types=["Jaywalking"])
        with pytest.raises(InputError, match="YYYY-MM"):
            ws.crimes(months=("May 2023", None))
        assert ws.crimes(months=("2023-05", "2024-04")).empty


def test_duckdb_progress_bar_is_off(tmp_path: Path) -> None:
    """DuckDB prints its progress bar to standard output for queries over 2 s, which corrupted
    ``gripkit national --json`` on the national benchmark's monthly update; gripkit turns it off."""
    with Workspace(tmp_path / "ws.duckdb") as ws:
        row = ws.con.execute("SELECT current_setting('enable_progress_bar')").fetchone()
    assert row == (False,)


def test_checkpoint_empties_the_log_and_is_skipped_inside_a_transaction(tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    wal = tmp_path / "ws.duckdb.wal"
    with Workspace(path) as ws:
        ws.con.execute("CREATE TABLE t AS SELECT range AS i FROM range(1000)")
        assert wal.exists() and wal.stat().st_size > 0
        with ws.transaction():
            ws.checkpoint()  # an open transaction: left to DuckDB, no error
        ws.checkpoint()
        assert not wal.exists() or wal.stat().st_size == 0
    Workspace(":memory:").checkpoint()  # nothing to write
