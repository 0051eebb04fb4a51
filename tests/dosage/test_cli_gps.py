"""``gripkit gps ingest / visits / compliance`` end to end on a SIMULATED patrol (at real places in Luton,
tests/dosage/simulate.py) that follows its plan."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from gripkit import Workspace
from gripkit.cli import app
from gripkit.patrol import experiment_design, save_plan, schedule_visits

from .simulate import A_IN, B_IN, areas, raw, track


def test_plan_followed_exactly_is_fully_compliant(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    plan = experiment_design(["A", "B"], treated_per_day=1, days=4, seed=1, start="2024-06-01")
    schedule = schedule_visits(plan.assignments, window="14:00-20:00", seed=1)
    with Workspace(db) as ws:
        save_plan(
            ws,
            kind="experiment",
            seed=1,
            params=plan.params,
            areas=areas(),
            assignments=plan.assignments,
            schedule=schedule,
        )
    where = {"A": A_IN, "B": B_IN}
    pings = pd.concat(
        [
            track(officer, [(str(r.start_utc), str(r.end_utc), where[r.area_id])])
            for r in schedule.itertuples()
            for officer in ("R1", "R2")
        ]
    )
    text = raw(pings)
    text[["officer_id", "timestamp", "x", "y"]].to_csv(tmp_path / "pings.csv", index=False)
    runner = CliRunner()
    got = runner.invoke(
        app,
        ["gps", "ingest", "-w", str(db), str(tmp_path / "pings.csv"), "--roster", "R1,R2", "--json"],
        catch_exceptions=False,
    )
    assert got.exit_code == 0, got.output
    report = json.loads(got.stdout)
    assert report["read"] == report["loaded"] == len(pings) and report["quarantined"] == 0
    got = runner.invoke(
        app,
        ["gps", "visits", "-w", str(db), "--out", str(tmp_path / "v.csv"), "--json"],
        catch_exceptions=False,
    )
    visits = pd.read_csv(tmp_path / "v.csv")
    assert json.loads(got.stdout)["patrol_visits"] == 4 == len(visits)  # one treated area a day for 4 days
    assert (visits["dwell_minutes"] == 15).all() and (visits["officers"] == 2).all()
    assert visits["start_local"].str.endswith("+0100").all()  # shown in Europe/London (BST in June)
    got = runner.invoke(
        app,
        ["gps", "compliance", "-w", str(db), "-o", str(tmp_path / "c.csv"), "--json"],
        catch_exceptions=False,
    )
    summary = json.loads(got.stdout)
    assert summary["compliance"] == 1.0 and summary["on_time_share"] == 1.0
    assert summary["visits_on_control_days"] == 0 and summary["plan_id"] == 1
    assert summary["summary"].startswith("Of 4 planned visits in plan 1, 4 (100.0%) were delivered")
    by_area_day = pd.read_csv(tmp_path / "c.csv")
    assert by_area_day["planned_visits"].sum() == 4 == by_area_day["delivered_visits"].sum()
    with Workspace(db) as ws:  # the job stored its result; the CLI only printed it
        stored = ws.latest_result("compliance")
    assert stored is not None and stored.payload["delivered_visits"] == 4 and stored.meta["plan_id"] == 1
