"""GPS pings -> visits: contiguous presence of an officer inside a patrol area.

1. **Locate** every ping in the areas grown by ``buffer_m``: pings sorted by x once, each area
   takes the slice inside its bounding box and tests it with the vectorised, prepared
   ``shapely.intersects_xy`` (no point objects are built; a ping on a boundary is inside; a
   ping in two overlapping areas counts for both).
2. **Officer visits**: per officer and area, pings in time order; a new visit starts when the time
   since the previous ping *inside the area* exceeds ``gap_minutes``. So a patrol that steps out
   and back within the gap (or loses signal briefly) stays one visit, and its dwell runs from the
   first to the last ping inside: ``dwell_minutes = (end - start)``.
3. **Patrol visits**: officer visits to the same area that overlap (or are within ``gap_minutes``)
   merge into one visit with ``officers`` (count), ``officer_ids`` (``;``-joined) and
   ``officer_minutes`` (sum of the officers' dwell).

Times are naive UTC (``start_utc``, ``end_utc``); ``date`` is the Europe/London date of the start.
Officer visits may carry a ``source`` (``gps`` for pings, ``officer`` for visits officers recorded
themselves); patrol visits then say which sources saw them (``sources``, ``;``-joined).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.patrol.schedule import LONDON, timezone
from gripkit.validate import has_columns, projected_crs

OFFICER_IDS = "officer_ids"
OFFICER_MINUTES = "officer_minutes"
SOURCE = "source"
SOURCES = "sources"
OFFICER_VISIT_COLUMNS = (C.AREA_ID, C.OFFICER_ID, C.DATE, C.START_UTC, C.END_UTC, C.DWELL_MINUTES, C.PINGS)
VISIT_COLUMNS = (C.AREA_ID, C.DATE, C.START_UTC, C.END_UTC, C.DWELL_MINUTES, C.OFFICERS, OFFICER_IDS,
                 OFFICER_MINUTES)


def locate(
    x: np.ndarray, y: np.ndarray, areas: gpd.GeoDataFrame, buffer_m: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (ping index, area index) of pings inside the areas grown by ``buffer_m`` metres.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np, shapely
    >>> areas = gpd.GeoDataFrame({"area_id": ["a"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=27700)
    >>> locate(np.array([5.0, 12.0, 50.0]), np.array([5.0, 5.0, 5.0]), areas, buffer_m=5)
    (array([0, 1]), array([0, 0]))
    """
    geoms = areas.geometry.to_numpy()
    if buffer_m:
        geoms = shapely.buffer(geoms, float(buffer_m))
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    order = ok[np.argsort(x[ok], kind="stable")]  # pings sorted by x: each area takes a slice
    xs, ys = x[order], y[order]
    bounds = shapely.bounds(geoms)
    pings: list[np.ndarray] = []
    found: list[np.ndarray] = []
    for i, geom in enumerate(geoms):
        if geom is None or shapely.is_empty(geom):
            continue
        lo = int(np.searchsorted(xs, bounds[i, 0], side="left"))
        hi = int(np.searchsorted(xs, bounds[i, 2], side="right"))
        band = ys[lo:hi]
        keep = np.flatnonzero((band >= bounds[i, 1]) & (band <= bounds[i, 3])) + lo
        shapely.prepare(geom)
        inside = order[keep[shapely.intersects_xy(geom, xs[keep], ys[keep])]]
        pings.append(inside)
        found.append(np.full(len(inside), i, dtype=np.int64))
    if not pings:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    point_idx, area_idx = np.concatenate(pings).astype(np.int64), np.concatenate(found)
    sort = np.lexsort((area_idx, point_idx))
    return point_idx[sort], area_idx[sort]


def officer_visits(
    pings: pd.DataFrame, areas: gpd.GeoDataFrame, *, buffer_m: float = 25.0, gap_minutes: float = 5.0,
    tz: str = LONDON,
) -> pd.DataFrame:
    """Visits of each officer to each area (see the module docstring).

    Parameters
    ----------
    pings : DataFrame
        ``officer_id``, ``ts_utc`` (naive UTC), ``x``, ``y`` (EPSG:27700 metres).
    areas : GeoDataFrame
        ``area_id`` and polygons in the same CRS as the pings.
    buffer_m : float, default 25
        Grow areas by this much (GPS error and pavements on boundary streets).
    gap_minutes : float, default 5
        Longest time between pings inside the area that still counts as one visit.

    Returns
    -------
    DataFrame
        :data:`OFFICER_VISIT_COLUMNS`, sorted by area (in ``areas`` order), officer, start.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> areas = gpd.GeoDataFrame({"area_id": ["a"]}, geometry=[shapely.box(0, 0, 100, 100)], crs=27700)
    >>> pings = pd.DataFrame({"officer_id": "R1", "x": 50.0, "y": 50.0,
    ...     "ts_utc": pd.date_range("2024-06-01 13:00", periods=16, freq="min")})
    >>> officer_visits(pings, areas)[["officer_id", "dwell_minutes", "pings"]].values.tolist()
    [['R1', 15.0, 16]]
    """
    zone = timezone(tz)
    _check(pings, areas, gap_minutes, buffer_m)
    x = pings[C.X].to_numpy(dtype=float)
    y = pings[C.Y].to_numpy(dtype=float)
    ping_idx, area_idx = locate(x, y, areas, buffer_m)
    ts = pings[C.TS_UTC].to_numpy(dtype="datetime64[ns]")[ping_idx].astype(np.int64)
    officer_codes, officer_names = pd.factorize(pings[C.OFFICER_ID].astype(str))
    off = officer_codes[ping_idx]
    order = np.lexsort((ts, off, area_idx))
    a, o, t = area_idx[order], off[order], ts[order]
    gap = float(gap_minutes) * 60e9
    new = np.ones(len(t), dtype=bool)
    if len(t) > 1:
        new[1:] = (a[1:] != a[:-1]) | (o[1:] != o[:-1]) | ((t[1:] - t[:-1]) > gap)
    visit = np.cumsum(new) - 1
    grouped = pd.DataFrame({"visit": visit, "a": a, "o": o, "t": t}).groupby("visit", sort=True)
    agg = grouped.agg(a=("a", "first"), o=("o", "first"), start=("t", "min"), end=("t", "max"),
                      pings=("t", "size"))
    ids = areas[C.AREA_ID].astype(str).to_numpy(dtype=object)
    start = pd.DatetimeIndex(agg["start"].to_numpy(dtype=np.int64).view("datetime64[ns]"))
    out = pd.DataFrame({
        C.AREA_ID: ids[agg["a"].to_numpy()] if len(agg) else np.array([], dtype=object),
        C.OFFICER_ID: np.asarray(officer_names, dtype=object)[agg["o"].to_numpy()] if len(agg) else [],
        C.DATE: _local_dates(start, str(zone)),
        C.START_UTC: start,
        C.END_UTC: agg["end"].to_numpy(dtype=np.int64).view("datetime64[ns]"),
        C.DWELL_MINUTES: (agg["end"] - agg["start"]).to_numpy(dtype=float) / 60e9,
        C.PINGS: agg[C.PINGS].to_numpy(dtype=np.int64),
    })
    return out


def patrol_visits(officer_level: pd.DataFrame, *, gap_minutes: float = 5.0, tz: str = LONDON) -> pd.DataFrame:
    """Merge officers' overlapping visits to one area into patrol visits.

    With a ``source`` column (``gps``, ``officer``) the patrol visits get ``sources``: the sources
    that saw them, sorted and ``;``-joined (``gps;officer`` when a recorded visit and a GPS visit
    overlap; their officer-minutes are then both counted).

    Examples
    --------
    >>> import pandas as pd
    >>> ov = pd.DataFrame({"area_id": ["a", "a"], "officer_id": ["R1", "R2"], "pings": [16, 16],
    ...     "start_utc": pd.to_datetime(["2024-06-01 13:00", "2024-06-01 13:01"]),
    ...     "end_utc": pd.to_datetime(["2024-06-01 13:15", "2024-06-01 13:16"]),
    ...     "dwell_minutes": [15.0, 15.0], "date": None})
    >>> patrol_visits(ov)[["officers", "officer_ids", "dwell_minutes", "officer_minutes"]].values.tolist()
    [[2, 'R1;R2', 16.0, 30.0]]
    """
    zone = timezone(tz)
    has_columns(officer_level, (C.AREA_ID, C.OFFICER_ID, C.START_UTC, C.END_UTC, C.DWELL_MINUTES), "visits")
    columns = [*VISIT_COLUMNS, *([SOURCES] if SOURCE in officer_level.columns else [])]
    if officer_level.empty:
        return pd.DataFrame({c: [] for c in columns})
    frame = officer_level.sort_values([C.AREA_ID, C.START_UTC, C.OFFICER_ID], kind="mergesort")
    frame = frame.reset_index(drop=True)
    ends = frame[C.END_UTC].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    starts = frame[C.START_UTC].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    area = frame[C.AREA_ID].astype(str).to_numpy(dtype=object)
    running = pd.Series(ends).groupby(area).cummax().to_numpy()
    new = np.ones(len(frame), dtype=bool)
    new[1:] = (area[1:] != area[:-1]) | (starts[1:] > running[:-1] + float(gap_minutes) * 60e9)
    frame["group"] = np.cumsum(new)
    joined = {SOURCES: (SOURCE, _joined)} if SOURCE in frame.columns else {}
    agg = frame.groupby("group", sort=True).agg(**{
        C.AREA_ID: (C.AREA_ID, "first"), C.START_UTC: (C.START_UTC, "min"), C.END_UTC: (C.END_UTC, "max"),
        OFFICER_IDS: (C.OFFICER_ID, _joined), C.OFFICERS: (C.OFFICER_ID, "nunique"),
        OFFICER_MINUTES: (C.DWELL_MINUTES, "sum"), **joined,
    })
    agg[C.DWELL_MINUTES] = (agg[C.END_UTC] - agg[C.START_UTC]).dt.total_seconds() / 60
    agg[C.DATE] = _local_dates(pd.DatetimeIndex(agg[C.START_UTC]), str(zone))
    agg[C.OFFICERS] = agg[C.OFFICERS].astype(np.int64)
    return agg[columns].reset_index(drop=True)


def with_local_times(visits: pd.DataFrame, tz: str = LONDON) -> pd.DataFrame:
    """A copy of ``visits`` with ``start_local`` / ``end_local`` (ISO text with offset) for people to read.

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"start_utc": [pd.Timestamp("2024-06-01 13:00")],
    ...                   "end_utc": [pd.Timestamp("2024-06-01 13:15")]})
    >>> with_local_times(v)["start_local"].tolist()
    ['2024-06-01T14:00:00+0100']
    """
    zone = str(timezone(tz))
    out = visits.copy()
    for name in ("start", "end"):
        utc = pd.to_datetime(out[f"{name}_utc"]).dt.tz_localize("UTC")
        out[f"{name}_local"] = utc.dt.tz_convert(zone).dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    return out


def _joined(values: pd.Series) -> str:
    """Distinct values, sorted, ``;``-joined."""
    return ";".join(sorted(set(map(str, values))))


def _local_dates(utc: pd.DatetimeIndex, zone: str) -> np.ndarray:
    """Local calendar dates (``datetime.date`` objects) of naive-UTC times, computed per unique day."""
    if not len(utc):
        return np.array([], dtype=object)
    days = utc.tz_localize("UTC").tz_convert(zone).tz_localize(None).normalize()
    codes, uniques = pd.factorize(days)
    return np.array([d.date() for d in uniques], dtype=object)[codes]


def _check(pings: pd.DataFrame, areas: gpd.GeoDataFrame, gap_minutes: float, buffer_m: float) -> None:
    has_columns(pings, (C.OFFICER_ID, C.TS_UTC, C.X, C.Y), "pings")
    if not isinstance(areas, gpd.GeoDataFrame) or C.AREA_ID not in areas.columns:
        raise InputError(
            f"'areas' must be a GeoDataFrame with area_id and polygons; received {type(areas).__name__}. "
            "Pass the plan's areas (gripkit.patrol.load_plan(ws).areas)."
        )
    if areas.crs is not None:
        projected_crs("areas", areas.crs)
    if (areas.geometry.isna() | areas.geometry.is_empty).all():
        raise InputError(
            "'areas' have no polygons, so pings cannot be placed in them; received only empty geometry. "
            "Plan with LSOA boundaries or an areas file with polygons."
        )
    if not (float(gap_minutes) >= 0 and float(buffer_m) >= 0):
        raise InputError(
            f"'gap_minutes' and 'buffer_m' must be >= 0; received {gap_minutes!r} and {buffer_m!r}."
        )
