"""Unchanged files are skipped by stamp (size + mtime), changed ones are read and hashed again."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.ingestion.ingest_rows import HEADER, ROW_ASB, ROW_DAMAGE

from gripkit import Workspace
from gripkit.ingestion import ingest
from gripkit.ingestion.run import UNCHANGED

NAME = "2021-05/2021-05-bedfordshire-street.csv"


def test_stamp_skips_unread_and_changes_are_seen(write_csv: Callable[..., Path], ws: Workspace) -> None:
    path = write_csv(NAME, [HEADER, ROW_ASB, ROW_DAMAGE])
    assert ingest([path], ws).crimes.loaded == 2
    again = ingest([path], ws)
    assert again.skipped_files == [{"path": str(path), "reason": UNCHANGED}]
    # same bytes, newer modification time: read and hashed, then skipped by its SHA-256
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    touched = ingest([path], ws)
    assert "already ingested (same SHA-256" in touched.skipped_files[0]["reason"]
    # a corrected file (one row fewer) at the same path: read, and it replaces the earlier one
    write_csv(NAME, [HEADER, ROW_DAMAGE])
    corrected = ingest([path], ws)
    assert corrected.crimes.loaded == 1 and len(corrected.replaced_files) == 1
    assert ws.counts()["crimes"] == 1


def test_stamp_holds_whatever_the_working_directory(
    write_csv: Callable[..., Path], ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same file named by different relative paths (a monthly re-run from another folder) is
    recognised by its stamp: paths are recorded absolute. Before, every file was read and hashed
    again (on the national replica, 1,204 files and ~2.5 s)."""
    path = write_csv(NAME, [HEADER, ROW_ASB, ROW_DAMAGE])
    monkeypatch.chdir(path.parent)
    assert ingest([path.name], ws).crimes.loaded == 2
    monkeypatch.chdir(path.parent.parent)
    again = ingest([Path(path.parent.name) / path.name], ws)
    assert again.skipped_files == [{"path": str(path.absolute()), "reason": UNCHANGED}]
