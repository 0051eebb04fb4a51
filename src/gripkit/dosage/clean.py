"""Check raw GPS pings: every row is either kept or quarantined with a reason (nothing lost).

Checks, in order (a row gets the first reason that applies):

==========================  ==============================================================
reason                      meaning
==========================  ==============================================================
``missing_officer``         blank officer / radio id
``bad_timestamp``           unparseable, or before 2000 (device clock never set)
``ambiguous_local_time``    a naive local time in the repeated hour when clocks go back
                            (or the skipped hour when they go forward)
``future_timestamp``        later than ``now`` + 1 day (clock skew)
``bad_coordinates``         missing, non-numeric, out of range, or exactly 0,0 (no fix)
``unknown_officer``         not in the ``officers`` roster (when one is given)
``out_of_area``             outside ``area`` buffered by ``area_buffer_m``
``duplicate``               same officer and time as an earlier row (first kept)
``impossible_speed``        a spike: faster than ``max_speed_kmh`` from *and* to its
                            neighbours in time (one pass)
==========================  ==============================================================

Timestamps with an offset (``Z``, ``+01:00``) are converted to UTC; naive ones are read as ``tz``
(default Europe/London). Stored times are naive UTC. ``clock_offsets`` (seconds a device's clock
runs *ahead*) are subtracted before the duplicate and speed checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from gripkit import columns as C
from gripkit.dosage.read import TIMESTAMP
from gripkit.patrol.schedule import timezone

PING_COLUMNS = (C.SOURCE_ROW, C.OFFICER_ID, C.TS_UTC, C.LON, C.LAT, C.X, C.Y)
QUARANTINE_COLUMNS = (C.SOURCE_ROW, C.OFFICER_ID, "raw", "reason", "detail")
MAX_SPEED_KMH = 100.0
_OFFSET = r"(?:[zZ]|[+-]\d{2}:?\d{2})$"
_EARLIEST = pd.Timestamp("2000-01-01")
_TO_BNG = pyproj.Transformer.from_crs(C.WGS84, C.BNG, always_xy=True)
_TO_WGS = pyproj.Transformer.from_crs(C.BNG, C.WGS84, always_xy=True)


def clean_pings(
    raw: pd.DataFrame,
    *,
    tz: str = "Europe/London",
    officers: Iterable[str] | None = None,
    area: BaseGeometry | None = None,
    area_buffer_m: float = 500.0,
    max_speed_kmh: float = MAX_SPEED_KMH,
    clock_offsets: Mapping[str, float] | None = None,
    now: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split raw pings into clean pings and quarantined rows with reasons.

    Parameters
    ----------
    raw : DataFrame
        From :func:`~gripkit.dosage.read.read_pings` (text columns).
    tz : str, default "Europe/London"
        Zone of timestamps written without an offset.
    officers : iterable of str, optional
        Roster of known officer / radio ids.
    area : shapely geometry, optional
        Study area in EPSG:27700 (e.g. the force area).
    area_buffer_m : float, default 500
        Tolerance around ``area``.
    max_speed_kmh : float, default 100
        Faster moves are GPS spikes.
    clock_offsets : mapping officer -> seconds, optional
        Known clock skew per device (positive = device clock ahead); subtracted.
    now : Timestamp, optional
        Reference time (naive UTC) for ``future_timestamp`` (default: the current time).

    Returns
    -------
    (DataFrame, DataFrame)
        Clean pings :data:`PING_COLUMNS` sorted by officer and time; quarantine
        :data:`QUARANTINE_COLUMNS`. ``len(clean) + len(quarantine) == len(raw)``.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"source_row": [2, 3], "officer_id": ["R1", "R1"],
    ...     "timestamp": ["2024-06-01T14:00:00Z", "yesterday"], "lon": ["-0.46", "-0.46"],
    ...     "lat": ["52.13", "52.13"], "x": ["", ""], "y": ["", ""]})
    >>> clean, bad = clean_pings(raw)
    >>> len(clean), bad["reason"].tolist()
    (1, ['bad_timestamp'])
    """
    zone = timezone(tz)
    n = len(raw)
    reason = np.full(n, None, dtype=object)
    detail = np.full(n, "", dtype=object)

    def flag(mask: np.ndarray, name: str, text: Any = "") -> None:
        new = mask & (reason == None)  # noqa: E711 - elementwise on an object array
        reason[new] = name
        detail[new] = text[new] if isinstance(text, np.ndarray) else text

    officer = raw[C.OFFICER_ID].astype(str).str.strip().to_numpy(dtype=object)
    flag(officer == "", "missing_officer", "blank officer/radio id; fill it in the export")
    ts, ambiguous = _timestamps(raw[TIMESTAMP].astype(str).str.strip(), str(zone))
    iso_hint = "not a date-time; use ISO 8601, e.g. 2024-06-01T14:05:00Z"
    flag(np.isnat(ts) & ~ambiguous, "bad_timestamp", iso_hint)
    flag(ambiguous, "ambiguous_local_time", f"local time repeated or skipped at a clock change in {zone}; "
         "export with UTC offsets")
    flag(~np.isnat(ts) & (ts < _EARLIEST.to_datetime64()), "bad_timestamp",
         "before 2000: device clock not set")
    if clock_offsets:
        offsets = {str(k): float(v) for k, v in clock_offsets.items()}
        shift = pd.Series(officer).map(offsets).fillna(0.0).to_numpy(dtype=float) * 1e9
        ts = ts - shift.astype("timedelta64[ns]")
    reference = pd.Timestamp.now("UTC").tz_localize(None) if now is None else pd.Timestamp(now)
    limit = reference + pd.Timedelta(days=1)
    flag(~np.isnat(ts) & (ts > limit.to_datetime64()), "future_timestamp",
         "later than now: device clock skew; pass a clock offset for this device")
    x, y, lon, lat = _coordinates(raw)
    flag(~(np.isfinite(x) & np.isfinite(y)), "bad_coordinates",
         "missing, non-numeric, out-of-range or 0,0 coordinates (no GPS fix)")
    if officers is not None:
        roster = {str(o).strip() for o in officers}
        flag(~pd.Series(officer).isin(roster).to_numpy(), "unknown_officer",
             "not in the officer roster; add the id to the roster or fix the export")
    if area is not None:
        zone_area = area.buffer(float(area_buffer_m)) if area_buffer_m else area
        shapely.prepare(zone_area)
        ok = reason == None  # noqa: E711
        inside = np.zeros(n, dtype=bool)
        inside[ok] = shapely.contains_xy(zone_area, x[ok], y[ok])
        flag(ok & ~inside, "out_of_area", f"outside the study area (+{area_buffer_m:g} m)")
    _flag_track(officer, ts, x, y, reason, detail, float(max_speed_kmh))
    keep = reason == None  # noqa: E711
    clean = pd.DataFrame({
        C.SOURCE_ROW: raw[C.SOURCE_ROW].to_numpy()[keep], C.OFFICER_ID: officer[keep], C.TS_UTC: ts[keep],
        C.LON: lon[keep], C.LAT: lat[keep], C.X: x[keep], C.Y: y[keep],
    }).sort_values([C.OFFICER_ID, C.TS_UTC], kind="mergesort").reset_index(drop=True)
    bad = np.flatnonzero(~keep)
    fields = raw.iloc[bad][[C.OFFICER_ID, TIMESTAMP, C.LON, C.LAT, C.X, C.Y]].astype(str)
    rest: Any = [fields[c] for c in (TIMESTAMP, C.LON, C.LAT, C.X, C.Y)]
    text = fields[C.OFFICER_ID].str.cat(rest, sep=",")
    quarantine = pd.DataFrame({
        C.SOURCE_ROW: raw[C.SOURCE_ROW].to_numpy()[bad], C.OFFICER_ID: officer[bad],
        "raw": text.to_numpy(dtype=object), "reason": reason[bad], "detail": detail[bad],
    })
    return clean, quarantine


def _timestamps(text: pd.Series, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """Naive-UTC datetime64 per row (NaT if bad) and a mask of ambiguous local times."""
    aware = text.str.contains(_OFFSET, regex=True).to_numpy()
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    ambiguous = np.zeros(len(text), dtype=bool)
    if aware.any():
        parsed = pd.to_datetime(text[aware], utc=True, format="ISO8601", errors="coerce")
        out[aware] = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    naive = ~aware
    if naive.any():
        local = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
        if getattr(local.dt, "tz", None) is not None:  # pragma: no cover - offsets caught above
            local = local.dt.tz_localize(None)
        placed = local.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        out[naive] = placed.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        ambiguous[naive] = (local.notna() & placed.isna()).to_numpy()
    return out, ambiguous


def _coordinates(raw: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x, y (EPSG:27700) and lon, lat per row; NaN where unusable. Projects only rows that need it."""
    lon, lat, x, y = (_number(raw[name]) for name in (C.LON, C.LAT, C.X, C.Y))
    use_lonlat = np.isfinite(lon) | np.isfinite(lat)
    good = use_lonlat & (np.abs(lon) <= 180) & (np.abs(lat) <= 90) & ~((lon == 0) & (lat == 0))
    lon[use_lonlat & ~good], lat[use_lonlat & ~good] = np.nan, np.nan
    x[use_lonlat], y[use_lonlat] = np.nan, np.nan
    if good.any():
        x[good], y[good] = _TO_BNG.transform(lon[good], lat[good])
    from_xy = ~use_lonlat & np.isfinite(x) & np.isfinite(y)
    bad_xy = from_xy & (((x == 0) & (y == 0)) | (x < -1e6) | (x > 2e6) | (y < -1e6) | (y > 2e6))
    x[bad_xy], y[bad_xy] = np.nan, np.nan
    from_xy &= ~bad_xy
    if from_xy.any():
        lon[from_xy], lat[from_xy] = _TO_WGS.transform(x[from_xy], y[from_xy])
    return x, y, lon, lat


def _number(column: pd.Series) -> np.ndarray:
    """A text column as floats (NaN where blank or not a number); fast path for all-blank columns."""
    text = column.astype(str)
    if not len(text) or int(text.str.len().max()) == 0:
        return np.full(len(text), np.nan)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan).copy()


def _flag_track(
    officer: np.ndarray, ts: np.ndarray, x: np.ndarray, y: np.ndarray, reason: np.ndarray,
    detail: np.ndarray, max_speed_kmh: float,
) -> None:
    """Flag duplicates (same officer and time) and speed spikes among rows still unflagged."""
    ok = np.flatnonzero(reason == None)  # noqa: E711
    if not len(ok):
        return
    order = ok[np.lexsort((ok, ts[ok], officer[ok]))]  # officer, time, then file order
    same_officer = officer[order][1:] == officer[order][:-1]
    dup = np.concatenate([[False], same_officer & (ts[order][1:] == ts[order][:-1])])
    reason[order[dup]] = "duplicate"
    detail[order[dup]] = "same officer and time as an earlier row (first kept)"
    order = order[~dup]
    if len(order) < 2:
        return
    o, t = officer[order], ts[order].astype("datetime64[ns]").astype(np.int64) / 1e9
    step = np.hypot(np.diff(x[order]), np.diff(y[order])) / 1000
    hours = np.diff(t) / 3600
    fast = (o[1:] == o[:-1]) & (step > max_speed_kmh * hours)
    valid = o[1:] == o[:-1]
    before_fast = np.concatenate([[False], fast])
    after_fast = np.concatenate([fast, [False]])
    has_before = np.concatenate([[False], valid])
    has_after = np.concatenate([valid, [False]])
    spike = (has_before | has_after) & (~has_before | before_fast) & (~has_after | after_fast)
    reason[order[spike]] = "impossible_speed"
    detail[order[spike]] = f"faster than {max_speed_kmh:g} km/h to and from its neighbours (GPS jump)"
