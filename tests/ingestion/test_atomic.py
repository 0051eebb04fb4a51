"""A killed ingest leaves the workspace consistent; running the same command again completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gripkit import Workspace
from gripkit.ingestion import ingest
from gripkit.ingestion import writer as ingest_writer


def consistent(path: Path) -> tuple[int, int]:
    """Assert every active source's rows are all there; return (active sources, crimes)."""
    with Workspace(path) as ws:
        loaded, quarantined = ws.con.execute(
            "SELECT coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) FROM sources "
            "WHERE status = 'active' AND kind = 'street'"
        ).fetchone()
        counts = ws.counts()
        sources = int(ws.con.execute("SELECT count(*) FROM sources WHERE status = 'active'").fetchone()[0])
    assert counts["crimes"] == loaded
    assert counts["quarantine"] >= quarantined
    return sources, counts["crimes"]


def test_failure_mid_batch_rolls_back_that_batch(bedfordshire_zip: Path, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "ws.duckdb"
    calls = {"n": 0}
    original = ingest_writer.Writer._insert

    def failing(con, table, frame):  # type: ignore[no-untyped-def]
        if table == "crimes":
            calls["n"] += 1
            if calls["n"] == 2:  # the second batch, after its sources rows went in
                raise RuntimeError("simulated crash")
        original(con, table, frame)

    monkeypatch.setattr(ingest_writer.Writer, "_insert", staticmethod(failing))
    with Workspace(path) as ws, pytest.raises(RuntimeError, match="simulated crash"):
        ingest([bedfordshire_zip], ws, batch_rows=20_000)
    first_sources, first_crimes = consistent(path)
    assert 0 < first_sources < 108 and first_crimes > 0
    monkeypatch.undo()
    with Workspace(path) as ws:
        report = ingest([bedfordshire_zip], ws, batch_rows=20_000)
    sources, crimes = consistent(path)
    assert sources == 108 and len(report.skipped_files) == first_sources
    assert crimes == 174_692  # the full single-run total, see test_real_bedfordshire / README


def test_sigkill_then_rerun_completes(bedfordshire_zip: Path, tmp_path: Path) -> None:
    """Kill -9 a real `gripkit ingest` process part-way; the file stays consistent and a rerun completes."""
    path = tmp_path / "killed.duckdb"
    code = (
        "import sys; from gripkit import Workspace; from gripkit.ingestion import ingest\n"
        "ws = Workspace(sys.argv[1])\n"
        "ingest([sys.argv[2]], ws, batch_rows=5_000, progress=lambda d, t, n: print(d, flush=True))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(bedfordshire_zip)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until some files have been processed, then kill
        if int(line) >= 20:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    time.sleep(0.1)
    sources, _ = consistent(path)
    assert sources < 108
    with Workspace(path) as ws:
        ingest([bedfordshire_zip], ws)
    sources, crimes = consistent(path)
    assert sources == 108 and crimes == 174_692
