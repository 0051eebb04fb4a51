"""Outcomes per place-day inside the patrol windows, from timestamped crime records.

:func:`outcome_place_days` counts, for each area and day of a plan's design, the crimes whose
``occurred_at`` (the local clock time a force records) falls inside one of that area's patrol
windows that day, and sums their harm. Windows follow the ``--window`` grammar of
:mod:`gripkit.patrol.windows`: per weekday where they differ, and a window crossing midnight
belongs to the day it starts (:func:`window_day`). A crime belongs to the area polygon that holds
it (a point on a shared boundary counts for both); areas without polygons take the crimes whose
``lsoa_code`` is their ``area_id``. :mod:`gripkit.evaluate.from_plan` reads the records and the
plan from the workspace.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.dosage.visits import locate
from gripkit.errors import InputError
from gripkit.evaluate.plan_design import PlanDesign
from gripkit.harm import HarmTable, apply_harm
from gripkit.patrol.windows import MINUTES_PER_WEEK, WeekWindows, minute_of_week, parse_windows

PLACE_DAY_COLUMNS = (C.AREA_ID, C.DATE, C.TREATED, C.BLOCK, C.COUNT, C.HARM)


def area_windows(window: Any, area_ids: Iterable[str]) -> dict[str, WeekWindows]:
    """Each area's patrol windows from a plan's ``window`` parameter (the ``--window`` grammar of
    :mod:`gripkit.patrol.windows`, or a mapping area id -> window).

    >>> area_windows("Fri-Sat 20:00-03:00,Sun-Thu 18:00-24:00", ["a"])["a"].on(4)
    (Window(start=1200, end=1620),)
    """
    ids = [str(a) for a in area_ids]
    if isinstance(window, dict):
        missing = [a for a in ids if a not in window]
        if missing:
            raise InputError(
                f"the plan stores no patrol window for area(s) {missing[:5]}; received windows for "
                f"{len(window)} area(s). Re-plan with a window for every area."
            )
        return {a: parse_windows(window[a]) for a in ids}
    parsed = parse_windows(window)
    return dict.fromkeys(ids, parsed)


def window_day(when: pd.Series, week: WeekWindows) -> pd.Series:
    """The day whose patrol window holds each local time (``NaT`` outside every window).

    Windows may differ by weekday, and one crossing midnight belongs to the day it starts: with
    ``Fri 20:00-03:00`` a crime at Saturday 01:30 belongs to Friday. Times are read to the minute.

    >>> t = pd.Series(pd.to_datetime(["2024-06-07 21:00:00", "2024-06-08 01:30:00", "2024-06-10 01:30:00"]))
    >>> week = WeekWindows.parse("Fri-Sat 20:00-03:00,Sun-Thu 18:00-24:00")
    >>> window_day(t, week).dt.strftime("%a %d").tolist()
    ['Fri 07', 'Fri 07', nan]
    """
    owner = np.full(MINUTES_PER_WEEK, -1, dtype=np.int64)  # the weekday whose window holds each minute
    for d, windows in enumerate(week.days):
        for w in windows:
            owner[(d * 1440 + np.arange(w.start, w.end)) % MINUTES_PER_WEEK] = d
    times = pd.to_datetime(when)
    out = pd.Series(pd.NaT, index=times.index, dtype="datetime64[ns]")
    known = times.notna().to_numpy()
    if not known.any():
        return out
    minute = minute_of_week(times[known])
    day = owner[minute]
    inside = day >= 0
    back = (times[known].dt.day_of_week.to_numpy() - day) % 7  # 0, or 1 for a window from the day before
    start = times[known].dt.normalize() - pd.to_timedelta(back, unit="D")
    out[np.flatnonzero(known)[inside]] = start[inside].to_numpy()
    return out


def outcome_place_days(
    crimes: pd.DataFrame,
    design: PlanDesign,
    areas: gpd.GeoDataFrame,
    windows: dict[str, WeekWindows],
    harm_table: HarmTable | None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Counts and harm per area and judged day inside the patrol windows (no workspace needed).

    Parameters
    ----------
    crimes : pandas.DataFrame
        Canonical crimes with ``occurred_at`` (local clock time; missing ones are left out), ``x``,
        ``y`` (same CRS as ``areas``), ``lsoa_code`` and ``crime_type`` (``force``, ``offence_code``
        for harm tables that use them).
    design : PlanDesign
        The areas, judged days and assignment.
    areas : geopandas.GeoDataFrame
        The plan's areas (``area_id`` and polygons; without polygons crimes are matched by LSOA).
    windows : dict
        Area id -> its :class:`~gripkit.patrol.windows.WeekWindows`.
    harm_table : HarmTable or None
        Harm weights (None: every crime weighs 1).

    Returns
    -------
    (DataFrame, dict)
        :data:`PLACE_DAY_COLUMNS`, and counts of records: ``crimes`` (timestamped, in the areas),
        ``month_only`` (in the areas, no time: left out), ``in_window`` (counted).
    """
    located = _locate(crimes, areas)
    timed = located[located[C.OCCURRED_AT].notna()].reset_index(drop=True)
    counts = {"crimes": len(timed), "month_only": int(located[C.OCCURRED_AT].isna().sum())}
    timed[C.DATE] = pd.Series(pd.NaT, index=timed.index, dtype="datetime64[ns]")
    by_week: dict[WeekWindows, list[str]] = {}
    for area, week in windows.items():
        by_week.setdefault(week, []).append(area)
    for week, members in by_week.items():
        rows = timed[C.AREA_ID].isin(members)
        timed.loc[rows, C.DATE] = window_day(timed.loc[rows, C.OCCURRED_AT], week)
    timed = timed[timed[C.DATE].isin(design.dates)].reset_index(drop=True)
    counts["in_window"] = len(timed)
    timed[C.HARM] = apply_harm(timed, harm_table).to_numpy(dtype=float) if len(timed) else np.array([])
    sums = timed.groupby([C.DATE, C.AREA_ID]).agg(count=(C.HARM, "size"), harm=(C.HARM, "sum"))
    n_days, n_areas = len(design.dates), len(design.areas)
    frame = pd.DataFrame({
        C.AREA_ID: np.tile(np.array(design.areas, dtype=object), n_days),
        C.DATE: np.repeat(pd.DatetimeIndex(design.dates), n_areas),
        C.TREATED: design.matrix().ravel().astype(np.int64),
        C.BLOCK: np.repeat(design.blocks(), n_areas).astype(np.int64),
    })
    index = pd.MultiIndex.from_arrays([frame[C.DATE], frame[C.AREA_ID]])
    filled = sums.reindex(index, fill_value=0)
    frame[C.COUNT] = filled[C.COUNT].to_numpy(dtype=np.int64)
    frame[C.HARM] = filled[C.HARM].to_numpy(dtype=float)
    return frame[list(PLACE_DAY_COLUMNS)], counts


def _locate(crimes: pd.DataFrame, areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """The crimes in each area (a crime in two overlapping areas appears twice), with ``area_id``."""
    ids = areas[C.AREA_ID].astype(str).to_numpy(dtype=object)
    empty = areas.geometry.isna() | areas.geometry.is_empty
    if bool(empty.all()):
        if C.LSOA_CODE not in crimes.columns:
            raise InputError("the plan's areas have no polygons and the crimes no lsoa_code to match them.")
        wanted = crimes[crimes[C.LSOA_CODE].astype(str).isin(set(ids))]
        return wanted.assign(**{C.AREA_ID: wanted[C.LSOA_CODE].astype(str)}).reset_index(drop=True)
    crime_idx, area_idx = locate(
        crimes[C.X].to_numpy(dtype=float), crimes[C.Y].to_numpy(dtype=float), areas, buffer_m=0.0
    )
    out = crimes.iloc[crime_idx].reset_index(drop=True)
    out[C.AREA_ID] = ids[area_idx]
    return out
