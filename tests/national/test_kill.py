"""Robustness: SIGKILL a `gripkit national` mid-ingest, run it again, and compare with a clean run.

Input: the three-force replica of real Bedfordshire months (see conftest). Ingest commits in
batches (gripkit.ingestion.run), so a killed run keeps whole batches only and the re-run completes
the rest; the final workspace must equal a clean run's, table by table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from gripkit import Workspace

# Content checksums that do not depend on run-specific ids or timestamps: rows are identified by
# their source file's SHA-256 and line number.
CHECKSUMS = {
    "sources": "SELECT count(*), sum(hash(sha256, kind, source_key, force, month, rows_read, rows_loaded, "
    "rows_quarantined, status)) FROM sources",
    "crimes": "SELECT count(*), sum(hash(s.sha256, c.source_row, c.crime_id, c.month, c.crime_type, c.force, "
    "c.x, c.y, c.lsoa_code, c.location, c.outcome)) FROM crimes c JOIN sources s USING (source_id)",
    "quarantine": "SELECT count(*), sum(hash(s.sha256, q.source_row, q.raw, q.reason, q.detail)) "
    "FROM quarantine q JOIN sources s USING (source_id)",
    "national_force": "SELECT count(*), sum(hash(json_extract_string(params, '$.key'))) FROM results "
    "WHERE kind = 'national_force'",
}
SCRIPT = (
    "import sys; from gripkit.cli import main; sys.argv = ['gripkit', *sys.argv[1:]]; main()"
)
# The run to kill: the same national job through the API, printing "done total" after each file, so
# the test can kill it at a known point (part-way through the ingest) instead of guessing by timing.
KILLABLE = (
    "import sys; from pathlib import Path; from gripkit import Workspace; "
    "from gripkit.national import NationalParams, run_national\n"
    "from gripkit.ingestion import staged; staged.MIN_PROCESS_BYTES = 0  # worker processes even for this\n"
    "ws = Workspace(sys.argv[2])\n"
    "run_national([sys.argv[1]], ws, Path(sys.argv[3]), params=NationalParams(last=2, cell_size=250, "
    "n_areas=5), workers=1, batch_rows=5000, progress=lambda d, t, n: print(d, t, flush=True))\n"
)


def _command(folder: Path, ws: Path, out: Path) -> list[str]:
    return [sys.executable, "-c", SCRIPT, "national", str(folder), "-o", str(out), "-w", str(ws),
            "--last", "2", "--cell-size", "250", "--areas", "5", "--workers", "1",
            "--batch-rows", "5000", "--json"]


def _children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").glob("*")
            for c in (task / "children").read_text().split()]


def _checksums(path: Path) -> dict[str, tuple[int, int]]:
    with Workspace(path, read_only=True) as ws:
        out = {}
        for name, sql in CHECKSUMS.items():
            row = ws.con.execute(sql).fetchone()
            assert row is not None
            out[name] = (int(row[0]), int(row[1] or 0))
        return out


def test_sigkill_mid_ingest_then_rerun_equals_clean_run(tmp_path: Path, national_input: Path) -> None:
    env = dict(os.environ)
    clean = tmp_path / "clean.duckdb"
    subprocess.run(_command(national_input, clean, tmp_path / "out-clean"), check=True, env=env,
                   capture_output=True, timeout=120)
    killed = tmp_path / "killed.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, str(national_input), str(killed),
                             str(tmp_path / "out-killed")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:  # kill three files before the end of the ingest
        done, total = map(int, line.split())
        if done >= total - 3:
            break
    workers = _children(proc.pid)  # the ingest's worker process (workers=1)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL, "the run finished before it could be killed"
    assert workers, "the national ingest ran without a worker process"
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers), "a worker outlived the killed run"
    partial = _checksums(killed)
    assert 0 < partial["sources"][0] < _checksums(clean)["sources"][0]  # killed mid-ingest
    assert not (tmp_path / "out-killed" / "national.csv").exists()
    subprocess.run(_command(national_input, killed, tmp_path / "out-killed"), check=True, env=env,
                   capture_output=True, timeout=120)
    assert _checksums(killed) == _checksums(clean)
    tables = [
        pd.read_csv(tmp_path / d / "national.csv").drop(columns="seconds")
        for d in ("out-clean", "out-killed")
    ]
    pd.testing.assert_frame_equal(tables[0], tables[1])
