"""A stored experiment plan as the design that randomisation inference re-draws.

``gripkit plan`` (experiment mode) stores its seed, its parameters and the full place-day
assignment in the workspace (:mod:`gripkit.patrol.store`). :func:`plan_design` reads the plan's
own block scheme from there (the areas in sorted-id order, ``treated_per_day``, ``block_days``,
``treated_per_block`` and the seed), checks that the plan's randomiser
(:func:`gripkit.patrol.experiment.block_assignment`) given the plan's seed reproduces the stored
assignment exactly, and returns a :class:`PlanDesign` whose :meth:`~PlanDesign.draw` re-draws
under the *same* scheme: each day ``treated_per_day`` areas, each area ``treated_per_block``
times in every block of ``block_days`` days. So the null distribution of randomisation inference
is the distribution the plan was actually drawn from, not a within-day permutation.

A running plan is judged on its first days only (:meth:`PlanDesign.until`): the re-draws are
whole-plan draws cut to those days, which is the distribution of the observed part of the
assignment.

Examples
--------
>>> from gripkit.patrol import experiment_design
>>> plan = experiment_design([f"A{i:02d}" for i in range(21)], treated_per_day=7, days=9, seed=3,
...                          start="2024-05-01")
>>> design = design_from_assignment(plan.assignments, plan.params, seed=plan.seed)
>>> bool((design.reproduce() == design.matrix()).all())
True
>>> draws = design.draw(np.random.default_rng(0), size=5)
>>> draws.shape, sorted(set(draws.reshape(5, 3, 3, 21).sum(axis=2).ravel().tolist()))
((5, 9, 21), [1])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.patrol.experiment import DESIGN_STREAM, block_assignment, parse_date
from gripkit.patrol.store import StoredPlan, load_plan
from gripkit.workspace import Workspace

SCHEME = "plan"


@dataclass(frozen=True)
class PlanDesign:
    """The block scheme of a stored experiment plan, able to re-draw assignments under it.

    Attributes
    ----------
    areas : list of str
        The plan's areas, sorted (the randomiser's order).
    dates : list of pandas.Timestamp
        The days judged: the plan's first ``len(dates)`` days (all of them unless cut by :meth:`until`).
    seed : int
        The plan's seed (its assignment is stream ``[seed, 0]``).
    treated_per_day, block_days, treated_per_block, plan_days : int
        The scheme: ``treated_per_day`` areas a day; in each block of ``block_days`` days every area
        is treated ``treated_per_block`` times; ``plan_days`` days in the whole plan.
    stored : numpy.ndarray
        The stored assignment, bool ``(plan_days, n_areas)``.
    plan_id : int or None
        The plan's id in the workspace.
    """

    areas: list[str]
    dates: list[pd.Timestamp]
    seed: int
    treated_per_day: int
    block_days: int
    treated_per_block: int
    plan_days: int
    stored: np.ndarray
    plan_id: int | None = None
    scheme: str = SCHEME

    def draw(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
        """Re-draw assignments as the plan's randomiser does: bool ``([size,] len(dates), n_areas)``."""
        reps = 1 if size is None else int(size)
        n, days = len(self.areas), len(self.dates)
        out = np.empty((reps, days, n), dtype=bool)
        for r in range(reps):
            out[r] = block_assignment(n, self.treated_per_day, self.plan_days, rng)[:days]
        return out[0] if size is None else out

    def reproduce(self) -> np.ndarray:
        """The draw of the plan's own seed (equal to :meth:`matrix` for an untouched plan)."""
        return self.draw(np.random.default_rng([self.seed, DESIGN_STREAM]))

    def matrix(self) -> np.ndarray:
        """The stored assignment of the days judged, bool ``(len(dates), n_areas)``."""
        return self.stored[: len(self.dates)]

    def blocks(self) -> np.ndarray:
        """The 1-based block of each day judged."""
        return np.arange(len(self.dates)) // self.block_days + 1

    def until(self, last: date | str) -> PlanDesign:
        """The design judged on the plan's days up to and including ``last``."""
        day = pd.Timestamp(parse_date("to", last))
        kept = [d for d in self.dates if d <= day]
        if not kept:
            raise InputError(
                f"'to' must be on or after the plan's first day {self.dates[0]:%Y-%m-%d}; received "
                f"{day:%Y-%m-%d}, before the plan started. Pass a later date, or wait for the plan to run."
            )
        return replace(self, dates=kept)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe scheme, seed and the days judged."""
        return {
            "scheme": self.scheme,
            "plan_id": self.plan_id,
            "areas": list(self.areas),
            "seed": self.seed,
            "treated_per_day": self.treated_per_day,
            "block_days": self.block_days,
            "treated_per_block": self.treated_per_block,
            "plan_days": self.plan_days,
            "days": len(self.dates),
            "first_day": f"{self.dates[0]:%Y-%m-%d}",
            "last_day": f"{self.dates[-1]:%Y-%m-%d}",
        }

    def summary(self) -> str:
        """One sentence naming the scheme and the days judged."""
        name = f"plan {self.plan_id}" if self.plan_id is not None else "the plan"
        return (
            f"The block design of {name}: {len(self.areas)} areas, {self.treated_per_day} treated a day, "
            f"each area {self.treated_per_block} time(s) in every {self.block_days}-day block, seed "
            f"{self.seed}; judged on {len(self.dates)} of {self.plan_days} days."
        )


def plan_design(plan: StoredPlan) -> PlanDesign:
    """The design of a stored experiment plan (see the module docstring); InputError for other plans."""
    if plan.kind != "experiment":
        raise InputError(
            f"plan {plan.plan_id} is a {plan.kind} plan: its areas were chosen, not randomised, so there "
            "is no random assignment for randomisation inference to re-draw. Evaluate an experiment plan "
            "(`gripkit plan --experiment`)."
        )
    if plan.seed is None:
        raise InputError(
            f"plan {plan.plan_id} has no stored seed, so its assignment cannot be re-drawn; received "
            "seed None. Re-plan with a recorded seed."
        )
    return design_from_assignment(plan.assignments, plan.params, seed=plan.seed, plan_id=plan.plan_id)


def load_plan_design(ws: Workspace, plan_id: int | None = None) -> PlanDesign:
    """:func:`plan_design` of a plan in the workspace (default: the latest)."""
    return plan_design(load_plan(ws, plan_id))


def design_from_assignment(
    assignments: pd.DataFrame, params: dict[str, Any], *, seed: int, plan_id: int | None = None
) -> PlanDesign:
    """A :class:`PlanDesign` from an assignment (``date, area_id, treated, block``) and its parameters.

    The parameters must hold ``treated_per_day``; ``block_days`` and ``treated_per_block``, when
    stored, must agree with the rule of the randomiser, and the seed must reproduce the assignment.
    """
    name = f"plan {plan_id}" if plan_id is not None else "the plan"
    grid = assignments.pivot(index=C.DATE, columns=C.AREA_ID, values=C.TREATED)
    if grid.isna().any().any():
        raise InputError(
            f"the stored assignment of {name} is not complete: {int(grid.isna().sum().sum())} of "
            f"{grid.size} area-days are missing. Re-plan; a plan stores every area-day."
        )
    dates = [pd.Timestamp(d) for d in grid.index]
    areas = sorted(str(a) for a in grid.columns)
    grid = grid[areas]
    n, k = len(areas), int(params.get("treated_per_day", 0))
    if not 1 <= k < n:
        raise InputError(
            f"{name} must treat between 1 and {n - 1} of its {n} areas a day; its parameters give "
            f"treated_per_day={params.get('treated_per_day')!r}. Re-plan with `gripkit plan --experiment`."
        )
    g = math.gcd(n, k)
    block_days, per_block = n // g, k // g
    stored_scheme = (params.get("block_days", block_days), params.get("treated_per_block", per_block))
    if tuple(int(v) for v in stored_scheme) != (block_days, per_block):
        raise InputError(
            f"{name} stores blocks of {stored_scheme[0]} days with {stored_scheme[1]} treatment(s) per "
            f"area, but its randomiser draws blocks of {block_days} days with {per_block} for {n} areas "
            f"and {k} a day. The plan was changed after it was drawn; re-plan it."
        )
    expected = pd.date_range(dates[0], periods=len(dates), freq="D")
    if list(expected) != dates:
        raise InputError(f"the days of {name} are not consecutive from {dates[0]:%Y-%m-%d}; re-plan it.")
    if C.BLOCK in assignments.columns:
        blocks = assignments.pivot(index=C.DATE, columns=C.AREA_ID, values=C.BLOCK)[areas].to_numpy()
        if not (blocks == (np.arange(len(dates)) // block_days + 1)[:, None]).all():
            raise InputError(f"the stored blocks of {name} are not consecutive runs of {block_days} days.")
    design = PlanDesign(
        areas, dates, int(seed), k, block_days, per_block, len(dates), grid.to_numpy(dtype=bool), plan_id
    )
    if not np.array_equal(design.reproduce(), design.stored):
        differ = int((design.reproduce() != design.stored).sum())
        raise InputError(
            f"the stored assignment of {name} is not the one its seed {seed} draws ({differ} area-days "
            "differ), so its design cannot be re-drawn faithfully. Use the assignment as drawn (re-plan "
            "with the same seed, areas and parameters)."
        )
    return design
