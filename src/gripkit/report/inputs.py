"""Small read-only accessors for the workspace tables the stages keep beside their stored results.

Stored results are read with :meth:`Workspace.latest_result <gripkit.workspace.Workspace.latest_result>`
and :meth:`~gripkit.workspace.Workspace.result_table`; these helpers read the rest: patrol plans
(``plans`` and ``plan_*``), patrols assigned to officers and the visits they record on the dashboard,
and the ingested source files. Each returns None or an empty frame when its table has no rows yet.

Example
-------
>>> from gripkit import Workspace
>>> ws = Workspace(":memory:")
>>> latest_plan(ws) is None, officer_visits(ws).empty, table_exists(ws, "plans")
(True, True, True)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from gripkit.results import decode_json
from gripkit.workspace import Workspace

__all__ = [
    "latest_plan",
    "officer_visits",
    "provenance",
    "table_exists",
    "table_frame",
]


def table_exists(ws: Workspace, name: str) -> bool:
    """Whether the workspace has a table called ``name``."""
    row = ws.con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def table_frame(
    ws: Workspace, name: str, sql_tail: str = "", params: list[Any] | None = None
) -> pd.DataFrame:
    """``SELECT * FROM name <sql_tail>`` as a frame; empty when the table does not exist."""
    if not table_exists(ws, name):
        return pd.DataFrame()
    return ws.con.execute(f'SELECT * FROM "{name}" {sql_tail}', params or []).df()



def latest_plan(ws: Workspace, plan_id: int | None = None) -> dict[str, Any] | None:
    """The newest patrol plan (``plans`` row), or plan ``plan_id``, with its areas and day-by-area
    assignment; None when there is no such plan."""
    if plan_id is None:
        plans = table_frame(ws, "plans", "ORDER BY created_at DESC, plan_id DESC LIMIT 1")
    else:
        plans = table_frame(ws, "plans", "WHERE plan_id = ?", [int(plan_id)])
    if plans.empty:
        return None
    plan = plans.iloc[0].to_dict()
    pid = int(plan["plan_id"])
    areas = table_frame(ws, "plan_areas", "WHERE plan_id = ?", [pid]).drop(
        columns=["geometry_wkb"], errors="ignore"
    )
    days = table_frame(ws, "plan_assignments", "WHERE plan_id = ? ORDER BY date, area_id", [pid])
    return {
        "plan_id": pid,
        "kind": plan.get("kind"),
        "created_at": plan.get("created_at"),
        "seed": plan.get("seed"),
        "params": decode_json(plan.get("params")) or {},
        "summary": decode_json(plan.get("summary")) or {},
        "areas": areas,
        "assignments": days,
    }


def officer_visits(ws: Workspace) -> pd.DataFrame:
    """Visits officers recorded on the dashboard, joined to their patrols, with minutes on site."""
    if not table_exists(ws, "officer_visits"):
        return pd.DataFrame()
    return ws.con.execute(
        "SELECT v.visit_id, v.patrol_id, v.officer, v.area_id, p.date, p.minutes AS planned_minutes, "
        "v.started_at, v.stopped_at, "
        "date_diff('second', v.started_at, v.stopped_at) / 60.0 AS minutes_on_site "
        "FROM officer_visits v LEFT JOIN officer_patrols p USING (patrol_id) ORDER BY v.started_at"
    ).df()


def provenance(ws: Workspace) -> pd.DataFrame:
    """The active source files: name, kind, force, month, rows loaded and quarantined, sha256."""
    frame = table_frame(ws, "sources", "WHERE status = 'active' ORDER BY kind, month, name")
    keep = ["name", "kind", "format", "force", "month", "rows_loaded", "rows_quarantined", "sha256"]
    return frame[[c for c in keep if c in frame.columns]]
