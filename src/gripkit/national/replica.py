"""A scaled replica of real police.uk data across force areas, for benchmarks and tests.

It is *not* synthetic data: every row is a real Bedfordshire street-level crime as published on
data.police.uk, copied into another force area by a stated affine map in British National Grid
metres, ``x' = cx_t + s (x - cx_b) + c * 37``, ``y' = cy_t + s (y - cy_b)``, where ``(cx_b, cy_b)`` is
the median point of the Bedfordshire crimes, ``(cx_t, cy_t)`` the representative point of the
target force polygon (bundled), ``s = 0.6 sqrt(area_t / area_b)`` (clipped to [0.05, 3]; 0.6
keeps most of the real spread inside the target's outline) and ``c`` is the copy number (0 for the first
copy). ``Falls within`` and ``Reported by`` are relabelled to the target force, files are renamed
``YYYY-MM-<force-slug>-street.csv``, and copies ``c > 0`` get new Crime IDs
(``sha256(id + ":c")``) so no row is a duplicate. Everything else (crime types, months, blank
IDs, rows without coordinates, Bedfordshire LSOA codes and names) is kept exactly as published, so
the replica carries the real quirks. Points the map puts outside the target force's polygon are
quarantined by ingest as ``outside_force``, as they should be.

Example
-------
>>> slug("Devon and Cornwall")
'devon-and-cornwall'
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.datasets import force_areas
from gripkit.errors import InputError
from gripkit.ingestion.checks import transformer

SOURCE_FORCE = "Bedfordshire"
#: Extra eastward offset per copy, metres (copies of one force-month do not coincide).
COPY_OFFSET_M = 37.0
#: Shrink factor on the area ratio (see the module docstring).
SCALE = 0.6
#: Median of the real Bedfordshire crime points, EPSG:27700 (the 36 months of the shared zip).
SOURCE_CENTRE = (506_347.0, 225_600.0)
NOTICE = (
    "scaled replica of REAL police.uk data: Bedfordshire street crimes (May 2021 - April 2024) "
    "copied into other force areas by a stated affine map (gripkit.national.replica); not new crimes"
)


def slug(force: str) -> str:
    """File-name form of a force name (police.uk style)."""
    return "-".join(force.lower().replace("&", "and").split())


@dataclass
class ReplicaManifest:
    """What :func:`build_replica` wrote: files, rows and the stated offsets per force."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    offsets: dict[str, dict[str, float]] = field(default_factory=dict)
    notice: str = NOTICE


def read_source_months(zip_path: str | Path) -> dict[str, pd.DataFrame]:
    """The street files of a police.uk bulk zip, as all-text frames keyed by ``YYYY-MM``."""
    out: dict[str, pd.DataFrame] = {}
    with zipfile.ZipFile(zip_path) as archive:
        for name in sorted(n for n in archive.namelist() if n.endswith("-street.csv")):
            month = Path(name).name[:7]
            data = archive.read(name)
            out[month] = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    if not out:
        raise InputError(f"{zip_path}: no *-street.csv files; pass a police.uk bulk-download zip.")
    return out


def _centre_and_area(force: str) -> tuple[float, float, float]:
    areas = force_areas()
    row = areas[areas["police_force"] == force]
    if row.empty:
        known = ", ".join(areas["police_force"])
        raise InputError(f"unknown force {force!r}; choose from: {known}.")
    point = row.geometry.iloc[0].representative_point()
    return float(point.x), float(point.y), float(row["area_km2"].iloc[0])


def _copy(frame: pd.DataFrame, force: str, copy: int, xy: tuple[np.ndarray, np.ndarray],
          has: np.ndarray, offset: dict[str, float]) -> pd.DataFrame:
    out = frame.copy()
    x = offset["cx"] + offset["scale"] * (xy[0] - offset["source_cx"]) + copy * COPY_OFFSET_M
    y = offset["cy"] + offset["scale"] * (xy[1] - offset["source_cy"])
    lon, lat = transformer(C.WGS84).transform(x, y, direction="INVERSE")
    out.loc[has, "Longitude"] = np.char.mod("%.6f", lon[has])
    out.loc[has, "Latitude"] = np.char.mod("%.6f", lat[has])
    out["Falls within"] = f"{force} Police"
    out["Reported by"] = f"{force} Police"
    if copy:
        ids = out["Crime ID"]
        out["Crime ID"] = [
            hashlib.sha256(f"{v}:{copy}".encode()).hexdigest() if v.strip() else v for v in ids
        ]
    return out


def build_replica(
    zip_path: str | Path,
    folder: str | Path,
    *,
    forces: list[str] | None = None,
    months: list[str] | None = None,
    copies: int = 1,
    relabel: dict[str, str] | None = None,
    sources: dict[str, pd.DataFrame] | None = None,
) -> ReplicaManifest:
    """Write police.uk month folders replicating the real Bedfordshire months into ``forces``.

    Parameters
    ----------
    zip_path
        The real police.uk Bedfordshire bulk zip (36 months, May 2021 - April 2024).
    folder
        Output folder; ``YYYY-MM/YYYY-MM-<force>-street.csv`` files are written under it.
    forces
        Target force areas (bundled names); None: all 43.
    months
        Source months (``YYYY-MM``) to use; None: all 36.
    copies
        Copies of each source month per force (each a stated 37 m further east, new Crime IDs).
    relabel
        ``{source month: output month}``: write a real month under another month's label (used
        to add "next month" in update benchmarks and tests; the ``Month`` column is rewritten).
    sources
        Frames from :func:`read_source_months`, to avoid re-reading the zip.

    Returns
    -------
    ReplicaManifest
    """
    if copies < 1:
        raise InputError(f"'copies' must be >= 1; received {copies}. Pass e.g. 1.")
    frames = sources if sources is not None else read_source_months(zip_path)
    chosen = months if months is not None else sorted(frames)
    targets = forces if forces is not None else [str(f) for f in force_areas()["police_force"]]
    _, _, sarea = _centre_and_area(SOURCE_FORCE)
    sx, sy = SOURCE_CENTRE
    offsets: dict[str, dict[str, float]] = {}
    for force in targets:
        cx, cy, area = _centre_and_area(force)
        scale = float(np.clip(SCALE * np.sqrt(area / sarea), 0.05, 3.0))
        offsets[force] = {"cx": cx, "cy": cy, "scale": scale, "source_cx": sx, "source_cy": sy}
    manifest = ReplicaManifest(Path(folder), offsets=offsets)
    for month in chosen:
        if month not in frames:
            raise InputError(f"month {month} is not in {zip_path}; choose from {min(frames)}..{max(frames)}.")
        frame = frames[month]
        label = (relabel or {}).get(month, month)
        if label != month:
            frame = frame.assign(Month=label)
        lon = pd.to_numeric(frame["Longitude"], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(frame["Latitude"], errors="coerce").to_numpy(float)
        has = np.isfinite(lon) & np.isfinite(lat)
        x, y = transformer(C.WGS84).transform(np.where(has, lon, 0.0), np.where(has, lat, 0.0))
        xy = (np.asarray(x), np.asarray(y))
        target_dir = manifest.folder / label
        target_dir.mkdir(parents=True, exist_ok=True)
        for force in targets:
            parts = [_copy(frame, force, c, xy, has, offsets[force]) for c in range(copies)]
            path = target_dir / f"{label}-{slug(force)}-street.csv"
            pd.concat(parts, ignore_index=True).to_csv(path, index=False)
            manifest.files.append(path)
            manifest.rows += len(frame) * copies
    return manifest
