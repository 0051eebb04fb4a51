"""File versions: every version of a (force, month, kind) file ever ingested, one of them active.

A police.uk file is identified by its *source key* (kind, force and month, e.g.
``street:Bedfordshire:2023-05``); a corrected file has the same key and other content. Every
version ever ingested has a ``sources`` row, whose ``status`` is one of:

``active``
    its rows are in the live tables (``crimes``, ``quarantine``, ``outcomes``, ``stop_search``),
    which every stage reads; at most one version per key is active.
``superseded``
    a later version replaced it; its rows are kept in the ``*_inactive`` tables.
``held``
    held back: it would have dropped more than :data:`MAX_SHRINK` of the active version's rows,
    so it was stored (rows in ``*_inactive``) but not applied. ``accept_shrink=True`` at ingest, or
    :func:`restore`, applies it.

Because inactive versions keep their rows, :func:`restore` (``gripkit sources restore ID``) is a
move of rows between the live and inactive tables and two status flips, in one transaction.
Versions replaced before the workspace kept inactive rows (``rows_kept`` false) are re-read from
their recorded path when restored, if the file is still there with the same SHA-256.

Example
-------
>>> from gripkit import Workspace, datasets
>>> from gripkit.ingestion import ingest
>>> ws = Workspace(":memory:")
>>> _ = ingest(datasets.bedfordshire_street_files()[:1], ws)
>>> list(versions(ws)["status"])
['active']
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd

from gripkit.errors import InputError

log = logging.getLogger("gripkit")

#: Largest share of the active version's rows a replacement may drop and still be applied (20%).
#: A police.uk correction changes a few rows of a month (re-geocoded, re-classified, withdrawn);
#: a file with far fewer rows is more likely cut short (an interrupted download or copy).
MAX_SHRINK = 0.20
#: Fewest rows a replacement must drop to be held back: in a small file a share says little (one
#: withdrawn record of two is 50%), and a cut-short download loses far more than this.
MIN_SHRINK_ROWS = 50
#: Live table -> the table keeping the rows of inactive (superseded or held-back) versions.
INACTIVE = {
    "crimes": "crimes_inactive",
    "quarantine": "quarantine_inactive",
    "outcomes": "outcomes_inactive",
    "stop_search": "stop_search_inactive",
}
#: ``sources.status`` values and how ``gripkit sources`` shows them.
STATUS_LABELS = {"active": "active", "superseded": "superseded", "held": "held back"}
#: Columns of :func:`versions`.
VERSION_COLUMNS = (
    "source_id", "force", "month", "kind", "status", "rows_read", "rows_loaded", "rows_quarantined",
    "sha256", "ingested_at", "path",
)


def shrinks(new_rows: int, active_rows: int, max_shrink: float = MAX_SHRINK) -> bool:
    """True when ``new_rows`` drops more than ``max_shrink`` of ``active_rows`` (and at least
    :data:`MIN_SHRINK_ROWS` rows).

    >>> shrinks(5_000, 30_749), shrinks(25_000, 30_749), shrinks(1, 2), shrinks(0, 0)
    (True, False, False, False)
    """
    dropped = active_rows - new_rows
    return dropped >= MIN_SHRINK_ROWS and new_rows < (1.0 - max_shrink) * active_rows


def _columns(con: Any, table: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]


def move_rows(con: Any, source_id: int, *, active: bool) -> None:
    """Move a version's rows into the live tables (``active``) or out of them (inside a transaction)."""
    for live, inactive in INACTIVE.items():
        src, dst = (inactive, live) if active else (live, inactive)
        shared = [c for c in _columns(con, src) if c in set(_columns(con, dst))]
        names = ", ".join(f'"{c}"' for c in shared)
        con.execute(f"INSERT INTO {dst} ({names}) SELECT {names} FROM {src} WHERE source_id = ?", [source_id])
        con.execute(f"DELETE FROM {src} WHERE source_id = ?", [source_id])


def supersede(con: Any, source_id: int) -> None:
    """Make an active version superseded: its rows leave the live tables (inside a transaction)."""
    move_rows(con, source_id, active=False)
    con.execute(
        "UPDATE sources SET status = 'superseded', replaced_at = now() WHERE source_id = ?", [source_id]
    )


def activate(con: Any, source_id: int) -> int | None:
    """Make a kept version active, superseding the active one of its key; return that one's id.

    Runs inside the caller's transaction; the version's rows must be in the inactive tables.
    """
    row = con.execute("SELECT source_key FROM sources WHERE source_id = ?", [source_id]).fetchone()
    current = con.execute(
        "SELECT source_id FROM sources WHERE source_key = ? AND status = 'active' AND source_id <> ?",
        [row[0], source_id],
    ).fetchall()
    for (other,) in current:
        supersede(con, int(other))
    move_rows(con, source_id, active=True)
    con.execute("UPDATE sources SET status = 'active', replaced_at = NULL WHERE source_id = ?", [source_id])
    return int(current[0][0]) if current else None


def versions(ws: Any) -> pd.DataFrame:
    """Every version of every (force, month, kind) file, with its status (see :data:`VERSION_COLUMNS`).

    Sorted by force, month, kind and then ingest order; ``status`` is ``active``, ``superseded`` or
    ``held``.
    """
    return ws.con.execute(
        f"SELECT {', '.join(VERSION_COLUMNS)} FROM sources "
        "ORDER BY force NULLS LAST, month NULLS LAST, kind, source_id"
    ).df()


@dataclass(frozen=True)
class Restored:
    """What :func:`restore` did: the version made active and the one it superseded (if any)."""

    source_id: int
    path: str
    key: str
    rows_loaded: int
    superseded: int | None
    superseded_path: str | None
    was: str
    reloaded: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        return dict(vars(self))

    def summary(self) -> str:
        """One sentence saying which version is active now."""
        if self.was == "active":
            return f"Version {self.source_id} ({self.key}) was already active; nothing changed."
        text = (f"Version {self.source_id} of {self.key} ({self.rows_loaded:,} rows, {self.path}) is "
                "active again")
        if self.superseded is not None:
            text += f"; version {self.superseded} ({self.superseded_path}) is superseded"
        return text + (" (re-read from its file)." if self.reloaded else ".")


def restore(ws: Any, source_id: int) -> Restored:
    """Make version ``source_id`` of a file active again (``gripkit sources restore ID``).

    The active version of the same (force, month, kind) becomes superseded; both stay listed by
    :func:`versions`. One transaction: readers see either the old or the new version, never both.

    Raises
    ------
    InputError
        If there is no such version, or its rows were not kept and its file is gone or changed.
    """
    row = ws.con.execute(
        "SELECT source_key, status, path, rows_loaded, coalesce(rows_kept, true), sha256 FROM sources "
        "WHERE source_id = ?", [int(source_id)]
    ).fetchone()
    if row is None:
        raise InputError(
            f"'source_id' must name a file version; received {source_id!r}, and workspace {ws.path} has "
            "no such version. List them with `gripkit sources`."
        )
    key, status, path, rows, kept, sha = row
    if status == "active":
        return Restored(int(source_id), path, key, int(rows or 0), None, None, status)
    with ws.transaction() as con:
        if not kept:  # re-read in the same transaction: a crash leaves no half-restored version
            _reload(con, int(source_id), path, sha)
        previous = activate(con, int(source_id))
        previous_path = None
        if previous is not None:
            found = con.execute("SELECT path FROM sources WHERE source_id = ?", [previous]).fetchone()
            previous_path = found[0] if found else None
        con.execute("UPDATE sources SET rows_kept = true WHERE source_id = ?", [int(source_id)])
    log.info("version %d of %s is active again (was %s)", source_id, key, STATUS_LABELS.get(status, status))
    ws.yield_to_waiting()
    return Restored(int(source_id), path, key, int(rows or 0), previous, previous_path, status, not kept)


def _reload(con: Any, source_id: int, path: str, sha: str) -> None:
    """Re-read a version whose rows were deleted by an older gripkit into the inactive tables."""
    from gripkit.ingestion.discover import discover
    from gripkit.ingestion.load import check, load
    from gripkit.ingestion.writer import insert_rows

    archive = path.split("!", 1)[0]
    try:
        found = [f for f in discover([archive]) if f.display == path]
    except InputError:
        found = []
    loaded = load(found[0], None, frozenset()) if found else None
    if loaded is None or loaded.sha256 != sha or loaded.pending is None or loaded.pending.kind == "csv":
        raise InputError(
            f"version {source_id} ({path}) was replaced by an older gripkit, which did not keep its rows, "
            "and its file is no longer there with the same content (SHA-256); received a missing or "
            "changed file. Put the original file back at that path and run the same command again."
        )
    check([loaded.pending], None)
    assert loaded.pending.result is not None
    insert_rows(con, loaded.pending.result, source_id, active=False)
