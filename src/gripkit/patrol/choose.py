"""Choose patrol areas and daily visit counts under an officer-hour budget (a MILP solved by HiGHS).

For candidate areas ``i`` with harm ``h_i`` and share ``s_i`` of that harm inside the area's visit
window, binary ``z_ij`` says area ``i`` gets at least ``j`` visits a day (``j = 1..m_i``). The
programme (solved with :func:`scipy.optimize.milp`, i.e. HiGHS) is::

    maximise    Σ_i Σ_j h_i s_i w_j z_ij                     expected harm covered
    subject to  Σ_i Σ_j c_i z_ij <= B                          officer-minute budget per day
                z_ij <= z_i(j-1)                               visits are counted in order
                Σ_i z_i1 <= p                                  at most p areas (optional)
                Σ_i Σ_j (c_i / o) z_ij <= T × W                team-time in the window (optional)
                z_i1 = 1 for fixed inclusions, z_ij = 0 for exclusions

with ``w_j = d^(j-1) / Σ_{l<=m} d^(l-1)`` the coverage added by the j-th visit (``d`` =
``decay``; so one visit covers all of an area's harm when ``max_visits = 1``), ``c_i = o (v +
t_i)`` the officer-minutes of a visit (``o`` officers, ``v`` minutes on site, ``t_i`` walking
minutes) and ``m_i = min(max_visits, ⌊W_i / (v + t_i)⌋)`` the visits that fit in the window (with
several windows a day, whole visits per window, on the weekday with fewest).

With ``max_visits = 1`` and equal costs this is the maximal covering location problem (Church &
ReVelle 1974) with each area covering itself: pick ``p`` areas with most harm. The tests compare it
with ``spopt.locate.MCLP`` and with brute-force enumeration.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.patrol.areas import area_weights, check_areas
from gripkit.patrol.constraints import budget_row, check_feasible, describe_binding, extra_rows
from gripkit.patrol.windows import parse_windows
from gripkit.validate import fraction, one_of, positive

log = logging.getLogger("gripkit")

#: Walking speed used for travel between areas (km/h); an editable default (typical adult walking
#: pace is about 5 km/h; foot patrol is slower - *verify* against your own GPS data).
WALKING_SPEED_KMH = 4.0


@dataclass
class AreaChoice:
    """The solved plan: which areas, how many visits a day, and how good the solution is.

    Attributes
    ----------
    areas : geopandas.GeoDataFrame
        Every candidate with ``chosen`` (bool), ``visits`` (per day), ``travel_minutes``,
        ``cost_minutes`` (officer-minutes per day), ``covered_harm``, ``window``, ``window_share``,
        ``max_visits``.
    objective : float
        Expected harm covered (same units as the candidates' ``harm``).
    bound : float
        HiGHS's dual bound on the objective.
    gap : float
        Relative MIP gap (0 when proven optimal).
    binding : dict
        Constraint name -> description, for constraints that limit the solution.
    budget_minutes, used_minutes : float
        Officer-minutes per day available and used.
    params : dict
        Everything needed to solve it again.
    """

    areas: gpd.GeoDataFrame
    objective: float
    bound: float
    gap: float
    binding: dict[str, str]
    budget_minutes: float
    used_minutes: float
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def chosen(self) -> gpd.GeoDataFrame:
        """The chosen areas only."""
        return self.areas[self.areas["chosen"]].reset_index(drop=True)

    def assignments(self, start: date, days: int) -> pd.DataFrame:
        """Every chosen area on every day: ``date, area_id, treated, block, visits``.

        Examples
        --------
        >>> import datetime as dt, pandas as pd
        >>> c = choose_areas(pd.DataFrame({"area_id": ["a", "b"], "harm": [5.0, 1.0]}),
        ...                  officer_hours=0.5, travel_minutes=0)
        >>> c.assignments(dt.date(2024, 6, 1), 2)["area_id"].tolist()
        ['a', 'a']
        """
        chosen = self.chosen
        dates = [start + timedelta(days=d) for d in range(int(days))]
        frame = pd.DataFrame(
            {
                C.DATE: np.repeat(np.array(dates, dtype=object), len(chosen)),
                C.AREA_ID: np.tile(chosen[C.AREA_ID].astype(object).to_numpy(), len(dates)),
                C.TREATED: 1,
                C.BLOCK: np.repeat(np.arange(1, len(dates) + 1), len(chosen)),
                C.VISITS: np.tile(chosen[C.VISITS].to_numpy(dtype=np.int64), len(dates)),
            }
        )
        return frame.sort_values([C.DATE, C.AREA_ID], kind="mergesort").reset_index(drop=True)

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary: objective, bound, gap, binding constraints, budget use."""
        chosen = self.chosen
        total = float(area_weights(self.areas, self.params.get("weights", C.HARM)).sum())
        return {
            "areas_chosen": len(chosen),
            "visits_per_day": int(chosen[C.VISITS].sum()),
            "objective": self.objective,
            "share_of_candidate_harm": self.objective / total if total > 0 else None,
            "bound": self.bound,
            "gap": self.gap,
            "budget_officer_minutes": self.budget_minutes,
            "used_officer_minutes": self.used_minutes,
            "binding": dict(self.binding),
        }


def choose_areas(
    candidates: pd.DataFrame,
    *,
    officer_hours: float,
    per: str = "day",
    officers_per_patrol: int = 2,
    visit_minutes: float = 15,
    max_visits: int = 1,
    decay: float = 0.5,
    window: Any = "14:00-24:00",
    window_share: Mapping[str, float] | None = None,
    travel_minutes: float | Mapping[str, float] | None = None,
    walking_speed_kmh: float = WALKING_SPEED_KMH,
    max_areas: int | None = None,
    teams: int | None = None,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    time_limit: float = 60.0,
    weights: str | None = C.HARM,
) -> AreaChoice:
    """Choose areas and daily visits that maximise expected harm covered within a budget.

    Parameters
    ----------
    candidates : DataFrame
        Candidate areas (``area_id``, ``harm``, optional polygons), e.g. from
        :func:`~gripkit.patrol.areas.default_areas`.
    officer_hours : float
        Officer-hours available for visits (including walking between areas) per ``per``.
    per : {"day", "week"}
        Budget period; a weekly budget is spread over 7 days.
    officers_per_patrol : int, default 2
        Officers on each visit (Op Rowan: two).
    visit_minutes : float, default 15
        Minutes on site per visit (Koper 1995).
    max_visits : int, default 1
        Most visits per area per day.
    decay : float in (0, 1], default 0.5
        Coverage added by each further visit relative to the previous one.
    window : str, Window, WeekWindows or mapping area_id -> window
        Local visit window(s) (grammar: :mod:`gripkit.patrol.windows`). An area's visits a day must
        fit in its shortest day's windows.
    window_share : mapping area_id -> float, optional
        Share of each area's harm falling inside its window (``s_i``; default 1), e.g. from
        :func:`gripkit.patrol.window_data.window_shares`: a window change then changes the plan.
    travel_minutes : float or mapping, optional
        Walking minutes per visit. Default: distance from the area's centroid to the nearest other
        candidate's centroid at ``walking_speed_kmh`` (0 when areas have no geometry).
    walking_speed_kmh : float, default :data:`WALKING_SPEED_KMH`
    max_areas : int, optional
        Choose at most this many areas.
    teams : int, optional
        Patrol teams on duty in the window: total team time of visits must fit in it.
    include, exclude : iterables of area ids
        Areas that must / must not be chosen.
    time_limit : float, default 60
        Seconds HiGHS may run; the gap says how far from proven optimal the answer is.
    weights : str or None, default "harm"
        The column of ``candidates`` whose coverage is maximised (``h_i`` above); None weighs
        every area 1, so the most visits the budget buys are chosen.

    Returns
    -------
    AreaChoice

    Examples
    --------
    >>> import pandas as pd
    >>> cands = pd.DataFrame({"area_id": ["a", "b", "c"], "harm": [9.0, 5.0, 4.0]})
    >>> choice = choose_areas(cands, officer_hours=1.0, travel_minutes=0)  # 2 visits of 2 x 15 min
    >>> choice.chosen["area_id"].tolist(), choice.objective
    (['a', 'b'], 14.0)
    """
    areas = check_areas(candidates, what="candidates", weights=weights)
    ids = areas[C.AREA_ID].astype(str).tolist()
    one_of("per", per, ("day", "week"))
    hours = positive("officer_hours", officer_hours, "officer-hours", "20")
    budget = hours * 60 / (7 if per == "week" else 1)
    officers = _whole("officers_per_patrol", officers_per_patrol)
    on_site = positive("visit_minutes", visit_minutes, "minutes", "15")
    most = _whole("max_visits", max_visits)
    d = fraction("decay", decay)
    travel = _travel(areas, travel_minutes, positive("walking_speed_kmh", walking_speed_kmh, "km/h", "4"))
    windows = _per_area(window, ids, parse_windows, "window")
    share = np.array([float((window_share or {}).get(a, 1.0)) for a in ids])
    if ((share < 0) | (share > 1) | ~np.isfinite(share)).any():
        raise InputError(
            f"'window_share' values must be fractions in [0, 1]; received {sorted(set(share))[:5]}."
        )
    inc, exc = _ids("include", include, ids), _ids("exclude", exclude, ids)
    if inc & exc:
        raise InputError(
            f"areas {', '.join(sorted(inc & exc))} are both included and excluded; received both. "
            "Drop them from one list."
        )
    cost = officers * (on_site + travel)  # officer-minutes per visit
    fits = np.array([windows[a].fits(on_site + t) for a, t in zip(ids, travel, strict=True)])
    caps = np.minimum(most, fits)
    caps[[a in exc for a in ids]] = 0
    check_feasible(ids, cost, caps, budget, inc, max_areas, teams, windows, officers, officer_hours, per)

    cover = d ** np.arange(most)
    cover = cover / cover.sum()
    n, m = len(ids), most
    value = (area_weights(areas, weights) * share)[:, None] * cover[None, :]  # (n, m)
    lower = np.zeros((n, m))
    lower[[a in inc for a in ids], 0] = 1
    upper = (np.arange(m)[None, :] < caps[:, None]).astype(float)
    rows = extra_rows(n, m, cost, officers, max_areas, teams, windows)
    res = milp(
        c=-value.reshape(-1),
        integrality=np.ones(n * m),
        bounds=Bounds(lower.reshape(-1), upper.reshape(-1)),
        constraints=[LinearConstraint(a, lo, hi) for a, lo, hi, _ in rows] + [budget_row(cost, m, budget)],
        options={"time_limit": float(time_limit)},
    )
    if res.x is None:
        raise InputError(
            f"HiGHS found no plan ({res.message}); the constraints conflict: budget {budget:.0f} "
            f"officer-minutes/day, include {sorted(inc) or 'none'}, max_areas {max_areas}, teams {teams}. "
            "Relax one of them."
        )
    z = np.round(res.x.reshape(n, m)).astype(int)
    visits = z.sum(axis=1)
    out = areas.copy()
    out["chosen"] = visits > 0
    out[C.VISITS] = visits
    out["max_visits"] = caps
    out["window"] = [windows[a].label for a in ids]
    out["window_share"] = share
    out["travel_minutes"] = travel
    out["cost_minutes"] = cost * visits
    out["covered_harm"] = (value * z).sum(axis=1)
    objective = float((value * z).sum())
    used = float(out["cost_minutes"].sum())
    bound = -float(res.mip_dual_bound) if res.mip_dual_bound is not None else objective
    gap = float(res.mip_gap) if res.mip_gap is not None else 0.0
    binding = describe_binding(out, budget, used, cost, max_areas, teams, windows, officers, inc)
    log.info("chose %d of %d areas, %d visits a day, covering %.1f harm (gap %.2g)",
             int(out["chosen"].sum()), n, int(visits.sum()), objective, gap)
    params = {
        "officer_hours": float(officer_hours), "per": per, "officers_per_patrol": officers,
        "visit_minutes": on_site, "max_visits": most, "decay": d, "walking_speed_kmh": walking_speed_kmh,
        "max_areas": max_areas, "teams": teams, "include": sorted(inc), "exclude": sorted(exc),
        "weights": weights, "solver": "HiGHS via scipy.optimize.milp",
    }
    return AreaChoice(out, objective, bound, gap, binding, budget, used, params)


def _travel(areas: gpd.GeoDataFrame, given: Any, speed_kmh: float) -> np.ndarray:
    ids = areas[C.AREA_ID].astype(str).tolist()
    if given is not None:
        values = _per_area(given, ids, float, "travel_minutes")
        travel = np.array([values[a] for a in ids], dtype=float)
        if (~np.isfinite(travel) | (travel < 0)).any():
            raise InputError(f"'travel_minutes' must be >= 0; received {sorted(set(travel))[:5]}.")
        return travel
    geom = areas.geometry
    has = ~(geom.isna() | geom.is_empty).to_numpy()
    if has.sum() < 2:
        log.info("travel between areas: 0 minutes (areas have no polygons); pass travel_minutes to set it")
        return np.zeros(len(areas))
    centres = geom[has].centroid
    xy = np.column_stack([centres.x, centres.y])
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(dist, np.inf)
    travel = np.zeros(len(areas))
    travel[has] = dist.min(axis=1) / 1000 / speed_kmh * 60
    travel[~has] = float(np.median(travel[has]))
    log.info("travel between areas: nearest-neighbour centroid distance at %g km/h (median %.1f minutes)",
             speed_kmh, float(np.median(travel)))
    return travel


def _per_area(value: Any, ids: list[str], parse: Any, name: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        missing = [a for a in ids if a not in value]
        if missing:
            raise InputError(
                f"'{name}' has no value for area(s) {', '.join(missing[:5])}; received {len(value)} "
                "entries. Give every candidate a value, or one value for all."
            )
        return {a: parse(value[a]) for a in ids}
    parsed = parse(value)
    return dict.fromkeys(ids, parsed)


def _ids(name: str, values: Iterable[str], known: list[str]) -> set[str]:
    chosen = {str(v) for v in values}
    unknown = sorted(chosen - set(known))
    if unknown:
        raise InputError(
            f"'{name}' names area(s) that are not candidates: {', '.join(unknown[:5])}; candidates are e.g. "
            f"{', '.join(known[:3])}. Check the ids."
        )
    return chosen


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"'{name}' must be a whole number >= 1; received {value!r}.")
    return int(value)
