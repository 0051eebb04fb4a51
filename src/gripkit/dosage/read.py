"""Read GPS pings from CSV (officer/radio id, timestamp, lon/lat or x/y) and GPX files.

Both readers return the *raw* frame: every record as text, with its 1-based ``source_row``, so
that the checks in :mod:`gripkit.dosage.clean` can account for every row (nothing lost).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError

#: The raw text field of a ping's time, before it is parsed into ``ts_utc``.
TIMESTAMP = "timestamp"
RAW_COLUMNS = (C.SOURCE_ROW, C.OFFICER_ID, TIMESTAMP, C.LON, C.LAT, C.X, C.Y)

#: Header names recognised for each field (case-insensitive), first match wins.
ALIASES: dict[str, tuple[str, ...]] = {
    C.OFFICER_ID: ("officer_id", "officer", "radio_id", "radio", "device_id", "device", "callsign",
                   "collar_number", "unit_id", "id"),
    TIMESTAMP: ("timestamp", "ts", "time", "datetime", "date_time", "recorded_at", "fix_time", "utc"),
    C.LON: ("lon", "longitude", "lng", "long"),
    C.LAT: ("lat", "latitude"),
    C.X: ("x", "easting", "east"),
    C.Y: ("y", "northing", "north"),
}


def read_ping_csv(path: str | Path, mapping: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read a CSV of pings as text columns :data:`RAW_COLUMNS` (missing coordinates are empty).

    Parameters
    ----------
    path : str or Path
        CSV with a header row.
    mapping : mapping, optional
        Field -> header, e.g. ``{"officer_id": "Radio", "timestamp": "When"}``; other fields are
        found by :data:`ALIASES`.

    Examples
    --------
    >>> import io, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "p.csv"
    >>> _ = p.write_text("radio,time,lon,lat\\nR1,2024-06-01T14:00:00Z,-0.46,52.13\\n")
    >>> read_ping_csv(p)[["source_row", "officer_id", "lon"]].values.tolist()
    [[2, 'R1', '-0.46']]
    """
    source = _file(path)
    try:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False, engine="pyarrow")
    except Exception as exc:  # pyarrow raises several types for malformed CSV
        raise InputError(
            f"{source.name}: cannot read as CSV ({exc}). Export the pings as comma-separated text."
        ) from exc
    columns = {c.strip().lower(): c for c in frame.columns}
    chosen: dict[str, str | None] = {}
    for fieldname, aliases in ALIASES.items():
        header = (mapping or {}).get(fieldname)
        if header is not None and header not in frame.columns:
            raise InputError(
                f"{source.name}: mapped column {header!r} for {fieldname} is not in the header; received "
                f"columns {', '.join(frame.columns)}."
            )
        chosen[fieldname] = header or next((columns[a] for a in aliases if a in columns), None)
    has_lonlat = chosen[C.LON] is not None and chosen[C.LAT] is not None
    has_xy = chosen[C.X] is not None and chosen[C.Y] is not None
    missing = [f for f in (C.OFFICER_ID, TIMESTAMP) if chosen[f] is None]
    if missing or not (has_lonlat or has_xy):
        need = missing + ([] if has_lonlat or has_xy else ["lon/lat or x/y"])
        raise InputError(
            f"{source.name}: no column for {', '.join(need)}; received columns {', '.join(frame.columns)}. "
            "Rename them (e.g. officer_id, timestamp, lon, lat) or pass a mapping such as "
            "--map officer_id=Radio."
        )
    raw = pd.DataFrame({C.SOURCE_ROW: pd.RangeIndex(2, len(frame) + 2)})
    for fieldname in (C.OFFICER_ID, TIMESTAMP, C.LON, C.LAT, C.X, C.Y):
        header = chosen[fieldname]
        if fieldname in (C.X, C.Y) and has_lonlat:
            header = None  # lon/lat win when both are given
        raw[fieldname] = frame[header].to_numpy() if header is not None else ""
    return raw


def read_ping_gpx(path: str | Path, officer_id: str | None = None) -> pd.DataFrame:
    """Read the track points of a GPX file as text columns :data:`RAW_COLUMNS`.

    The officer is ``officer_id`` if given, else the track's ``<name>``, else the file stem.
    ``source_row`` numbers the track points from 1 in file order.
    """
    source = _file(path)
    rows: list[tuple[int, str, str, str, str]] = []
    track_name: str | None = None
    try:
        for _, elem in ET.iterparse(source, events=("end",)):
            tag = elem.tag.rsplit("}", 1)[-1]
            if tag == "name" and track_name is None and elem.text:
                track_name = elem.text.strip()
            elif tag in ("trkpt", "wpt", "rtept"):
                when = next((c.text or "" for c in elem if c.tag.rsplit("}", 1)[-1] == "time"), "")
                rows.append((len(rows) + 1, "", when.strip(), elem.get("lon", ""), elem.get("lat", "")))
                elem.clear()
    except ET.ParseError as exc:
        raise InputError(f"{source.name}: not a readable GPX file ({exc}). Export the track again.") from exc
    who = officer_id or track_name or source.stem
    frame = pd.DataFrame(rows, columns=[C.SOURCE_ROW, C.OFFICER_ID, TIMESTAMP, C.LON, C.LAT])
    frame[C.OFFICER_ID] = who
    frame[C.X], frame[C.Y] = "", ""
    return frame[list(RAW_COLUMNS)]


def read_pings(path: str | Path, mapping: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read a ``.csv`` or ``.gpx`` file of pings (see :func:`read_ping_csv`, :func:`read_ping_gpx`)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".gpx":
        return read_ping_gpx(path, officer_id=(mapping or {}).get("officer"))
    if suffix in (".csv", ".txt"):
        return read_ping_csv(path, mapping)
    raise InputError(
        f"GPS pings must be .csv or .gpx; received {Path(path).name}. Export them as CSV or GPX."
    )


def _file(path: str | Path) -> Path:
    source = Path(path)
    if not source.is_file():
        raise InputError(f"GPS file not found; received {str(path)!r}. Check the path.")
    return source
