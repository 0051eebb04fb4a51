"""Displacement and diffusion of benefits: buffers and the Weighted Displacement Quotient.

Bowers & Johnson (2003), with R = target (treated) area, D = displacement buffer, C = control area
and b / a = before / after (docs/domain.md, Evaluation)::

    WDQ = (D_a/C_a − D_b/C_b) / (R_a/C_a − R_b/C_b)

The denominator (the *success measure*) must be negative — the target improved relative to the
control — for the quotient to mean anything. Then WDQ > 0 is diffusion of benefits (the buffer
improved too), WDQ < 0 displacement, and WDQ < −1 displacement larger than the direct benefit.

Examples
--------
>>> result = wdq(r_before=100, r_after=60, d_before=50, d_after=45, c_before=200, c_after=200)
>>> round(result.value, 3)       # (45/200 − 50/200) / (60/200 − 100/200) = −0.025 / −0.2
0.125
>>> result.verdict
'diffusion of benefits'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.validate import positive, projected_crs


@dataclass
class WDQResult:
    """The Weighted Displacement Quotient, its parts, and what it means.

    Attributes
    ----------
    value : float
        WDQ (NaN when the success measure is not negative).
    success_measure, displacement_measure : float
        R_a/C_a − R_b/C_b and D_a/C_a − D_b/C_b.
    counts : dict
        ``r_before, r_after, d_before, d_after, c_before, c_after``.
    verdict : str
        ``diffusion of benefits``, ``displacement``, ``displacement exceeding the benefit``,
        ``no displacement or diffusion`` or ``no success to displace``.
    interpretation : str
        A sentence for a report.
    """

    value: float
    success_measure: float
    displacement_measure: float
    counts: dict[str, float]
    verdict: str
    interpretation: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        return asdict(self)


def wdq(
    *,
    r_before: float,
    r_after: float,
    d_before: float,
    d_after: float,
    c_before: float,
    c_after: float,
    tolerance: float = 0.1,
) -> WDQResult:
    """Weighted Displacement Quotient from counts (or harm) before and after.

    Parameters
    ----------
    r_before, r_after, d_before, d_after, c_before, c_after : float
        Counts (or harm) in the target area, buffer and control area, before and after.
    tolerance : float
        |WDQ| below this is read as neither displacement nor diffusion.
    """
    counts = {
        "r_before": r_before,
        "r_after": r_after,
        "d_before": d_before,
        "d_after": d_after,
        "c_before": c_before,
        "c_after": c_after,
    }
    for name, value in counts.items():
        if not np.isfinite(value) or value < 0:
            raise InputError(f"'{name}' must be a count >= 0; received {value!r}.")
    if c_before <= 0 or c_after <= 0:
        raise InputError(
            f"the control area needs crimes before and after (received c_before={c_before}, "
            f"c_after={c_after}); the WDQ divides by them. Choose a larger control area or longer periods."
        )
    success = r_after / c_after - r_before / c_before
    displacement = d_after / c_after - d_before / c_before
    if success >= 0:
        value = float("nan")
        verdict = "no success to displace"
        text = (
            "The target area did not improve relative to the control area (success measure "
            f"{success:+.4f} >= 0), so the WDQ is not interpretable."
        )
    else:
        value = displacement / success
        verdict, text = _read(value, tolerance)
    return WDQResult(float(value), float(success), float(displacement), counts, verdict, text)


def _read(value: float, tolerance: float) -> tuple[str, str]:
    if abs(value) < tolerance:
        return "no displacement or diffusion", (
            f"WDQ {value:+.2f}: the buffer changed little relative to the control area; no evidence of "
            "displacement or diffusion of benefits."
        )
    if value > 0:
        more = " larger than the direct effect" if value > 1 else ""
        return "diffusion of benefits", (
            f"WDQ {value:+.2f}: crime also fell in the buffer relative to the control area, a diffusion "
            f"of benefits{more} (Bowers & Johnson 2003)."
        )
    if value < -1:
        return "displacement exceeding the benefit", (
            f"WDQ {value:+.2f}: the rise in the buffer exceeds the fall in the target area; the "
            "intervention was counter-productive overall."
        )
    return "displacement", (
        f"WDQ {value:+.2f}: some crime appears displaced into the buffer, but less than the reduction in "
        "the target area, so the net effect is still a benefit."
    )


def buffer_zone(target: gpd.GeoSeries | gpd.GeoDataFrame, distance: float = 100.0) -> BaseGeometry:
    """The ring within ``distance`` metres of the target areas, excluding the areas themselves.

    Examples
    --------
    >>> square = gpd.GeoSeries([shapely.box(0, 0, 100, 100)], crs="EPSG:27700")
    >>> round(buffer_zone(square, 10).area)     # (120² − 100²) less the rounded corners' 4·10²(1 − π/4)
    4314
    """
    positive("distance", distance, "metres", "100")
    projected_crs("target CRS", target.crs)
    union = shapely.union_all(target.geometry.to_numpy())
    return union.buffer(distance).difference(union)


def _in_period(when: pd.Series, span: tuple[str, str], label: str) -> np.ndarray:
    """Mask of ``when`` inside the inclusive ``span``; a date-only end includes its whole day."""
    try:
        start, end = (pd.Timestamp(x) for x in span)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"'{label}' must be two dates (first, last), e.g. ('2023-01-01', '2023-03-31'); received "
            f"{span!r} ({exc})."
        ) from None
    if end < start:
        raise InputError(
            f"'{label}' ends before it starts: {start:%Y-%m-%d} to {end:%Y-%m-%d}. Pass (first, last)."
        )
    if end == end.normalize():  # a date: the whole last day is in the period
        upper = (when < end + pd.Timedelta(days=1)).to_numpy()
    else:
        upper = (when <= end).to_numpy()
    return np.asarray((when >= start).to_numpy() & upper, dtype=bool)


def wdq_from_crimes(
    crimes: pd.DataFrame,
    *,
    target: gpd.GeoDataFrame,
    control: gpd.GeoDataFrame,
    before: tuple[str, str],
    after: tuple[str, str],
    distance: float = 100.0,
    time_column: str = C.MONTH,
    weights: str | None = None,
) -> tuple[WDQResult, gpd.GeoDataFrame]:
    """Count crimes (x/y in the areas' CRS) in target, buffer and control areas and compute the WDQ.

    Parameters
    ----------
    crimes : pandas.DataFrame
        Crimes with ``x``, ``y`` (projected metres) and ``time_column``.
    target, control : geopandas.GeoDataFrame
        Treated and control areas (same projected CRS, e.g. EPSG:27700).
    before, after : (str, str)
        Inclusive date ranges, e.g. ``("2023-01-01", "2023-03-31")``. An end given as a date
        (no time of day) includes that whole day: a crime at 2023-03-31 18:00 is in the range (the
        comparison is ``< 2023-04-01``); an end with a time of day is compared as ``<=`` that time.
    distance : float
        Buffer width in metres (Op Rowan used 100 m).
    weights : str, optional
        Sum this column (e.g. ``"harm"``) instead of counting crimes.

    Returns
    -------
    (WDQResult, geopandas.GeoDataFrame)
        The quotient and the three zones (``zone``: target, buffer, control) for maps. Buffer
        parts overlapping the control area are removed from the buffer (logged in the zone frame).

    Notes
    -----
    Every crime is counted in at most one zone. The zones are closed sets that share their
    boundaries, so a point exactly on a shared edge is given to the first zone that holds it in the
    order target, control, buffer: a crime on the target's edge is a target crime (not also a buffer
    crime), one on the edge between buffer and control a control crime. A point exactly
    ``distance`` metres from the target is in the buffer.
    """
    crs = projected_crs("target CRS", target.crs)
    if control.crs is None or not crs.equals(control.crs):
        raise InputError(
            f"target and control areas must share a projected CRS; received {crs.to_string()} and "
            f"{control.crs}. Reproject the control areas with .to_crs(target.crs)."
        )
    for name in (C.X, C.Y, time_column):
        if name not in crimes.columns:
            raise InputError(f"crimes lack column {name!r}; pass crimes with x, y and {time_column}.")
    zone_r = shapely.union_all(target.geometry.to_numpy())
    zone_c = shapely.union_all(control.geometry.to_numpy()).difference(zone_r)
    zone_d = buffer_zone(target, distance).difference(zone_c)
    zones = gpd.GeoDataFrame(
        {"zone": ["target", "buffer", "control"]}, geometry=[zone_r, zone_d, zone_c], crs=target.crs
    )
    frame = crimes.dropna(subset=[C.X, C.Y])
    points = shapely.points(frame[C.X].to_numpy(float), frame[C.Y].to_numpy(float))
    when = pd.to_datetime(frame[time_column])
    if weights is not None and weights not in frame.columns:
        raise InputError(f"'weights' names column {weights!r}, which crimes lack. Pass e.g. weights='harm'.")
    w = np.ones(len(frame)) if weights is None else frame[weights].to_numpy(float)
    periods = {label: _in_period(when, span, label) for label, span in (("before", before), ("after", after))}
    counts: dict[str, float] = {}
    unassigned = np.ones(len(frame), dtype=bool)
    zone_of: dict[str, np.ndarray] = {}
    for key, geometry in (("r", zone_r), ("c", zone_c), ("d", zone_d)):  # boundary points: first zone wins
        shapely.prepare(geometry)
        inside = unassigned & shapely.intersects(geometry, points)
        unassigned &= ~inside
        zone_of[key] = inside
    for key in ("r", "d", "c"):
        for label, mask in periods.items():
            counts[f"{key}_{label}"] = float(w[zone_of[key] & mask].sum())
    zones["before"] = [counts["r_before"], counts["d_before"], counts["c_before"]]
    zones["after"] = [counts["r_after"], counts["d_after"], counts["c_after"]]
    return wdq(**counts), zones
