"""Areas too large for a foot patrol (gripkit.patrol.size), on the bundled Bedfordshire months (real
police.uk data, 2023-05..2024-04) and the bundled LSOA 2011 polygons (ONS).

Expected values are measured independently of the code under test: each LSOA's area straight from
the bundled polygon file with shapely, and each replacement cell checked against every grid cell
whose centroid shapely finds inside the LSOA.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gripkit import Workspace, datasets
from gripkit.errors import InputError
from gripkit.hotspots.find import find_hotspots
from gripkit.ingestion import ingest
from gripkit.patrol import plan_patrols
from gripkit.patrol.size import check_limit, flag_large, patrollable


@pytest.fixture(scope="module")
def ws() -> Workspace:
    workspace = Workspace(":memory:")
    ingest(datasets.bedfordshire_street_files(), workspace)
    return workspace


def _lsoa_km2() -> dict[str, float]:
    """Area of every bundled LSOA polygon, km², from the file itself."""
    polygons = datasets.bedfordshire_lsoa()
    pairs = zip(polygons.lsoa11cd, polygons.geometry, strict=True)
    return {str(code): float(shapely.area(geom)) / 1e6 for code, geom in pairs}


def test_flag_marks_exactly_the_areas_over_the_limit(ws: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gripkit"):
        plan = plan_patrols(ws, seed=1, store=False)
    sizes = _lsoa_km2()
    expected = sorted(a for a in plan.candidates.area_id if sizes[a] > 1.0)
    # the two rural LSOAs (16.7 and 9.2 km²) are among them
    assert {"E01017423", "E01017548"} <= set(expected)
    assert sorted(plan.candidates.loc[plan.candidates.too_large, "area_id"]) == expected
    assert sorted(r["area_id"] for r in plan.meta["large_areas"]) == expected
    assert round(sizes["E01017423"], 1) == 16.7 and round(sizes["E01017548"], 1) == 9.2
    assert "E01017423 (16.71 km²)" in caplog.text and "--large-areas cells" in caplog.text
    assert f"{len(expected)} area(s) over 1 km²" in plan.summary()
    # a limit above every area flags none; None switches the limit off
    assert not plan_patrols(ws, seed=1, store=False, max_area_km2=20).meta["large_areas"]
    assert not plan_patrols(ws, seed=1, store=False, max_area_km2=None).meta["large_areas"]


def test_cells_replace_each_large_area_by_its_hottest_cell_inside(ws: Workspace) -> None:
    flagged = plan_patrols(ws, seed=1, store=False)
    plan = plan_patrols(ws, seed=1, store=False, large_areas="cells")
    assert len(plan.candidates) == len(flagged.candidates) == 21
    counted = find_hotspots(ws, unit="grid", serious_violence=True, months="2023-05..2024-04", store=False)
    grid = counted.hotspots
    polygons = datasets.bedfordshire_lsoa().set_index("lsoa11cd").geometry
    replaced = plan.candidates[plan.candidates.replaces.notna()]
    large = flagged.candidates.loc[flagged.candidates.too_large, "area_id"]
    assert sorted(replaced.replaces) == sorted(large)
    for _, row in replaced.iterrows():
        lsoa = polygons[row.replaces]
        inside = grid[[lsoa.contains(c) for c in grid.geometry.centroid]]
        hottest = inside.sort_values(["harm", "crimes", "unit_id"], ascending=[False, False, True]).iloc[0]
        assert row.area_id == hottest.unit_id and row.harm == pytest.approx(hottest.harm)
        assert row.area_m2 / 1e6 < 1.0
    # the cell keeps the LSOA's place in the ranking; the other areas are untouched
    keep = flagged.candidates.too_large.to_numpy()
    pd.testing.assert_series_equal(
        plan.candidates.area_id[~keep].reset_index(drop=True),
        flagged.candidates.area_id[~keep].reset_index(drop=True),
    )
    assert "replaced by their hottest grid cell" in plan.summary()


def test_flag_large_by_hand_and_bad_limits() -> None:
    frame = gpd.GeoDataFrame(
        {"area_id": ["a", "b", "c"], "area_m2": [0.2e6, 3e6, float("nan")]},
        geometry=[shapely.box(0, 0, 400, 500), shapely.box(0, 0, 1500, 2000), shapely.Point(0, 0)],
        crs=27700,
    )
    assert flag_large(frame, 1.0).too_large.tolist() == [False, True, False]  # 3 km² > 1; unknown: no
    assert flag_large(frame, None).too_large.tolist() == [False, False, False]
    with pytest.raises(InputError, match="positive number of square kilometres; received -1"):
        check_limit(-1)
    with pytest.raises(InputError, match="received no workspace"):
        patrollable(frame, large="cells")
    with pytest.raises(InputError, match="'large_areas' must be one of flag, cells"):
        patrollable(frame, large="split")


def test_cli_large_areas(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as workspace:
        ingest(datasets.bedfordshire_street_files(), workspace)
    out = tmp_path / "plan.csv"
    run = subprocess.run(
        [sys.executable, "-c", "from gripkit.cli import main; main()", "plan", "--experiment",
         "-w", str(path), "-o", str(out), "--seed", "1", "--large-areas", "cells", "--no-store"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "replaced by their hottest" in run.stderr + run.stdout
    written = pd.read_csv(out)  # one row per area-day
    expected = int(plan_patrols(ws, seed=1, store=False).candidates.too_large.sum())
    assert written.area_id[written.area_id.str.startswith("g")].nunique() == expected > 0  # grid ids: g…
