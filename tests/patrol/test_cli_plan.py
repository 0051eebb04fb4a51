"""``gripkit plan`` end to end on the bundled Bedfordshire data (in-process Typer runner)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from gripkit import Workspace
from gripkit.cli import app
from gripkit.patrol import load_plan


@pytest.fixture
def workspace(bedfordshire_workspace: Path) -> Path:
    return bedfordshire_workspace


def run(*args: str):
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result


def test_op_rowan_contract(workspace: Path, tmp_path: Path) -> None:
    args = [
        "plan",
        "-w",
        str(workspace),
        "--experiment",
        "--areas",
        "21",
        "--treated-per-day",
        "7",
        "--days",
        "90",
        "--seed",
        "7",
    ]
    first = run(*args, "-o", str(tmp_path / "a.csv"), "--ics", str(tmp_path / "a.ics"))
    assert first.exit_code == 0, first.output
    again = run(*args, "--out", str(tmp_path / "b.csv"), "--no-store")
    assert again.exit_code == 0, again.output
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    plan = pd.read_csv(tmp_path / "a.csv", dtype={"area_id": str})
    assert {"date", "area_id", "treated"} <= set(plan.columns)
    assert len(plan) == 1890 and plan["area_id"].nunique() == 21  # Op Rowan: 21 x 90 place-days
    assert set(plan.groupby("area_id")["treated"].sum()) == {30}  # 90 x 7 / 21
    assert plan["date"].min() == "2024-05-01"  # bundled data ends 2024-04
    assert (tmp_path / "a.ics").read_text().count("BEGIN:VEVENT") == 630
    with Workspace(workspace) as ws:
        stored = load_plan(ws)
        assert stored.seed == 7 and len(stored.assignments) == 1890 and len(stored.schedule) == 630
        assert sorted(stored.areas["area_id"]) == sorted(plan["area_id"].unique())
        assert stored.areas.geometry.area.gt(0).all()  # bundled LSOA polygons travel with the plan
        result = ws.latest_result("plan")  # the job stored it, not the CLI; --no-store stored nothing
        assert result is not None and result.meta["plan_id"] == stored.plan_id and result.meta["seed"] == 7


def test_budget_mode(workspace: Path, tmp_path: Path) -> None:
    result = run(
        "plan",
        "-w",
        str(workspace),
        "--budget-hours",
        "3",
        "--areas",
        "30",
        "--days",
        "7",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "c.csv"),
        "--no-store",
        "--json",
    )
    assert result.exit_code == 0, result.output
    chosen = pd.read_csv(tmp_path / "c.csv")
    assert chosen["date"].nunique() == 7 and (chosen["treated"] == 1).all()
    payload = json.loads(result.stdout)  # --json: one object on stdout and nothing else
    assert payload["plan_id"] is None and payload["seed"] == 1 and payload["mode"] == "budget"
    assert payload["written"] == {"plan": str(tmp_path / "c.csv")}
    assert payload["figures"]["visits_per_day"] * 7 == payload["visits"] == len(chosen)
    assert payload["summary"].startswith(f"Budget: {payload['figures']['areas_chosen']} of 30 LSOAs chosen")


def test_needs_a_mode(workspace: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", "-w", str(workspace), "--out", str(tmp_path / "x.csv")])
    assert result.exit_code != 0
    assert "received neither --experiment nor --budget-hours" in str(result.exception)


def test_one_mode_at_a_time(workspace: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["plan", "-w", str(workspace), "--experiment", "--budget-hours", "3", "-o", str(tmp_path / "x.csv")],
    )
    assert result.exit_code != 0 and not (tmp_path / "x.csv").exists()
    assert "'budget_hours' applies to budget mode only" in str(result.exception)
