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
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gripkit.errors import InputError
from gripkit.patrol.areas import AREA_ID
from gripkit.patrol.schedule import LONDON, timezone
from gripkit.validate import has_columns

OFFICER_VISIT_COLUMNS = ("area_id", "officer_id", "date", "start_utc", "end_utc", "dwell_minutes", "pings")
VISIT_COLUMNS = ("area_id", "date", "start_utc", "end_utc", "dwell_minutes", "officers", "officer_ids",
                 "officer_minutes")


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
    x = pings["x"].to_numpy(dtype=float)
    y = pings["y"].to_numpy(dtype=float)
    ping_idx, area_idx = locate(x, y, areas, buffer_m)
    ts = pings["ts_utc"].to_numpy(dtype="datetime64[ns]")[ping_idx].astype(np.int64)
    officer_codes, officer_names = pd.factorize(pings["officer_id"].astype(str))
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
    ids = areas[AREA_ID].astype(str).to_numpy(dtype=object)
    start = pd.DatetimeIndex(agg["start"].to_numpy(dtype=np.int64).view("datetime64[ns]"))
    out = pd.DataFrame({
        "area_id": ids[agg["a"].to_numpy()] if len(agg) else np.array([], dtype=object),
        "officer_id": np.asarray(officer_names, dtype=object)[agg["o"].to_numpy()] if len(agg) else [],
        "date": _local_dates(start, str(zone)),
        "start_utc": start,
        "end_utc": agg["end"].to_numpy(dtype=np.int64).view("datetime64[ns]"),
        "dwell_minutes": (agg["end"] - agg["start"]).to_numpy(dtype=float) / 60e9,
        "pings": agg["pings"].to_numpy(dtype=np.int64),
    })
    return out


def patrol_visits(officer_level: pd.DataFrame, *, gap_minutes: float = 5.0, tz: str = LONDON) -> pd.DataFrame:
    """Merge officers' overlapping visits to one area into patrol visits.

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
    has_columns(officer_level, ("area_id", "officer_id", "start_utc", "end_utc", "dwell_minutes"), "visits")
    if officer_level.empty:
        return pd.DataFrame({c: [] for c in VISIT_COLUMNS})
    frame = officer_level.sort_values(["area_id", "start_utc", "officer_id"], kind="mergesort")
    frame = frame.reset_index(drop=True)
    ends = frame["end_utc"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    starts = frame["start_utc"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    area = frame["area_id"].astype(str).to_numpy(dtype=object)
    running = pd.Series(ends).groupby(area).cummax().to_numpy()
    new = np.ones(len(frame), dtype=bool)
    new[1:] = (area[1:] != area[:-1]) | (starts[1:] > running[:-1] + float(gap_minutes) * 60e9)
    frame["group"] = np.cumsum(new)
    agg = frame.groupby("group", sort=True).agg(
        area_id=("area_id", "first"), start_utc=("start_utc", "min"), end_utc=("end_utc", "max"),
        officer_ids=("officer_id", lambda s: ";".join(sorted(set(map(str, s))))),
        officers=("officer_id", "nunique"), officer_minutes=("dwell_minutes", "sum"),
    )
    agg["dwell_minutes"] = (agg["end_utc"] - agg["start_utc"]).dt.total_seconds() / 60
    agg["date"] = _local_dates(pd.DatetimeIndex(agg["start_utc"]), str(zone))
    agg["officers"] = agg["officers"].astype(np.int64)
    return agg[list(VISIT_COLUMNS)].reset_index(drop=True)


def _local_dates(utc: pd.DatetimeIndex, zone: str) -> np.ndarray:
    """Local calendar dates (``datetime.date`` objects) of naive-UTC times, computed per unique day."""
    if not len(utc):
        return np.array([], dtype=object)
    days = utc.tz_localize("UTC").tz_convert(zone).tz_localize(None).normalize()
    codes, uniques = pd.factorize(days)
    return np.array([d.date() for d in uniques], dtype=object)[codes]


def _check(pings: pd.DataFrame, areas: gpd.GeoDataFrame, gap_minutes: float, buffer_m: float) -> None:
    has_columns(pings, ("officer_id", "ts_utc", "x", "y"), "pings")
    if not isinstance(areas, gpd.GeoDataFrame) or AREA_ID not in areas.columns:
        raise InputError(
            f"'areas' must be a GeoDataFrame with area_id and polygons; received {type(areas).__name__}. "
            "Pass the plan's areas (gripkit.patrol.load_plan(ws).areas)."
        )
    if areas.crs is not None and not areas.crs.is_projected:
        raise InputError(
            f"'areas' are in {areas.crs.to_string()} (degrees); visits need metres. Reproject with "
            "areas.to_crs('EPSG:27700')."
        )
    if (areas.geometry.isna() | areas.geometry.is_empty).all():
        raise InputError(
            "'areas' have no polygons, so pings cannot be placed in them; received only empty geometry. "
            "Plan with LSOA boundaries or an areas file with polygons."
        )
    if not (float(gap_minutes) >= 0 and float(buffer_m) >= 0):
        raise InputError(
            f"'gap_minutes' and 'buffer_m' must be >= 0; received {gap_minutes!r} and {buffer_m!r}."
        )
