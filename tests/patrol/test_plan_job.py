"""plan_patrols: both modes from Python, stored as a "plan" result, the same bytes as ``gripkit plan``.

Real data: the bundled Bedfordshire street crime (police.uk, 2023-05..2024-04) and LSOA polygons.
Expected numbers are hand calculations written next to them; Op Rowan's shape (Bland, Leggetter,
Cestaro & Sebire 2021): 21 areas, 7 treated a day for 90 days.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

import gripkit as gk
from gripkit import Workspace, datasets
from gripkit.cli import app, command_flags
from gripkit.cli.options import flag_message
from gripkit.errors import InputError
from gripkit.hotspots.find import find_hotspots
from gripkit.patrol import PlanResult, check_areas, choose_areas, load_plan, plan_patrols, read_areas

ROWAN = {"areas": 21, "treated_per_day": 7, "days": 90}


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_experiment_from_python_is_stored_and_matches_the_cli(bedfordshire_workspace: Path, tmp_path: Path):
    with Workspace(bedfordshire_workspace) as ws:
        result = plan_patrols(ws, mode="experiment", seed=7, **ROWAN)
        assert gk.plan_patrols is plan_patrols and isinstance(result, PlanResult)
        stored = ws.latest_result("plan")
        assert stored is not None and stored.result_id == result.meta["result_id"]
        plan = load_plan(ws)
    assert result.plan_id == plan.plan_id and stored.meta["plan_id"] == plan.plan_id
    assert stored.meta["seed"] == 7 and stored.meta["seed_drawn"] is False
    assert stored.meta["mode"] == "experiment"
    assert stored.meta["start"] == "2024-05-01"  # the bundled data ends in 2024-04
    assert stored.meta["harm_table"] == "cchi" and len(stored.meta["harm_sha256"]) == 64
    # hand: 21 areas x 90 days = 1,890 place-days; 7 a day x 90 days = 630 treated; 630 / 21 = 30 each
    assert stored.payload["figures"] == {
        "treated_place_days": 630,
        "place_days": 1890,
        "treated_days_per_area": [30],
        # the fewest walking teams (exact chain cover, checked in tests/patrol/test_teams.py)
        "teams_needed": 6,
        "teams": 6,
        "team_speed_kmh": 4.0,
    }
    assert stored.payload["visits"] == 630 and stored.payload["areas"] == 21
    assert stored.summary == (
        "Experiment: 21 LSOAs, 7 treated each day for 90 days from 2024-05-01 (630 of 1,890 place-days), "
        "one 15-minute two-officer visit between 14:00 and 24:00; seed 7. "
        "Areas chosen over 2023-05..2024-04 (every month held, announced). "
        # the LSOAs over 1 km² (sizes measured from the polygons in tests/patrol/test_size.py)
        "5 area(s) over 1 km², too large for one foot patrol, kept and flagged: E01017578 (5.58 km²), "
        "E01017423 (16.71 km²), E01017548 (9.2 km²), E01017461 (3.86 km²), E01015808 (2.38 km²). "
        f"Stored as plan {plan.plan_id}."
    )
    assert stored.table_names == ("areas", "assignments", "schedule")
    # the plan tables the dashboard and officers read are written as before
    assert plan.seed == 7 and len(plan.assignments) == 1890 and len(plan.schedule) == 630
    with Workspace(bedfordshire_workspace) as ws:
        areas = ws.result_table(stored.result_id, "areas")
        assert ws.result_table(stored.result_id, "assignments")["treated"].sum() == 630
    assert isinstance(areas, gpd.GeoDataFrame) and "geometry_wkb" not in areas.columns
    assert sorted(areas["area_id"]) == sorted(plan.areas["area_id"])
    # the same seed gives the same plan CSV bytes as the CLI
    result.write_csv(tmp_path / "python.csv")
    cli(
        "plan",
        "-w",
        str(bedfordshire_workspace),
        "--experiment",
        "--seed",
        "7",
        "--no-store",
        "-o",
        str(tmp_path / "cli.csv"),
    )
    assert (tmp_path / "python.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()


def test_budget_from_python_is_stored_and_matches_the_cli(bedfordshire_workspace: Path, tmp_path: Path):
    with Workspace(bedfordshire_workspace) as ws:
        result = plan_patrols(ws, mode="budget", budget_hours=3, areas=30, days=7, seed=1, travel_minutes=0)
        stored = ws.latest_result("plan")
    assert stored is not None and stored.meta["mode"] == "budget" and stored.meta["seed"] == 1
    # hand: 3 officer-hours = 180 officer-minutes a day; a visit is 2 officers x 15 minutes = 30, so 6
    # visits a day, one each (max_visits 1) to the 6 candidates with most harm; 6 x 7 days = 42 visits
    chosen = result.choice.chosen if result.choice is not None else None
    assert chosen is not None and chosen["area_id"].tolist() == result.candidates["area_id"].head(6).tolist()
    assert stored.payload["figures"]["areas_chosen"] == 6 and stored.payload["figures"]["visits_per_day"] == 6
    assert stored.payload["visits"] == 42 and len(result.assignments) == 42
    assert stored.summary.startswith(
        "Budget: 6 of 30 LSOAs chosen under 3 officer-hours a day, 6 visits a day for 7 days from 2024-05-01 "
        "(42 visits), covering "
    )
    result.write_csv(tmp_path / "python.csv")
    cli(
        "plan",
        "-w",
        str(bedfordshire_workspace),
        "--budget-hours",
        "3",
        "--areas",
        "30",
        "--days",
        "7",
        "--seed",
        "1",
        "--travel-minutes",
        "0",
        "--no-store",
        "-o",
        str(tmp_path / "cli.csv"),
    )
    assert (tmp_path / "python.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()


def test_a_drawn_seed_is_announced_recorded_and_re_derives_the_plan(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    areas = pd.DataFrame({"area_id": [f"a{i:02d}" for i in range(6)]})
    with caplog.at_level(logging.INFO, logger="gripkit"):
        drawn = plan_patrols(None, areas_file=areas, areas=6, treated_per_day=2, days=6, start="2024-06-01")
    assert drawn.meta["seed_drawn"] is True and drawn.plan_id is None
    assert f"seed {drawn.seed} drawn at random" in caplog.text and f"seed={drawn.seed}" in caplog.text
    again = plan_patrols(
        None, areas_file=areas, areas=6, treated_per_day=2, days=6, start="2024-06-01", seed=drawn.seed
    )
    assert again.meta["seed_drawn"] is False
    first, second = drawn.write_csv(tmp_path / "a.csv"), again.write_csv(tmp_path / "b.csv")
    assert first.read_bytes() == second.read_bytes()
    # hand: 6 areas x 6 days = 36 place-days, 2 treated a day x 6 days = 12
    assert (drawn.figures["place_days"], drawn.figures["treated_place_days"]) == (36, 12)
    # areas without polygons: the areas table is a plain frame (nothing to draw)
    assert type(drawn.tables()["areas"]) is pd.DataFrame


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "budget"}, r"'budget_hours' must be given to plan in budget mode; received None"),
        ({"budget_hours": 3.0}, r"'budget_hours' applies to budget mode only; received 3.0"),
        ({"mode": "random"}, r"'mode' must be one of experiment, budget; received 'random'"),
        ({"start": None}, r"'start' must be given when there is no workspace"),
        ({"days": 0}, r"'days' must be a whole number >= 1; received 0"),
    ],
)
def test_bad_input(kwargs: dict, message: str) -> None:
    args = {
        "areas_file": pd.DataFrame({"area_id": ["a", "b", "c"]}),
        "areas": 3,
        "treated_per_day": 1,
        "days": 3,
        "seed": 1,
        "start": "2024-06-01",
        **kwargs,
    }
    with pytest.raises(InputError, match=message):
        plan_patrols(None, **args)


def test_library_errors_are_shown_with_the_plan_flags() -> None:
    with pytest.raises(InputError) as info:
        plan_patrols(
            None,
            areas_file=pd.DataFrame({"area_id": ["a", "b"]}),
            areas=2,
            budget_hours=3,
            seed=1,
            start="2024-06-01",
            treated_per_day=1,
            days=2,
        )
    shown = flag_message(str(info.value), command_flags(["plan"]))
    assert shown.startswith("--budget-hours applies to budget mode only")


def test_unit_ids_pass_unchanged_from_hotspots_to_the_plan(bedfordshire_workspace: Path, tmp_path: Path):
    """One spelling: a patrol area's area_id is the hotspot unit's unit_id, through files and the store."""
    with Workspace(bedfordshire_workspace) as ws:
        grid = find_hotspots(ws, unit="grid", harm="cchi", store=False).hotspots
        lsoa = find_hotspots(ws, unit="lsoa", harm="cchi", serious_violence=True, store=False).hotspots
        top_grid = grid[grid["harm"] > 0].head(9)
        paths = {".parquet": tmp_path / "grid.parquet", ".csv": tmp_path / "grid.csv"}
        gpd.GeoDataFrame(top_grid).to_parquet(paths[".parquet"])
        pd.DataFrame(top_grid.drop(columns="geometry")).to_csv(paths[".csv"], index=False)
        for path in paths.values():
            plan = plan_patrols(
                ws, areas_file=path, areas=9, treated_per_day=3, days=3, seed=2, start="2024-05-01"
            )
            stored = load_plan(ws, plan.plan_id)
            expected = sorted(top_grid["unit_id"].astype(str))
            assert expected[0].startswith("g")  # grid ids such as g123_456
            assert sorted(plan.candidates["area_id"]) == expected
            assert sorted(stored.areas["area_id"]) == expected
            assert sorted(set(stored.assignments["area_id"])) == expected
            assert set(stored.schedule["area_id"]) <= set(expected)
        # the workspace's default areas are the serious-violence LSOA units, codes unchanged
        default = plan_patrols(ws, areas=21, seed=3, days=3, start="2024-05-01", store=False)
    top_lsoa = lsoa[lsoa["harm"] > 0].head(21)["unit_id"].astype(str).tolist()
    assert default.candidates["area_id"].tolist() == top_lsoa and top_lsoa[0].startswith("E01")


def test_candidate_areas_keep_their_ids_through_a_file(tmp_path: Path) -> None:
    from gripkit.hotspots.count import count
    from gripkit.hotspots.select import candidate_areas
    from gripkit.units import GridUnits

    units = GridUnits(100, (0, 0, 999, 999))
    crimes = pd.DataFrame(
        {"x": [250.0, 350.0, 950.0, 650.0], "y": [250.0, 250.0, 950.0, 650.0], "harm": [10.0, 8.0, 3.0, 5.0]}
    )
    areas = candidate_areas(count(crimes, units), units, max_area_m2=30_000)
    path = tmp_path / "candidates.parquet"
    areas.to_parquet(path)
    read = read_areas(path)
    assert sorted(read["area_id"]) == sorted(str(a) for a in areas["area_id"])


def test_weights_name_the_column_that_weighs_the_areas() -> None:
    frame = pd.DataFrame({"area_id": ["a", "b", "c"], "harm": [9.0, 5.0, 4.0], "crimes": [1, 10, 5]})
    assert check_areas(frame, weights="crimes")["area_id"].tolist() == ["b", "c", "a"]
    # 1 officer-hour buys two 30-officer-minute visits: by crimes b (10) and c (5), objective 15 (hand)
    choice = choose_areas(frame, officer_hours=1.0, travel_minutes=0, weights="crimes")
    assert choice.chosen["area_id"].tolist() == ["b", "c"] and choice.objective == pytest.approx(15.0)
    with pytest.raises(InputError, match="'weights' must name a column of candidates; received 'calls'"):
        choose_areas(frame, officer_hours=1.0, travel_minutes=0, weights="calls")


def test_areas_in_degrees() -> None:
    lsoa = datasets.bedfordshire_lsoa().head(3).rename(columns={"lsoa11cd": "area_id"})
    with pytest.raises(InputError, match="degrees"):
        check_areas(lsoa.to_crs("EPSG:4326"))


def test_geojson_in_wgs84_is_read_in_metres(tmp_path: Path) -> None:
    lsoa = datasets.bedfordshire_lsoa().head(3).rename(columns={"lsoa11cd": "area_id"})
    lsoa.to_crs("EPSG:4326").to_file(tmp_path / "a.geojson", driver="GeoJSON")  # RFC 7946: WGS84
    read = read_areas(tmp_path / "a.geojson")
    assert read.crs.to_epsg() == 27700 and sorted(read["area_id"]) == sorted(lsoa["area_id"])
    # the round trip through degrees moves the polygons by far less than a metre
    again = read.set_index("area_id").geometry
    original = lsoa.set_index("area_id").geometry
    assert max(shapely.hausdorff_distance(again[a], original[a]) for a in original.index) < 0.01
