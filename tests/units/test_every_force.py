"""Every force out of the box: LSOA hotspots, a plan and GPS dosage for West Yorkshire, no --boundaries.

The crimes are REAL Bedfordshire police.uk street rows (the bundled 2024-02..2024-04 files) RESHAPED
into a West Yorkshire month set, because no West Yorkshire crimes are in the project's data:

* every crime is put in the Bedfordshire LSOA 2011 polygon holding its coordinates (rows outside
  every Bedfordshire polygon, or without coordinates, are left out);
* the Bedfordshire LSOAs, ranked by crime count, are paired with the West Yorkshire LSOAs ranked by
  area (smallest first: the busiest places become compact urban LSOAs);
* each crime moves from its Bedfordshire LSOA's centroid to the paired LSOA's centroid, its offset
  scaled by the square root of the area ratio (so it lands in or near the paired polygon);
* ``Falls within``/``Reported by`` become "West Yorkshire Police", ``LSOA code``/``LSOA name`` the
  paired LSOA's, except crimes that carried a 2021 LSOA code (not a 2011 one): they keep it, so the
  units must place them by their coordinates, as today for Bedfordshire.

The files are written as police.uk month folders (``2024-02/2024-02-west-yorkshire-street.csv``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gripkit import Workspace, datasets
from gripkit.cli import app
from gripkit.columns import BNG, WGS84
from gripkit.patrol import load_plan

WY = "West Yorkshire Police"
MONTHS = 3


def _west_yorkshire_months(folder: Path) -> pd.DataFrame:
    """Write the reshaped month folders into ``folder``; return the rows written (with x, y)."""
    rows = pd.concat(
        [pd.read_csv(f, dtype=str) for f in datasets.bedfordshire_street_files()[-MONTHS:]], ignore_index=True
    )
    rows = rows[rows["Longitude"].notna() & rows["Latitude"].notna()].reset_index(drop=True)
    points = gpd.GeoSeries(
        gpd.points_from_xy(rows["Longitude"].astype(float), rows["Latitude"].astype(float)), crs=WGS84
    ).to_crs(BNG)
    beds = datasets.lsoa_2011("Bedfordshire")
    home_idx, poly_idx = beds.sindex.query(points, predicate="within")
    home = pd.Series(beds["lsoa11cd"].to_numpy()[poly_idx], index=home_idx)
    home = home[~home.index.duplicated()]
    rows, points = rows.loc[home.index].reset_index(drop=True), points.loc[home.index].reset_index(drop=True)
    rows["home"] = home.to_numpy()
    counts = rows["home"].value_counts()
    ranked = sorted(counts.index, key=lambda code: (-counts[code], code))
    wy = datasets.lsoa_2011("West Yorkshire")
    wy = wy.assign(area=wy.area).sort_values(["area", "lsoa11cd"]).reset_index(drop=True)
    pair = dict(zip(ranked, wy["lsoa11cd"].iloc[: len(ranked)], strict=True))
    b, w = beds.set_index("lsoa11cd"), wy.set_index("lsoa11cd")
    target = rows["home"].map(pair)
    scale = np.sqrt(w.loc[target, "area"].to_numpy() / b.loc[rows["home"], "geometry"].area.to_numpy())
    b_c, w_c = b.loc[rows["home"]].centroid, w.loc[target].centroid
    x = w_c.x.to_numpy() + (points.x.to_numpy() - b_c.x.to_numpy()) * scale
    y = w_c.y.to_numpy() + (points.y.to_numpy() - b_c.y.to_numpy()) * scale
    lonlat = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=BNG).to_crs(WGS84)
    is_2021 = ~rows["LSOA code"].isin(set(datasets.lsoa_2011()["lsoa11cd"]))
    rows["LSOA code"] = rows["LSOA code"].where(is_2021, target.to_numpy())
    rows["LSOA name"] = rows["LSOA name"].where(is_2021, w.loc[target, "lsoa11nm"].to_numpy())
    rows["Falls within"] = rows["Reported by"] = WY
    rows["Longitude"], rows["Latitude"] = lonlat.x.map("{:.6f}".format), lonlat.y.map("{:.6f}".format)
    rows["x"], rows["y"], rows["is_2021"] = x, y, is_2021.to_numpy()
    for month, group in rows.groupby("Month"):
        (folder / month).mkdir(parents=True)
        group.drop(columns=["home", "x", "y", "is_2021"]).to_csv(
            folder / month / f"{month}-west-yorkshire-street.csv", index=False
        )
    return rows


def run(*args: str) -> dict:
    got = CliRunner().invoke(app, [*args, "--json"], catch_exceptions=False)
    assert got.exit_code == 0, got.output
    return json.loads(got.stdout)


@pytest.fixture(scope="module")
def wy_workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("west_yorkshire")
    rows = _west_yorkshire_months(root / "police-uk")
    db = root / "wy.duckdb"
    run("ingest", "-w", str(db), *sorted(str(p) for p in (root / "police-uk").iterdir()))
    return db, rows


def test_reshaped_data_is_west_yorkshire(wy_workspace: tuple[Path, pd.DataFrame]) -> None:
    db, rows = wy_workspace
    with Workspace(db) as ws:
        forces = ws.con.execute("SELECT force, count(*) FROM crimes GROUP BY force").fetchall()
    assert [f for f, _ in forces] == ["West Yorkshire"]
    # nearly every moved crime lies in the force area (the ingest quarantines the rest)
    assert sum(n for _, n in forces) > 0.9 * len(rows)
    assert rows["is_2021"].sum() > 100  # 2021 codes kept, to be placed by coordinates


def test_lsoa_gistar_hotspots_with_bundled_polygons(
    wy_workspace: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    db, rows = wy_workspace
    out, page = tmp_path / "h.parquet", tmp_path / "h.html"
    run("hotspots", "-w", str(db), "--unit", "lsoa", "--method", "gistar", "--html", str(page),
        "-o", str(out))
    layer = gpd.read_parquet(out)
    assert len(layer) == 1388  # West Yorkshire's LSOAs 2011 (ONS; the shared lsoa_2011_ew.gpkg agrees)
    assert layer.geometry.notna().all() and (layer.geometry.area > 0).all()
    assert int(layer["hot"].sum()) > 0
    assert "data:image/png;base64" in page.read_text()
    with Workspace(db) as ws:
        meta = ws.latest_result("hotspots").meta
    assert meta["boundaries"] == "bundled"
    # the rows with 2021 codes (not among the 1,388 LSOA 2011 units) are placed by their coordinates
    assert meta["unassigned"] == 0 and meta["assigned"] == meta["crimes"] > 0.9 * len(rows)


def test_plan_briefing_ics_and_gps_visits(wy_workspace: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    db, _ = wy_workspace
    plan_csv, ics, briefing = tmp_path / "plan.csv", tmp_path / "plan.ics", tmp_path / "briefing.html"
    run("plan", "-w", str(db), "--experiment", "--areas", "21", "--treated-per-day", "7", "--days", "15",
        "--seed", "5", "-o", str(plan_csv), "--ics", str(ics), "--briefing", str(briefing))
    with Workspace(db) as ws:
        plan = load_plan(ws)
    assert len(plan.areas) == 21 and (plan.areas.geometry.area > 0).all()
    assert set(plan.areas["area_id"]) <= set(datasets.lsoa_2011("West Yorkshire")["lsoa11cd"])
    first_day = plan.schedule[plan.schedule["date"] == plan.schedule["date"].min()]
    html = briefing.read_text()
    assert first_day["area_id"].nunique() == 7  # 7 treated a day
    pages = html.count("<section class='page'>")  # one page per area, team and shift of the first day
    assert pages >= 7 and html.count("<img class='map'") == pages and "No map" not in html
    events = ics.read_text().split("BEGIN:VEVENT")[1:]
    assert len(events) == 7 * 15
    geo = [re.search(r"GEO:([-\d.]+);([-\d.]+)", e) for e in events]
    assert all(g is not None for g in geo)
    lat = np.array([float(g.group(1)) for g in geo if g])
    lon = np.array([float(g.group(2)) for g in geo if g])
    assert ((lat > 53.5) & (lat < 54.0) & (lon > -2.2) & (lon < -1.2)).all()  # West Yorkshire
    # SIMULATED pings: two officers per visit standing inside the area for the planned 15 minutes
    inside = plan.areas.set_index("area_id").geometry.representative_point()
    pings = []
    for i, visit in enumerate(plan.schedule.head(21).itertuples()):
        times = pd.date_range(pd.Timestamp(visit.start_utc), pd.Timestamp(visit.end_utc), freq="30s")
        for officer in (f"P{i}a", f"P{i}b"):
            at, stamps = inside[visit.area_id], times.strftime("%Y-%m-%dT%H:%M:%SZ")
            pings.append(pd.DataFrame({"officer_id": officer, "timestamp": stamps, "x": at.x, "y": at.y}))
    pd.concat(pings).to_csv(tmp_path / "pings.csv", index=False)
    report = run("gps", "ingest", "-w", str(db), str(tmp_path / "pings.csv"))
    assert report["quarantined"] == 0  # inside the West Yorkshire force area
    visits = run("gps", "visits", "-w", str(db))
    assert visits["patrol_visits"] == 21  # one patrol visit per simulated visit, none lost
    assert visits["minutes"] == 21 * 15


def test_dashboard_lsoa_layer_has_polygons(wy_workspace: tuple[Path, pd.DataFrame]) -> None:
    from gripkit.dashboard.data import HotspotQuery, compute_hotspots, hotspots_geojson

    db, _ = wy_workspace
    query = HotspotQuery(unit="lsoa")
    with Workspace(db) as ws:
        layer = hotspots_geojson(compute_hotspots(ws, query), query)
    assert len(layer["features"]) > 100
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in layer["features"])


COMMANDS = (["hotspots"], ["allocate"], ["plan"], ["power"], ["report"], ["serve"], ["national"])


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_every_lsoa_command_takes_the_shared_boundaries_option(command: list[str]) -> None:
    got = CliRunner().invoke(app, [*command, "--help"], catch_exceptions=False, env={"COLUMNS": "200"})
    assert got.exit_code == 0 and "--boundaries" in got.output
    assert "Your own LSOA polygon file" in got.output  # the one shared help text (cli/options.py)


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--experiment", "--days", "15", "-o", "p.csv"],
        ["power", "--sims", "10", "--last", "3"],
        ["national", "x", "-o", "out"],
    ],
    ids=lambda a: a[0],
)
def test_boundaries_option_reaches_the_library(
    args: list[str], wy_workspace: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    db, _ = wy_workspace
    missing = tmp_path / "no-such.gpkg"
    got = CliRunner().invoke(app, [*args, "-w", str(db), "--boundaries", str(missing)])
    message = f"{got.output} {got.exception}"  # the runner keeps the InputError the CLI would print
    assert got.exit_code != 0
    assert "LSOA boundary file not found" in message and "no-such.gpkg" in message


def test_own_boundaries_file_gives_the_bundled_result(
    wy_workspace: tuple[Path, pd.DataFrame], tmp_path: Path, shared_data
) -> None:
    db, _ = wy_workspace
    gpkg = shared_data("boundaries", "lsoa_2011_ew.gpkg")
    for name, extra in (("bundled", []), ("file", ["--boundaries", str(gpkg)])):
        run("hotspots", "-w", str(db), "--unit", "lsoa", "-o", str(tmp_path / f"{name}.parquet"), *extra)
    with Workspace(db) as ws:
        assert ws.latest_result("hotspots").meta["boundaries"] == str(gpkg)
    bundled, own = (gpd.read_parquet(tmp_path / f"{n}.parquet") for n in ("bundled", "file"))
    cols = ["unit_id", "crimes", "harm", "harm_rank"]
    pd.testing.assert_frame_equal(bundled[cols], own[cols])
