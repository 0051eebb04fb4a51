"""Dosage per area-day and compliance of delivered patrol visits against the plan.

* :func:`dosage` — per area and local (Europe/London) date: visits, minutes on site, officer-minutes.
* :func:`match_visits` — per planned visit, the delivered visit matched to it (same area and date,
  one-to-one, in time order, counting only visits of at least ``min_dwell_minutes``); *on time*
  when the delivered start is within ``tolerance_minutes`` of the planned start. Summaries per
  area-day, per area and per officer, and visits in control area-days (contamination), as a
  :class:`Compliance` result. :func:`gripkit.dosage.job.compliance` is the job that reads the plan
  and the visits from a workspace and stores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.dosage.visits import OFFICER_IDS, OFFICER_MINUTES, SOURCES
from gripkit.errors import InputError
from gripkit.results import ResultMixin, to_jsonable
from gripkit.validate import has_columns

DOSAGE_COLUMNS = (C.AREA_ID, C.DATE, C.VISITS, "minutes", OFFICER_MINUTES)


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
    has_columns(visits, (C.AREA_ID, C.DATE, C.DWELL_MINUTES, OFFICER_MINUTES), "visits")
    kept = visits[visits[C.DWELL_MINUTES] >= float(min_dwell_minutes)]
    out = kept.groupby([C.AREA_ID, C.DATE], sort=True).agg(
        visits=(C.DWELL_MINUTES, "size"), minutes=(C.DWELL_MINUTES, "sum"),
        officer_minutes=(OFFICER_MINUTES, "sum"),
    ).reset_index()
    out[C.VISITS] = out[C.VISITS].astype(np.int64)
    return out[list(DOSAGE_COLUMNS)]


@dataclass
class Compliance(ResultMixin):
    """Planned against delivered patrol visits (the ``"compliance"`` result).

    Attributes
    ----------
    matches : DataFrame
        One row per planned visit: ``date, area_id, visit, planned_start_utc, delivered`` (bool),
        ``on_time`` (bool), ``delivered_start_utc``, ``dwell_minutes``, ``officer_ids``,
        ``lateness_minutes`` and ``sources`` (where the delivered visit was seen: ``gps``,
        ``officer`` or ``gps;officer``; empty when the visits carry no source).
    by_area_day, by_area, by_officer : DataFrame
        Planned and delivered visits and minutes, compliance and on-time shares.
    figures : dict
        Totals: planned, delivered, compliance, on_time_share, minutes, median dwell, control-day
        and unplanned visits, delivered visits by source.
    visits : DataFrame
        The patrol visits compared with the plan (all of them, short ones included).
    meta : dict
        Provenance: ``plan_id``, ``tolerance_minutes``, ``min_dwell_minutes`` and, from
        :func:`gripkit.dosage.job.compliance`, ``buffer_m``, ``gap_minutes``, ``sources``.
    """

    kind: ClassVar[str] = "compliance"

    matches: pd.DataFrame
    by_area_day: pd.DataFrame
    by_area: pd.DataFrame
    by_officer: pd.DataFrame
    figures: dict[str, Any] = field(default_factory=dict)
    visits: pd.DataFrame = field(default_factory=pd.DataFrame)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plan id, the totals of :attr:`figures`, and the per-area and per-officer tables."""
        out = {
            "plan_id": self.meta.get("plan_id"),
            **self.figures,
            "by_area": self.by_area,
            "by_officer": self.by_officer,
        }
        jsonable: dict[str, Any] = to_jsonable(out)
        return jsonable

    def summary(self) -> str:
        """One paragraph: "Of 630 planned visits in plan 1, 598 (94.9%) were delivered and 573 (91%) ..."."""
        f = self.figures
        planned, delivered = int(f["planned_visits"]), int(f["delivered_visits"])
        plan = f"plan {self.meta['plan_id']}" if self.meta.get("plan_id") is not None else "the plan"
        if not planned:
            head = plan[0].upper() + plan[1:]
            return f"{head} has no planned visits; {len(self.visits):,} visits were measured."
        on_time = int(self.matches["on_time"].sum())
        median = f.get("median_dwell_minutes")
        text = (
            f"Of {planned:,} planned visits in {plan}, {delivered:,} ({delivered / planned:.1%}) were "
            f"delivered and {on_time:,} ({on_time / planned:.0%}) on time (starting within "
            f"{f['tolerance_minutes']:g} minutes of the plan)"
            + (f", median {median:.0f} minutes on site" if median is not None else "")
            + f"; {f['visits_on_control_days']:,} visit(s) fell on control area-days and "
            f"{f['unplanned_visits']:,} were unplanned."
        )
        by_source = f.get("delivered_by_source") or {}
        if by_source:
            names = {"gps": "GPS pings", "officer": "officers' own records", "gps;officer": "both"}
            parts = [f"{names.get(k, k)} ({v:,})" for k, v in sorted(by_source.items())]
            text += " Delivered visits were seen in " + ", ".join(parts) + "."
        later = int(self.meta.get("later_visits") or 0)
        if later:
            text += f" Judged to {self.meta['to']}: {later:,} planned visit(s) after it are not counted yet."
        return text

    def tables(self) -> dict[str, pd.DataFrame]:
        """``by_area``, ``by_officer``, ``by_visit`` (per planned visit), ``by_area_day``, ``visits``."""
        return {
            "by_area": self.by_area,
            "by_officer": self.by_officer,
            "by_visit": self.matches,
            "by_area_day": self.by_area_day,
            "visits": self.visits,
        }


def match_visits(
    schedule: pd.DataFrame,
    visits: pd.DataFrame,
    assignments: pd.DataFrame | None = None,
    *,
    tolerance_minutes: float = 30.0,
    min_dwell_minutes: float = 10.0,
) -> Compliance:
    """Compare delivered patrol visits with the planned schedule (no workspace needed).

    :func:`gripkit.dosage.job.compliance` is the job that reads both from a workspace and stores
    the result; this is the comparison itself.

    Parameters
    ----------
    schedule : DataFrame
        Planned visits: ``date, area_id, visit, start_utc, end_utc`` (e.g. ``load_plan(ws).schedule``).
    visits : DataFrame
        Patrol visits from :func:`~gripkit.dosage.visits.patrol_visits` (a ``sources`` column,
        when present, is carried into the matches).
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
    >>> c = match_visits(plan, done)
    >>> c.figures["compliance"], c.figures["on_time_share"]
    (1.0, 1.0)
    """
    has_columns(schedule, (C.DATE, C.AREA_ID, C.START_UTC, C.END_UTC), "schedule")
    has_columns(visits, (C.AREA_ID, C.DATE, C.START_UTC, C.DWELL_MINUTES, OFFICER_IDS, OFFICER_MINUTES),
                "visits")
    if not (float(tolerance_minutes) >= 0 and float(min_dwell_minutes) >= 0):
        raise InputError(
            f"'tolerance_minutes' and 'min_dwell_minutes' must be >= 0; received {tolerance_minutes!r}, "
            f"{min_dwell_minutes!r}."
        )
    plan = _keyed(schedule)
    done = _keyed(visits[visits[C.DWELL_MINUTES] >= float(min_dwell_minutes)])
    matches = _match(plan, done, float(tolerance_minutes))
    by_area_day = _by_area_day(plan, done, matches, assignments)
    by_area = _shares(by_area_day.groupby(C.AREA_ID, sort=True)[
        ["planned_visits", "delivered_visits", "on_time_visits", "planned_minutes", "delivered_minutes",
         "control_visits"]].sum().reset_index())
    by_officer = _by_officer(done, matches)
    planned, delivered = len(plan), int(matches["delivered"].sum())
    got = matches[matches["delivered"].astype(bool)]  # an empty frame's column is object dtype
    by_source = got["sources"].replace("", np.nan).dropna().value_counts().sort_index()
    figures = {
        "planned_visits": planned,
        "delivered_visits": delivered,
        "compliance": delivered / planned if planned else None,
        "on_time_share": float(matches["on_time"].sum()) / planned if planned else None,
        "planned_minutes": float(by_area_day["planned_minutes"].sum()),
        "delivered_minutes": float(by_area_day["delivered_minutes"].sum()),
        "median_dwell_minutes": float(got[C.DWELL_MINUTES].median()) if len(got) else None,
        "visits_on_control_days": int(by_area_day["control_visits"].sum()),
        "unplanned_visits": int(len(done) - delivered),
        "delivered_by_source": {str(k): int(v) for k, v in by_source.items()},
        "tolerance_minutes": float(tolerance_minutes),
        "min_dwell_minutes": float(min_dwell_minutes),
    }
    meta = {"tolerance_minutes": float(tolerance_minutes), "min_dwell_minutes": float(min_dwell_minutes)}
    return Compliance(matches, by_area_day, by_area, by_officer, figures, visits.reset_index(drop=True), meta)


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with ``date`` as dates and ``area_id`` as text, sorted by area, date and start."""
    out = frame.copy()
    out[C.DATE] = [pd.Timestamp(d).date() for d in frame[C.DATE]]
    out[C.AREA_ID] = frame[C.AREA_ID].astype(str)
    return out.sort_values([C.AREA_ID, C.DATE, C.START_UTC], kind="mergesort").reset_index(drop=True)


MATCH_COLUMNS = (
    C.DATE, C.AREA_ID, C.VISIT, "planned_start_utc", "delivered", "on_time", "delivered_start_utc",
    C.DWELL_MINUTES, OFFICER_IDS, "lateness_minutes", SOURCES,
)


def _match(plan: pd.DataFrame, done: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """One-to-one match of planned and delivered visits per area-date, in time order."""
    rows: list[dict[str, Any]] = []
    delivered = {key: group for key, group in done.groupby([C.AREA_ID, C.DATE], sort=False)}
    for (area, day), group in plan.groupby([C.AREA_ID, C.DATE], sort=False):
        got = delivered.get((area, day))
        got_rows = [] if got is None else got.to_dict("records")
        for i, planned in enumerate(group.to_dict("records")):
            row: dict[str, Any] = {
                C.DATE: day, C.AREA_ID: area, C.VISIT: planned.get(C.VISIT, i + 1),
                "planned_start_utc": planned[C.START_UTC], "delivered": i < len(got_rows), "on_time": False,
                "delivered_start_utc": pd.NaT, C.DWELL_MINUTES: np.nan, OFFICER_IDS: None,
                "lateness_minutes": np.nan, SOURCES: "",
            }
            if i < len(got_rows):
                match = got_rows[i]
                start = pd.Timestamp(match[C.START_UTC])
                late = (start - pd.Timestamp(planned[C.START_UTC])).total_seconds() / 60
                row.update({
                    "delivered_start_utc": match[C.START_UTC], C.DWELL_MINUTES: match[C.DWELL_MINUTES],
                    OFFICER_IDS: match[OFFICER_IDS], "lateness_minutes": late,
                    "on_time": abs(late) <= tolerance, SOURCES: str(match.get(SOURCES) or ""),
                })
            rows.append(row)
    return pd.DataFrame(rows, columns=list(MATCH_COLUMNS))


def _by_area_day(
    plan: pd.DataFrame, done: pd.DataFrame, matches: pd.DataFrame, assignments: pd.DataFrame | None
) -> pd.DataFrame:
    planned = plan.assign(minutes=(plan[C.END_UTC] - plan[C.START_UTC]).dt.total_seconds() / 60)
    left = planned.groupby([C.AREA_ID, C.DATE]).agg(planned_visits=("minutes", "size"),
                                                    planned_minutes=("minutes", "sum"))
    got = done.groupby([C.AREA_ID, C.DATE]).agg(delivered_visits=(C.DWELL_MINUTES, "size"),
                                                delivered_minutes=(C.DWELL_MINUTES, "sum"))
    on_time = matches.groupby([C.AREA_ID, C.DATE])["on_time"].sum().rename("on_time_visits")
    table = left.join(got, how="outer").join(on_time, how="left").fillna(0).reset_index()
    table["control_visits"] = 0
    if assignments is not None:
        has_columns(assignments, (C.DATE, C.AREA_ID, C.TREATED), "assignments")
        control = assignments[assignments[C.TREATED] == 0]
        keys = set(zip(control[C.AREA_ID].astype(str), (pd.Timestamp(d).date() for d in control[C.DATE]),
                       strict=True))
        is_control = np.array([(a, d) in keys for a, d in zip(table[C.AREA_ID], table[C.DATE], strict=True)],
                              dtype=bool)
        table.loc[is_control, "control_visits"] = table.loc[is_control, "delivered_visits"]
    # delivered visits beyond the plan are not "delivered" against the plan: cap per area-day
    table["delivered_visits"] = table[["delivered_visits", "planned_visits"]].min(axis=1)
    for name in ("planned_visits", "delivered_visits", "on_time_visits", "control_visits"):
        table[name] = table[name].astype(np.int64)
    return _shares(table.sort_values([C.DATE, C.AREA_ID], kind="mergesort").reset_index(drop=True))


def _by_officer(done: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    if done.empty:
        return pd.DataFrame(columns=[C.OFFICER_ID, C.VISITS, "planned_visits_delivered", "on_time_visits",
                                     "minutes"])
    per = done.assign(**{C.OFFICER_ID: done[OFFICER_IDS].astype(str).str.split(";")}).explode(C.OFFICER_ID)
    got = matches[matches["delivered"].astype(bool)]  # an empty frame's column is object dtype
    got = got.assign(**{C.OFFICER_ID: got[OFFICER_IDS].astype(str).str.split(";")}).explode(C.OFFICER_ID)
    table = per.groupby(C.OFFICER_ID).agg(visits=(C.DWELL_MINUTES, "size"), minutes=(C.DWELL_MINUTES, "sum"))
    table["planned_visits_delivered"] = got.groupby(C.OFFICER_ID).size().reindex(table.index).fillna(0)
    table["on_time_visits"] = got.groupby(C.OFFICER_ID)["on_time"].sum().reindex(table.index).fillna(0)
    table = table.reset_index()
    for name in (C.VISITS, "planned_visits_delivered", "on_time_visits"):
        table[name] = table[name].astype(np.int64)
    return table[[C.OFFICER_ID, C.VISITS, "planned_visits_delivered", "on_time_visits", "minutes"]]


def _shares(table: pd.DataFrame) -> pd.DataFrame:
    planned = table["planned_visits"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["compliance"] = np.where(planned > 0, table["delivered_visits"] / planned, np.nan)
        table["on_time_share"] = np.where(planned > 0, table["on_time_visits"] / planned, np.nan)
    return table
