"""Dosage per area-day and compliance of delivered patrol visits against the plan.

* :func:`dosage` — per area and local (Europe/London) date: visits, minutes on site, officer-minutes.
* :func:`compliance` — per planned visit, the delivered visit matched to it (same area and date,
  one-to-one, in time order, counting only visits of at least ``min_dwell_minutes``); *on time*
  when the delivered start is within ``tolerance_minutes`` of the planned start. Summaries per
  area-day, per area and per officer, and visits in control area-days (contamination).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gripkit.errors import InputError
from gripkit.validate import has_columns

DOSAGE_COLUMNS = ("area_id", "date", "visits", "minutes", "officer_minutes")


def dosage(visits: pd.DataFrame, *, min_dwell_minutes: float = 0.0) -> pd.DataFrame:
    """Visits, minutes and officer-minutes per area and local date.

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> v = pd.DataFrame({"area_id": ["a", "a"], "date": [dt.date(2024, 6, 1)] * 2,
    ...                   "dwell_minutes": [15.0, 5.0], "officer_minutes": [30.0, 10.0]})
    >>> dosage(v).values.tolist()
    [['a', datetime.date(2024, 6, 1), 2, 20.0, 40.0]]
    """
    has_columns(visits, ("area_id", "date", "dwell_minutes", "officer_minutes"), "visits")
    kept = visits[visits["dwell_minutes"] >= float(min_dwell_minutes)]
    out = kept.groupby(["area_id", "date"], sort=True).agg(
        visits=("dwell_minutes", "size"), minutes=("dwell_minutes", "sum"),
        officer_minutes=("officer_minutes", "sum"),
    ).reset_index()
    out["visits"] = out["visits"].astype(np.int64)
    return out[list(DOSAGE_COLUMNS)]


@dataclass
class Compliance:
    """Planned against delivered patrol visits.

    Attributes
    ----------
    matches : DataFrame
        One row per planned visit: ``date, area_id, visit, planned_start_utc, delivered`` (bool),
        ``on_time`` (bool), ``delivered_start_utc``, ``dwell_minutes``, ``officer_ids``, ``lateness_minutes``.
    by_area_day, by_area, by_officer : DataFrame
        Planned and delivered visits and minutes, compliance and on-time shares.
    summary : dict
        Totals: planned, delivered, compliance, on_time_share, minutes, control-day visits.
    """

    matches: pd.DataFrame
    by_area_day: pd.DataFrame
    by_area: pd.DataFrame
    by_officer: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def compliance(
    schedule: pd.DataFrame,
    visits: pd.DataFrame,
    assignments: pd.DataFrame | None = None,
    *,
    tolerance_minutes: float = 30.0,
    min_dwell_minutes: float = 10.0,
) -> Compliance:
    """Compare delivered patrol visits with the planned schedule.

    Parameters
    ----------
    schedule : DataFrame
        Planned visits: ``date, area_id, visit, start_utc, end_utc`` (e.g. ``load_plan(ws).schedule``).
    visits : DataFrame
        Patrol visits from :func:`~gripkit.dosage.visits.patrol_visits`.
    assignments : DataFrame, optional
        ``date, area_id, treated``; visits on control area-days are then counted separately.
    tolerance_minutes : float, default 30
        A delivered visit is on time when it starts within this of the planned start.
    min_dwell_minutes : float, default 10
        Shorter visits (e.g. walking through) do not count as delivered; a 15-minute plan
        (Koper 1995) with some GPS loss still counts.

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> day = dt.date(2024, 6, 1)
    >>> plan = pd.DataFrame({"date": [day], "area_id": ["a"], "visit": [1],
    ...     "start_utc": [pd.Timestamp("2024-06-01 13:00")], "end_utc": [pd.Timestamp("2024-06-01 13:15")]})
    >>> done = pd.DataFrame({"area_id": ["a"], "date": [day], "start_utc": [pd.Timestamp("2024-06-01 13:10")],
    ...     "end_utc": [pd.Timestamp("2024-06-01 13:25")], "dwell_minutes": [15.0], "officers": [2],
    ...     "officer_ids": ["R1;R2"], "officer_minutes": [30.0]})
    >>> c = compliance(plan, done)
    >>> c.summary["compliance"], c.summary["on_time_share"]
    (1.0, 1.0)
    """
    has_columns(schedule, ("date", "area_id", "start_utc", "end_utc"), "schedule")
    has_columns(visits, ("area_id", "date", "start_utc", "dwell_minutes", "officer_ids", "officer_minutes"),
                "visits")
    if not (float(tolerance_minutes) >= 0 and float(min_dwell_minutes) >= 0):
        raise InputError(
            f"'tolerance_minutes' and 'min_dwell_minutes' must be >= 0; received {tolerance_minutes!r}, "
            f"{min_dwell_minutes!r}."
        )
    plan = schedule.assign(date=[pd.Timestamp(d).date() for d in schedule["date"]],
                           area_id=schedule["area_id"].astype(str))
    plan = plan.sort_values(["area_id", "date", "start_utc"], kind="mergesort").reset_index(drop=True)
    done = visits[visits["dwell_minutes"] >= float(min_dwell_minutes)]
    done = done.assign(date=[pd.Timestamp(d).date() for d in done["date"]],
                       area_id=done["area_id"].astype(str))
    done = done.sort_values(["area_id", "date", "start_utc"], kind="mergesort").reset_index(drop=True)
    matches = _match(plan, done, float(tolerance_minutes))
    by_area_day = _by_area_day(plan, done, matches, assignments)
    by_area = _shares(by_area_day.groupby("area_id", sort=True)[
        ["planned_visits", "delivered_visits", "on_time_visits", "planned_minutes", "delivered_minutes",
         "control_visits"]].sum().reset_index())
    by_officer = _by_officer(done, matches)
    planned, delivered = len(plan), int(matches["delivered"].sum())
    summary = {
        "planned_visits": planned,
        "delivered_visits": delivered,
        "compliance": delivered / planned if planned else None,
        "on_time_share": float(matches["on_time"].sum()) / planned if planned else None,
        "planned_minutes": float(by_area_day["planned_minutes"].sum()),
        "delivered_minutes": float(by_area_day["delivered_minutes"].sum()),
        "visits_on_control_days": int(by_area_day["control_visits"].sum()),
        "unplanned_visits": int(len(done) - delivered),
        "tolerance_minutes": float(tolerance_minutes),
        "min_dwell_minutes": float(min_dwell_minutes),
    }
    return Compliance(matches, by_area_day, by_area, by_officer, summary)


def _match(plan: pd.DataFrame, done: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """One-to-one match of planned and delivered visits per area-date, in time order."""
    rows: list[dict[str, Any]] = []
    delivered = {key: group for key, group in done.groupby(["area_id", "date"], sort=False)}
    for (area, day), group in plan.groupby(["area_id", "date"], sort=False):
        got = delivered.get((area, day))
        got_rows = [] if got is None else got.to_dict("records")
        for i, planned in enumerate(group.to_dict("records")):
            row: dict[str, Any] = {"date": day, "area_id": area, "visit": planned.get("visit", i + 1),
                                   "planned_start_utc": planned["start_utc"], "delivered": i < len(got_rows),
                                   "on_time": False, "delivered_start_utc": pd.NaT, "dwell_minutes": np.nan,
                                   "officer_ids": None, "lateness_minutes": np.nan}
            if i < len(got_rows):
                match = got_rows[i]
                late = (pd.Timestamp(match["start_utc"]) - pd.Timestamp(planned["start_utc"])).total_seconds()
                late /= 60
                row.update(delivered_start_utc=match["start_utc"], dwell_minutes=match["dwell_minutes"],
                           officer_ids=match["officer_ids"], lateness_minutes=late,
                           on_time=abs(late) <= tolerance)
            rows.append(row)
    columns = ["date", "area_id", "visit", "planned_start_utc", "delivered", "on_time", "delivered_start_utc",
               "dwell_minutes", "officer_ids", "lateness_minutes"]
    return pd.DataFrame(rows, columns=columns)


def _by_area_day(
    plan: pd.DataFrame, done: pd.DataFrame, matches: pd.DataFrame, assignments: pd.DataFrame | None
) -> pd.DataFrame:
    planned = plan.assign(minutes=(plan["end_utc"] - plan["start_utc"]).dt.total_seconds() / 60)
    left = planned.groupby(["area_id", "date"]).agg(planned_visits=("minutes", "size"),
                                                    planned_minutes=("minutes", "sum"))
    got = done.groupby(["area_id", "date"]).agg(delivered_visits=("dwell_minutes", "size"),
                                                delivered_minutes=("dwell_minutes", "sum"))
    on_time = matches.groupby(["area_id", "date"])["on_time"].sum().rename("on_time_visits")
    table = left.join(got, how="outer").join(on_time, how="left").fillna(0).reset_index()
    table["control_visits"] = 0
    if assignments is not None:
        has_columns(assignments, ("date", "area_id", "treated"), "assignments")
        control = assignments[assignments["treated"] == 0]
        keys = set(zip(control["area_id"].astype(str), (pd.Timestamp(d).date() for d in control["date"]),
                       strict=True))
        is_control = np.array([(a, d) in keys for a, d in zip(table["area_id"], table["date"], strict=True)],
                              dtype=bool)
        table.loc[is_control, "control_visits"] = table.loc[is_control, "delivered_visits"]
    # delivered visits beyond the plan are not "delivered" against the plan: cap per area-day
    table["delivered_visits"] = table[["delivered_visits", "planned_visits"]].min(axis=1)
    for name in ("planned_visits", "delivered_visits", "on_time_visits", "control_visits"):
        table[name] = table[name].astype(np.int64)
    return _shares(table.sort_values(["date", "area_id"], kind="mergesort").reset_index(drop=True))


def _by_officer(done: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    if done.empty:
        return pd.DataFrame(columns=["officer_id", "visits", "planned_visits_delivered", "on_time_visits",
                                     "minutes"])
    per = done.assign(officer_id=done["officer_ids"].astype(str).str.split(";")).explode("officer_id")
    got = matches[matches["delivered"]]
    got = got.assign(officer_id=got["officer_ids"].astype(str).str.split(";")).explode("officer_id")
    table = per.groupby("officer_id").agg(visits=("dwell_minutes", "size"), minutes=("dwell_minutes", "sum"))
    table["planned_visits_delivered"] = got.groupby("officer_id").size().reindex(table.index).fillna(0)
    table["on_time_visits"] = got.groupby("officer_id")["on_time"].sum().reindex(table.index).fillna(0)
    table = table.reset_index()
    for name in ("visits", "planned_visits_delivered", "on_time_visits"):
        table[name] = table[name].astype(np.int64)
    return table[["officer_id", "visits", "planned_visits_delivered", "on_time_visits", "minutes"]]


def _shares(table: pd.DataFrame) -> pd.DataFrame:
    planned = table["planned_visits"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["compliance"] = np.where(planned > 0, table["delivered_visits"] / planned, np.nan)
        table["on_time_share"] = np.where(planned > 0, table["on_time_visits"] / planned, np.nan)
    return table
