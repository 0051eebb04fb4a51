"""``gripkit report --plan N``: the report shows stored plan N and, of each kind run on a plan, the
result run on N (bundled Bedfordshire months; two seeded plans; compliance measured for one)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gripkit import Workspace, datasets
from gripkit.dosage import compliance
from gripkit.ingestion import ingest
from gripkit.patrol.job import plan_patrols
from gripkit.report.full import ReportOptions, build_report


def test_report_plan_picks_the_plan_and_its_results() -> None:
    ws = Workspace(":memory:")
    ingest(datasets.bedfordshire_street_files(), ws)
    first = plan_patrols(ws, seed=1, days=3, treated_per_day=7)
    second = plan_patrols(ws, seed=2, days=3, treated_per_day=7)
    checked = compliance(ws, plan_id=first.plan_id, sources=["officer"])
    latest = build_report(ws, ReportOptions())
    on_first = build_report(ws, ReportOptions(plan_id=first.plan_id))
    on_second = build_report(ws, ReportOptions(plan_id=second.plan_id))
    assert latest.result_ids["plan"] == second.meta["result_id"]
    assert on_first.result_ids["plan"] == first.meta["result_id"]
    assert on_first.result_ids["compliance"] == checked.meta["result_id"]
    assert on_second.result_ids["plan"] == second.meta["result_id"]
    assert "compliance" not in on_second.result_ids  # never measured on plan 2: "not run yet"
    assert on_second.sections["dosage"] == "not run yet" and on_first.sections["dosage"] == "shown"
    # sections not tied to a plan are unaffected
    assert on_first.sections.get("provenance") == latest.sections.get("provenance")


def test_cli_report_plan(tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ingest(datasets.bedfordshire_street_files()[:3], ws)
        first = plan_patrols(ws, seed=1, days=3, treated_per_day=7)
        plan_patrols(ws, seed=2, days=3, treated_per_day=7)
    run = subprocess.run(
        [sys.executable, "-c", "from gripkit.cli import main; main()", "report", "-w", str(path),
         "--plan", str(first.plan_id), "--out", str(tmp_path / "r.html"), "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["result_ids"]["plan"] == first.meta["result_id"]
