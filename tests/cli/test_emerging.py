"""`gripkit emerging` on real police.uk data: JSON shape, the stored result, the null counts printed,
the coverage refusal, and the calibration of the trend categories under a month-shuffled null.

Data: the bundled real Bedfordshire street files (2023-05..2024-04; six months here, so it is fast),
the two-force workspace of ``conftest.two_force_workspace`` (real files; West Yorkshire holds three
old months only), and the 36 months of the shared Bedfordshire zip for the calibration.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gripkit import Workspace
from gripkit import columns as col
from gripkit.datasets import bedfordshire_street_files
from gripkit.harm import serious_violence_types
from gripkit.hotspots.classify import CATEGORIES, _emerging
from gripkit.hotspots.emerging_job import TRENDING, month_shuffled_counts
from gripkit.units import GridUnits

WINDOW = "2023-05..2023-10"


def gripkit(*args: str, workspace: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gripkit", *args],
        cwd=workspace.parent,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "GRIPKIT_WORKSPACE": str(workspace), "COLUMNS": "120"},
    )


@pytest.fixture(scope="module")
def bedfordshire_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("emerging") / "w.duckdb"
    done = gripkit("ingest", *map(str, bedfordshire_street_files()[:6]), workspace=path)
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="module")
def emerging_json(bedfordshire_ws: Path) -> dict:
    done = gripkit(
        "emerging",
        "--months",
        WINDOW,
        "--cell-size",
        "500",
        "--null-runs",
        "2",
        "--json",
        workspace=bedfordshire_ws,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_json_shape_and_null_counts(emerging_json: dict) -> None:
    payload = emerging_json
    assert set(payload) >= {"meta", "counts", "null", "result_id"}
    meta = payload["meta"]
    assert meta["slices"] == ["2023-05", "2023-06", "2023-07", "2023-08", "2023-09", "2023-10"]
    assert meta["window"] == {"first": "2023-05", "last": "2023-10"}
    assert meta["p_values"] == "permutation" and "exact permutation" in meta["p_value_method"]
    assert meta["time_step"] == 1 and meta["null_runs"] == 2 and meta["seed"] == 0
    assert (
        meta["data_coverage"]["complete"]
        and meta["data_coverage"]["forces"]["Bedfordshire"]["months_held"] == 6
    )
    counts = {row["category"]: row for row in payload["counts"]}
    assert list(counts) == list(CATEGORIES)
    runs = payload["null"]["counts"]
    assert payload["null"]["runs"] == len(runs) == 2
    n_units = sum(row["units"] for row in payload["counts"])
    for run in runs:  # each run classifies every unit once
        assert sum(run.values()) == n_units
    for name, row in counts.items():  # null_mean is the mean of the runs, printed beside the real count
        assert row["null_mean"] == pytest.approx(np.mean([run[name] for run in runs]))
        assert row["null_min"] == min(run[name] for run in runs)
    assert payload["null"]["trending_per_run"] == [sum(run[c] for c in TRENDING) for run in runs]
    # real Bedfordshire has hot spots that stay hot: hot in all 6 months (persistent or consecutive
    # categories need the last month hot), and so does its month-shuffled copy (places are kept)
    assert counts["persistent"]["units"] > 0 and counts["persistent"]["null_mean"] > 0


def test_result_is_stored_by_the_library(emerging_json: dict, bedfordshire_ws: Path) -> None:
    with Workspace(bedfordshire_ws, read_only=True) as ws:
        stored = ws.stored_result(int(emerging_json["result_id"]))
        assert stored.kind == "emerging"
        assert set(stored.table_names) == {"emerging", "counts"}
        layer = ws.result_table(stored.result_id, "emerging")
    assert stored.payload["counts"] == emerging_json["counts"]
    real = layer["category"].astype(str).value_counts()
    for row in emerging_json["counts"]:
        assert int(real.get(row["category"], 0)) == row["units"]


def test_text_prints_the_null_beside_the_real_counts(bedfordshire_ws: Path) -> None:
    done = gripkit(
        "emerging",
        "--months",
        WINDOW,
        "--cell-size",
        "500",
        "--null-runs",
        "1",
        "--seed",
        "3",
        workspace=bedfordshire_ws,
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "null = mean of 1 month-shuffled runs (seed 3)" in " ".join(text.split())
    assert "null mean" in text and "null range" in text and "kind emerging" in text
    stored = json.loads(
        gripkit(
            "emerging",
            "--months",
            WINDOW,
            "--cell-size",
            "500",
            "--null-runs",
            "1",
            "--seed",
            "3",
            "--json",
            workspace=bedfordshire_ws,
        ).stdout
    )
    for row in stored["counts"]:  # each table row: category, real units, null mean, null range
        line = rf"│ {re.escape(row['category'])}\s+│\s+{row['units']:,} │\s+{row['null_mean']:,.1f} │"
        assert re.search(line, text), row


def test_coverage_gap_refuses_naming_the_force(two_force_workspace: Path) -> None:
    with Workspace(two_force_workspace, read_only=True) as ws:
        before = len(ws.results_log())
    done = gripkit("emerging", "--cell-size", "1000", "--null-runs", "0", workspace=two_force_workspace)
    assert done.returncode != 0
    message = " ".join(done.stderr.split())
    assert "West Yorkshire holds 3 of the" in message and "--exclude-force" in message
    assert "--allow-gaps" in message
    with Workspace(two_force_workspace, read_only=True) as ws:
        assert len(ws.results_log()) == before  # nothing stored on a refusal
    # flagged instead with --allow-gaps: both forces miss months of 2023-01..2023-06
    done = gripkit(
        "emerging",
        "--months",
        "2023-01..2023-06",
        "--cell-size",
        "1000",
        "--null-runs",
        "0",
        "--allow-gaps",
        "--json",
        workspace=two_force_workspace,
    )
    assert done.returncode == 0, done.stderr
    meta = json.loads(done.stdout)["meta"]
    assert meta["data_coverage"]["flagged"] == ["Bedfordshire", "West Yorkshire"]
    assert "Bedfordshire holds 3 of 6 months (missing 2023-01..2023-03)" in meta["coverage_note"]
    # or the other force left out: Bedfordshire alone holds its whole span
    done = gripkit(
        "emerging",
        "--cell-size",
        "1000",
        "--null-runs",
        "0",
        "--exclude-force",
        "West Yorkshire",
        "--json",
        workspace=two_force_workspace,
    )
    assert done.returncode == 0, done.stderr
    meta = json.loads(done.stdout)["meta"]
    assert meta["exclude_forces"] == ["West Yorkshire"] and meta["data_coverage"]["complete"]
    assert meta["window"] == {"first": "2023-04", "last": "2024-04"}


#: month-shuffled runs of the calibration check; a 5% procedure gives a trending cell in at most 5%
#: of them: P(Binomial(20, 0.05) >= 4) = 1.6%, so more than 3 runs with one is a failure
CALIBRATION_RUNS = 20


@pytest.mark.parametrize("trend", ["z", "share"])
def test_month_shuffled_null_trending_categories_are_calibrated(
    bedfordshire_crimes, bedfordshire_area, trend: str
) -> None:
    # 24 real months of serious violence (2022-05..2024-04) on the 250 m grid (20,322 cells)
    crimes = bedfordshire_crimes(36)
    crimes = crimes[crimes["crime_type"].isin(serious_violence_types())]  # the bundled police.uk proxy
    crimes = crimes[crimes[col.MONTH] >= "2022-05-01"]
    units = GridUnits.from_crimes(crimes, cell_size=250, area=bedfordshire_area)
    runs = month_shuffled_counts(crimes, units, runs=CALIBRATION_RUNS, seed=11, trend=trend)
    trending = [sum(run[c] for c in TRENDING) for run in runs]
    # measured (seed 11): 0 of 20 runs with a trending cell, for both trends (36 months: docs/hotspots.md)
    assert sum(t > 0 for t in trending) <= 3, trending
    # the real data, by contrast, keep their persistent hot spots, and so does the null (places kept)
    real, _ = _emerging(crimes, units, trend=trend)
    assert (real["category"] == "persistent").sum() > 0
    assert np.mean([run["persistent"] for run in runs]) > 0
