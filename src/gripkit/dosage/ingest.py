"""Ingest GPS ping files into the workspace with nothing-lost accounting.

Every row read is either stored in ``gps_pings`` (UTC) or in ``gps_quarantine`` with a reason
(see :mod:`gripkit.dosage.clean`); ``gps_sources`` records per file ``rows_read = rows_loaded +
rows_quarantined``. A file already ingested (same SHA-256) is skipped.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from shapely.geometry.base import BaseGeometry

from gripkit import columns as C
from gripkit import datasets
from gripkit.dosage.clean import MAX_SPEED_KMH, clean_pings
from gripkit.dosage.read import read_pings
from gripkit.errors import InputError
from gripkit.progress import Progress, throttled
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")


@dataclass
class GpsIngestReport:
    """What a GPS ingest did: rows read, loaded, quarantined (by reason), files skipped."""

    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    unknown_officers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe copy."""
        return {
            "read": self.read, "loaded": self.loaded, "quarantined": self.quarantined,
            "by_reason": dict(self.by_reason), "files": list(self.files),
            "skipped_files": list(self.skipped_files), "unknown_officers": list(self.unknown_officers),
        }


def ingest_gps(
    paths: Sequence[str | Path],
    ws: Workspace,
    *,
    mapping: Mapping[str, str] | None = None,
    tz: str = "Europe/London",
    officers: Iterable[str] | None = None,
    area: BaseGeometry | str | None = "auto",
    area_buffer_m: float = 500.0,
    max_speed_kmh: float = MAX_SPEED_KMH,
    clock_offsets: Mapping[str, float] | None = None,
    now: pd.Timestamp | None = None,
    progress: Progress | None = None,
) -> GpsIngestReport:
    """Read, check and store GPS pings from CSV/GPX files.

    Parameters
    ----------
    paths : sequence of paths
        ``.csv`` or ``.gpx`` files.
    ws : Workspace
    mapping, tz, officers, area_buffer_m, max_speed_kmh, clock_offsets, now
        See :func:`~gripkit.dosage.read.read_ping_csv` and :func:`~gripkit.dosage.clean.clean_pings`.
    area : geometry, "auto" or None, default "auto"
        Study area (EPSG:27700); ``"auto"`` uses the bundled force area of the workspace's
        crimes when known, None skips the out-of-area check.
    progress : callable, optional
        ``progress(done, total, path)`` (:data:`gripkit.progress.Progress`) after each file
        (at most about 100 calls).

    Returns
    -------
    GpsIngestReport

    Raises
    ------
    InputError
        If a file cannot be read, or if *every* ping is from an unknown officer (a wrong roster
        or officer column).

    Examples
    --------
    >>> report = ingest_gps(["pings.csv"], ws, officers=["R1", "R2"])  # doctest: +SKIP
    >>> report.read == report.loaded + report.quarantined  # doctest: +SKIP
    True
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    roster = None if officers is None else sorted({str(o).strip() for o in officers})
    study = _area(ws, area)
    report = GpsIngestReport()
    update = throttled(progress, len(paths))
    for done, path in enumerate(paths, start=1):
        data = Path(path).read_bytes() if Path(path).is_file() else None
        if data is None:
            raise InputError(f"GPS file not found; received {str(path)!r}. Check the path.")
        digest = hashlib.sha256(data).hexdigest()
        seen = ws.con.execute("SELECT count(*) FROM gps_sources WHERE sha256 = ?", [digest]).fetchone()
        if seen and seen[0]:
            report.skipped_files.append(str(path))
            log.info("%s already ingested (same SHA-256); skipped", path)
            if update is not None:
                update(done, len(paths), str(path))
            continue
        raw = read_pings(path, mapping)
        clean, bad = clean_pings(
            raw, tz=tz, officers=roster, area=study, area_buffer_m=area_buffer_m,
            max_speed_kmh=max_speed_kmh, clock_offsets=clock_offsets, now=now,
        )
        unknown = sorted(set(bad.loc[bad["reason"] == "unknown_officer", C.OFFICER_ID]))
        if roster is not None and len(raw) and len(unknown) and (bad["reason"] == "unknown_officer").all():
            raise InputError(
                f"{Path(path).name}: none of its {len(raw)} pings is from an officer on the roster; "
                f"received ids such as {', '.join(unknown[:3])}, roster ids such as {', '.join(roster[:3])}. "
                "Check the officer column (--map officer_id=...) or the roster file."
            )
        _store(ws, path, digest, raw, clean, bad, {"tz": tz, "area_buffer_m": area_buffer_m,
                                                     "max_speed_kmh": max_speed_kmh})
        counts = bad["reason"].value_counts().to_dict()
        for key, value in counts.items():
            report.by_reason[str(key)] = report.by_reason.get(str(key), 0) + int(value)
        report.read += len(raw)
        report.loaded += len(clean)
        report.quarantined += len(bad)
        report.unknown_officers = sorted(set(report.unknown_officers) | set(unknown))
        report.files.append({"path": str(path), "read": len(raw), "loaded": len(clean),
                             "quarantined": len(bad)})
        if unknown:
            log.warning("%s: %d ping(s) from officer id(s) not on the roster (%s) quarantined",
                        path, counts.get("unknown_officer", 0), ", ".join(unknown[:5]))
        if update is not None:
            update(done, len(paths), str(path))
    return report


def _area(ws: Workspace, area: BaseGeometry | str | None) -> BaseGeometry | None:
    if area is None or isinstance(area, BaseGeometry):
        return area
    if area != "auto":
        raise InputError(f"'area' must be a polygon, 'auto' or None; received {area!r}.")
    row = ws.con.execute("SELECT mode(force) FROM crimes").fetchone()
    force = row[0] if row else None
    geometry = datasets.force_area(str(force)) if force else None
    if geometry is None:
        log.info("no known force area in the workspace: pings are not checked for being out of area")
    else:
        log.info("pings outside the %s force area are quarantined as out_of_area", force)
    return geometry


def _store(
    ws: Workspace, path: str | Path, digest: str, raw: pd.DataFrame, clean: pd.DataFrame,
    bad: pd.DataFrame, params: dict[str, Any],
) -> None:
    fmt = Path(path).suffix.lower().lstrip(".")
    with ws.transaction() as con:
        row = con.execute("SELECT coalesce(max(gps_source_id), 0) + 1 FROM gps_sources").fetchone()
        sid = int(row[0]) if row else 1
        con.execute(
            "INSERT INTO gps_sources VALUES (?, ?, ?, ?, ?, ?, ?, now(), ?)",
            [sid, str(path), digest, fmt, len(raw), len(clean), len(bad), json.dumps(params)],
        )
        for table, frame, columns in (
            ("gps_pings", clean, "source_row, officer_id, ts_utc, lon, lat, x, y"),
            ("gps_quarantine", bad, "source_row, officer_id, raw, reason, detail"),
        ):
            con.register("_rows", frame)
            con.execute(f"INSERT INTO {table} SELECT ?, {columns} FROM _rows", [sid])
            con.unregister("_rows")


def workspace_pings(ws: Workspace) -> pd.DataFrame:
    """All stored pings: ``officer_id, ts_utc, x, y, lon, lat`` sorted by officer and time."""
    return ws.con.execute(
        "SELECT officer_id, ts_utc, x, y, lon, lat FROM gps_pings ORDER BY officer_id, ts_utc"
    ).df()
