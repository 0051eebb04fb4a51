"""The process pipeline (worker processes parse and check) stores exactly what the thread one does."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.ingestion.ingest_rows import HEADER, ROW_ASB, ROW_DAMAGE

from gripkit import Workspace
from gripkit import workers as workers_module
from gripkit.errors import WorkerError
from gripkit.ingestion import ingest, staged

# Content checksums independent of run-specific ids and timestamps (rows identified by their
# source file's SHA-256 and line number), as in tests/national/test_kill.py.
CHECKSUMS = {
    "sources": "SELECT count(*), sum(hash(sha256, kind, source_key, force, month, rows_read, rows_loaded, "
    "rows_quarantined, status, stamp)) FROM sources",
    "crimes": "SELECT count(*), sum(hash(s.sha256, c.source_row, c.crime_id, c.month, c.crime_type, c.force, "
    "c.x, c.y, c.lsoa_code, c.lsoa_name, c.location, c.outcome)) "
    "FROM crimes c JOIN sources s USING (source_id)",
    "quarantine": "SELECT count(*), sum(hash(s.sha256, q.source_row, q.raw, q.reason, q.detail)) "
    "FROM quarantine q JOIN sources s USING (source_id)",
    "outcomes": "SELECT count(*), sum(hash(crime_id, month, outcome_type, x, y)) FROM outcomes",
}


def _state(path: Path) -> dict[str, tuple[int, int]]:
    with Workspace(path, read_only=True) as ws:
        return {k: ws.con.execute(sql).fetchone() for k, sql in CHECKSUMS.items()}  # type: ignore[misc]


def test_processes_store_what_threads_store(
    bedfordshire_zip: Path, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    broken = write_csv("extra/2024-05-bedfordshire-street.csv", [
        HEADER, ROW_ASB, ROW_DAMAGE, ROW_DAMAGE,  # a repeated Crime ID
        "only,three,fields", ROW_ASB.replace("52.301536", "not-a-number"),
    ])
    not_crime = write_csv("extra/notes.csv", ["a,b", "1,2"])
    reports = {}
    for workers in (0, 2):
        path = tmp_path / f"ws{workers}.duckdb"
        with Workspace(path) as ws:
            reports[workers] = ingest([bedfordshire_zip, broken, not_crime], ws, workers=workers,
                                      batch_rows=50_000).to_dict()
    assert _state(tmp_path / "ws0.duckdb") == _state(tmp_path / "ws2.duckdb")
    metas = {}
    for workers, report in reports.items():
        report.pop("seconds")
        # the run's own provenance: its worker count, workspace file and stored result id differ
        metas[workers] = {k: v for k, v in report.pop("meta").items()
                          if k not in ("workers", "workspace", "result_id")}
    assert reports[0] == reports[2]
    assert metas[0] == metas[2]
    reasons = reports[2]["by_reason"]
    assert reasons["malformed_line"] >= 1 and reasons["bad_coordinates"] >= 1  # the broken file's rows
    assert [r["path"] for r in reports[2]["rejected_files"]] == [str(not_crime)]


def _die(*args: object, **kwargs: object) -> None:
    os._exit(3)  # as the out-of-memory killer would stop a worker


def test_a_dead_worker_is_a_clear_error_and_a_rerun_completes(
    bedfordshire_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ws.duckdb"
    with monkeypatch.context() as patched, Workspace(path) as ws:
        patched.setattr(workers_module, "START_METHOD", "fork")
        patched.setattr(staged, "stage", _die)  # the forked workers inherit it
        with pytest.raises(WorkerError, match="worker process died while reading and checking files"):
            ingest([bedfordshire_zip], ws, workers=2)
    with Workspace(path) as ws:  # the same command again, workers healthy
        report = ingest([bedfordshire_zip], ws, workers=2)
    assert report.crimes.read == report.crimes.loaded + report.crimes.quarantined > 0


def test_staging_folders_of_dead_processes_are_removed(tmp_path: Path) -> None:
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    orphan = tmp_path / f"{staged.STAGING_PREFIX}{int(dead.stdout)}-abc"
    mine = tmp_path / f"{staged.STAGING_PREFIX}{os.getpid()}-def"  # a live owner: kept
    for folder in (orphan, mine):
        folder.mkdir()
        (folder / "rows.arrow").write_bytes(b"x" * 1000)
    assert staged.remove_orphans(str(tmp_path)) == [str(orphan)]
    assert not orphan.exists() and mine.exists()
