"""THE ACCEPTANCE TEST: the whole pipeline from Python through the front door, then the real report CLI.

``import gripkit as gk`` only: ingest real police.uk data (6 bundled Bedfordshire months) ->
harm-weighted Gi* hotspots -> a small naive backtest -> an Op Rowan-style experiment plan on the
Gi* hot cells -> GPS dosage -> power -> evaluation -> funding allocation, every job storing its
result in one workspace file; then ``gripkit report`` (the console script, in a subprocess) renders
every stored result, so nothing says "not run yet" and the hotspot section names the method run.

Two inputs are SIMULATED, because no open data exist for them:
* GPS pings: officers standing at the planned cells for each planned visit, built from the real
  cells of the plan with tests/dosage/simulate.py (no real officer data exist openly);
* the place-day outcomes of the experiment: Poisson counts at each cell's real mean daily rate,
  20% lower on treated place-days (an experiment's outcomes come after it has run).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import gripkit as gk
from dosage.simulate import raw, track  # tests/dosage (tests/ is on sys.path)
from gripkit import columns as C
from gripkit.results import KINDS

NOW = pd.Timestamp("2025-01-01")  # GPS ingest's clock: pings after it would be quarantined
SECONDS = 60  # the whole pipeline's budget (2 shared cores)


def gripkit_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed ``gripkit`` console script (beside this interpreter), as a user runs it."""
    script = Path(sys.executable).with_name("gripkit")
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=120)


def simulated_pings(plan: gk.PlanResult, path: Path) -> Path:
    """SIMULATED GPS: two officers standing at the planned cell for each planned visit (UTC)."""
    where = plan.candidates.set_index(C.AREA_ID).geometry.representative_point()
    frames = []
    for visit in plan.schedule.itertuples():
        point = where[visit.area_id]
        segment = [(str(visit.start_utc), str(visit.end_utc), (point.x, point.y))]
        frames += [track(officer, segment) for officer in ("R1", "R2")]
    raw(pd.concat(frames))[["officer_id", "timestamp", "x", "y"]].to_csv(path, index=False)
    return path


def simulated_place_days(plan: gk.PlanResult, hot: gk.HotspotResult, seed: int = 11) -> pd.DataFrame:
    """The plan's place-days with SIMULATED outcomes: Poisson(rate x 0.8 if treated, else rate).

    ``rate`` is each cell's real mean crimes per day over the hotspot window (2023-11..2024-04: 182 days).
    """
    days = (
        pd.Timestamp(hot.meta["window"]["last"])
        + pd.offsets.MonthEnd(0)
        - pd.Timestamp(hot.meta["window"]["first"])
    ).days + 1
    rates = hot.hotspots.set_index(C.UNIT_ID)[C.CRIMES] / days
    frame = plan.assignments[[C.AREA_ID, C.DATE, C.TREATED]].copy()
    mean = frame[C.AREA_ID].map(rates).to_numpy(dtype=float) * np.where(frame[C.TREATED] == 1, 0.8, 1.0)
    frame[C.COUNT] = np.random.default_rng(seed).poisson(mean)
    return frame


def test_whole_pipeline_from_python_then_the_report_cli(tmp_path: Path) -> None:
    started = time.perf_counter()
    path = tmp_path / "programme.duckdb"
    with gk.Workspace(path) as ws:
        ingested = gk.ingest(gk.datasets.bedfordshire_street_files()[-6:], ws)  # 2023-11 .. 2024-04
        hot = gk.find_hotspots(ws, method="gistar", weights="harm", harm="cchi", cell_size=250)
        gk.backtest(ws, models=["naive"], train="3M", horizon="1M", cell_size=500)
        hot_cells = hot.hotspots[hot.hotspots[C.HOT].astype(bool)]
        plan = gk.plan_patrols(
            ws, mode="experiment", areas_file=hot_cells, areas=6, treated_per_day=2, days=9, seed=7
        )
        gk.ingest_gps([simulated_pings(plan, tmp_path / "pings.csv")], ws, officers=["R1", "R2"], now=NOW)
        dosage = gk.compliance(ws)
        gk.op_rowan_power(ws, n_areas=6, treated_per_day=2, days=27, last=6, sims=50, seed=3)
        evaluation = gk.evaluate_experiment(ws, simulated_place_days(plan, hot), ri_draws=99, seed=5)
        allocation = gk.allocate(ws, pot=1_000_000, by="area", last=6)
        gk.audit_hotspots(ws, seed=1, null_draws=50)
        stored = {kind: ws.latest_result(kind) for kind, spec in KINDS.items() if not spec.internal}

    # every job stored its result; 6 files of real data went in
    assert ingested.to_dict()["files"] == 6
    for kind in ("hotspots", "backtest", "plan", "compliance", "power", "evaluation", "allocation"):
        assert stored[kind] is not None, f"{kind} was not stored by its job"
    assert stored["hotspots"].meta["request"]["method"] == "gistar"
    # hand: the simulated officers stood 15 minutes at each planned cell for every planned visit
    assert dosage.figures["planned_visits"] == dosage.figures["delivered_visits"] == len(plan.schedule)
    assert plan.figures["treated_place_days"] == 2 * 9 and plan.figures["place_days"] == 6 * 9
    assert evaluation.kind == "evaluation" and allocation.kind == "allocation"

    out = tmp_path / "report.html"
    run = gripkit_cli("report", "-w", str(path), "-o", str(out), "--json")
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)  # one JSON object on stdout
    assert answer["out"] == str(out)
    assert set(answer["sections"].values()) == {"shown"}, answer["sections"]
    html = out.read_text()
    assert "not run yet" not in html
    heading = re.search(r'<section id="map"><h2>(.*?)</h2>', html)
    assert heading and "Gi*" in heading.group(1) and "harm-weighted" in heading.group(1), heading
    # the hour x weekday section says plainly that police.uk has months only
    assert "no offence times" in re.search(r'<section id="hour-weekday">(.*?)</section>', html, re.S).group(1)
    assert time.perf_counter() - started < SECONDS
