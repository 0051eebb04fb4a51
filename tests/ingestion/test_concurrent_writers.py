"""Two `gripkit ingest` processes into one workspace at once: the result is one ingest's.

Writers take turns batch by batch (gripkit.locking); each batch's transaction reads the workspace
afresh (next source id, every SHA-256 ingested, the active version of each month), so a file the
other process stored meanwhile is skipped and ids never collide. Before, each process kept what it
read at start: the same zip started 0-0.5 s apart gave 286,023 crimes instead of 174,692 and
duplicate source ids in 6 of 17 runs. Here: 8 real Bedfordshire month folders (street files of
2022-01 to 2022-08, extracted from the shared zip), small batches so the two processes interleave,
two runs with different start delays, and overlapping inputs (months 1-5 and 4-8, the shared
months under other paths). The expected values are a single ingest's of the same files, in the
same test (the code before this fix gave 77,502 crimes for these 8 months' 40,637, and 7 duplicate
source ids). 20 runs on the whole zip: ``benchmarks/ingest_concurrency.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from gripkit import Workspace
from gripkit.ingestion import ingest

MONTHS = [f"2022-{m:02d}" for m in range(1, 9)]
CHECKS = {
    "crimes": "SELECT count(*) FROM crimes",
    "active": "SELECT count(*) FROM sources WHERE status = 'active'",
    "quarantined": "SELECT count(*) FROM quarantine",
    "duplicate_source_ids": "SELECT count(*) - count(DISTINCT source_id) FROM sources",
    "files_twice": "SELECT count(*) - count(DISTINCT sha256) FROM sources",
    "orphans": "SELECT count(*) FROM crimes WHERE source_id NOT IN "
    "(SELECT source_id FROM sources WHERE status = 'active')",
}


@pytest.fixture(scope="module")
def month_folders(bedfordshire_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two copies of 8 month folders' street files (``a/`` and ``b/``), extracted from the real zip."""
    root = tmp_path_factory.mktemp("months")
    with zipfile.ZipFile(bedfordshire_zip) as archive:
        for month in MONTHS:
            data = archive.read(f"{month}/{month}-bedfordshire-street.csv")
            for copy in ("a", "b"):
                path = root / copy / month / f"{month}-bedfordshire-street.csv"
                path.parent.mkdir(parents=True)
                path.write_bytes(data)
    return [root / "a", root / "b"]


def measure(path: Path) -> dict[str, int]:
    with Workspace(path, read_only=True) as ws:
        return {k: int(ws.con.execute(sql).fetchone()[0]) for k, sql in CHECKS.items()}  # type: ignore[index]


def gripkit_ingest(inputs: list[Path], workspace: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", "from gripkit.cli import main; main()", "ingest", *map(str, inputs),
               "-w", str(workspace), "--batch-rows", "4000", "--workers", "0", "--json"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_together(first: list[Path], second: list[Path], workspace: Path, delay: float) -> list[dict]:
    procs = [gripkit_ingest(first, workspace)]
    time.sleep(delay)
    procs.append(gripkit_ingest(second, workspace))
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        reports.append(json.loads(out))
    return reports


def test_two_concurrent_ingests_equal_one(month_folders: list[Path], tmp_path: Path) -> None:
    a, b = month_folders
    with Workspace(tmp_path / "single.duckdb") as ws:
        single = ingest([a], ws, workers=0)
    expected = measure(tmp_path / "single.duckdb")
    assert expected["active"] == 8 and expected["crimes"] == single.crimes.loaded > 30_000
    assert (expected["duplicate_source_ids"], expected["files_twice"], expected["orphans"]) == (0, 0, 0)

    for rep, delay in enumerate((0.0, 0.4)):  # the same folder, started 0-0.5 s apart
        workspace = tmp_path / f"same{rep}.duckdb"
        reports = run_together([a], [a], workspace, delay)
        assert measure(workspace) == expected, f"start delay {delay} s"
        # every file stored by exactly one of the two; the other skipped it
        assert sum(r["street_files"] for r in reports) == 8
        assert sum(r["read"] for r in reports) == single.crimes.read

    # overlapping inputs: months 1-5 of one copy and 4-8 of the other (months 4-5 under two paths)
    workspace = tmp_path / "overlap.duckdb"
    run_together([a / m for m in MONTHS[:5]], [b / m for m in MONTHS[3:]], workspace, 0.1)
    assert measure(workspace) == expected
