"""Unchanged files are skipped by stamp (size + mtime), changed ones are read and hashed again."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from conftest import HEADER, ROW_ASB, ROW_DAMAGE
from gripkit import Workspace
from gripkit.ingest import ingest
from gripkit.ingest.run import UNCHANGED

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
