"""A full disk while ingesting: a clear error, whole batches only, and the re-run completes.

The disk is "filled" for one subprocess with RLIMIT_FSIZE (files may not grow past a few MB;
SIGXFSZ ignored, so writes fail with EFBIG as they would with ENOSPC), which needs no root and
no special filesystem.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gripkit import Workspace
from gripkit.ingestion import ingest

LIMITED = (
    "import resource, signal, sys\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (4_000_000, 4_000_000))\n"
    "from gripkit.cli import main\n"
    "sys.argv = ['gripkit', 'ingest', sys.argv[1], '-w', sys.argv[2], '--workers', '0']\n"
    "main()\n"
)
COUNTS = (
    "SELECT (SELECT count(*) FROM sources), (SELECT coalesce(sum(rows_loaded), 0) FROM sources "
    "WHERE kind = 'street'), (SELECT count(*) FROM crimes)"
)


def test_disk_full_is_a_clear_error_and_rerun_completes(bedfordshire_zip: Path, tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    run = subprocess.run([sys.executable, "-c", LIMITED, str(bedfordshire_zip), str(path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "cannot write workspace" in run.stderr and "Free disk space" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    with Workspace(path) as ws:
        files, loaded, crimes = ws.con.execute(COUNTS).fetchone() or (0, 0, 0)
        assert files < 108 and loaded == crimes  # no partial batch claims to be loaded
        ingest([bedfordshire_zip], ws)  # the same command with space: completes the rest
        files, loaded, crimes = ws.con.execute(COUNTS).fetchone() or (0, 0, 0)
    with Workspace(tmp_path / "clean.duckdb") as clean:
        ingest([bedfordshire_zip], clean)
        assert clean.con.execute(COUNTS).fetchone() == (files, loaded, crimes) == (108, 174_692, 174_692)
