"""The planning job: candidate areas -> experiment design or budget MILP -> schedule -> stored plan.

:func:`plan_patrols` does, as one call, what ``gripkit plan`` does between parsing its flags and
printing: it takes the candidate areas (the workspace's top LSOAs by serious-violence harm, a
file from the hotspot step, or a frame), the first day (after the last month of crimes unless
given), draws an Op Rowan-style experiment (:func:`~gripkit.patrol.experiment.experiment_design`)
or chooses areas under an officer-hour budget (:func:`~gripkit.patrol.choose.choose_areas`),
draws the visit times (:func:`~gripkit.patrol.schedule.schedule_visits`) and, given a workspace,
stores the plan (the ``plans`` and ``plan_*`` tables the dashboard and the dosage stage read) and
the :class:`PlanResult` (kind ``"plan"``).

A seed drawn at random is announced through ``logging`` and recorded, so any plan can be
re-derived: the same seed, areas and parameters give the same bytes of the plan CSV.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import geopandas as gpd
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.patrol.areas import read_areas, select_areas, workspace_areas
from gripkit.patrol.briefing import briefing_html, briefing_pdf
from gripkit.patrol.choose import WALKING_SPEED_KMH, AreaChoice, choose_areas
from gripkit.patrol.experiment import (
    ExperimentPlan,
    _whole,
    default_start,
    experiment_design,
    parse_date,
)
from gripkit.patrol.export import plan_csv, schedule_csv, schedule_ics
from gripkit.patrol.schedule import schedule_visits
from gripkit.patrol.size import DEFAULT_MAX_KM2, patrollable
from gripkit.patrol.store import save_plan
from gripkit.patrol.teams import assign_teams
from gripkit.patrol.window_data import plan_windows, read_timed_harm, windows_phrase
from gripkit.patrol.windows import DEFAULT_AUTO_HOURS, DEFAULT_WINDOW, auto_groups, is_auto, parse_windows
from gripkit.results import ResultMixin, to_jsonable
from gripkit.validate import one_of
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")

MODES = ("experiment", "budget")
_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass
class PlanResult(ResultMixin):
    """A patrol plan: the areas, the area-day assignment, the visit schedule and how it was drawn.

    Attributes
    ----------
    candidates : geopandas.GeoDataFrame
        The candidate areas (``area_id``, ``crimes``, ``harm``, ``area_m2``, geometry); in budget
        mode with the solver's columns too (``chosen``, ``visits``, ``cost_minutes``, ...).
    assignments : pandas.DataFrame
        One row per area-day: ``date, area_id, treated, block, visits``.
    schedule : pandas.DataFrame
        One row per planned visit (:data:`~gripkit.patrol.schedule.SCHEDULE_COLUMNS`).
    plan_id : int or None
        The plan's id in the workspace (None when not stored).
    seed : int
        The seed of the assignment (stream 0) and of the visit times (stream 1).
    figures : dict
        Experiment: treated and total place-days, treated days per area. Budget: areas chosen,
        visits a day, objective, share of candidate harm, bound, gap, budget use, binding constraints.
    design, choice : ExperimentPlan or AreaChoice, optional
        The experiment design or the solved budget choice behind the plan.
    meta : dict
        ``mode``, ``parameters``, ``seed`` (and ``seed_drawn``), ``start``, ``days``, ``plan_id``,
        ``areas_source``, ``windows`` (how the visit windows and the budget shares were got:
        ``source`` stated / auto / default, ``label``, ``share_inside``, ``shares``) and, for areas
        from the workspace, ``harm_table``, ``harm_sha256``, ``months``.
    """

    kind: ClassVar[str] = "plan"

    candidates: gpd.GeoDataFrame
    assignments: pd.DataFrame
    schedule: pd.DataFrame
    plan_id: int | None
    seed: int
    figures: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    design: ExperimentPlan | None = None
    choice: AreaChoice | None = None

    @property
    def mode(self) -> str:
        """``"experiment"`` or ``"budget"``."""
        return str(self.meta.get("mode"))

    @property
    def start(self) -> date:
        """The first day of the plan."""
        return date.fromisoformat(str(self.meta["start"]))

    def to_dict(self) -> dict[str, Any]:
        """The plan as a JSON-safe dict (ids, seed, dates, counts and :attr:`figures`)."""
        out = {
            "plan_id": self.plan_id,
            "mode": self.mode,
            "seed": self.seed,
            "start": self.meta.get("start"),
            "days": self.meta.get("days"),
            "areas": len(self.candidates),
            "area_ids": self.candidates[C.AREA_ID].astype(str).tolist(),
            "place_days": len(self.assignments),
            "visits": len(self.schedule),
            "figures": self.figures,
        }
        jsonable: dict[str, Any] = to_jsonable(out)
        return jsonable

    def summary(self) -> str:
        """One paragraph: the design, its size, the visits and the seed.

        E.g. "Experiment: 21 LSOAs, 7 treated each day for 90 days from 2024-05-01 (630 of 1,890
        place-days), one 15-minute two-officer visit between 14:00 and 24:00; seed 7."
        """
        params = self.meta.get("parameters", {})
        noun = "LSOAs" if self.meta.get("areas_source") == "workspace" else "areas"
        days, start = int(self.meta["days"]), self.meta["start"]
        kind = f"{params.get('visit_minutes')}-minute {_word(params.get('officers'))}-officer"
        between = _between(params.get("window"))
        if self.mode == "experiment":
            n_visits = int(params.get("visits", 1))
            text = (
                f"Experiment: {len(self.candidates)} {noun}, {params.get('treated_per_day')} treated each "
                f"day for {days} days from {start} ({self.figures['treated_place_days']:,} of "
                f"{self.figures['place_days']:,} place-days), {_word(n_visits)} {kind} "
                f"visit{'' if n_visits == 1 else 's'} {between}"
            )
        else:
            f = self.figures
            per_day = int(f["visits_per_day"])
            share = f.get("share_of_candidate_harm")
            binding = ", ".join(sorted(f.get("binding", {}))) or "none"
            text = (
                f"Budget: {f['areas_chosen']} of {len(self.candidates)} {noun} chosen under "
                f"{params.get('officer_hours'):g} officer-hours a {params.get('per')}, "
                f"{per_day} visit{'' if per_day == 1 else 's'} a day for {days} days from {start} "
                f"({len(self.schedule):,} visits)"
                + (
                    f", covering {share:.1%} of the candidates' {params.get('weights') or 'weight'}"
                    if share is not None
                    else ""
                )
                + f" (HiGHS gap {f.get('gap', 0):.2g}; binding: {binding}); {kind} visits {between}"
            )
        text += f"; seed {self.seed}."
        if self.meta.get("area_window"):
            default = " (every month held, announced)" if self.meta.get("area_window_default") else ""
            text += f" Areas chosen over {self.meta['area_window']}{default}."
        text += windows_phrase(self.meta.get("windows") or {}, self.mode)
        text += _large_note(self.meta.get("large_areas") or [], self.meta.get("max_area_km2"))
        coverage = self.meta.get("data_coverage") or {}
        if coverage.get("flagged"):
            text += (
                f" Data gaps allowed and flagged: {', '.join(coverage['flagged'])} miss months of "
                f"{coverage.get('window')}."
            )
        if self.plan_id is not None:
            text += f" Stored as plan {self.plan_id}."
        return text

    def tables(self) -> dict[str, pd.DataFrame]:
        """``areas`` (a GeoDataFrame when the areas have polygons), ``assignments``, ``schedule``."""
        areas: pd.DataFrame = self.candidates
        geometry = self.candidates.geometry
        if (geometry.isna() | geometry.is_empty).all():
            areas = pd.DataFrame(self.candidates.drop(columns=self.candidates.geometry.name))
        return {
            "areas": areas,
            "assignments": pd.DataFrame(self.assignments),
            "schedule": pd.DataFrame(self.schedule),
        }

    # -- files --------------------------------------------------------------------------------
    def write_csv(self, path: str | Path) -> Path:
        """The plan CSV (``date, area_id, treated, block, visits``), byte-identical for a seed."""
        plan_csv(self.assignments, path)
        return Path(path)

    def write_schedule(self, path: str | Path) -> Path:
        """The visit schedule CSV (Europe/London times, and UTC)."""
        schedule_csv(self.schedule, path)
        return Path(path)

    def write_ics(self, path: str | Path) -> Path:
        """The schedule as an iCalendar file (one event per visit)."""
        schedule_ics(self.schedule, self.candidates, path, plan_id=self.plan_id or "plan")
        return Path(path)

    def write_briefing(self, path: str | Path, *, day: Any = None, **options: Any) -> Path:
        """The printable briefing for one day (default: the first): PDF when ``path`` ends ``.pdf``,
        else HTML; ``options`` (``roads``, ``officer_url``) go to
        :func:`gripkit.patrol.briefing.briefing_html`."""
        if Path(path).suffix.lower() == ".pdf":
            return briefing_pdf(self.schedule, self.candidates, path, day=day, **options)
        briefing_html(self.schedule, self.candidates, path, day=day, **options)
        return Path(path)


def plan_patrols(
    ws: Workspace | None,
    *,
    mode: str = "experiment",
    areas: int = 21,
    areas_file: str | Path | pd.DataFrame | None = None,
    boundaries: str | Path | None = None,
    treated_per_day: int = 7,
    days: int = 90,
    seed: int | None = None,
    start: date | str | None = None,
    window: Any = DEFAULT_WINDOW,
    window_hours: int = DEFAULT_AUTO_HOURS,
    visit_minutes: int = 15,
    officers: int = 2,
    visits: int = 1,
    budget_hours: float | None = None,
    per: str = "day",
    max_visits: int = 1,
    max_areas: int | None = None,
    travel_minutes: float | None = None,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    weights: str | None = C.HARM,
    harm: str = C.DEFAULT_HARM_TABLE,
    force: str | None = None,
    months: tuple[Any, Any] | None = None,
    allow_gaps: bool = False,
    teams: int | None = None,
    team_speed_kmh: float = WALKING_SPEED_KMH,
    max_area_km2: float | None = DEFAULT_MAX_KM2,
    large_areas: str = "flag",
    sources: tuple[str, ...] | None = None,
    store: bool = True,
) -> PlanResult:
    """Plan patrols: an Op Rowan-style experiment, or areas chosen under an officer-hour budget.

    Parameters
    ----------
    ws : Workspace or None
        Where the candidate areas, the first day and the stored plan come from and go. None only
        with ``areas_file`` and ``start`` (nothing is then stored).
    mode : {"experiment", "budget"}, default "experiment"
        ``"experiment"`` randomises place-days in blocks (``treated_per_day`` of the areas each
        day); ``"budget"`` chooses areas and daily visits that cover most harm within
        ``budget_hours`` (a MILP solved by HiGHS).
    areas : int, default 21
        Number of candidate areas: the top LSOAs by serious-violence harm in the workspace, or the
        first of ``areas_file`` by ``weights``.
    boundaries : path, optional
        LSOA polygon file for the workspace's top LSOAs (default: the bundled LSOA 2011 polygons of
        the crimes' forces); not used with ``areas_file``.
    areas_file : path or DataFrame, optional
        Candidate areas from the hotspot step (GeoParquet, GeoPackage, GeoJSON or CSV, or a
        frame with ``area_id`` or ``unit_id``); a unit's ``unit_id`` becomes the ``area_id`` unchanged.
    treated_per_day, visits : int
        Experiment: areas treated each day; visits per treated area-day.
    days : int, default 90
        Days in the plan.
    seed : int, optional
        Seed of the assignment and the visit times; drawn at random (and announced) when None.
    start : date or "YYYY-MM-DD", optional
        First day (default: the first day after the workspace's last month of crimes).
    window : str, Window, WeekWindows or mapping area_id -> window, default "14:00-24:00"
        Local (Europe/London) visit window(s), per weekday and crossing midnight (grammar:
        :mod:`gripkit.patrol.windows`), or ``"auto"`` (``"auto Fri-Sat,Sun-Thu"`` for weekday
        groups): derived from the workspace's offence times in the candidate areas
        (:mod:`gripkit.patrol.window_data`); without offence times the default is kept, announced.
        Budget mode weighs each area's harm by the share of its timestamped harm inside its
        window (1 without offence times, announced); ``meta["windows"]`` records how.
    window_hours : int, default 6
        Length of each window ``"auto"`` derives.
    visit_minutes, officers : int
        Minutes per visit (Koper 1995: 15) and officers per patrol (Op Rowan: 2).
    budget_hours, per, max_visits, max_areas, travel_minutes, include, exclude
        Budget mode: officer-hours per ``per`` ("day" or "week"), most visits per area a day, most
        areas, walking minutes per visit (default from distances), areas forced in or out.
    weights : str or None, default "harm"
        Column weighing the candidate areas (ranks them, and the budget MILP covers it).
    harm : str, default "cchi"
        Harm table of the workspace's default areas.
    force : str, optional
        Only this force's crimes for the default areas.
    months : (first, last), optional
        Window of months the default areas are chosen over (``"YYYY-MM"`` or dates; an end may be
        None). Default: every month held, announced.
    allow_gaps : bool, default False
        The default areas' window must be held in full by every force read
        (:func:`gripkit.coverage.check_window`); True proceeds with the gaps in
        ``meta["data_coverage"]`` and the summary.
    teams : int, optional
        Patrol teams: every visit gets a ``team`` (:func:`~gripkit.patrol.teams.assign_teams`) so no
        team overlaps itself or has to travel faster than ``team_speed_kmh`` between area
        centroids; fewer teams than the schedule needs is refused. None: the smallest number that
        can run it, reported as ``figures["teams_needed"]``. Budget mode also keeps the visits'
        team-time within the window (:func:`~gripkit.patrol.choose.choose_areas`).
    team_speed_kmh : float, default :data:`~gripkit.patrol.choose.WALKING_SPEED_KMH`
        Speed between areas (walking; pass e.g. 30 for a car).
    max_area_km2, large_areas : float or None, str
        Areas above ``max_area_km2`` (default :data:`~gripkit.patrol.size.DEFAULT_MAX_KM2`; None: no
        limit) are too large for a foot patrol: ``"flag"`` keeps and marks them (``too_large``,
        warned), ``"cells"`` patrols each one's hottest grid cell instead (workspace areas only;
        :mod:`gripkit.patrol.size`).
    sources : tuple of str, optional
        Record sources the workspace's default areas are counted from (``("police",)``,
        ``("health",)``; None: all combined).
    store : bool, default True
        With a workspace: store the plan (``plans`` / ``plan_*`` tables) and the result.

    Returns
    -------
    PlanResult

    Examples
    --------
    >>> import pandas as pd
    >>> areas = pd.DataFrame({"area_id": [f"E0100{i:04d}" for i in range(21)]})
    >>> plan = plan_patrols(None, areas_file=areas, seed=7, start="2024-05-01")
    >>> plan.figures["treated_place_days"], plan.figures["place_days"], len(plan.schedule)
    (630, 1890, 630)
    >>> plan.summary()[:60]
    'Experiment: 21 areas, 7 treated each day for 90 days from 20'
    """
    one_of("mode", mode, MODES)
    if mode == "budget" and budget_hours is None:
        raise InputError(
            "'budget_hours' must be given to plan in budget mode; received None. Pass e.g. "
            "budget_hours=20 (officer-hours a day), or mode='experiment'."
        )
    if mode == "experiment" and budget_hours is not None:
        raise InputError(
            f"'budget_hours' applies to budget mode only; received {budget_hours!r} with "
            "mode='experiment'. Drop it, or plan with mode='budget'."
        )
    if is_auto(window):
        auto_groups(window)  # a bad window is refused before any data is read
    elif not isinstance(window, Mapping):
        parse_windows(window)
    drawn = seed is None
    if seed is None:
        seed = secrets.randbelow(2**31)
        log.info(
            "seed %d drawn at random and recorded with the plan; pass seed=%d to re-derive it", seed, seed
        )
    if areas_file is not None and months is not None:
        raise InputError(
            f"'months' chooses the workspace's own areas over a window; received months={months!r} with "
            "areas_file. Count the hotspots over that window instead (`gripkit hotspots --months`), or "
            "drop areas_file."
        )
    if areas_file is not None and sources is not None:
        raise InputError(
            f"'sources' chooses whose records the workspace's own areas are counted from; received "
            f"sources={sources!r} with areas_file. Count the hotspots by source instead (`gripkit hotspots "
            "--source`), or drop areas_file."
        )
    candidates, source = _candidates(
        ws, areas, areas_file, weights=weights, harm=harm, force=force, months=months, allow_gaps=allow_gaps,
        sources=sources,
        boundaries=boundaries,
    )
    counted = {"harm": harm, "force": force, "serious_violence": True, "months": source.get("area_window"),
               "sources": sources}
    own = ws if source["source"] == "workspace" else None
    candidates, large = patrollable(
        candidates, max_km2=max_area_km2, large=large_areas, ws=own, cells=counted
    )
    source.update(max_area_km2=max_area_km2, large_areas=large)
    first = _start(ws, start)
    n_days = _whole("days", days)
    windows_meta: dict[str, Any] = {"source": "stated", "asked": str(window)}
    shares: dict[str, float] | None = None
    if is_auto(window) or mode == "budget":
        timed = read_timed_harm(
            ws, candidates, harm=harm, weights=weights, force=force, months=months, source=source
        )
        resolved = plan_windows(timed, candidates, window, hours=window_hours, shares=mode == "budget")
        window, shares, windows_meta = resolved.window, resolved.shares, resolved.meta
    design: ExperimentPlan | None = None
    choice: AreaChoice | None = None
    figures: dict[str, Any]
    if mode == "experiment":
        design = experiment_design(
            candidates, treated_per_day=treated_per_day, days=n_days, seed=seed, start=first, visits=visits
        )
        assignments, params = design.assignments, dict(design.params)
        figures = {
            "treated_place_days": int(assignments[C.TREATED].sum()),
            "place_days": len(assignments),
            "treated_days_per_area": sorted({int(v) for v in design.treated_days()}),
        }
    else:
        assert budget_hours is not None
        choice = choose_areas(
            candidates,
            officer_hours=budget_hours,
            per=per,
            officers_per_patrol=officers,
            visit_minutes=visit_minutes,
            max_visits=max_visits,
            window=window,
            window_share=shares,
            travel_minutes=travel_minutes,
            max_areas=max_areas,
            include=_id_list(include),
            exclude=_id_list(exclude),
            weights=weights,
            teams=teams,
        )
        assignments, params = choice.assignments(first, n_days), dict(choice.params)
        figures = choice.summary()
        candidates = choice.areas
    label = window if isinstance(window, Mapping) else parse_windows(window).label
    params.update(window=label, visit_minutes=visit_minutes, officers=officers, seed=seed)
    timetable = schedule_visits(
        assignments, window=window, visit_minutes=visit_minutes, officers=officers, seed=seed
    )
    timetable, team_figures = assign_teams(timetable, candidates, teams=teams, speed_kmh=team_speed_kmh)
    figures = {**figures, **team_figures}
    log.info(
        "teams: the schedule needs %d team(s) (no overlaps, centroid travel at %g km/h); %d assigned",
        team_figures["teams_needed"],
        team_speed_kmh,
        team_figures["teams"],
    )
    meta: dict[str, Any] = {
        "mode": mode,
        "parameters": {**params, "areas": areas, "mode": mode},
        "seed": seed,
        "seed_drawn": drawn,
        "start": first.isoformat(),
        "days": n_days,
        "areas_source": source.pop("source"),
        **source,
        "windows": windows_meta,
        "plan_id": None,
    }
    result = PlanResult(candidates, assignments, timetable, None, seed, figures, meta, design, choice)
    if store and ws is not None:
        plan_id = save_plan(
            ws,
            kind=mode,
            seed=seed,
            params=params,
            areas=candidates,
            assignments=assignments,
            schedule=timetable,
            summary=figures,
        )
        result.plan_id = plan_id
        result.meta["plan_id"] = plan_id
        ws.save_result(result)
    return result


def _candidates(
    ws: Workspace | None,
    n: int,
    given: Any,
    *,
    weights: str | None,
    harm: str,
    force: str | None,
    months: tuple[Any, Any] | None = None,
    allow_gaps: bool = False,
    sources: tuple[str, ...] | None = None,
    boundaries: str | Path | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The candidate areas and where they came from."""
    if given is None:
        if ws is None:
            raise InputError(
                "'areas_file' must be given when there is no workspace; received neither. Pass a "
                "workspace to plan its top LSOAs, or areas_file= (a hotspot layer or a frame)."
            )
        return workspace_areas(
            ws, n, harm=harm, force=force, months=months, allow_gaps=allow_gaps, sources=sources,
            boundaries=boundaries,
        )
    if isinstance(given, pd.DataFrame):
        return select_areas(given, n, what="areas_file", weights=weights), {"source": "frame"}
    if isinstance(given, str | Path):
        return read_areas(given, n, weights=weights), {"source": "file", "areas_file": str(given)}
    raise InputError(
        f"'areas_file' must be a path or a DataFrame of candidate areas; received {type(given).__name__}."
    )


def _start(ws: Workspace | None, start: date | str | None) -> date:
    if start is not None:
        return parse_date("start", start)
    if ws is None:
        raise InputError(
            "'start' must be given when there is no workspace; received None. Pass e.g. start='2024-05-01'."
        )
    return default_start(ws)


def _id_list(values: Iterable[str] | str | None) -> list[str]:
    """Area ids from an iterable, or from one comma-separated string."""
    if values is None:
        return []
    if isinstance(values, str):
        values = values.split(",")
    return [str(v).strip() for v in values if str(v).strip()]


def _large_note(large: list[dict[str, Any]], limit: Any) -> str:
    """The sentence on areas over the foot-patrol size limit (empty when there are none)."""
    if not large:
        return ""
    flagged = [r for r in large if r["action"] == "flagged"]
    replaced = [r for r in large if r["action"] == "replaced"]
    text = ""
    if replaced:
        text += (
            f" {len(replaced)} area(s) over {limit:g} km² replaced by their hottest grid cell: "
            + ", ".join(f"{r['area_id']} ({r['km2']:g} km²) -> {r['cell']}" for r in replaced)
            + "."
        )
    if flagged:
        text += (
            f" {len(flagged)} area(s) over {limit:g} km², too large for one foot patrol, kept and flagged: "
            + ", ".join(f"{r['area_id']} ({r['km2']:g} km²)" for r in flagged)
            + "."
        )
    return text


def _word(number: Any) -> str:
    """``2`` -> ``"two"`` (up to ten; larger numbers as digits)."""
    try:
        value = int(number)
    except (TypeError, ValueError):
        return str(number)
    return _WORDS[value] if 0 <= value < len(_WORDS) else f"{value:,}"


def _between(window: Any) -> str:
    """``"between 14:00 and 24:00"`` for one window every day; ``"in the windows ..."`` per weekday."""
    try:
        parsed = parse_windows(window)
    except InputError:
        return "in each area's window"
    single = parsed.single
    if single is None:
        return f"in the windows {parsed.label}"
    start, _, end = single.label.partition("-")
    return f"between {start} and {end}"
