"""Visit windows from the workspace's offence times: ``--window auto`` and each area's share inside.

The plan reads the crimes its areas were chosen from (serious violence for the workspace's own
LSOAs, every crime for an areas file; the plan's harm table, or a count when ``weights`` is None;
the same months and force), keeps those with an offence time (``occurred_at``; police.uk rows
have the month only) and places each in a candidate area (the workspace's own LSOAs as the
hotspot step counted them, other areas by point in polygon). Times are read as local
(Europe/London) clock times, as force systems record them.

* ``auto``: the weekday × hour profile of that harm inside the candidate areas gives, per weekday
  (or weekday group), the ``hours``-long window holding most of it
  (:func:`gripkit.patrol.windows.derive_windows`). Without offence times the stated default
  window is kept, and the plan says so.
* Shares: each area's harm is weighted by the share of its timestamped harm inside its window;
  an area without timestamped crimes takes the share of all the timestamped harm read; without
  any offence times every area weighs 1, and the plan says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.patrol.windows import (
    DEFAULT_AUTO_HOURS,
    DEFAULT_WINDOW,
    WeekWindows,
    auto_groups,
    derive_windows,
    is_auto,
    minute_of_week,
    parse_windows,
    share_inside,
)
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")


@dataclass
class TimedHarm:
    """Timestamped crimes the plan read: ``area_id`` (None outside the areas), ``minute``, ``weight``."""

    frame: pd.DataFrame
    read: int
    timestamped: int

    @property
    def inside(self) -> pd.DataFrame:
        """The timestamped crimes inside candidate areas."""
        return self.frame[self.frame[C.AREA_ID].notna()]


@dataclass
class PlanWindows:
    """The windows a plan uses, the share of each area's harm inside them, and how they were got."""

    window: Any
    shares: dict[str, float] | None
    meta: dict[str, Any] = field(default_factory=dict)


def timed_harm(
    ws: Workspace,
    areas: gpd.GeoDataFrame,
    *,
    harm: str,
    weights: str | None,
    force: str | None,
    months: tuple[Any, Any] | None,
    serious_violence: bool,
) -> TimedHarm:
    """The timestamped crimes of the plan's selection, weighed and placed in the candidate areas."""
    from gripkit.harm import apply_harm, load_harm_table
    from gripkit.hotspots.find import select_crimes

    sql = "SELECT count(*), count(occurred_at) FROM crimes" + (" WHERE force = ?" if force else "")
    row = ws.con.execute(sql, [force] if force else []).fetchone()
    if not row or not row[1]:  # monthly-only data: nothing to read ("read" is then every crime held)
        return TimedHarm(pd.DataFrame(columns=[C.AREA_ID, "minute", "weight"]), int(row[0] if row else 0), 0)
    crimes = select_crimes(ws, serious_violence=serious_violence, months=months, force=force)
    read = len(crimes)
    when = pd.to_datetime(crimes[C.OCCURRED_AT]) if C.OCCURRED_AT in crimes else pd.Series(dtype="M8[ns]")
    crimes = crimes[when.notna().to_numpy()] if len(when) else crimes.iloc[:0]
    if crimes.empty:
        return TimedHarm(pd.DataFrame(columns=[C.AREA_ID, "minute", "weight"]), read, 0)
    table = load_harm_table(harm) if weights is not None else None
    weight = apply_harm(crimes, table)  # None counts crimes (weight 1)
    frame = pd.DataFrame(
        {
            C.AREA_ID: _place(crimes, areas, lsoa_units=serious_violence),
            "minute": minute_of_week(pd.to_datetime(crimes[C.OCCURRED_AT])),
            "weight": weight.to_numpy(dtype=float),
        }
    )
    return TimedHarm(frame, read, len(frame))


def _place(crimes: pd.DataFrame, areas: gpd.GeoDataFrame, lsoa_units: bool) -> np.ndarray:
    """Area id of each crime (None outside every area).

    The workspace's own LSOA areas place crimes as the hotspot step counted them
    (:class:`gripkit.units.lsoa.LsoaUnits`: by published code, by polygon for codes the boundaries
    do not know); other areas by point in polygon, or by LSOA code when they have no polygons.
    """
    ids = areas[C.AREA_ID].astype(str).to_numpy()
    out = np.full(len(crimes), None, dtype=object)
    polygons = areas[~(areas.geometry.isna() | areas.geometry.is_empty)]
    if lsoa_units:
        from gripkit.units.build import UnitSpec, build_units

        units = build_units(crimes, UnitSpec("lsoa"))[0]
        codes = units.assign(crimes).astype(object).to_numpy()
    elif polygons.empty or not {C.X, C.Y} <= set(crimes.columns):
        codes = crimes[C.LSOA_CODE].astype(object).to_numpy() if C.LSOA_CODE in crimes else out
    else:
        points = gpd.GeoDataFrame(
            {"i": np.arange(len(crimes))},
            geometry=gpd.points_from_xy(crimes[C.X], crimes[C.Y]),
            crs=polygons.crs,
        )
        joined = gpd.sjoin(points, polygons[[C.AREA_ID, polygons.geometry.name]], predicate="within")
        joined = joined.drop_duplicates("i")
        out[joined["i"].to_numpy()] = joined[C.AREA_ID].astype(str).to_numpy()
        return out
    inside = np.isin(codes.astype(str), ids) & pd.notna(codes)
    out[inside] = codes[inside].astype(str)
    return out


def read_timed_harm(
    ws: Workspace | None, candidates: gpd.GeoDataFrame, *, source: Mapping[str, Any], **how: Any
) -> TimedHarm | None:
    """:func:`timed_harm` for a plan (None without a workspace or crimes, logged)."""
    if ws is None:
        return None
    try:
        return timed_harm(ws, candidates, serious_violence=source.get("source") == "workspace", **how)
    except InputError as exc:
        log.info("no offence times read for the visit windows: %s", exc)
        return None


def plan_windows(
    timed: TimedHarm | None,
    areas: gpd.GeoDataFrame,
    window: Any,
    *,
    hours: int = DEFAULT_AUTO_HOURS,
    shares: bool = True,
) -> PlanWindows:
    """Resolve ``auto`` and (``shares``) each area's share of timestamped harm inside its window."""
    ids = areas[C.AREA_ID].astype(str).tolist()
    meta: dict[str, Any] = {"asked": str(window) if not isinstance(window, Mapping) else "per area"}
    has_times = timed is not None and timed.timestamped > 0
    if timed is not None:
        meta.update(crimes_read=timed.read, timestamped=timed.timestamped)
    if is_auto(window):
        groups = auto_groups(str(window))
        inside = timed.inside if timed is not None and has_times else None
        if inside is None or float(inside["weight"].sum()) <= 0:
            reason = (
                "no workspace" if timed is None
                else "the data hold no offence times (monthly police.uk rows)" if not has_times
                else "no timestamped harm falls in the candidate areas"
            )
            log.warning("cannot derive visit windows from the data (%s); keeping the stated default %s",
                        reason, DEFAULT_WINDOW)
            window = DEFAULT_WINDOW
            meta.update(source="default", note=f"cannot derive windows: {reason}; kept {DEFAULT_WINDOW}")
        else:
            profile = np.bincount(inside["minute"].to_numpy() // 60, weights=inside["weight"], minlength=168)
            derived, share = derive_windows(profile, hours=hours, groups=groups)
            window = derived
            meta.update(source="auto", hours=hours, share_inside=share, label=derived.label)
            log.info("visit windows from the areas' offence times (%d-hour, per %s): %s; %.1f%% of their "
                     "timestamped harm falls inside", hours,
                     "weekday" if len(groups) == 7 else "weekday group", derived.label, 100 * share)
    else:
        meta["source"] = "stated"
    parsed = {a: parse_windows(window[a] if isinstance(window, Mapping) else window) for a in ids}
    if not isinstance(window, Mapping):
        meta["label"] = parsed[ids[0]].label if ids else str(window)
    if not shares:
        return PlanWindows(window, None, meta)
    if not has_times:
        log.info("each area's harm weighs 1 in the budget plan: %s, so the share inside the window "
                 "cannot be measured", "no workspace" if timed is None else "the data hold no offence times")
        meta["shares"] = "1 (no offence times)"
        return PlanWindows(window, None, meta)
    assert timed is not None
    log.info("each area's harm weighted by its share inside its window: %d of %d crimes read have an "
             "offence time", timed.timestamped, timed.read)
    found = area_shares(timed, parsed)
    meta.update(shares="from offence times", areas_without_times=found.pop("_fallback_areas"))
    return PlanWindows(window, {a: float(v) for a, v in found.items()}, meta)


def area_shares(timed: TimedHarm, windows: Mapping[str, WeekWindows]) -> dict[str, Any]:
    """Share of each area's timestamped harm inside its window (all-data share without times).

    Also ``"_fallback_areas"``: how many areas took the all-data share.
    """
    frame = timed.frame
    minutes, weight = frame["minute"].to_numpy(), frame["weight"].to_numpy(dtype=float)
    by_area = {str(a): g for a, g in frame[frame[C.AREA_ID].notna()].groupby(C.AREA_ID)}
    out: dict[str, Any] = {}
    fallback = 0
    for area, window in windows.items():
        group = by_area.get(area)
        share = (
            share_inside(group["minute"].to_numpy(), group["weight"].to_numpy(dtype=float), window)
            if group is not None
            else float("nan")
        )
        if not np.isfinite(share):
            share, fallback = share_inside(minutes, weight, window), fallback + 1
        out[area] = share if np.isfinite(share) else 1.0
    if fallback:
        log.info("%d area(s) have no timestamped harm: weighted by the share of all timestamped harm "
                 "inside their window", fallback)
    out["_fallback_areas"] = fallback
    return out


def windows_phrase(meta: dict[str, Any], mode: str) -> str:
    """How the windows (and, in budget mode, the areas' shares inside them) were got."""
    text = ""
    if meta.get("source") == "auto":
        text += (
            f" Windows from the data ({meta['hours']}-hour): {meta['label']}, holding "
            f"{meta['share_inside']:.1%} of the areas' timestamped harm."
        )
    elif meta.get("source") == "default":
        text += f" Windows: {meta['note']}."
    if mode == "budget" and meta.get("shares") == "from offence times":
        text += " Each area's harm is weighted by its share inside its window (offence times)."
    elif mode == "budget" and meta.get("shares"):
        text += " Each area's harm weighs 1: no offence times to measure the share inside its window."
    return text
