"""``--source`` through plans and forecasts (issue 19): one source, several, or all combined.

Real police.uk rows (the bundled Bedfordshire months) plus SYNTHETIC health rows: copies of the
real violence rows of two LSOAs, marked ``source = 'health'`` (no open record-level ED data
exists; the ED ingest itself is tested in tests/ingestion/test_ed.py). The expected areas and
counts follow from the planted rows, counted here with plain SQL.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gripkit import Workspace, backtest, datasets
from gripkit.errors import InputError
from gripkit.ingestion import ingest
from gripkit.patrol import plan_patrols

HEALTH_LSOAS = ("E01015749", "E01017518")  # Luton 005A and Bedford 014A: 99 and 71 violence rows


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    path = tmp_path_factory.mktemp("sources") / "ws.duckdb"
    workspace = Workspace(path)
    ingest(datasets.bedfordshire_street_files(), workspace)
    # each real violence row of the two LSOAs copied 3 times as a health record
    workspace.con.execute(
        "INSERT INTO crimes SELECT c.* REPLACE ("
        "  c.crime_id || '-ed' || t.copy::VARCHAR AS crime_id, 'health' AS source) "
        "FROM crimes AS c, range(3) AS t(copy) "
        "WHERE lsoa_code IN (?, ?) AND crime_type = 'Violence and sexual offences'",
        list(HEALTH_LSOAS),
    )
    return workspace


def _count(ws: Workspace, where: str) -> int:
    row = ws.con.execute(f"SELECT count(*) FROM crimes WHERE {where}").fetchone()
    assert row is not None
    return int(row[0])


def test_plan_areas_by_source(ws: Workspace) -> None:
    police = plan_patrols(ws, areas=5, treated_per_day=2, days=5, seed=1, store=False, sources=("police",))
    health = plan_patrols(ws, areas=2, treated_per_day=1, days=2, seed=1, store=False, sources=("health",))
    combined = plan_patrols(ws, areas=6, treated_per_day=2, days=6, seed=1, store=False)
    assert not set(HEALTH_LSOAS) & set(police.candidates.area_id)  # planted: the health LSOAs are not top-5
    assert sorted(health.candidates.area_id) == sorted(HEALTH_LSOAS)  # the only LSOAs with health rows
    assert health.meta["sources"] == ["health"] and combined.meta["sources"] is None
    # combined: a health copy matched to a police record counts once, as that record
    # (gripkit.hotspots.combined: one copy of each row, or a neighbour's); the unmatched copies
    # still lift Luton 005A from 32nd by police records alone to 6th (measured)
    assert set(HEALTH_LSOAS) & set(combined.candidates.area_id)
    with pytest.raises(InputError, match="probation"):
        plan_patrols(ws, areas=2, treated_per_day=1, days=2, seed=1, store=False, sources=("probation",))


def test_backtest_by_source(ws: Workspace) -> None:
    health = backtest(ws, models=["naive"], train="3M", horizon="1M", cell_size=500, workers=1,
                      sources=["health"], store=False)
    assert health.meta["sources"] == ["health"]
    planted = _count(ws, "source = 'health'")
    violence = "crime_type = 'Violence and sexual offences'"
    assert planted == 3 * _count(ws, f"source = 'police' AND {violence} AND lsoa_code IN {HEALTH_LSOAS}")
    # every scored crime of the health backtest is a health row: the test periods hold no more than planted
    assert 0 < int(health.table.drop_duplicates(["model", "step"])["crimes"].sum()) <= planted


def test_backtest_combined_counts_a_police_ed_pair_once(ws: Workspace) -> None:
    from gripkit.forecast.rolling import select_backtest_crimes

    combined, _ = select_backtest_crimes(ws)
    police, _ = select_backtest_crimes(ws, sources=["police"])
    health, _ = select_backtest_crimes(ws, sources=["health"])
    dropped = combined.attrs["matching"]["dropped"]
    assert len(combined) == len(police) + len(health) - dropped
    # each police violence row of the two LSOAs has its own 3 copies at its place and month, so each is
    # matched (one-to-one): at least n pairs; at most the 3n health rows
    violence = "crime_type = 'Violence and sexual offences'"
    n = _count(ws, f"source = 'police' AND {violence} AND lsoa_code IN {HEALTH_LSOAS} AND x IS NOT NULL")
    assert n <= dropped <= 3 * n == len(health)


def test_report_shows_the_results_of_the_chosen_sources(ws: Workspace) -> None:
    from gripkit.hotspots.find import find_hotspots
    from gripkit.report.full import ReportOptions, build_report

    police = find_hotspots(ws, cell_size=500, sources=("police",))
    health = find_hotspots(ws, cell_size=500, sources=("health",))
    both = find_hotspots(ws, cell_size=500)
    shown = {
        choice: build_report(ws, ReportOptions(sources=choice)).result_ids.get("hotspots")
        for choice in (None, (), ("police",), ("health",), ("health", "police"))
    }
    ids = {name: r.meta["result_id"] for name, r in (("police", police), ("health", health), ("all", both))}
    assert shown[None] == ids["all"]  # no filter: the latest hotspot run
    assert shown[()] == ids["all"] and shown[("police",)] == ids["police"]  # (): all combined
    assert shown[("health",)] == ids["health"]
    assert shown[("health", "police")] is None  # never run on exactly those two: the section is not run yet


def test_cli_plan_source(ws: Workspace, tmp_path: Path) -> None:
    ws.close()  # hand the file to the command (it reopens on the next use)
    out = tmp_path / "plan.csv"
    run = subprocess.run(
        [sys.executable, "-c", "from gripkit.cli import main; main()", "plan", "--experiment", "-w", ws.path,
         "-o", str(out), "--areas", "2", "--treated-per-day", "1", "--days", "2", "--seed", "1",
         "--source", "health", "--no-store"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert all(code in out.read_text() for code in HEALTH_LSOAS)
