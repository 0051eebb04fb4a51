"""The audit on real Bedfordshire data (three months of street and stop-and-search files)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gripkit import Workspace, datasets
from gripkit.audit import audit_hotspots
from gripkit.audit.stops import suppress
from gripkit.errors import InputError
from gripkit.ingestion import ingest

MONTHS = ("2024-02", "2024-03", "2024-04")


@pytest.fixture(scope="module")
def workspace(shared_data, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    archive = shared_data("bedfordshire", "police-uk-bedfordshire-2021-05-to-2024-04.zip")
    folder = tmp_path_factory.mktemp("audit")
    with zipfile.ZipFile(archive) as z:
        for name in z.namelist():
            if name[:7] in MONTHS and name.endswith(("-street.csv", "-stop-and-search.csv")):
                z.extract(name, folder)
    ws = Workspace(str(folder / "ws.duckdb"))
    ingest([str(folder)], ws)
    return ws


@pytest.fixture(scope="module")
def result(workspace: Workspace):
    return audit_hotspots(workspace, rounds=3, null_draws=40, seed=1)


def test_rates_equal_hand_counts(result, workspace: Workspace, shared_data) -> None:
    chosen = result.chosen
    # residents: the ONS census file itself (counts with thousands separators), summed by hand
    census = pd.read_csv(
        shared_data("population", "census_2011_lsoa_population_households.csv"), thousands=","
    )
    people = int(census.loc[census["LSOA Code"].isin(chosen), "Persons"].sum())
    assert result.residents["hotspots"]["residents"] == people
    # searches: stop-search points of the three months inside the chosen LSOA 2011 polygons
    rows = workspace.con.execute("SELECT x, y FROM stop_search WHERE x IS NOT NULL").df()
    polygons = datasets.bedfordshire_lsoa()
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(rows["x"], rows["y"]), crs=polygons.crs)
    joined = gpd.sjoin(points, polygons[["lsoa11cd", "geometry"]], predicate="within")
    searches = int(joined["lsoa11cd"].isin(chosen).sum())
    assert result.stop_search["hotspots"]["searches"] == searches
    assert result.to_dict()["stop_search_per_1000"]["hotspots"] == pytest.approx(1000 * searches / people)
    # proactive share: CCHI weight of Possession of weapons (273.75 days) x its crimes in the chosen
    # areas, over the serious-violence harm there (the types' CCHI weights from the bundled table)
    # crimes: by their published LSOA code when it is a 2011 code, else by the polygon holding the
    # point (police.uk switched to 2021 codes part-way; the unit step places those by coordinates)
    crimes = workspace.crimes()
    known = crimes["lsoa_code"].isin(set(polygons["lsoa11cd"]))
    moved = gpd.GeoDataFrame(
        crimes[~known],
        geometry=gpd.points_from_xy(crimes.loc[~known, "x"], crimes.loc[~known, "y"]),
        crs=polygons.crs,
    )
    placed = gpd.sjoin(moved, polygons[["lsoa11cd", "geometry"]], predicate="within")
    where = pd.concat(
        [
            crimes.loc[known, ["crime_type", "lsoa_code"]],
            placed[["crime_type", "lsoa11cd"]].rename(columns={"lsoa11cd": "lsoa_code"}),
        ]
    )
    counts = where[where["lsoa_code"].isin(chosen)]["crime_type"].value_counts()
    weapons = 273.75 * counts.get("Possession of weapons", 0)
    total = (
        weapons + 365.0 * counts.get("Robbery", 0) + 230.89 * counts.get("Violence and sexual offences", 0)
    )
    basis = result.rests_on["hotspots"]["basis"]
    assert basis["proactive_harm"] == pytest.approx(weapons)
    assert basis["proactive_share"] == pytest.approx(weapons / total)
    assert result.meta["harm_table"] == "cchi" and workspace.latest_result("audit") is not None


def test_zero_uplift_stays_in_the_null_band(workspace: Workspace) -> None:
    """Rule: with no uplift and no effect each round is an independent Poisson re-draw of the real
    counts, so at most one of six rounds may leave the 99% null band of the Gini (P(two or more
    outside) = 1 - 0.99**6 - 6 * 0.01 * 0.99**5 = 0.0015)."""
    run = audit_hotspots(workspace, rounds=6, uplift=0.0, null_draws=100, seed=3, store=False)
    outside = sum(row["outside_null_band"] for row in run.feedback["rounds"][1:])
    assert outside <= 1
    assert all(row["detection_harm"] == 0 for row in run.feedback["rounds"])


def test_uplift_raises_concentration_beyond_the_band(workspace: Workspace) -> None:
    """An uplift of 0.5 on every type recorded in patrolled areas: every round's Gini above the band."""
    run = audit_hotspots(
        workspace, rounds=3, uplift=0.5, reactive_uplift=0.5, null_draws=100, seed=3, store=False
    )
    high = run.feedback["null_band"]["gini"][1]
    assert all(row["gini"] > high for row in run.feedback["rounds"][1:])
    assert run.feedback["rounds"][-1]["gini"] > run.feedback["no_uplift"][-1]["gini"]


def test_suppression_hides_complements() -> None:
    # hand example: 3 < 10 is hidden; its row and column partners are hidden so no subtraction recovers it
    table = pd.DataFrame({"a": [3, 20, 23], "b": [30, 40, 70]}, index=["x", "y", "all"])
    shown = suppress(table, 10)
    assert shown.loc["x", "a"] == "<10"
    assert (shown == "suppressed").to_numpy().sum() == 3
    for line in (shown.loc["x"], shown["a"]):
        assert sum(value in ("<10", "suppressed") for value in line) >= 2
    assert np.all(shown.loc["all"] == ["23", "70"])


def test_bad_input(workspace: Workspace) -> None:
    with pytest.raises(InputError, match="'unit' must be 'lsoa'"):
        audit_hotspots(workspace, unit="grid", store=False)
    with pytest.raises(InputError, match="'uplift' must be a detection uplift"):
        audit_hotspots(workspace, uplift=-1, store=False)
    with pytest.raises(InputError, match="unknown crime type"):
        audit_hotspots(workspace, proactive=["Jaywalking"], store=False)
    assert Path(workspace.path).exists()
