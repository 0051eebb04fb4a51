"""The dosage job: stored GPS pings (and officers' own records) -> visits -> compliance with the plan.

:func:`compliance` does, as one call, what ``gripkit gps compliance`` does: it reads a stored plan
(:func:`gripkit.patrol.store.load_plan`), turns the workspace's GPS pings into officer visits to
the plan's areas (:func:`~gripkit.dosage.visits.officer_visits`), adds the visits officers
recorded themselves on the dashboard's phone page (start/stop; the ``officer_visits`` table),
merges them into patrol visits (:func:`~gripkit.dosage.visits.patrol_visits`), stores the GPS
visits in the ``visits`` table and compares the patrol visits with the planned schedule
(:func:`~gripkit.dosage.tracking.match_visits`). The :class:`~gripkit.dosage.tracking.Compliance`
result is stored as kind ``"compliance"``, which the report and the dashboard read.

Every delivered visit says which source saw it: ``gps``, ``officer`` or ``gps;officer``. A GPS
radio id and a dashboard user name are different ids, so an officer who both carries a radio and
presses start/stop is counted as two officers of one patrol visit (its minutes are not doubled:
the visit's dwell runs from the first start to the last end).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd

from gripkit import columns as C
from gripkit.dosage.ingest import workspace_pings
from gripkit.dosage.tracking import Compliance, match_visits
from gripkit.dosage.visits import OFFICER_VISIT_COLUMNS, SOURCE, officer_visits, patrol_visits
from gripkit.errors import InputError
from gripkit.patrol.experiment import parse_date
from gripkit.patrol.schedule import LONDON, local_date, timezone
from gripkit.patrol.store import StoredPlan, load_plan
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")

#: Where delivered visits come from: GPS pings, and visits officers recorded on the dashboard.
SOURCES: tuple[str, ...] = ("gps", "officer")


@dataclass
class PlanVisits:
    """Visits to a stored plan's areas.

    Attributes
    ----------
    plan : StoredPlan
        The plan the visits were measured against.
    officer_level : DataFrame
        One row per officer visit (:data:`~gripkit.dosage.visits.OFFICER_VISIT_COLUMNS` and
        ``source``); the ``gps`` rows are what the workspace ``visits`` table holds for the plan.
    patrol : DataFrame
        Patrol visits (officers' overlapping visits merged), with ``sources``.
    counts : dict
        ``pings``, ``gps_officer_visits``, ``officer_records`` (closed, in the plan's areas),
        ``officer_records_open`` (started, never stopped: not counted).
    """

    plan: StoredPlan
    officer_level: pd.DataFrame
    patrol: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)


def plan_visits(
    ws: Workspace,
    *,
    plan_id: int | None = None,
    buffer_m: float = 25.0,
    gap_minutes: float = 5.0,
    sources: Iterable[str] = SOURCES,
    store: bool = True,
) -> PlanVisits:
    """Visits to a stored plan's areas from GPS pings and officers' own records.

    Parameters
    ----------
    ws : Workspace
    plan_id : int, optional
        The plan (default: the latest).
    buffer_m : float, default 25
        Metres around each area still counted as inside (GPS error, boundary streets).
    gap_minutes : float, default 5
        Longest time between pings inside an area that still makes one visit.
    sources : iterable of {"gps", "officer"}
        Which sources count as visits.
    store : bool, default True
        Replace the plan's rows of the workspace ``visits`` table with the GPS officer visits.

    Examples
    --------
    >>> v = plan_visits(ws)  # doctest: +SKIP
    >>> v.patrol[["area_id", "dwell_minutes", "sources"]]  # doctest: +SKIP
    """
    chosen = _sources(sources)
    plan = load_plan(ws, plan_id)
    frames: list[pd.DataFrame] = []
    counts = {"pings": 0, "gps_officer_visits": 0, "officer_records": 0, "officer_records_open": 0}
    gps = pd.DataFrame({c: [] for c in OFFICER_VISIT_COLUMNS})
    if "gps" in chosen:
        pings = workspace_pings(ws)
        counts["pings"] = len(pings)
        gps = officer_visits(pings, plan.areas, buffer_m=buffer_m, gap_minutes=gap_minutes)
        counts["gps_officer_visits"] = len(gps)
        frames.append(gps.assign(**{SOURCE: "gps"}))
    if "officer" in chosen:
        records, still_open = officer_records(ws, plan)
        counts["officer_records"], counts["officer_records_open"] = len(records), still_open
        frames.append(records)
        if still_open:
            log.info("%d visit(s) recorded by officers were started, never stopped: not counted", still_open)
    if store and "gps" in chosen:
        _store_gps_visits(ws, plan.plan_id, gps)
    used = [f for f in frames if len(f)]
    officer_level = (
        pd.concat(used, ignore_index=True) if used
        else pd.DataFrame({c: [] for c in (*OFFICER_VISIT_COLUMNS, SOURCE)})
    )
    log.info(
        "plan %d: %d officer visits from %d GPS pings, %d recorded by officers",
        plan.plan_id, counts["gps_officer_visits"], counts["pings"], counts["officer_records"],
    )
    return PlanVisits(plan, officer_level, patrol_visits(officer_level, gap_minutes=gap_minutes), counts)


def judged_until(to: date | str | None, tz: str = LONDON) -> tuple[date, bool]:
    """``to`` as a date, or today in ``tz`` (and True: the default, to be announced)."""
    if to is None:
        return datetime.now(timezone(tz)).date(), True
    return parse_date("to", to), False


def compliance(
    ws: Workspace,
    *,
    plan_id: int | None = None,
    to: date | str | None = None,
    buffer_m: float = 25.0,
    gap_minutes: float = 5.0,
    tolerance_minutes: float = 30.0,
    min_dwell_minutes: float = 10.0,
    sources: Iterable[str] = SOURCES,
    store: bool = True,
) -> Compliance:
    """Compliance of delivered patrol visits with a stored plan: the dosage job.

    Parameters
    ----------
    ws : Workspace
        Holds the plan (``gripkit.plan_patrols``), GPS pings (``gripkit.ingest_gps``) and any
        visits officers recorded on the dashboard.
    plan_id : int, optional
        The plan (default: the latest).
    to : date or str, optional
        Compliance *to date*: only planned visits on days up to ``to`` (default today in
        Europe/London, announced) are judged, and only measured visits up to it count, so a
        running plan is not marked down for days still to come.
    buffer_m, gap_minutes, sources
        How visits are measured (see :func:`plan_visits`).
    tolerance_minutes : float, default 30
        A delivered visit is on time when it starts within this of the planned start.
    min_dwell_minutes : float, default 10
        Shorter visits do not count as delivered.
    store : bool, default True
        Store the GPS visits (``visits`` table) and the result (kind ``"compliance"``).

    Returns
    -------
    Compliance

    Examples
    --------
    >>> import gripkit as gk
    >>> result = gk.compliance(ws)  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP
    Of 630 planned visits in plan 1, 598 (94.9%) were delivered and 573 (91%) on time ...
    """
    last, default = judged_until(to)  # a bad date is refused before the visits are measured
    visits = plan_visits(
        ws, plan_id=plan_id, buffer_m=buffer_m, gap_minutes=gap_minutes, sources=sources, store=store
    )
    plan = visits.plan
    if default:
        log.info("compliance of plan %s to %s (today; pass to=/--to DATE for another day)", plan.plan_id,
                 last)
    judged = _until(plan.schedule, last)
    result = match_visits(
        judged, _until(visits.patrol, last), _until(plan.assignments, last),
        tolerance_minutes=tolerance_minutes, min_dwell_minutes=min_dwell_minutes,
    )
    later = len(plan.schedule) - len(judged)
    result.meta.update(
        to=last.isoformat(),
        later_visits=later,
        plan_id=plan.plan_id,
        plan_kind=plan.kind,
        plan_seed=plan.seed,
        buffer_m=float(buffer_m),
        gap_minutes=float(gap_minutes),
        sources=list(_sources(sources)),
        **visits.counts,
    )
    if store:
        ws.save_result(result)
    return result


def _until(frame: pd.DataFrame, last: date) -> pd.DataFrame:
    """The rows of ``frame`` dated up to ``last`` (its ``date`` column)."""
    if frame is None or frame.empty or C.DATE not in frame.columns:
        return frame
    return frame[[pd.Timestamp(d).date() <= last for d in frame[C.DATE]]].reset_index(drop=True)


def officer_records(ws: Workspace, plan: StoredPlan) -> tuple[pd.DataFrame, int]:
    """Visits officers recorded on the dashboard (start/stop) in the plan's areas, as officer visits.

    Only closed records count (stopped after they started), on patrols of this plan or of no plan,
    in one of the plan's areas. The dashboard stores ``now()`` in the workspace connection's time
    zone; it is read back through the same zone into naive UTC.

    Returns
    -------
    (DataFrame, int)
        :data:`~gripkit.dosage.visits.OFFICER_VISIT_COLUMNS` plus ``source`` = ``"officer"`` (``pings``
        is 0), and the number of records in the plan's areas still open (never stopped).
    """
    sql = (
        "SELECT coalesce(v.area_id, p.area_id) AS area_id, v.officer AS officer_id, "
        "timezone('UTC', CAST(v.started_at AS TIMESTAMPTZ)) AS start_utc, "
        "timezone('UTC', CAST(v.stopped_at AS TIMESTAMPTZ)) AS end_utc "
        "FROM officer_visits v LEFT JOIN officer_patrols p USING (patrol_id) "
        "WHERE p.plan_id IS NULL OR p.plan_id = ? ORDER BY v.visit_id"
    )
    rows = ws.con.execute(sql, [plan.plan_id]).df()
    rows = rows[rows[C.AREA_ID].astype(str).isin(set(plan.areas[C.AREA_ID].astype(str)))]
    still_open = int(rows[C.END_UTC].isna().sum())
    rows = rows[rows[C.END_UTC].notna() & (rows[C.END_UTC] > rows[C.START_UTC])].reset_index(drop=True)
    start, end = pd.to_datetime(rows[C.START_UTC]), pd.to_datetime(rows[C.END_UTC])
    out = pd.DataFrame({
        C.AREA_ID: rows[C.AREA_ID].astype(str).to_numpy(dtype=object),
        C.OFFICER_ID: rows[C.OFFICER_ID].astype(str).to_numpy(dtype=object),
        C.DATE: local_date(start).to_numpy(dtype=object),
        C.START_UTC: start.to_numpy(dtype="datetime64[ns]"),
        C.END_UTC: end.to_numpy(dtype="datetime64[ns]"),
        C.DWELL_MINUTES: (end - start).dt.total_seconds().to_numpy(dtype=float) / 60,
        C.PINGS: 0,
        SOURCE: "officer",
    })
    return out, still_open


def _store_gps_visits(ws: Workspace, plan_id: int, gps: pd.DataFrame) -> None:
    """Replace the plan's rows of the ``visits`` table with these GPS officer visits."""
    with ws.transaction() as con:
        con.execute("DELETE FROM visits WHERE plan_id = ?", [plan_id])
        con.register("_v", gps[list(OFFICER_VISIT_COLUMNS)])
        con.execute(
            "INSERT INTO visits SELECT ?, area_id, officer_id, start_utc, end_utc, dwell_minutes, pings "
            "FROM _v",
            [plan_id],
        )
        con.unregister("_v")


def _sources(sources: Iterable[str]) -> tuple[str, ...]:
    chosen = (sources,) if isinstance(sources, str) else tuple(str(s) for s in sources)
    unknown = sorted(set(chosen) - set(SOURCES))
    if unknown or not chosen:
        raise InputError(
            f"'sources' must name one or more of {', '.join(SOURCES)}; received {list(chosen)!r}. "
            "Pass e.g. sources=('gps', 'officer')."
        )
    return tuple(s for s in SOURCES if s in chosen)


__all__ = ["SOURCES", "PlanVisits", "compliance", "officer_records", "plan_visits"]
