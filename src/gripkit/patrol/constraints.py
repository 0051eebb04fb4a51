"""Constraint rows, feasibility checks and binding-constraint reports for :mod:`gripkit.patrol.choose`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import LinearConstraint
from scipy.sparse import lil_matrix

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.patrol.windows import WeekWindows


def extra_rows(
    n: int, m: int, cost: np.ndarray, officers: int, max_areas: int | None, teams: int | None,
    windows: dict[str, WeekWindows],
) -> list[tuple[Any, float | np.ndarray, float | np.ndarray, str]]:
    """Ordering, max-areas and team-time rows as (matrix, lower, upper, name)."""
    rows: list[tuple[Any, float | np.ndarray, float | np.ndarray, str]] = []
    if m > 1:
        order = lil_matrix((n * (m - 1), n * m))
        for i in range(n):
            for j in range(1, m):
                r = i * (m - 1) + j - 1
                order[r, i * m + j], order[r, i * m + j - 1] = 1, -1
        rows.append((order.tocsr(), -np.inf, 0.0, "order"))
    if max_areas is not None:
        first = np.zeros(n * m)
        first[::m] = 1
        rows.append((first[None, :], 0.0, float(max_areas), "max_areas"))
    if teams is not None:
        span = max(w.minutes for w in windows.values())
        rows.append((np.repeat(cost / officers, m)[None, :], 0.0, float(teams * span), "teams"))
    return rows


def budget_row(cost: np.ndarray, m: int, budget: float) -> LinearConstraint:
    return LinearConstraint(np.repeat(cost, m)[None, :], 0.0, budget)


def check_feasible(
    ids: list[str], cost: np.ndarray, caps: np.ndarray, budget: float, inc: set[str],
    max_areas: int | None, teams: int | None, windows: dict[str, WeekWindows], officers: int,
    officer_hours: float, per: str,
) -> None:
    """Raise InputError naming the constraint when no (useful) plan exists."""
    open_ = caps > 0
    if not open_.any():
        raise InputError(
            "no candidate area can take a visit: every one is excluded or its window is shorter than one "
            "visit plus travel. Widen the windows or drop exclusions."
        )
    cheapest = float(cost[open_].min())
    if cheapest > budget:
        raise InputError(
            f"a budget of {officer_hours:g} officer-hours per {per} ({budget:.0f} officer-minutes a day) "
            f"buys no visit: the cheapest costs {cheapest:.0f} officer-minutes ({officers} officers on site "
            f"and walking). Raise the budget to at least {cheapest / 60 * (7 if per == 'week' else 1):.2f} "
            f"officer-hours per {per}."
        )
    idx = [ids.index(a) for a in sorted(inc)]
    blocked = [ids[i] for i in idx if caps[i] == 0]
    if blocked:
        raise InputError(
            f"infeasible constraints: included area(s) {', '.join(blocked)} cannot take a visit (window too "
            "short for a visit plus travel). Widen their windows or drop them from include."
        )
    need = float(cost[idx].sum())
    if need > budget:
        raise InputError(
            f"infeasible constraints: budget — the {len(idx)} included areas need {need:.0f} officer-minutes "
            f"a day but the budget gives {budget:.0f}. Raise the budget or include fewer areas."
        )
    if max_areas is not None and (max_areas < 1 or len(idx) > max_areas):
        raise InputError(
            f"infeasible constraints: max_areas — {len(idx)} areas are included but max_areas is "
            f"{max_areas!r}. Raise max_areas to at least {max(len(idx), 1)}."
        )
    if teams is not None:
        span = max(w.minutes for w in windows.values())
        team_need = float(cost[idx].sum() / officers)
        if teams < 1 or team_need > teams * span:
            raise InputError(
                f"infeasible constraints: teams — the included areas need {team_need:.0f} team-minutes but "
                f"{teams!r} team(s) have {max(teams, 0) * span} in the window. "
                "Add teams or include fewer areas."
            )


def describe_binding(
    out: pd.DataFrame, budget: float, used: float, cost: np.ndarray, max_areas: int | None,
    teams: int | None, windows: dict[str, WeekWindows], officers: int, inc: set[str],
) -> dict[str, str]:
    """Constraints that stop the plan covering more harm."""
    binding: dict[str, str] = {}
    slack = budget - used
    addable = (out[C.VISITS] < out["max_visits"]).to_numpy()
    cheapest = float(cost[addable].min()) if addable.any() else np.inf
    if slack < cheapest:
        binding["budget"] = (
            f"{used:.0f} of {budget:.0f} officer-minutes a day used; the {slack:.0f} left buys no further "
            f"visit (cheapest {cheapest:.0f})"
            if np.isfinite(cheapest)
            else f"{used:.0f} of {budget:.0f} used"
        )
    if max_areas is not None and int(out["chosen"].sum()) == max_areas:
        binding["max_areas"] = f"{max_areas} areas chosen, the maximum"
    at_cap = out[out["chosen"] & (out[C.VISITS] == out["max_visits"])]
    if len(at_cap):
        binding["max_visits"] = f"{len(at_cap)} area(s) at their most visits a day (cap or window)"
    if teams is not None:
        span = max(w.minutes for w in windows.values())
        team_used = float((out["cost_minutes"] / officers).sum())
        if teams * span - team_used < float(cost.min() / officers):
            binding["teams"] = f"{team_used:.0f} of {teams * span} team-minutes in the window used"
    if inc:
        binding["include"] = f"{len(inc)} area(s) fixed in"
    return binding
