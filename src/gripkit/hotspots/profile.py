"""When to patrol: crimes or harm by weekday × hour, and the best contiguous patrol windows.

Needs offence times (``occurred_at``). police.uk publishes the month only, so its crimes raise
:class:`~gripkit.errors.InputError` rather than being given invented times. Force data often
records unknown or span offences (e.g. burglary "between 18:00 and 08:00") at their start time
or at 00:00; a spike at midnight is usually that, not crime.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.hotspots.count import _harm_weights
from gripkit.units.base import check_crimes
from gripkit.validate import positive

logger = logging.getLogger("gripkit")

DAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOURS_PER_WEEK = 168


def time_profile(
    crimes: pd.DataFrame,
    *,
    by: pd.Series | None = None,
    weights: str | None = None,
) -> pd.DataFrame:
    """Crimes (or harm) by weekday (Mon..Sun) × hour of day (0..23), overall or per unit.

    Parameters
    ----------
    crimes : pandas.DataFrame
        Crimes with ``occurred_at`` (date-times). Rows with a missing time are left out, counted
        and logged. Not modified.
    by : pandas.Series, optional
        Unit id of each crime, aligned to ``crimes.index`` (e.g. ``units.assign(crimes)``);
        crimes with a missing id are left out (counted and logged). None profiles all
        crimes together.
    weights : str, optional
        Column of non-negative finite weights to sum (e.g. ``"harm"``); None counts crimes.

    Returns
    -------
    pandas.DataFrame
        Long format, every weekday × hour present (zeros included), sorted by unit, weekday,
        hour: ``unit_id`` (only when ``by`` is given), ``weekday`` (0 = Monday), ``day``
        (``"Mon"``..``"Sun"``), ``hour`` (0..23), ``value`` (count or weight sum) and ``share``
        (``value`` / the unit's total; NaN when that is 0).

    Examples
    --------
    >>> crimes = pd.DataFrame({"occurred_at": pd.to_datetime(
    ...     ["2024-01-01 22:15", "2024-01-01 22:50", "2024-01-06 03:00"])})  # Mon, Mon, Sat
    >>> p = time_profile(crimes)
    >>> p.loc[p["value"] > 0, ["day", "hour", "value", "share"]].values.tolist()
    [['Mon', 22, 2.0, 0.6666666666666666], ['Sat', 3, 1.0, 0.3333333333333333]]
    """
    return _time_profile(crimes, by=by, weights=weights)[0]


def _time_profile(
    crimes: pd.DataFrame,
    *,
    by: pd.Series | None = None,
    weights: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """:func:`time_profile` and its record: ``weights``, ``missing_times``, ``unassigned``."""
    frame = check_crimes(crimes, ())
    if col.OCCURRED_AT not in frame.columns or frame[col.OCCURRED_AT].isna().all():
        raise InputError(
            "time profiles need offence times in 'occurred_at'; received "
            + ("no such column" if col.OCCURRED_AT not in frame.columns else "only missing values")
            + ". police.uk data has the month only (no day or hour), so it cannot give a weekday × "
            "hour profile: use a force's own records with offence date-times (gripkit ingest --map)."
        )
    try:
        when = pd.to_datetime(frame[col.OCCURRED_AT])
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"'occurred_at' must hold date-times; received dtype {frame[col.OCCURRED_AT].dtype}, e.g. "
            f"{frame[col.OCCURRED_AT].iloc[0]!r}. Parse it with pandas.to_datetime."
        ) from exc
    values = _weights(frame, weights)
    keep = when.notna().to_numpy().copy()
    missing_times = int((~keep).sum())
    if missing_times:
        logger.info("%d of %d crimes have no occurred_at and are left out of the profile",
                    missing_times, len(frame))
    unassigned = 0
    if by is not None:
        ids = _unit_ids(by, frame)
        unassigned = int((ids.isna().to_numpy() & keep).sum())
        keep &= ids.notna().to_numpy()
        if unassigned:
            logger.info("%d crimes have no unit id and are left out of the profile", unassigned)
    slot = (when.dt.day_of_week * 24 + when.dt.hour).to_numpy(dtype=np.int64, na_value=0)[keep]
    w = values[keep]
    if by is None:
        grid = np.bincount(slot, weights=w, minlength=HOURS_PER_WEEK)[None, :]
        unit_index: pd.Index | None = None
    else:
        codes, unit_index = pd.factorize(ids[keep], sort=True)
        flat = np.bincount(codes * HOURS_PER_WEEK + slot, weights=w,
                           minlength=len(unit_index) * HOURS_PER_WEEK)
        grid = flat.reshape(len(unit_index), HOURS_PER_WEEK)
    out = _long(grid, unit_index)
    return out, {"weights": weights, "missing_times": missing_times, "unassigned": unassigned}


def _weights(frame: pd.DataFrame, weights: str | None) -> np.ndarray:
    """Weight per crime: ones, or the checked ``weights`` column (shared with ``count``)."""
    if weights is None:
        return np.ones(len(frame))
    if weights not in frame.columns:  # count() would fall back to ones for "harm"; here it is an error
        raise InputError(
            f"weights column {weights!r} is not a column of crimes; received columns "
            f"{', '.join(map(str, frame.columns))}. Apply a harm table first or pass weights=None."
        )
    return _harm_weights(frame, weights)[0]


def _unit_ids(by: object, frame: pd.DataFrame) -> pd.Series:
    if not isinstance(by, pd.Series) or not by.index.equals(frame.index):
        raise InputError(
            f"'by' must be a pandas Series of unit ids aligned to crimes.index; received "
            f"{type(by).__name__}"
            + (f" with a different index (length {len(by)} vs {len(frame)})" if isinstance(by, pd.Series)
               else "")
            + ". Pass units.assign(crimes)."
        )
    return by.astype("string")


def _days(weekday: np.ndarray) -> pd.Categorical:
    """Ordered ``Mon``..``Sun`` categorical of weekday numbers (0 = Monday)."""
    return pd.Categorical(np.asarray(DAYS, dtype=object)[weekday], categories=pd.Index(DAYS), ordered=True)


def _long(grid: np.ndarray, unit_index: pd.Index | None) -> pd.DataFrame:
    """units × 168 array -> long frame with weekday, day, hour, value, share."""
    n_units = grid.shape[0]
    totals = grid.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(totals > 0, grid / np.where(totals > 0, totals, 1), np.nan)
    slots = np.tile(np.arange(HOURS_PER_WEEK), n_units)
    data: dict[str, object] = {}
    if unit_index is not None:
        data[col.UNIT_ID] = pd.array(np.repeat(unit_index.to_numpy(dtype=object), HOURS_PER_WEEK),
                                     dtype="string")
    data["weekday"] = slots // 24
    data["day"] = _days(slots // 24)
    data["hour"] = slots % 24
    data["value"] = grid.ravel().astype(float)
    data["share"] = share.ravel()
    return pd.DataFrame(data)


def peak_windows(profile: pd.DataFrame, hours: int = 4, top: int = 3) -> pd.DataFrame:
    """The ``top`` non-overlapping windows of ``hours`` consecutive hours with the most value.

    Windows run over the 168 hours of the week and wrap past midnight and from Sunday into
    Monday (e.g. Sat 22:00–02:00). Chosen greedily per unit: the best window, then the best not
    overlapping it, and so on; ties go to the earliest start (Mon 00:00 first). Vectorised over
    units (the loop is over ``top``).

    Parameters
    ----------
    profile : pandas.DataFrame
        Output of :func:`time_profile` (per unit or overall).
    hours : int, default 4
        Window length in hours (1..24).
    top : int, default 3
        Windows per unit; fewer when ``top * hours`` exceeds 168.

    Returns
    -------
    pandas.DataFrame
        ``unit_id`` (when the profile has it), ``rank`` (1 = best), ``weekday``, ``day``,
        ``start_hour``, ``end_hour`` (exclusive, mod 24), ``label`` (e.g. ``"Fri 22:00-02:00"``),
        ``value`` and ``share`` (of the unit's total). Units whose total is 0 are left out.

    Examples
    --------
    >>> crimes = pd.DataFrame({"occurred_at": pd.to_datetime(
    ...     ["2024-01-05 23:30", "2024-01-06 00:10", "2024-01-06 01:05", "2024-01-02 12:00"])})
    >>> peak_windows(time_profile(crimes), hours=3, top=1)[["label", "value"]].values.tolist()
    [['Fri 23:00-02:00', 3.0]]
    """
    hours = int(positive("hours", hours, unit="hours", example="4"))
    top = int(positive("top", top, example="3"))
    if hours > 24:
        raise InputError(f"'hours' must be at most 24; received {hours}. Pass e.g. hours=4.")
    needed = ["weekday", "hour", "value"]
    missing = [c for c in needed if c not in profile.columns]
    if missing:
        raise InputError(
            f"profile lacks column(s) {', '.join(missing)}; received {', '.join(map(str, profile.columns))}. "
            "Pass the output of gripkit.hotspots.time_profile."
        )
    per_unit = col.UNIT_ID in profile.columns
    ids = profile[col.UNIT_ID].astype(object) if per_unit else pd.Series(0, index=profile.index)
    codes, units = pd.factorize(ids, sort=True)
    slot = profile["weekday"].to_numpy(dtype=np.int64) * 24 + profile["hour"].to_numpy(dtype=np.int64)
    grid = np.zeros((len(units), HOURS_PER_WEEK))
    np.add.at(grid, (codes, slot), profile["value"].to_numpy(dtype=float))
    totals = grid.sum(axis=1)
    # circular window sums: sums[u, s] = value of hours s .. s + hours - 1 (mod 168)
    padded = np.concatenate([grid, grid[:, : hours - 1]], axis=1)
    running = np.concatenate([np.zeros((len(units), 1)), np.cumsum(padded, axis=1)], axis=1)
    sums = running[:, hours : hours + HOURS_PER_WEEK] - running[:, :HOURS_PER_WEEK]
    rows = np.arange(len(units))
    available = np.ones_like(sums, dtype=bool)
    picks = []
    for rank in range(1, top + 1):
        masked = np.where(available, sums, -np.inf)
        start = masked.argmax(axis=1)
        ok = np.isfinite(masked[rows, start]) & (totals > 0)
        picks.append(pd.DataFrame({"u": rows[ok], "rank": rank, "start": start[ok],
                                   "value": sums[rows[ok], start[ok]]}))
        # windows overlapping the pick start within (start - hours, start + hours), circularly
        offsets = (np.arange(HOURS_PER_WEEK)[None, :] - start[:, None]) % HOURS_PER_WEEK
        available &= ~((offsets < hours) | (offsets > HOURS_PER_WEEK - hours))
    out = pd.concat(picks, ignore_index=True).sort_values(["u", "rank"], kind="mergesort")
    start = out["start"].to_numpy()
    end = (start + hours) % 24
    result = pd.DataFrame({"rank": out["rank"].to_numpy()})
    if per_unit:
        result.insert(0, col.UNIT_ID, pd.Series(units.to_numpy(dtype=object)[out["u"]], dtype="string"))
    result["weekday"] = start // 24
    result["day"] = _days(start // 24)
    result["start_hour"] = start % 24
    result["end_hour"] = end
    result["label"] = [f"{DAYS[s // 24]} {s % 24:02d}:00-{e:02d}:00" for s, e in zip(start, end, strict=True)]
    result["value"] = out["value"].to_numpy()
    result["share"] = result["value"] / totals[out["u"].to_numpy()]
    return result.reset_index(drop=True)
