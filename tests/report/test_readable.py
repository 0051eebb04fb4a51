"""The hotspot page and the programme report are fast to draw and readable (gripkit issue 18).

Maps of a regular grid are ONE image (gripkit.report.maps); numbers are rounded, a CRS is named, the
print CSS fits A4 (gripkit.report.text); the report leads with the serious-violence concentration
(gripkit.report.headline).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from shapely.geometry import MultiPolygon, Polygon, box

from gripkit import Workspace, datasets
from gripkit.hotspots.concentration import concentration
from gripkit.hotspots.find import find_hotspots
from gripkit.ingestion import ingest
from gripkit.report import write_hotspot_page
from gripkit.report.full import ReportOptions, _kv, build_report
from gripkit.report.maps import crs_label, draw_units, regular_grid

BNG_NAME = "OSGB36 / British National Grid, EPSG:27700"
LONG_FLOAT = re.compile(r"(?<![\w.])\d+\.\d{6,}")  # 6 or more decimals: never in a readable report
DATA_URI = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")


def kde_like(cell: float) -> gpd.GeoDataFrame:
    """Grid cells of ``cell`` m over the REAL bundled Bedfordshire force area, with SYNTHETIC values.

    Harm and density are a smooth bump around Luton town centre (509,000 E, 221,000 N) so a few
    cells carry most of it, as a KDE surface does; ranked like gripkit.hotspots.count.
    """
    from gripkit.units import GridUnits

    area = datasets.force_area("Bedfordshire")
    frame = GridUnits(cell, area.bounds, area=area).frame
    centres = frame.geometry.centroid
    d2 = (centres.x - 509_000.0) ** 2 + (centres.y - 221_000.0) ** 2
    harm = np.round(1000.0 * np.exp(-d2 / (2 * 2000.0**2)), 1)
    order = np.argsort(-harm, kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    harm = harm.to_numpy()[order]
    frame["crimes"] = np.ceil(harm / 100).astype(int)
    frame["harm"] = harm
    frame["harm_rank"] = np.arange(1, len(frame) + 1)
    frame["share_of_harm"] = harm / harm.sum()
    frame["cumulative_share"] = np.cumsum(frame["share_of_harm"])
    frame["area_m2"] = cell * cell
    frame["density"] = harm / (cell * cell)
    return frame


def write_kde_page(folder: Path, frame: gpd.GeoDataFrame, meta: dict | None = None) -> str:
    conc = concentration(frame["harm"], frame["area_m2"], counts=frame["crimes"])
    out = write_hotspot_page(folder / "kde.html", frame, conc, title="KDE", meta=meta or {})
    return out.read_text(encoding="utf-8")


# -- one image per map ---------------------------------------------------------------------------
def test_a_grid_is_drawn_as_one_image_with_only_the_top_cells_as_shapes() -> None:
    frame = kde_like(200.0)
    lattice = regular_grid(frame.geometry)
    assert lattice is not None
    fig = Figure()
    ax = fig.subplots()
    draw_units(ax, frame.geometry, np.tile([1.0, 0.0, 0.0, 1.0], (len(frame), 1)), lattice)
    assert len(ax.images) == 1 and not ax.collections and not ax.patches  # no per-cell shapes
    # the image sits on the cells' extent in the CRS: hand, from the cells' own corners
    bounds = frame.geometry.bounds
    left, right, bottom, top = ax.images[0].get_extent()
    assert (left, bottom) == (bounds.minx.min(), bounds.miny.min())
    assert (right, top) == (bounds.maxx.max(), bounds.maxy.max())


def test_lattice_places_each_cell_and_leaves_the_rest_transparent() -> None:
    # three 100 m cells of an L on a 2 x 2 extent; the fourth corner is not a unit
    cells = gpd.GeoSeries([box(500_000, 180_000, 500_100, 180_100), box(500_100, 180_000, 500_200, 180_100),
                           box(500_000, 180_100, 500_100, 180_200)], crs=27700)  # fmt: skip
    lattice = regular_grid(cells)
    assert lattice is not None
    assert (lattice.n_cols, lattice.n_rows, lattice.cols.tolist(), lattice.rows.tolist()) == (
        2,
        2,
        [0, 1, 0],
        [0, 0, 1],
    )
    assert lattice.extent == (500_000, 500_200, 180_000, 180_200)
    colours = np.array([[1.0, 0, 0, 1], [0, 1.0, 0, 1], [0, 0, 1.0, 1]])
    image = lattice.image(colours)  # row 0 at the bottom (imshow origin="lower")
    assert image[0, 0].tolist() == [255, 0, 0, 255] and image[0, 1].tolist() == [0, 255, 0, 255]
    assert image[1, 0].tolist() == [0, 0, 255, 255] and image[1, 1].tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize(
    "geoms",
    [
        [box(0, 0, 10, 10), box(5, 0, 15, 10)],  # off the lattice
        [box(0, 0, 10, 10), box(10, 0, 30, 20)],  # two sizes
        [box(0, 0, 10, 20), box(10, 0, 20, 20)],  # rectangles
        [Polygon([(5, 0), (10, 5), (5, 10), (0, 5)]), box(10, 0, 20, 10)],  # a diamond in a 10 m box
        [box(0, 0, 10, 10).buffer(0).difference(box(4, 4, 6, 6)), box(10, 0, 20, 10)],  # a hole
        [box(0, 0, 10, 10).exterior, box(10, 0, 20, 10)],  # a closed line of 5 points: no area
    ],
)
def test_anything_but_a_regular_grid_keeps_its_shapes(geoms: list) -> None:
    assert regular_grid(gpd.GeoSeries(geoms)) is None


def test_a_one_part_multipolygon_square_is_still_a_grid_cell() -> None:
    lattice = regular_grid(gpd.GeoSeries([MultiPolygon([box(0, 0, 10, 10)]), box(10, 0, 20, 10)]))
    assert lattice is not None and lattice.cols.tolist() == [0, 1]


def test_hexagons_are_one_collection_and_lsoas_keep_their_polygons() -> None:
    corners = np.arange(6) * np.pi / 3
    hexes = gpd.GeoSeries(
        [Polygon([(np.cos(a) * 50 + i * 100, np.sin(a) * 50) for a in corners]) for i in range(40)]
    )
    fig = Figure()
    ax = fig.subplots()
    draw_units(ax, hexes, np.ones((40, 4)), regular_grid(hexes))
    assert not ax.images and len(ax.collections) == 1 and isinstance(ax.collections[0], PolyCollection)
    assert len(ax.collections[0].get_paths()) == 40
    lsoa = datasets.bedfordshire_lsoa().geometry.head(30)  # real 2011 LSOA polygons
    assert regular_grid(lsoa) is None


def test_a_kde_page_is_small_whatever_the_number_of_cells(tmp_path: Path) -> None:
    """Bound: the page holds three PNGs (harm map, Lorenz curve, density map), each at most
    7.5 x 7 in at 110 dpi (825 x 770 px), plus 20 table rows; its size follows those pixels, not the
    number of cells. Four times the cells (200 m -> 100 m, 31k -> 125k) must add under 50%, and the
    page stays under 1.5 MB (the 50 m Bedfordshire KDE page, 497k cells, measured 299 kB)."""
    coarse, fine = kde_like(200.0), kde_like(100.0)
    assert len(fine) > 3.9 * len(coarse)
    sizes = []
    for frame in (coarse, fine):
        text = write_kde_page(tmp_path, frame)
        assert len(re.findall(r"<img ", text)) == 3 and "<svg" not in text and "<path" not in text
        sizes.append(len(text.encode()))
    assert sizes[1] < 1.5 * sizes[0] and sizes[1] < 1_500_000, sizes


# -- readable text ---------------------------------------------------------------------------------
def test_a_crs_is_named_never_dumped() -> None:
    projjson = pyproj.CRS.from_epsg(27700).to_json()
    assert crs_label(projjson) == crs_label("EPSG:27700") == crs_label(27700) == BNG_NAME
    # a CRS without an EPSG code (BNG moved 1 km east) is named by its own name
    custom = pyproj.CRS.from_proj4("+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=401000 "
                                   "+y_0=-100000 +ellps=airy +units=m +no_defs")  # fmt: skip
    assert crs_label(custom.to_json()) == custom.name
    for rendered in (_kv({"crs": projjson}), _kv({"units": {"crs": pyproj.CRS(27700).to_json_dict()}})):
        text = html.unescape(rendered)
        assert '"$schema"' not in text and '"datum"' not in text and BNG_NAME in text


def test_the_hotspot_page_names_the_crs_rounds_and_prints_on_a4(tmp_path: Path) -> None:
    meta = {"crs": pyproj.CRS.from_epsg(27700).to_json(), "method_params": {"distance_m": 353.5533905932738}}
    text = write_kde_page(tmp_path, kde_like(500.0), meta)
    plain = html.unescape(DATA_URI.sub("", text))
    assert '"$schema"' not in plain and '"datum"' not in plain and BNG_NAME in plain
    assert "distance_m: 353.6 m" in plain and not LONG_FLOAT.findall(plain), LONG_FLOAT.findall(plain)
    assert_print_css(text)
    for heading in ("How concentrated is harm?", "Top 20 hotspots", "Provenance"):  # a sentence opens each
        assert re.search(rf'<h2>{re.escape(heading)}</h2>\s*<p class="summary">', text), heading


def assert_print_css(text: str) -> None:
    style = re.search(r"<style>(.*?)</style>", text, re.S)
    assert style
    css = style.group(1)
    assert "@page{size:A4" in css and "@media print{" in css
    assert re.search(r"figure,img[^{]*\{break-inside:avoid", css)
    assert "overflow-wrap:anywhere" in css  # long paths and hashes wrap in the provenance table


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    """One bundled month of REAL Bedfordshire crime; a Gi* run (500 m) then a serious-violence count run."""
    path = tmp_path_factory.mktemp("readable") / "gripkit.duckdb"
    with Workspace(path) as ws:
        ingest(datasets.bedfordshire_street_files()[:1], ws)
        gistar = find_hotspots(ws, cell_size=500, method="gistar", weights="harm")
        serious = find_hotspots(ws, cell_size=500, serious_violence=True)
    return path, int(gistar.meta["result_id"]), int(serious.meta["result_id"])


def test_the_report_is_rounded_named_and_printable(workspace: tuple[Path, int, int]) -> None:
    path, gistar_id, _ = workspace
    with Workspace(path) as ws:
        text = build_report(ws, ReportOptions(result_ids={"hotspots": gistar_id})).html
    plain = html.unescape(DATA_URI.sub("", text))
    # the Gi* run stores distance_m = 500 * sqrt(2) = 707.1067811865476: shown rounded with its unit
    assert "707.1 m" in plain and "707.10678" not in plain
    assert not LONG_FLOAT.findall(plain), LONG_FLOAT.findall(plain)[:5]
    assert '"$schema"' not in plain and '"datum"' not in plain
    assert f"coordinate reference system</th><td>{BNG_NAME}" in plain
    provenance = re.search(r'<section id="provenance">(.*?)</section>', text, re.S)
    assert provenance and re.search(r'<td class="long">[0-9a-f]{64}</td>', provenance.group(1))  # wraps
    assert_print_css(text)
    for sid in ("concentration", "provenance", "parameters"):  # a plain sentence opens each
        body = re.search(rf'<section id="{sid}"><h2>.*?</h2>(.*?)</section>', text, re.S)
        assert body and body.group(1).startswith('<p class="summary">'), sid


def test_the_headline_is_the_serious_violence_concentration(workspace: tuple[Path, int, int]) -> None:
    path, gistar_id, serious_id = workspace
    with Workspace(path) as ws:
        latest = build_report(ws).html  # the serious-violence run is the latest
        layer = ws.result_table(serious_id, "hotspots")
        other = build_report(ws, ReportOptions(result_ids={"hotspots": gistar_id})).html
    headline = re.search(r'<h1>.*?</h1>\s*<p class="headline">(.*?)</p>', latest, re.S)
    assert headline and headline.group(1).startswith("Serious violence is concentrated")
    # hand: the top 1% of units = round(n / 100) highest-harm cells, their share of the layer's harm
    harm = np.sort(layer["harm"].to_numpy(dtype=float))[::-1]
    top = int(np.floor(0.01 * len(harm) + 0.5))
    assert f"the top 1% ({top:,}) hold {harm[:top].sum() / harm.sum() * 100:.1f}%" in headline.group(1)
    assert "Robbery" in headline.group(1) and f"hotspot result {serious_id}" in headline.group(1)
    # a run of every crime type shown: the headline still reads the stored serious-violence run
    other_line = re.search(r'<p class="headline">(.*?)</p>', other, re.S)
    assert other_line and f"hotspot result {serious_id}" in other_line.group(1)


def test_power_result_gives_the_headline_when_the_hotspots_are_all_crime() -> None:
    from gripkit.report.headline import serious_violence_headline
    from gripkit.results import StoredResult

    meta = {"areas": ["E01015794", "E01017469"], "units": 381, "top_share_of_harm": 0.0812,
            "harm_table": "cchi", "months": "2023-11 to 2024-04"}  # fmt: skip
    power = StoredResult(7, "power", pd.Timestamp("2024-05-01"), meta, {})
    text = serious_violence_headline(None, power)
    assert text is not None
    assert "the 2 of 381 areas with the most serious-violence harm hold 8.1% of its CCHI harm" in text
    assert "2023-11 to 2024-04" in text and "power result 7" in text
