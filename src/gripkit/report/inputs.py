"""Small read-only accessors for what earlier stages left in the workspace.

The report and the dashboard read every stage's output through these functions, so that wiring a
new stage (forecast backtests, patrol plans, GPS dosage, evaluation, allocation) means changing
one function here. Each returns None (or an empty list) when its input does not exist yet; the
caller then says "not run yet" instead of failing.

Example
-------
>>> from gripkit import Workspace
>>> ws = Workspace(":memory:")
>>> latest_result(ws, "backtest") is None
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from gripkit.workspace import Workspace

__all__ = [
    "StoredResult",
    "latest_plan",
    "latest_result",
    "officer_visits",
    "provenance",
    "results_log",
    "table_exists",
    "table_frame",
]

# results.kind values other stages are expected to write (the hotspot job writes "hotspots")
BACKTEST_KINDS = ("backtest", "forecast_backtest")
EVALUATION_KINDS = ("evaluation",)
ALLOCATION_KINDS = ("allocation",)
DOSAGE_KINDS = ("dosage", "compliance")


@dataclass(frozen=True)
class StoredResult:
    """One row of the workspace ``results`` table with its JSON decoded."""

    result_id: int
    kind: str
    created_at: Any
    params: dict[str, Any]
    payload: Any


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


def _decode(text: Any) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def latest_result(ws: Workspace, *kinds: str) -> StoredResult | None:
    """The newest ``results`` row whose kind is one of ``kinds``, or None."""
    if not kinds or not table_exists(ws, "results"):
        return None
    marks = ", ".join("?" for _ in kinds)
    row = ws.con.execute(
        f"SELECT result_id, kind, created_at, params, payload FROM results WHERE kind IN ({marks}) "
        "ORDER BY created_at DESC, result_id DESC LIMIT 1",
        list(kinds),
    ).fetchone()
    if row is None:
        return None
    params = _decode(row[3])
    return StoredResult(
        int(row[0]), str(row[1]), row[2], params if isinstance(params, dict) else {}, _decode(row[4])
    )


def results_log(ws: Workspace) -> pd.DataFrame:
    """Every stored result's id, kind, time and parameters (no payloads), oldest first."""
    return table_frame(ws, "results", "ORDER BY result_id").drop(columns=["payload"], errors="ignore")


def latest_plan(ws: Workspace) -> dict[str, Any] | None:
    """The newest patrol plan (``plans`` row) with its areas and day-by-area assignment, or None."""
    plans = table_frame(ws, "plans", "ORDER BY created_at DESC, plan_id DESC LIMIT 1")
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
        "params": _decode(plan.get("params")) or {},
        "summary": _decode(plan.get("summary")) or {},
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
