"""A full disk while ingesting: a clear error, whole batches only, and the re-run completes.

The disk is "filled" for one subprocess with RLIMIT_FSIZE (files may not grow past a few MB;
SIGXFSZ ignored, so writes fail with EFBIG as they would with ENOSPC), which needs no root and
no special filesystem.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def _mount_tmpfs(folder: Path, size: str) -> bool:
    """A real small filesystem (needs root; False where it cannot be mounted)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    folder.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("size", ["20m", "8m"])  # a failed checkpoint (DuckDB FATAL) / a failed commit
def test_really_full_disk_one_line_and_every_process_exits(
    bedfordshire_zip: Path, tmp_path: Path, size: str
) -> None:
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, size):
        pytest.skip("mounting a tmpfs needs root (the RLIMIT_FSIZE test above covers the unprivileged case)")
    try:
        path = disk / "ws.duckdb"
        began = time.monotonic()
        run = subprocess.run(  # two worker processes: they too must leave when the write fails
            [sys.executable, "-c", "from gripkit.cli import main; main()", "ingest", str(bedfordshire_zip),
             "-w", str(path), "--workers", "2"], capture_output=True, text=True, timeout=120,
        )
        assert time.monotonic() - began < 60  # it used to hang in the exit handlers for ever
        assert run.returncode == 1, run.stderr
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "No space left on device" in lines[0], run.stderr
        assert "Free disk space" in lines[0] and "Traceback" not in run.stderr
        left = subprocess.run(["pgrep", "-f", str(path)], capture_output=True, text=True).stdout
        assert left == "", f"processes left running: {left}"
        copy = tmp_path / "copy"
        copy.mkdir()
        for part in disk.glob("ws.duckdb*"):
            shutil.copy(part, copy / part.name)
    finally:
        subprocess.run(["umount", str(disk)], check=False)
    with Workspace(copy / "ws.duckdb") as ws:  # what was committed opens and is whole
        files, loaded, crimes = ws.con.execute(COUNTS).fetchone() or (0, 0, 0)
        assert files < 108 and loaded == crimes
