"""Home Office Grip returns: one month's patrols, crime, ASB and stop-and-search inside each hotspot.

:func:`home_office_returns` reads a stored patrol plan (default: the latest) and, for one month and
the same month a year before, counts per hotspot (the plan's areas) what a force reports to the
Home Office for its hotspot-policing funding: patrols planned and delivered, patrol hours, serious-
violence crimes and their harm, anti-social behaviour incidents, and stop-and-searches by outcome.
The columns are defined in ``docs/funding.md`` ("Home Office returns"). The result is stored as kind
``"returns"``; :meth:`Returns.write_csv` writes the return.

Where things are counted
------------------------
* Patrols: the plan's scheduled visits on local (Europe/London) dates of the month; delivered visits
  are the patrol visits (GPS pings and officers' own start/stop records, merged by
  :func:`gripkit.dosage.plan_visits`) matched one-to-one to them (:func:`gripkit.dosage.match_visits`);
  patrol hours are the minutes on site of every patrol visit of at least ``min_dwell_minutes`` in
  the month, planned or not, over 60.
* Crimes, ASB and searches: points inside an area's polygon (:func:`gripkit.dosage.locate`, no
  buffer), in the month (crimes by their police.uk month; searches by
  :func:`gripkit.ingestion.searches.workspace_searches`). police.uk snaps points to anonymised map
  points, so a point near an edge may be counted in the neighbouring area.
* Arrests: police.uk publishes arrests only as a stop-and-search outcome (``"Arrest"``); street
  crimes' outcomes are court and charging outcomes, not arrests.

Every month asked must be held (street crimes and stop-and-search files) by every force of the
workspace (:func:`gripkit.coverage.check_window`); with ``allow_gaps=True`` the figures of a
month not held are left blank (NaN), never zero.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.coverage import check_window, held_months, month_runs
from gripkit.dosage import locate, match_visits, plan_visits
from gripkit.dosage.job import SOURCES
from gripkit.errors import InputError
from gripkit.harm import apply_harm, load_harm_table, serious_violence_types
from gripkit.ingestion.searches import outcome_group, workspace_searches
from gripkit.months import shift
from gripkit.patrol.store import StoredPlan
from gripkit.results import ResultMixin, to_jsonable
from gripkit.workspace import Workspace, parse_month

log = logging.getLogger("gripkit")

ASB = "Anti-social behaviour"
PREV = "_prev_year"
TOTAL = "total"
TOTAL_LABEL = "All hotspots"
PATROL_FIGURES = ("patrols_planned", "patrols_delivered", "patrol_hours_delivered")
CRIME_FIGURES = ("serious_violence_crimes", "serious_violence_harm", "asb_incidents")
SEARCH_FIGURES = (
    "stop_searches",
    "stop_search_arrests",
    "stop_search_other_action",
    "stop_search_no_further_action",
    "stop_search_outcome_not_recorded",
)
FIGURES = (*PATROL_FIGURES, *CRIME_FIGURES, *SEARCH_FIGURES)
#: the CSV's columns: the area, then each figure for the month and for the same month a year before
COLUMNS = (C.AREA_ID, C.LABEL, *(name for f in FIGURES for name in (f, f + PREV)))
#: figure -> the outcome group it counts (:func:`gripkit.ingestion.searches.outcome_group`)
_OUTCOMES = dict(zip(SEARCH_FIGURES[1:], ("arrest", "other_action", "no_further_action", "not_recorded"),
                     strict=True))
_KINDS = {"street": CRIME_FIGURES, "stop-and-search": SEARCH_FIGURES}


@dataclass
class Returns(ResultMixin):
    """One month's Home Office return for the hotspots of a plan (the ``"returns"`` result).

    Attributes
    ----------
    table : DataFrame
        :data:`COLUMNS`: one row per area of the plan (``label`` its name), then a ``total`` row
        whose figures are the column sums.
    month, prev_month : str
        ``YYYY-MM`` of the return and of the same month a year before.
    meta : dict
        Provenance: ``plan_id`` (and whether it was the default), harm table and SHA-256, the
        visit parameters, ``coverage`` per month and kind, and the months left blank.
    """

    kind: ClassVar[str] = "returns"

    table: pd.DataFrame
    month: str
    prev_month: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> pd.Series:
        """The total row's figures."""
        return self.table[self.table[C.AREA_ID] == TOTAL].iloc[0]

    def to_dict(self) -> dict[str, Any]:
        """Month, plan, the total row's figures and every row."""
        total = {k: v for k, v in self.total.items() if k not in (C.AREA_ID, C.LABEL)}
        out = {
            "month": self.month,
            "prev_month": self.prev_month,
            "plan_id": self.meta.get("plan_id"),
            "areas": int(len(self.table) - 1),
            "total": total,
            "rows": self.table,
        }
        jsonable: dict[str, Any] = to_jsonable(out)
        return jsonable

    def summary(self) -> str:
        """One paragraph of the totals against the previous year."""
        t = self.total

        def pair(name: str, fmt: str = ",.0f") -> str:
            now, before = t[name], t[name + PREV]
            shown = "n/a" if pd.isna(now) else format(float(now), fmt)
            was = "n/a" if pd.isna(before) else format(float(before), fmt)
            return f"{shown} ({was} a year before)"

        gaps = self.meta.get("blank") or []
        blank = f" Left blank (month not held): {'; '.join(gaps)}." if gaps else ""
        return (
            f"In {self.month} the {len(self.table) - 1} hotspots of plan {self.meta.get('plan_id')} had "
            f"{pair('patrols_delivered')} of {t['patrols_planned']:,.0f} planned patrols delivered, "
            f"{pair('patrol_hours_delivered', ',.1f')} patrol hours, {pair('serious_violence_crimes')} "
            f"serious-violence crimes of harm {pair('serious_violence_harm', ',.1f')}, "
            f"{pair('asb_incidents')} "
            f"ASB incidents and {pair('stop_searches')} stop-searches, {pair('stop_search_arrests')} of them "
            f"ending in arrest; the year before is {self.prev_month}."
            + blank
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """``returns``: the table written to CSV."""
        return {"returns": self.table}

    def write_csv(self, path: str | Path) -> Path:
        """Write :attr:`table` as CSV (UTF-8, a header row, no index); return the path."""
        out = Path(path)
        if out.suffix.lower() != ".csv":
            raise InputError(f"'out' must be a .csv file; received {str(path)!r}. Pass e.g. returns.csv.")
        self.table.to_csv(out, index=False)
        return out


def home_office_returns(
    ws: Workspace,
    *,
    month: date | str,
    plan_id: int | None = None,
    harm: str = C.DEFAULT_HARM_TABLE,
    force: str | None = None,
    buffer_m: float = 25.0,
    gap_minutes: float = 5.0,
    tolerance_minutes: float = 30.0,
    min_dwell_minutes: float = 10.0,
    allow_gaps: bool = False,
    store: bool = True,
) -> Returns:
    """The Home Office return of ``month`` for the hotspots of a stored plan.

    Parameters
    ----------
    ws : Workspace
        Holds the plan, the police.uk street and stop-and-search months, GPS pings and officers'
        own visit records.
    month : str or date
        ``"YYYY-MM"``; the same month a year before is the comparison.
    plan_id : int, optional
        The plan whose areas are the hotspots (default: the latest stored, logged).
    harm : str
        Harm table weighing the serious-violence crimes.
    force : str, optional
        Count only this force's crimes and searches (and check only its coverage).
    buffer_m, gap_minutes, tolerance_minutes, min_dwell_minutes
        How visits are measured and matched (:func:`gripkit.dosage.compliance`); visits shorter than
        ``min_dwell_minutes`` are neither delivered patrols nor patrol hours.
    allow_gaps : bool, default False
        Leave the figures of a month the workspace does not hold blank instead of refusing.
    store : bool, default True
        Store the result (kind ``"returns"``).

    Examples
    --------
    >>> r = home_office_returns(ws, month="2024-03")  # doctest: +SKIP
    >>> r.write_csv("returns.csv")  # doctest: +SKIP
    """
    first = parse_month(month, "month")
    before = shift(first, -12)
    table = load_harm_table(harm)
    checks = {k: {m: _held(ws, m, k, force, allow_gaps) for m in (first, before)} for k in _KINDS}
    visits = plan_visits(
        ws, plan_id=plan_id, buffer_m=buffer_m, gap_minutes=gap_minutes, sources=SOURCES, store=False
    )
    plan = visits.plan
    if plan_id is None:
        log.info("returns: plan %d (the latest stored)", plan.plan_id)
    ids = plan.areas[C.AREA_ID].astype(str).tolist()
    parts: dict[str, pd.Series] = {}
    for m, suffix in ((first, ""), (before, PREV)):
        figures = _patrols(plan, visits.patrol, m, tolerance_minutes, min_dwell_minutes)
        figures.update(_crimes(ws, plan, m, table, force))
        figures.update(_searches(ws, plan, m, force))
        for kind, names in _KINDS.items():
            if not checks[kind][m]["held"]:
                figures.update({n: pd.Series(np.nan, index=ids) for n in names})
        parts.update({name + suffix: values.reindex(ids) for name, values in figures.items()})
    rows = pd.DataFrame({C.AREA_ID: ids, C.LABEL: _labels(ws, plan).reindex(ids).to_numpy()})
    for name in COLUMNS[2:]:
        rows[name] = parts[name].to_numpy(dtype=float)
    total = {C.AREA_ID: TOTAL, C.LABEL: TOTAL_LABEL, **{n: rows[n].sum(min_count=1) for n in COLUMNS[2:]}}
    out = pd.concat([rows, pd.DataFrame([total])], ignore_index=True)[list(COLUMNS)]
    for name in COLUMNS[2:]:
        if not name.startswith(("serious_violence_harm", "patrol_hours")) and out[name].notna().all():
            out[name] = out[name].astype(np.int64)
    blank = [f"{c['what']} {c['month']}" for k in _KINDS for c in checks[k].values() if not c["held"]]
    meta = {
        "plan_id": plan.plan_id,
        "plan_default": plan_id is None,
        "month": f"{first:%Y-%m}",
        "prev_month": f"{before:%Y-%m}",
        "force": force,
        "harm_table": table.name if table else None,
        "harm_sha256": table.sha256 if table else None,
        "serious_violence_types": sorted(serious_violence_types()),
        "buffer_m": float(buffer_m),
        "gap_minutes": float(gap_minutes),
        "tolerance_minutes": float(tolerance_minutes),
        "min_dwell_minutes": float(min_dwell_minutes),
        "allow_gaps": allow_gaps,
        "blank": blank,
        "coverage": {k: {c["month"]: c["coverage"] for c in checks[k].values()} for k in _KINDS},
        **{f"visits_{k}": v for k, v in visits.counts.items()},
    }
    result = Returns(out, f"{first:%Y-%m}", f"{before:%Y-%m}", meta)
    if store:
        ws.save_result(result)
    return result


def _held(ws: Workspace, month: date, kind: str, force: str | None, allow_gaps: bool) -> dict[str, Any]:
    """Whether every force (or ``force``) holds ``month`` of ``kind``; refuses unless ``allow_gaps``."""
    what = "stop-and-search" if kind == "stop-and-search" else "street crime"
    check = check_window(ws, month, month, forces=None if force is None else [force], allow_gaps=True,
                         what=f"returns ({what})", kind=kind, window_param="month")
    held = bool(check.forces) and check.complete
    if not held and not allow_gaps:
        forces = ", ".join(check.flagged) if check.forces else "no force"
        runs = month_runs(m for ms in held_months(ws, kind=kind).values() for m in ms)
        raise InputError(
            f"the workspace holds no {what} data for {month:%Y-%m} ({forces}), which the return needs (its "
            f"month or the same month a year before); received month {month:%Y-%m}, and its {what} data "
            f"cover {runs}. Ingest the police.uk {month:%Y-%m} {kind} files, choose another 'month', or set "
            "'allow_gaps' to leave those figures blank."
        )
    return {"held": held, "what": what, "month": f"{month:%Y-%m}", "coverage": check.to_dict()}


def _in_month(dates: pd.Series, month: date) -> np.ndarray:
    stamps = pd.to_datetime(pd.Series(dates, dtype=object))
    return ((stamps.dt.year == month.year) & (stamps.dt.month == month.month)).to_numpy(dtype=bool)


def _patrols(
    plan: StoredPlan, patrol: pd.DataFrame, month: date, tolerance: float, min_dwell: float
) -> dict[str, pd.Series]:
    """Planned and delivered patrols and patrol hours per area in ``month`` (local dates)."""
    schedule = plan.schedule[_in_month(plan.schedule[C.DATE], month)]
    done = patrol[_in_month(patrol[C.DATE], month)] if len(patrol) else patrol
    by_area = pd.DataFrame({"planned_visits": [], "delivered_visits": []})
    if len(schedule):  # no planned visit that month (e.g. before the plan): nothing to match
        matched = match_visits(schedule, done, tolerance_minutes=tolerance, min_dwell_minutes=min_dwell)
        by_area = matched.by_area.set_index(C.AREA_ID)
    long_enough = done[done[C.DWELL_MINUTES] >= float(min_dwell)] if len(done) else done
    hours = long_enough.groupby(long_enough[C.AREA_ID].astype(str))[C.DWELL_MINUTES].sum() / 60
    ids = plan.areas[C.AREA_ID].astype(str)
    return {
        "patrols_planned": by_area["planned_visits"].reindex(ids, fill_value=0),
        "patrols_delivered": by_area["delivered_visits"].reindex(ids, fill_value=0),
        "patrol_hours_delivered": hours.reindex(ids, fill_value=0.0).astype(float),
    }


def _counts(points: pd.DataFrame, plan: StoredPlan, weights: pd.Series | None = None) -> pd.Series:
    """Points (``x``, ``y`` in the plan's CRS) inside each area, or their summed ``weights``."""
    ids = plan.areas[C.AREA_ID].astype(str).to_numpy()
    x, y = (points[c].to_numpy(dtype=float) for c in (C.X, C.Y))
    point_idx, area_idx = locate(x, y, plan.areas)
    values = np.ones(len(point_idx)) if weights is None else weights.to_numpy(dtype=float)[point_idx]
    sums = np.bincount(area_idx, weights=values, minlength=len(ids))
    return pd.Series(sums, index=ids)


def _crimes(
    ws: Workspace, plan: StoredPlan, month: date, table: Any, force: str | None
) -> dict[str, pd.Series]:
    """Serious-violence crimes and harm, and ASB incidents, per area in ``month``."""
    types = sorted(serious_violence_types())
    crimes = ws.crimes(crime_types=[*types, ASB], months=(month, month), force=force)
    violent = crimes[crimes[C.CRIME_TYPE].isin(types)]
    harm = apply_harm(violent, table)
    return {
        "serious_violence_crimes": _counts(violent, plan),
        "serious_violence_harm": _counts(violent, plan, harm),
        "asb_incidents": _counts(crimes[crimes[C.CRIME_TYPE] == ASB], plan),
    }


def _searches(ws: Workspace, plan: StoredPlan, month: date, force: str | None) -> dict[str, pd.Series]:
    """Stop-and-searches per area in ``month``, and by outcome group."""
    searches = workspace_searches(ws, month, month, force=force)
    group = outcome_group(searches[C.OUTCOME])
    out = {"stop_searches": _counts(searches, plan)}
    for name, value in _OUTCOMES.items():
        out[name] = _counts(searches[(group == value).to_numpy()], plan)
    return out


def _labels(ws: Workspace, plan: StoredPlan) -> pd.Series:
    """Each area's label: the plan's stored hotspot label, else its LSOA's published name, else blank."""
    ids = plan.areas[C.AREA_ID].astype(str)
    labels = pd.Series(pd.NA, index=ids.to_numpy(), dtype="string")
    if C.LABEL in plan.areas.columns:
        labels = plan.areas.set_index(ids)[C.LABEL].astype("string")
    sql = "SELECT result_id FROM results WHERE kind = 'plan' ORDER BY result_id DESC"
    rows = ws.con.execute(sql).fetchall()
    for (rid,) in rows:
        stored = ws.stored_result(int(rid))
        if stored.meta.get("plan_id") == plan.plan_id and "areas" in stored.table_names:
            frame = ws.result_table(int(rid), "areas")
            if C.LABEL in frame.columns:
                stored_labels = frame.set_index(frame[C.AREA_ID].astype(str))[C.LABEL]
                labels = labels.fillna(stored_labels.astype("string"))
            break
    missing = labels[labels.isna()].index.tolist()
    if missing:
        names = ws.con.execute(
            "SELECT lsoa_code, lsoa_name FROM crimes WHERE lsoa_code IN (SELECT unnest(?)) "
            "AND lsoa_name IS NOT NULL GROUP BY 1, 2 ORDER BY count(*) DESC, lsoa_name", [missing]
        ).df().drop_duplicates(C.LSOA_CODE)
        labels = labels.fillna(names.set_index(C.LSOA_CODE)[C.LSOA_NAME].astype("string"))
    return labels


__all__ = ["COLUMNS", "FIGURES", "Returns", "home_office_returns"]
