"""Plans in the workspace: the seed, parameters, areas, full assignment and visit schedule.

Stored so a plan can be audited and re-derived (the seed plus the areas and parameters give the
same assignment) and so the dosage stage can read the planned visits and area polygons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.patrol.areas import check_areas
from gripkit.workspace import Workspace


@dataclass
class StoredPlan:
    """A plan read back from the workspace (see :func:`load_plan`)."""

    plan_id: int
    kind: str
    seed: int | None
    params: dict[str, Any]
    summary: dict[str, Any]
    areas: gpd.GeoDataFrame
    assignments: pd.DataFrame
    schedule: pd.DataFrame = field(default_factory=pd.DataFrame)


def save_plan(
    ws: Workspace,
    *,
    kind: str,
    seed: int | None,
    params: dict[str, Any],
    areas: gpd.GeoDataFrame,
    assignments: pd.DataFrame,
    schedule: pd.DataFrame,
    summary: dict[str, Any] | None = None,
) -> int:
    """Store a plan in one transaction; return its ``plan_id``.

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> from gripkit import Workspace
    >>> from gripkit.patrol import experiment_design, schedule_visits
    >>> ws = Workspace(":memory:")
    >>> plan = experiment_design(["a", "b"], treated_per_day=1, days=2, seed=1, start="2024-06-01")
    >>> areas = pd.DataFrame({"area_id": ["a", "b"]})
    >>> save_plan(ws, kind="experiment", seed=1, params=plan.params, areas=areas,
    ...           assignments=plan.assignments, schedule=schedule_visits(plan.assignments, seed=1))
    1
    """
    frame = check_areas(areas)
    wkb = [None if g is None or g.is_empty else shapely.to_wkb(g) for g in frame.geometry]
    labels = frame[C.LABEL].astype(object) if C.LABEL in frame.columns else pd.Series(None, index=frame.index)
    area_rows = pd.DataFrame({
        C.AREA_ID: frame[C.AREA_ID].astype(str), C.HARM: frame[C.HARM], C.AREA_M2: frame[C.AREA_M2],
        "geometry_wkb": wkb, C.LABEL: [v if isinstance(v, str) and v else None for v in labels],
    })
    assign = assignments[[C.DATE, C.AREA_ID, C.TREATED, C.BLOCK, C.VISITS]].copy()
    assign[C.DATE] = pd.to_datetime(assign[C.DATE])
    visits = schedule[[C.DATE, C.AREA_ID, C.VISIT, C.START_UTC, C.END_UTC, C.OFFICERS]].copy()
    visits[C.DATE] = pd.to_datetime(visits[C.DATE])
    visits["team"] = schedule["team"].astype("Int64") if "team" in schedule.columns else pd.NA
    meta = {"crs": str(frame.crs) if frame.crs is not None else None}
    with ws.transaction() as con:
        row = con.execute("SELECT coalesce(max(plan_id), 0) + 1 FROM plans").fetchone()
        plan_id = int(row[0]) if row else 1
        con.execute(
            "INSERT INTO plans VALUES (?, ?, now(), ?, ?, ?)",
            [plan_id, kind, seed, json.dumps({**params, **meta}, default=str),
             json.dumps(summary or {}, default=str)],
        )
        for name, table, columns in (
            ("plan_areas", area_rows, "area_id, harm, area_m2, geometry_wkb, label"),
            ("plan_assignments", assign, "date, area_id, treated, block, visits"),
            ("plan_visits", visits, "date, area_id, visit, start_utc, end_utc, officers, team"),
        ):
            con.register("_plan_rows", table)
            insert = f"INSERT INTO {name} (plan_id, {columns}) SELECT ?, {columns} FROM _plan_rows"
            con.execute(insert, [plan_id])
            con.unregister("_plan_rows")
    return plan_id


def load_plan(ws: Workspace, plan_id: int | None = None) -> StoredPlan:
    """Read a plan (default: the latest) with its areas, assignment and schedule."""
    if plan_id is None:
        row = ws.con.execute("SELECT max(plan_id) FROM plans").fetchone()
        if not row or row[0] is None:
            raise InputError(
                f"workspace {ws.path} holds no patrol plan; received no plan id. Make one with "
                "gripkit.plan_patrols(ws) (or `gripkit plan`) first."
            )
        plan_id = int(row[0])
    sql = "SELECT kind, seed, params, summary FROM plans WHERE plan_id = ?"
    head = ws.con.execute(sql, [plan_id]).fetchone()
    if head is None:
        known = [r[0] for r in ws.con.execute("SELECT plan_id FROM plans ORDER BY plan_id").fetchall()]
        raise InputError(
            f"no plan {plan_id} in workspace {ws.path}; received plan_id={plan_id}. Known plans: {known}."
        )
    params = json.loads(head[2])
    raw = ws.con.execute(
        "SELECT area_id, label, harm, area_m2, geometry_wkb FROM plan_areas WHERE plan_id = ? "
        "ORDER BY area_id",
        [plan_id],
    ).df()
    geometry = [shapely.Polygon() if b is None or pd.isna(b) else shapely.from_wkb(bytes(b))
                for b in raw["geometry_wkb"]]
    areas = gpd.GeoDataFrame(
        raw.drop(columns="geometry_wkb"), geometry=gpd.GeoSeries(geometry, crs=params.get("crs") or C.BNG)
    )
    assignments = ws.con.execute(
        "SELECT date, area_id, treated, block, visits FROM plan_assignments WHERE plan_id = ? "
        "ORDER BY date, area_id", [plan_id]).df()
    assignments[C.DATE] = pd.to_datetime(assignments[C.DATE]).dt.date
    schedule = ws.con.execute(
        "SELECT date, area_id, visit, start_utc, end_utc, officers, team FROM plan_visits WHERE plan_id = ? "
        "ORDER BY start_utc, area_id, visit", [plan_id]).df()
    schedule[C.DATE] = pd.to_datetime(schedule[C.DATE]).dt.date
    return StoredPlan(plan_id, str(head[0]), None if head[1] is None else int(head[1]), params,
                      json.loads(head[3] or "{}"), check_areas(areas), assignments, schedule)
