"""Patrol planning: choose areas under a budget (MILP), experiment designs, schedules, exports.

:func:`plan_patrols` is the job (both modes, stored in the workspace); the rest are its parts.

Examples
--------
>>> from gripkit.patrol import experiment_design
>>> plan = experiment_design([f"A{i}" for i in range(21)], treated_per_day=7, days=90, seed=7,
...                          start="2024-05-01")
>>> int(plan.assignments["treated"].sum())
630
"""

from __future__ import annotations

from gripkit.patrol.areas import AREA_COLUMNS, check_areas, default_areas, read_areas, select_areas
from gripkit.patrol.choose import AreaChoice, choose_areas
from gripkit.patrol.experiment import ExperimentPlan, default_start, experiment_design
from gripkit.patrol.export import briefing_html, plan_csv, schedule_csv, schedule_ics
from gripkit.patrol.job import PlanResult, plan_patrols
from gripkit.patrol.schedule import Window, schedule_visits, window_from_profile
from gripkit.patrol.store import StoredPlan, load_plan, save_plan

__all__ = [
    "AREA_COLUMNS",
    "AreaChoice",
    "ExperimentPlan",
    "PlanResult",
    "StoredPlan",
    "Window",
    "briefing_html",
    "check_areas",
    "choose_areas",
    "default_areas",
    "default_start",
    "experiment_design",
    "load_plan",
    "plan_csv",
    "plan_patrols",
    "read_areas",
    "save_plan",
    "schedule_csv",
    "schedule_ics",
    "schedule_visits",
    "select_areas",
    "window_from_profile",
]
