"""Every hotspot unit carries a human ``label`` (gripkit.hotspots.labels, docs/labels.md).

Real data: the bundled Bedfordshire police.uk months and LSOA polygons (gripkit.datasets), the Leeds
OpenStreetMap and Cleveland OS road networks of the shared data. The Leeds check moves real
Bedfordshire rows onto Leeds (real rows, synthetic placement: police.uk points for West Yorkshire are
not in the shared data); the tie and empty-text checks put real rows in one place (said there).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gripkit import Workspace, datasets
from gripkit.columns import HOTSPOT_COLUMNS, LABEL
from gripkit.dashboard.data import HotspotQuery, hotspots_geojson
from gripkit.hotspots.count import count
from gripkit.hotspots.find import (
    HotspotResult,
    find_hotspots,
    select_crimes,
    write_layer,
)
from gripkit.hotspots.labels import most_frequent, place
from gripkit.hotspots.select import candidate_areas
from gripkit.ingestion import ingest
from gripkit.patrol.areas import check_areas
from gripkit.patrol.export import briefing_html, schedule_ics
from gripkit.patrol.schedule import schedule_visits
from gripkit.report.page import write_hotspot_page
from gripkit.units import GridUnits
from gripkit.units.lsoa import LsoaUnits
from gripkit.units.segments import SegmentUnits, street_name

LEEDS = ("leeds", "leeds_centre_osm_roads.gpkg")
CLEVELAND = ("cleveland", "cleveland_roads.gpkg")


@pytest.fixture(scope="module")
def ws() -> Workspace:
    workspace = Workspace(":memory:")
    ingest(datasets.bedfordshire_street_files()[:3], workspace)  # 2023-05 to 2023-07
    return workspace


@pytest.fixture(scope="module")
def crimes(ws: Workspace) -> pd.DataFrame:
    return ws.crimes()


@pytest.fixture(scope="module")
def grid(ws: Workspace) -> HotspotResult:
    return find_hotspots(ws, cell_size=250, store=False)


def expected_top(texts: list[str]) -> str:
    """Most frequent text, ties alphabetical: counted here with collections.Counter."""
    counts = Counter(texts)
    return sorted(counts, key=lambda t: (-counts[t], t))[0]


def inside(crimes: pd.DataFrame, polygon: shapely.Geometry) -> pd.DataFrame:
    points = shapely.points(crimes["x"].to_numpy(dtype=float), crimes["y"].to_numpy(dtype=float))
    return crimes[shapely.contains(polygon, points)]


@pytest.mark.parametrize(
    ("unit", "method"),
    [
        ("grid", "count"),
        ("grid", "gistar"),
        ("grid", "kde"),
        ("hex", "count"),
        ("lsoa", "count"),
        ("lsoa", "gistar"),
    ],
)
def test_every_unit_with_crimes_has_a_label(ws: Workspace, unit: str, method: str) -> None:
    result = find_hotspots(ws, unit=unit, method=method, cell_size=500, store=False)
    layer = result.hotspots
    assert list(layer.columns[: len(HOTSPOT_COLUMNS)]) == list(HOTSPOT_COLUMNS)
    with_crimes = layer[layer["crimes"] > 0]
    assert len(with_crimes) > 100
    labels = with_crimes[LABEL]
    assert labels.notna().all() and (labels.str.strip().str.len() > 0).all()
    if unit == "lsoa":  # the LSOA's own name from the bundled polygons, e.g. "Luton 018F"
        names = datasets.bedfordshire_lsoa().set_index("lsoa11cd")["lsoa11nm"]
        assert (layer[LABEL].to_numpy() == names.loc[layer["unit_id"].astype(str)].to_numpy()).all()
    else:  # the Location text (police.uk prefixes every one with "On or near ") and an LSOA name
        assert labels.str.match(r"^On or near .+, .+ \d{3}[A-Z]$").mean() > 0.99
        assert layer.loc[layer["crimes"] == 0, LABEL].isna().all()  # empty cells: no label


def test_hand_checked_cells(grid: HotspotResult, crimes: pd.DataFrame) -> None:
    """The two highest-harm 250 m cells: the crimes inside counted here, with their texts."""
    for _, cell in grid.hotspots.head(2).iterrows():
        mine = inside(crimes, cell.geometry)
        assert len(mine) == cell["crimes"]  # the same crimes the cell counted
        where = expected_top([t for t in mine["location"].astype(str) if t != "No Location"])
        lsoa = expected_top(mine["lsoa_name"].dropna().astype(str).tolist())
        assert cell[LABEL] == f"{where}, {lsoa}"
        assert lsoa.split()[0] in {"Luton", "Bedford", "Central"}  # the LSOA name names the authority


def test_the_top_cell_by_its_label(ws: Workspace, grid: HotspotResult) -> None:
    top = grid.hotspots.iloc[0]
    assert f"; the top cell is {top[LABEL]} ({top['crimes']:,} crimes)" in grid.summary()
    assert grid.top(5)[LABEL].tolist() == grid.hotspots[LABEL].head(5).tolist()
    assert grid.to_dict()["top"][0][LABEL] == top[LABEL]
    stored = find_hotspots(ws, cell_size=250)  # stored in the workspace and read back
    back = ws.latest_result("hotspots")
    assert back is not None and back.summary == stored.summary()
    table = ws.result_table(back.result_id, "hotspots")
    assert table[LABEL].tolist() == stored.hotspots[LABEL].tolist()


@pytest.mark.parametrize("suffix", [".gpkg", ".parquet", ".csv"])
def test_files_carry_the_label(grid: HotspotResult, tmp_path: Path, suffix: str) -> None:
    path = write_layer(grid.hotspots, tmp_path / f"hotspots{suffix}")
    back = (
        pd.read_csv(path)
        if suffix == ".csv"
        else gpd.read_file(path)
        if suffix == ".gpkg"
        else (gpd.read_parquet(path))
    )
    assert back[LABEL].head(50).tolist() == grid.hotspots[LABEL].head(50).tolist()
    assert back.loc[back["crimes"] > 0, LABEL].notna().all()


def test_pages_dashboard_and_briefing_show_the_label(grid: HotspotResult, tmp_path: Path) -> None:
    top = grid.hotspots.iloc[0]
    page = write_hotspot_page(
        tmp_path / "p.html", grid.hotspots, grid.concentration, title="t", meta={}
    ).read_text()
    assert f"<td>{place(top)}</td>".replace("'", "&#x27;") in page
    features = hotspots_geojson(grid, HotspotQuery(limit=5))["features"]
    assert [f["properties"][LABEL] for f in features] == grid.hotspots[LABEL].head(5).tolist()
    # patrol areas from the hotspot layer keep the names into the officer's briefing and calendar
    areas = check_areas(grid.hotspots.head(3).rename(columns={"unit_id": "area_id"}))
    plan = pd.DataFrame({"date": [dt.date(2024, 6, 1)] * 3, "area_id": areas["area_id"], "visits": [1] * 3})
    schedule = schedule_visits(plan, seed=1)
    briefing = briefing_html(schedule, areas)
    for label in areas[LABEL]:
        assert label.replace("'", "&#x27;") in briefing
    calendar = schedule_ics(schedule, areas).replace("\r\n ", "")  # unfolded (RFC 5545 §3.1)
    assert "LOCATION:" + place(top).replace(",", "\\,") + "\r\n" in calendar
    grown = candidate_areas(grid.hotspots, None, n=3)
    assert grown[LABEL].iloc[0] == top[LABEL]  # an area is named by its seed, the top unit


def test_ties_go_alphabetically_and_blanks_never_win(crimes: pd.DataFrame) -> None:
    """Real rows from two streets put in one cell (synthetic placement), one crime each: a tie."""
    a, b = (
        crimes[crimes["location"] == text].iloc[:1]
        for text in ("On or near Wenlock Street", "On or near Alma Street")
    )
    assert len(a) == len(b) == 1, "the bundled months hold these streets"
    pair = pd.concat([a, b], ignore_index=True).assign(x=100.0, y=100.0, lon=0.0, lat=0.0)
    cells = GridUnits(250, (0, 0, 249, 249))
    assert count(pair, cells)[LABEL].iloc[0].startswith("On or near Alma Street, ")
    # police.uk's "No Location" and blanks are never a label: more of them still lose to one text
    three = pd.concat([pair, pair.assign(location="No Location"), pair.assign(location="  ")])
    assert count(three, cells)[LABEL].iloc[0].startswith("On or near Alma Street, ")
    lsoa_only = pair.assign(location=None)
    assert count(lsoa_only, cells)[LABEL].iloc[0] == expected_top(pair["lsoa_name"].tolist())
    nothing = pair.assign(location=None, lsoa_name=None)
    assert count(nothing, cells)[LABEL].iloc[0] == "grid cell g0_0"


def test_most_frequent_by_hand() -> None:
    rows = np.array([0, 0, 0, 1, 1, 2, -1])
    text = pd.Series(["b", "a", "b", " x ", "x", None, "z"])
    assert most_frequent(rows, text, 4).tolist() == ["b", "x", None, None]


def test_lsoa_names_without_boundaries(crimes: pd.DataFrame) -> None:
    """LSOA units from codes only take the published LSOA name of their crimes."""
    units = LsoaUnits.from_crimes(crimes)
    layer = count(crimes, units)
    published = (
        crimes.dropna(subset=["lsoa_code"])
        .groupby("lsoa_code")["lsoa_name"]
        .agg(lambda s: expected_top(s.dropna().astype(str).tolist()))
    )
    assert layer[LABEL].tolist() == published.loc[layer["unit_id"].astype(str)].tolist()


def test_leeds_segments_are_named_by_the_network(
    shared_data: Callable[..., Path], bedfordshire_crimes: Callable[..., pd.DataFrame]
) -> None:
    """Real Bedfordshire rows of Luton centre moved onto Leeds centre (synthetic placement: police.uk
    points for West Yorkshire are not in the shared data): segment labels are the network's street names."""
    roads = gpd.read_file(shared_data(*LEEDS), bbox=(429_000, 433_000, 430_500, 434_500))
    units = SegmentUnits.from_network(roads)
    rows = bedfordshire_crimes(1)
    luton = rows[rows["x"].between(508_500, 510_000) & rows["y"].between(220_500, 222_000)]
    moved = luton.assign(x=luton["x"] - 508_500 + 429_000, y=luton["y"] - 220_500 + 433_000)
    layer = count(moved, units)
    assert len(layer) == len(units) and layer[LABEL].notna().all()  # every segment, crimes or not
    held = layer[layer["crimes"] > 0]
    assert len(held) > 50
    names = {street_name(n, r) for n, r in zip(roads["name"], roads["ref"], strict=True)} - {None}
    named = held[LABEL].isin(names)
    unnamed = held[LABEL].str.match(r"^Unnamed road near .+ \d{3}[A-Z]$")  # near its crimes' LSOA
    assert (named | unnamed).all() and named.mean() > 0.7
    # hand check: a segment is named by the OSM way it begins on (the way under a point 1 m along it)
    for _, top in held.head(5).iterrows():
        start = shapely.line_interpolate_point(top.geometry, min(1.0, top.geometry.length / 2))
        ways = roads[roads.geometry.distance(start) < 0.01]
        assert len(ways) == 1
        name = street_name(ways["name"].iloc[0], ways["ref"].iloc[0])
        assert top[LABEL] == name or (name is None and top[LABEL].startswith("Unnamed road near "))


def test_cleveland_os_roads_use_name_and_road_number(shared_data: Callable[..., Path]) -> None:
    """OS OpenMap Local roads (Middlesbrough centre): ``name`` and ``road_number``."""
    roads = gpd.read_file(shared_data(*CLEVELAND), bbox=(448_000, 518_000, 451_000, 521_000))
    units = SegmentUnits.from_network(roads)
    assert units.describe()["name_columns"] == ["name", "road_number"]
    named = pd.Series(units.names, dtype=object).dropna()
    assert len(named) > 0.5 * len(units)
    numbered = roads[roads["road_number"].notna() & roads["name"].notna()]
    expected = {f"{n} ({r})" for n, r in zip(numbered["name"], numbered["road_number"], strict=True)}
    assert expected & set(named)  # e.g. "Marton Road (A172)"
    assert set(named) <= {street_name(n, r) for n, r in zip(roads["name"], roads["road_number"], strict=True)}


def test_select_crimes_keeps_the_text_columns(ws: Workspace) -> None:
    assert {"location", "lsoa_name"} <= set(select_crimes(ws).columns)
