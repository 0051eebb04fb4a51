"""Evaluate a stored patrol plan from the workspace: the place-day table built from timestamped records.

``gripkit evaluate --plan PLAN_ID`` is a thin shell over :func:`evaluate_plan`, which

1. reads the plan and its design (:func:`gripkit.evaluate.plan_design.plan_design`): the
   assignment is the plan's, and randomisation inference re-draws with the plan's own randomiser;
2. judges the plan *to date* (``to``, default today in Europe/London, announced): only its days up
   to and including ``to``, so a running plan is judged on days that have happened;
3. builds the place-days (:func:`plan_place_days`), one row per area and day:

   * ``count`` and ``harm``: crimes inside one of that area's patrol windows of that day
     (:func:`gripkit.evaluate.place_days.outcome_place_days`; ``occurred_at`` read as the local,
     Europe/London, clock time a force records). Harm is the harm table's weight of each crime
     (:func:`gripkit.harm.apply_harm`);
   * ``treated`` and ``block``: the plan's assignment;
   * ``dosage``: minutes on site of the patrol visits measured by GPS pings and officers' own
     records (:func:`gripkit.dosage.plan_visits`), per area and local date of the visit's start;
     present only when some visit was measured;

4. measures compliance to date (:func:`gripkit.dosage.match_visits` on the planned visits up to
   ``to``) and runs :func:`gripkit.evaluate.experiment.evaluate_experiment`.

police.uk publishes the month of each crime, not its day or time, so a workspace holding only
police.uk data cannot give day-level outcomes: :func:`plan_place_days` refuses with an InputError
saying so. Crimes without ``occurred_at`` among timestamped ones are left out, and counted in a note.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from gripkit import columns as C
from gripkit.dosage import Compliance, dosage, match_visits, plan_visits
from gripkit.dosage.job import SOURCES as VISIT_SOURCES
from gripkit.dosage.job import judged_until
from gripkit.errors import InputError
from gripkit.evaluate.experiment import MODELS, EvaluationResult, evaluate_experiment, read_place_days
from gripkit.evaluate.place_days import area_windows, outcome_place_days
from gripkit.evaluate.plan_design import PlanDesign, load_plan_design, plan_design
from gripkit.harm import load_harm_table
from gripkit.patrol.store import load_plan
from gripkit.patrol.windows import DEFAULT_WINDOW
from gripkit.progress import Progress
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")

MONTHLY_ONLY = (
    "police.uk publishes the month of each crime, not its day or time, so monthly data cannot give "
    "day-level outcomes"
)


@dataclass
class PlanPlaceDays:
    """The place-days of a stored plan to date, and how they were built.

    Attributes
    ----------
    frame : pandas.DataFrame
        :data:`~gripkit.evaluate.place_days.PLACE_DAY_COLUMNS` (and ``dosage`` in minutes when
        visits were measured), one row per area and judged day, sorted by date then area.
    design : PlanDesign
        The plan's design cut to the judged days.
    compliance : Compliance or None
        Planned against delivered visits up to ``to`` (None when no visit was measured at all).
    notes : list of str
        What the reader must know (records left out, where the records end, no visits measured).
    meta : dict
        ``plan_id``, ``to``, ``to_default``, ``days``, ``plan_days``, ``windows``, ``harm_table``,
        ``crimes`` (timestamped crimes in the plan's areas and months), ``in_window`` (counted),
        ``month_only`` (left out), ``records_end``, ``dosage``, ``compliance`` (figures to date).
    """

    frame: pd.DataFrame
    design: PlanDesign
    compliance: Compliance | None = None
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def plan_place_days(
    ws: Workspace,
    plan_id: int | None = None,
    *,
    to: date | str | None = None,
    harm: str | None = C.DEFAULT_HARM_TABLE,
    crime_types: Sequence[str] | None = None,
    force: str | None = None,
    sources: Sequence[str] | None = None,
    visit_sources: Iterable[str] = VISIT_SOURCES,
) -> PlanPlaceDays:
    """The place-days of a stored experiment plan to date (see the module docstring).

    Parameters
    ----------
    ws : Workspace
        Holds the plan, timestamped crimes (a force's own records) and any GPS pings or visits
        officers recorded.
    plan_id : int, optional
        The plan (default: the latest).
    to : date or "YYYY-MM-DD", optional
        Last day judged (default: today in Europe/London, announced). Later days are left out.
    harm : str or None, default "cchi"
        Harm table for the ``harm`` outcome (``"none"``/None: harm = count).
    crime_types : sequence of str, optional
        Only these police.uk categories (default: all).
    force, sources : optional
        Only this force's crimes; only records of these sources (``police``, ``health``, ...).
    visit_sources : iterable of {"gps", "officer"}
        Which visits measure dosage and compliance.
    """
    plan = load_plan(ws, plan_id)
    full = plan_design(plan)
    last, default = judged_until(to)
    design = full.until(last)
    judged = f"{design.dates[0]:%Y-%m-%d} to {design.dates[-1]:%Y-%m-%d}"
    log.info(
        "plan %d judged to %s%s: %d of its %d days (%s)",
        plan.plan_id, last.isoformat(), " (today; pass to=/--to DATE for another day)" if default else "",
        len(design.dates), full.plan_days, judged,
    )
    windows = area_windows(plan.params.get("window", DEFAULT_WINDOW), design.areas)
    first_month = design.dates[0].replace(day=1)
    last_month = (design.dates[-1] + pd.Timedelta(days=1)).replace(day=1)  # an overnight window's tail
    crimes = ws.crimes(
        crime_types=crime_types, months=(first_month.date(), last_month.date()), force=force, sources=sources
    )
    frame, counts = outcome_place_days(crimes, design, plan.areas, windows, load_harm_table(harm))
    months = f"{first_month:%Y-%m} to {last_month:%Y-%m}"
    if counts["crimes"] == 0:
        held = (
            f"all {counts['month_only']:,} crimes in its areas in {months} carry a month only"
            if counts["month_only"] else f"the workspace holds no crimes in its areas in {months}"
        )
        raise InputError(
            f"plan {plan.plan_id} needs day-level outcomes, but {held}: {MONTHLY_ONLY}. Ingest the "
            "force's own records with date-times (`gripkit ingest FILE --col occurred_at=...`), or "
            f"evaluate a place-day table you built (`gripkit evaluate PLACE_DAYS.csv --plan {plan.plan_id}`)."
        )
    notes: list[str] = []
    if counts["month_only"]:
        notes.append(
            f"{counts['month_only']:,} crimes in the plan's areas in {months} carry a month only (e.g. "
            "police.uk) and are left out: they cannot be placed on a day"
        )
    end = _records_end(crimes)
    weekday = design.dates[-1].day_of_week
    opens = min(w.start for week in windows.values() for w in week.on(weekday))
    last_opens = design.dates[-1] + pd.Timedelta(minutes=opens)
    if end is not None and end < last_opens:
        notes.append(
            f"timestamped records end at {end:%Y-%m-%d %H:%M}, before the last judged day's window opens "
            f"({last_opens:%Y-%m-%d %H:%M}); later place-days count as no crime. Ingest newer records, "
            "or pass an earlier 'to'"
        )
    dose, compliance, visit_counts = _visits(ws, plan, design, visit_sources)
    if dose is None:
        notes.append(f"no patrol visit was measured (GPS or officers' records) for plan {plan.plan_id}; "
                     "no dosage or compliance")
    else:
        frame[C.DOSAGE] = dose.reindex(
            pd.MultiIndex.from_arrays([frame[C.AREA_ID], frame[C.DATE].dt.date]), fill_value=0.0
        ).to_numpy(dtype=float)
    meta = {
        "plan_id": plan.plan_id,
        "to": last.isoformat(),
        "to_default": default,
        "days": len(design.dates),
        "plan_days": full.plan_days,
        "judged": judged,
        "windows": sorted({w.label for w in windows.values()}),
        "harm_table": None if harm is None or str(harm).lower() == "none" else str(harm),
        "crime_types": None if crime_types is None else list(crime_types),
        "force": force,
        "sources": None if sources is None else list(sources),
        **counts,
        "records_end": None if end is None else end.isoformat(),
        "dosage": dose is not None,
        "visits": visit_counts,
        "compliance": None if compliance is None else compliance.figures,
    }
    return PlanPlaceDays(frame, design, compliance, notes, meta)


def evaluate_plan(
    ws: Workspace,
    plan_id: int | None = None,
    *,
    to: date | str | None = None,
    place_days: pd.DataFrame | str | Path | None = None,
    outcomes: Sequence[str] | str = (C.COUNT, C.HARM),
    models: Sequence[str] | str = MODELS,
    time_effects: bool = True,
    ri_draws: int = 999,
    seed: int = 0,
    harm: str | None = C.DEFAULT_HARM_TABLE,
    crime_types: Sequence[str] | None = None,
    force: str | None = None,
    sources: Sequence[str] | None = None,
    visit_sources: Iterable[str] = VISIT_SOURCES,
    store: bool = True,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Evaluate a stored experiment plan to date, from the workspace's own records or a given table.

    Builds the place-days with :func:`plan_place_days` (or takes ``place_days``, a frame or
    CSV/Parquet file of one's own, judged to ``to`` or to its last date) and estimates the effects
    with :func:`~gripkit.evaluate.experiment.evaluate_experiment`, whose randomisation inference
    re-draws with the plan's block randomiser. The result (kind ``"evaluation"``) carries the plan,
    the days judged and compliance to date in ``meta["plan"]``, and the place-days it built as a table.

    Examples
    --------
    >>> result = evaluate_plan(ws, 1, to="2024-07-15")  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP
    """
    if place_days is not None:
        frame = read_place_days(place_days)
        given = "frame" if isinstance(place_days, pd.DataFrame) else str(place_days)
        if to is None and C.DATE in frame.columns and len(frame):
            to = pd.to_datetime(frame[C.DATE]).max().date()
        design = load_plan_design(ws, plan_id)
        design = design.until(to) if to is not None else design
        result = evaluate_experiment(
            ws, frame, outcomes=outcomes, models=models, time_effects=time_effects, ri_draws=ri_draws,
            design=design, seed=seed, store=False, progress=progress,
        )
        result.meta.update(place_days=given, plan={"plan_id": design.plan_id, "days": len(design.dates),
                                 "plan_days": design.plan_days, "to": f"{design.dates[-1]:%Y-%m-%d}"})
        result.meta["notes"].insert(
            0, f"randomisation re-drawn with plan {design.plan_id}'s design on {len(design.dates)} of "
            f"its {design.plan_days} days",
        )
        if store:
            ws.save_result(result)
        return result
    built = plan_place_days(
        ws, plan_id, to=to, harm=harm, crime_types=crime_types, force=force, sources=sources,
        visit_sources=visit_sources,
    )
    result = evaluate_experiment(
        ws, built.frame, outcomes=outcomes, models=models, time_effects=time_effects, ri_draws=ri_draws,
        design=built.design, seed=seed, store=False, progress=progress,
    )
    m = built.meta
    notes = [f"plan {m['plan_id']} judged on {m['days']} of its {m['plan_days']} days ({m['judged']})"]
    if built.compliance is not None:
        f = built.compliance.figures
        if f["planned_visits"]:
            notes.append(
                f"compliance to {built.design.dates[-1]:%Y-%m-%d}: {f['delivered_visits']:,} of "
                f"{f['planned_visits']:,} planned visits delivered ({f['compliance']:.1%})"
            )
    result.meta.update(place_days=f"plan {m['plan_id']}", plan=m,
                       notes=[*notes, *built.notes, *result.meta["notes"]])
    result.place_days = built.frame
    if store:
        ws.save_result(result)
    return result


def _days(frame: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """The rows of ``frame`` whose ``date`` is from ``first`` to ``last``."""
    days = pd.to_datetime(pd.Series(frame[C.DATE], dtype=object))
    return frame[((days >= first) & (days <= last)).to_numpy(dtype=bool)]


def _records_end(crimes: pd.DataFrame) -> pd.Timestamp | None:
    times = pd.to_datetime(crimes[C.OCCURRED_AT]).dropna()
    return None if times.empty else pd.Timestamp(times.max())


def _visits(
    ws: Workspace, plan: Any, design: PlanDesign, sources: Iterable[str]
) -> tuple[pd.Series | None, Compliance | None, dict[str, int]]:
    """Dosage minutes per (area, local date) and compliance to date; (None, None, counts) without visits."""
    chosen = tuple(sources)
    geometry = plan.areas.geometry
    if bool((geometry.isna() | geometry.is_empty).all()):
        chosen = tuple(s for s in chosen if s != "gps")  # GPS pings need polygons to be placed
    if not chosen:
        return None, None, {}
    visits = plan_visits(ws, plan_id=plan.plan_id, sources=chosen, store=False)
    counts = {k: int(v) for k, v in visits.counts.items()}
    if not (counts.get("pings") or counts.get("officer_records") or counts.get("officer_records_open")):
        return None, None, counts
    first, last = design.dates[0], design.dates[-1]
    patrol = _days(visits.patrol, first, last)
    compliance = match_visits(_days(plan.schedule, first, last), patrol, _days(plan.assignments, first, last))
    minutes = dosage(patrol) if len(patrol) else pd.DataFrame({C.AREA_ID: [], C.DATE: [], "minutes": []})
    dose = minutes.set_index([C.AREA_ID, C.DATE])["minutes"].astype(float)
    return dose, compliance, counts
