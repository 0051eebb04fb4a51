"""Daily visit schedules: randomised start times inside each area's visit window.

A schedule has one row per planned visit, with local (Europe/London) and UTC times::

    date, shift, area_id, visit, start_local, end_local, start_utc, end_utc, officers

Start times are drawn uniformly on the minute grid of the window (``numpy.random.default_rng
([seed, 1])``), several visits to one area on one day never overlap, and the same seed gives the
same schedule, so patrols are not predictable but the plan is auditable. Times are stored in UTC
and shown in Europe/London; a window ending at ``24:00`` ends at midnight the next day.

Windows may differ by weekday and a day may have several (:mod:`gripkit.patrol.windows`). A day's
visits are then shared among its windows by a multivariate hypergeometric draw over the visit
slots each window holds (so about in proportion to their lengths), and placed in each window as
above; a day with one window draws exactly as a single window always has.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.patrol.windows import WeekWindows, Window, parse_windows

LONDON = "Europe/London"
SCHEDULE_STREAM = 1
SCHEDULE_COLUMNS: tuple[str, ...] = (
    C.DATE,
    "shift",
    C.AREA_ID,
    C.VISIT,
    "start_local",
    "end_local",
    C.START_UTC,
    C.END_UTC,
    C.OFFICERS,
)


def timezone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, else InputError naming the fix."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            f"unknown time zone {name!r}; pass an IANA name such as Europe/London or UTC."
        ) from exc


def window_from_profile(profile: Any, hours: int = 10) -> tuple[Window, float]:
    """The ``hours``-long window (whole hours, within one day) holding most of a time profile.

    Parameters
    ----------
    profile : array-like or DataFrame
        Harm or crimes by hour of day: 24 values, or a 24-row hour × weekday table (summed over
        weekdays), e.g. from ``gripkit.hotspots.profile.time_profile``.
    hours : int, default 10
        Window length (Op Rowan patrolled 14:00-24:00, 10 hours).

    Returns
    -------
    (Window, float)
        The window and the share of the profile inside it.

    Examples
    --------
    >>> profile = [0] * 14 + [1] * 10
    >>> window_from_profile(profile, hours=10)
    (Window(start=840, end=1440), 1.0)
    """
    values = np.asarray(profile, dtype=float)
    if values.ndim == 2:
        values = values.sum(axis=1)
    if values.shape != (24,) or not np.isfinite(values).all() or (values < 0).any():
        raise InputError(
            f"a time profile must hold 24 finite values >= 0 (one per hour, or 24 rows of hour × weekday); "
            f"received shape {values.shape}. Build one with gripkit.hotspots.profile.time_profile."
        )
    if not 1 <= int(hours) <= 24:
        raise InputError(f"'hours' must be between 1 and 24; received {hours!r}.")
    total = float(values.sum())
    sums = np.array([values[s : s + hours].sum() for s in range(0, 25 - hours)])
    best = int(np.argmax(sums))  # first (earliest) best window on ties
    share = float(sums[best] / total) if total > 0 else float("nan")
    return Window(best * 60, (best + hours) * 60), share


def schedule_visits(
    assignments: pd.DataFrame,
    *,
    window: Any = "14:00-24:00",
    visit_minutes: int = 15,
    officers: int = 2,
    seed: int,
    tz: str = LONDON,
) -> pd.DataFrame:
    """Randomised visit times for every planned visit of a plan.

    Parameters
    ----------
    assignments : pandas.DataFrame
        ``date``, ``area_id`` and ``visits`` (planned visits that day; 0 = none), e.g.
        :attr:`ExperimentPlan.assignments`.
    window : str, Window, WeekWindows, or mapping area_id -> window, default "14:00-24:00"
        Local visit window(s): the grammar of :mod:`gripkit.patrol.windows` (per weekday, several a
        day, crossing midnight; a window belongs to the day it starts).
    visit_minutes : int, default 15
        Length of each visit (Koper 1995: 10-15 minutes maximise residual deterrence).
    officers : int, default 2
        Officers per patrol.
    seed : int
        Seed; stream ``[seed, 1]`` is used so the times do not disturb the assignment's stream.
    tz : str, default "Europe/London"
        Local time zone of the windows.

    Returns
    -------
    pandas.DataFrame
        :data:`SCHEDULE_COLUMNS`, sorted by date, start, area: local times as ISO text with UTC
        offset, UTC times as naive UTC timestamps.

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> plan = pd.DataFrame({"date": [dt.date(2024, 6, 1)], "area_id": ["A"], "visits": [2]})
    >>> s = schedule_visits(plan, window="14:00-16:00", seed=1)
    >>> len(s), bool((s["end_utc"] - s["start_utc"] == pd.Timedelta(minutes=15)).all())
    (2, True)
    """
    zone = timezone(tz)
    minutes = _whole("visit_minutes", visit_minutes)
    n_officers = _whole("officers", officers)
    missing = [c for c in (C.DATE, C.AREA_ID, C.VISITS) if c not in assignments.columns]
    if missing:
        raise InputError(
            f"assignments lack column(s) {', '.join(missing)}; received "
            f"{', '.join(map(str, assignments.columns))}. "
            "Pass ExperimentPlan.assignments or AreaChoice.assignments(...)."
        )
    windows = _windows(window, assignments[C.AREA_ID])
    rows = assignments[assignments[C.VISITS] > 0].sort_values([C.DATE, C.AREA_ID], kind="mergesort")
    rng = np.random.default_rng([int(seed), SCHEDULE_STREAM])
    records: list[tuple[Any, ...]] = []
    for day, area, count in rows[[C.DATE, C.AREA_ID, C.VISITS]].itertuples(index=False):
        when = pd.Timestamp(day).date()
        todays = windows[str(area)].on(when.weekday())
        midnight = datetime.combine(when, datetime.min.time())
        visit = 1
        for win, offset in _draw(rng, todays, int(count), minutes, area, when):
            start = _aware(midnight + timedelta(minutes=win.start + offset), zone)
            end = _aware(midnight + timedelta(minutes=win.start + offset + minutes), zone)
            records.append((when, win.label, str(area), visit, start, end, n_officers))
            visit += 1
    frame = pd.DataFrame(records, columns=[C.DATE, "shift", C.AREA_ID, C.VISIT, "start", "end", C.OFFICERS])
    frame["start_local"] = [t.isoformat(timespec="minutes") for t in frame["start"]]
    frame["end_local"] = [t.isoformat(timespec="minutes") for t in frame["end"]]
    frame[C.START_UTC] = pd.to_datetime([_utc(t) for t in frame["start"]])
    frame[C.END_UTC] = pd.to_datetime([_utc(t) for t in frame["end"]])
    frame = frame.sort_values([C.DATE, C.START_UTC, C.AREA_ID, C.VISIT], kind="mergesort")
    frame = frame.reset_index(drop=True)
    return frame[list(SCHEDULE_COLUMNS)]


def _utc(moment: datetime) -> datetime:
    """Naive UTC of an aware datetime."""
    return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _aware(local: datetime, zone: ZoneInfo) -> datetime:
    """Attach ``zone``; a nonexistent (spring-forward) time moves forward by the gap (fold=0)."""
    aware = local.replace(tzinfo=zone)
    roundtrip = aware.astimezone(ZoneInfo("UTC")).astimezone(zone)
    return roundtrip if roundtrip.replace(tzinfo=None) != local else aware


def _draw(
    rng: np.random.Generator, todays: tuple[Window, ...], n: int, minutes: int, area: Any, when: date
) -> list[tuple[Window, int]]:
    """(window, minutes after its start) of ``n`` non-overlapping visits on one day, in time order."""
    slots = np.array([w.minutes // minutes for w in todays], dtype=np.int64)
    if n > int(slots.sum()):
        labels = ",".join(w.label for w in todays)
        total = sum(w.minutes for w in todays)
        raise InputError(
            f"{n} visits of {minutes} minutes do not fit in the {labels} window of area {area} on "
            f"{when:%a %Y-%m-%d} ({total} minutes). Plan fewer visits or widen the window."
        )
    counts = [n] if len(todays) == 1 else rng.multivariate_hypergeometric(slots, n).tolist()
    out: list[tuple[Window, int]] = []
    for win, k in zip(todays, counts, strict=True):
        if k:
            slack = win.minutes - k * minutes
            offsets = np.sort(rng.integers(0, slack + 1, size=k)) + np.arange(k) * minutes
            out += [(win, int(o)) for o in offsets]
    return out


def _windows(window: Any, area_ids: pd.Series) -> dict[str, WeekWindows]:
    ids = sorted({str(a) for a in area_ids})
    if isinstance(window, Mapping):
        missing = [a for a in ids if a not in {str(k) for k in window}]
        if missing:
            raise InputError(
                f"no visit window for area(s) {', '.join(missing[:5])}; received windows for "
                f"{len(window)} area(s). Give every planned area a window."
            )
        return {str(k): parse_windows(v) for k, v in window.items()}
    parsed = parse_windows(window)
    return dict.fromkeys(ids, parsed)


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"'{name}' must be a whole number >= 1; received {value!r}.")
    return int(value)


def local_date(ts_utc: pd.Series, tz: str = LONDON) -> pd.Series:
    """Local calendar date of naive-UTC timestamps (for area-days)."""
    return pd.to_datetime(ts_utc).dt.tz_localize("UTC").dt.tz_convert(tz).dt.date


def as_date(value: Any) -> date:
    """A date from a date, Timestamp or ISO text."""
    return pd.Timestamp(value).date()
