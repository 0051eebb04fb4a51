"""Readers (a report, the dashboard) open the workspace while an ingest is writing it.

DuckDB lets one process write a file or several read it, never both; gripkit takes turns
(gripkit.locking): the reader waits for the writer's next commit and the writer yields between
batches. The checks: every read succeeds, some happen while the ingest runs, and each read sees a
consistent snapshot (whole batches: the crimes table holds exactly the rows its active sources
say were loaded, and the quarantine the rows they say were quarantined), never going backwards.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from gripkit import Workspace

WRITER = (
    "import sys; from gripkit import Workspace; from gripkit.ingestion import ingest\n"
    "with Workspace(sys.argv[2]) as ws:\n"
    "    ingest([sys.argv[1]], ws, batch_rows=4000, workers=0)\n"
)
SNAPSHOT = (
    "SELECT (SELECT count(*) FROM sources WHERE status = 'active'), "
    "(SELECT coalesce(sum(rows_loaded), 0) FROM sources WHERE status = 'active' AND kind = 'street'), "
    "(SELECT count(*) FROM crimes), "
    "(SELECT coalesce(sum(rows_quarantined), 0) FROM sources WHERE status = 'active'), "
    "(SELECT count(*) FROM quarantine)"
)


def test_readers_see_whole_batches_while_an_ingest_writes(bedfordshire_zip: Path, tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    Workspace(path).close()  # created and migrated, so readers can open it at once
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(bedfordshire_zip), str(path)],
                              stderr=subprocess.PIPE, text=True)
    snapshots: list[tuple[int, ...]] = []
    during = 0
    try:
        while True:
            running = writer.poll() is None
            with Workspace(path, read_only=True, wait=120) as ws:
                row = ws.con.execute(SNAPSHOT).fetchone()
            assert row is not None
            snapshots.append(tuple(int(v) for v in row))
            during += running
            if not running:
                break
            time.sleep(0.05)
    finally:
        _, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err
    for _files, loaded, crimes, quarantined, held in snapshots:
        assert loaded == crimes and quarantined == held  # whole batches only
    files_seen = [s[0] for s in snapshots]
    assert files_seen == sorted(files_seen)  # never goes backwards
    # the whole real archive went in: 108 files (36 months x street, outcomes, stop-and-search) and
    # the 182,113 street rows of the real-data folder's README.md, each loaded or quarantined
    with Workspace(path, read_only=True) as ws:
        row = ws.con.execute("SELECT sum(rows_read) FROM sources WHERE kind = 'street'").fetchone()
    assert snapshots[-1][0] == 108 and row is not None and row[0] == 182_113
    # reads interleaved with the ingest, seeing it part-way (not only before or after it)
    assert during >= 3 and any(0 < s[0] < 108 for s in snapshots)
