"""GridUnits: hand-calculated small grids, Chainey's rule, area filter vs geopandas, properties."""

from __future__ import annotations

import json
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gripkit.errors import InputError
from gripkit.units import GridUnits, chainey_cell_size

# Five crimes in a 2x2 grid of 100 m cells (origin 0, 0). By hand, floor(x/100), floor(y/100):
# (10, 10) -> g0_0; (150, 20) -> g1_0; (160, 30) -> g1_0; (20, 150) -> g0_1; (199.9, 199.9) -> g1_1.
FIVE = pd.DataFrame({"x": [10.0, 150.0, 160.0, 20.0, 199.9], "y": [10.0, 20.0, 30.0, 150.0, 199.9]})


def test_five_crimes_in_two_by_two_grid() -> None:
    units = GridUnits.from_crimes(FIVE, cell_size=100)
    # bbox 10..199.9 snaps to origin (0, 0); floor(199.9/100) - 0 + 1 = 2 columns and 2 rows
    assert units.origin == (0.0, 0.0)
    assert (units.n_cols, units.n_rows, len(units)) == (2, 2, 4)
    assert units.assign(FIVE).tolist() == ["g0_0", "g1_0", "g1_0", "g0_1", "g1_1"]
    frame = units.frame
    assert list(frame.columns) == ["unit_id", "area_m2", "geometry"]
    assert frame.crs.to_epsg() == 27700
    assert frame["area_m2"].tolist() == [10_000.0] * 4  # 100 m x 100 m
    assert frame.geometry.iloc[1].bounds == (100.0, 0.0, 200.0, 100.0)  # g1_0 by hand


def test_shared_edge_goes_right_and_up_outside_is_na() -> None:
    crimes = pd.DataFrame({"x": [100.0, 50.0, 250.0, np.nan], "y": [50.0, 100.0, 50.0, 50.0]})
    units = GridUnits(100, (0, 0, 199, 199))
    # x = 100 is the left edge of column 1; y = 100 the bottom edge of row 1; x = 250 is past
    # the 2 columns; NaN has no place
    assert units.assign(crimes).tolist() == ["g1_0", "g0_1", pd.NA, pd.NA]


def test_origin_snapped_and_ids_independent_of_extent() -> None:
    crimes = pd.DataFrame({"x": [1234.0, 1590.0], "y": [-310.0, 420.0]})
    units = GridUnits.from_crimes(crimes, cell_size=100)
    # floor(1234/100)*100 = 1200, floor(-310/100)*100 = -400
    assert units.origin == (1200.0, -400.0)
    wider = GridUnits(100, (0, -1000, 5000, 5000))
    assert units.assign(crimes).tolist() == wider.assign(crimes).tolist() == ["g12_-4", "g15_4"]


def test_chainey_rule_by_hand(caplog: pytest.LogCaptureFixture) -> None:
    # bounding box 30,000 m x 21,450 m: shorter side 21,450 / 150 = 143.0 m
    crimes = pd.DataFrame({"x": [500.0, 30_500.0, 9_000.0], "y": [1_000.0, 22_450.0, 5_000.0]})
    with caplog.at_level(logging.INFO, logger="gripkit"):
        units = GridUnits.from_crimes(crimes)
    assert units.cell_size == 143.0
    assert "cell size 143 m chosen from the data extent" in caplog.text
    described = units.describe()
    assert described["cell_size_auto"] is True and described["cell_size_m"] == 143.0
    json.dumps(described)  # JSON-safe


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ((0, 0, 30_000, 21_525), 144.0),  # 21,525 / 150 = 143.5 -> halves round up
        ((0, 0, 21_449, 40_000), 143.0),  # 21,449 / 150 = 142.99 -> 143
        ((0, 0, 100, 100), 1.0),  # 100 / 150 = 0.67 -> 1, and never below 1 m
    ],
)
def test_chainey_rounding(bounds: tuple[float, float, float, float], expected: float) -> None:
    assert chainey_cell_size(bounds) == expected


def test_given_cell_size_is_recorded() -> None:
    described = GridUnits.from_crimes(FIVE, cell_size=100).describe()
    assert described["cell_size_auto"] is False
    assert described["origin"] == [0.0, 0.0]
    assert described["n_units"] == 4


@pytest.mark.parametrize("bad", [-50, 0, "abc", float("nan"), float("inf")])
def test_bad_cell_size(bad: object) -> None:
    with pytest.raises(InputError, match="'cell_size' must be > 0 metres"):
        GridUnits.from_crimes(FIVE, cell_size=bad)  # type: ignore[arg-type]


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match="has no rows"):
        GridUnits.from_crimes(FIVE.iloc[:0], cell_size=100)
    with pytest.raises(InputError, match="lacks column"):
        GridUnits.from_crimes(FIVE[["x"]], cell_size=100)
    with pytest.raises(InputError, match="must be a pandas DataFrame"):
        GridUnits.from_crimes([(1, 2)], cell_size=100)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no finite x/y"):
        GridUnits.from_crimes(pd.DataFrame({"x": [np.nan], "y": [np.nan]}), cell_size=100)
    with pytest.raises(InputError, match="lie on a line or a point"):
        GridUnits.from_crimes(pd.DataFrame({"x": [5.0, 5.0], "y": [1.0, 9.0]}))
    with pytest.raises(InputError, match=r"would have .* cells"):
        GridUnits(1, (0, 0, 100_000, 100_000))
    with pytest.raises(InputError, match="projected CRS in metres"):
        GridUnits(100, (0, 0, 1, 1), crs="EPSG:4326")
    with pytest.raises(InputError, match="xmin <= xmax"):
        GridUnits(100, (10, 0, 0, 10))


def test_degrees_rejected() -> None:
    degrees = pd.DataFrame({"lon": [-0.47, -0.46], "lat": [52.30, 52.29]})
    degrees["x"], degrees["y"] = degrees["lon"], degrees["lat"]
    with pytest.raises(InputError, match="equal their 'lon'/'lat' columns"):
        GridUnits.from_crimes(degrees, cell_size=100)
    geographic = gpd.GeoDataFrame(degrees, geometry=gpd.points_from_xy(degrees.lon, degrees.lat),
                                  crs="EPSG:4326")
    with pytest.raises(InputError, match="geographic, degrees"):
        GridUnits(100, (0, 0, 1000, 1000)).assign(geographic)


def test_area_in_other_crs_rejected() -> None:
    area = gpd.GeoSeries([shapely.box(0, 0, 1, 1)], crs="EPSG:4326")
    with pytest.raises(InputError, match="'area' must be in EPSG:27700"):
        GridUnits.from_crimes(FIVE, cell_size=100, area=area)
    with pytest.raises(InputError, match="non-empty polygon"):
        GridUnits.from_crimes(FIVE, cell_size=100, area=shapely.Point(0, 0))


def test_area_filter_by_hand() -> None:
    # triangle (0,0)-(300,0)-(0,300) over 100 m cells: cell (i, j) overlaps its interior iff the
    # cell's lower-left corner lies strictly below the hypotenuse x + y = 300, i.e. i + j <= 2
    # -> 6 cells. Cells with i + j = 3 (e.g. g1_2, corner (100, 200)) and g3_0 (corner (300, 0))
    # only touch the triangle and are dropped.
    triangle = shapely.Polygon([(0, 0), (300, 0), (0, 300)])
    units = GridUnits.from_crimes(FIVE, cell_size=100, area=triangle)
    assert sorted(units.frame["unit_id"]) == sorted(["g0_0", "g1_0", "g2_0", "g0_1", "g1_1", "g0_2"])
    # (199.9, 199.9) lies in g1_1, which is kept; a crime at (250, 250) is in dropped cell g2_2
    crimes = pd.DataFrame({"x": [199.9, 250.0], "y": [199.9, 250.0]})
    assert units.assign(crimes).tolist() == ["g1_1", pd.NA]


def test_inputs_not_mutated() -> None:
    crimes = FIVE.copy()
    units = GridUnits.from_crimes(crimes, cell_size=100)
    units.assign(crimes)
    pd.testing.assert_frame_equal(crimes, FIVE)
    frame = units.frame
    frame.loc[0, "area_m2"] = -1.0
    assert units.frame.loc[0, "area_m2"] == 10_000.0


def test_real_force_area_matches_geopandas(bedfordshire_crimes, bedfordshire_area) -> None:  # type: ignore[no-untyped-def]
    """Cells kept and crimes per cell agree with an independent geopandas sjoin reference."""
    crimes = bedfordshire_crimes(months=3)
    units = GridUnits.from_crimes(crimes, cell_size=500, area=bedfordshire_area)
    area = bedfordshire_area.geometry.iloc[0]

    # reference cells: every 500 m box over the area's bounds whose overlap with the area has area > 0
    x0, y0 = np.floor(np.array(area.bounds[:2]) / 500) * 500
    xs, ys = np.arange(x0, area.bounds[2], 500), np.arange(y0, area.bounds[3], 500)
    gx, gy = np.meshgrid(xs, ys)
    boxes = gpd.GeoDataFrame(geometry=shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + 500, gy.ravel() + 500),
                             crs="EPSG:27700")
    joined = gpd.sjoin(boxes, bedfordshire_area, predicate="intersects")
    overlap = joined.geometry.intersection(area).area > 0
    reference = joined[overlap]
    assert len(units) == len(reference)
    assert np.isclose(reference.geometry.area.sum(), units.frame["area_m2"].sum())

    # reference assignment: points within kept cells (crimes on a cell edge are ambiguous for
    # 'within' and would be double counted, so compare on crimes not on any 500 m line)
    off_edge = (crimes["x"] % 500 != 0) & (crimes["y"] % 500 != 0)
    crimes = crimes[off_edge]
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(crimes["x"], crimes["y"]), crs="EPSG:27700",
                              index=crimes.index)
    ref = gpd.sjoin(points, units.frame, predicate="within")["unit_id"]
    ours = units.assign(crimes)
    assert ours.notna().sum() == len(ref)
    assert (ours.loc[ref.index] == ref).all()


@settings(max_examples=200, deadline=None)
@given(
    xs=st.lists(st.floats(-2_000, 2_000, allow_nan=False), min_size=1, max_size=40),
    ys=st.lists(st.floats(-2_000, 2_000, allow_nan=False), min_size=1, max_size=40),
    cell_size=st.floats(25.0, 1_000.0),  # at most 161 x 161 cells, so each example is fast
)
def test_property_each_crime_in_its_cell(xs: list[float], ys: list[float], cell_size: float) -> None:
    n = min(len(xs), len(ys))
    crimes = pd.DataFrame({"x": xs[:n], "y": ys[:n]})
    units = GridUnits.from_crimes(crimes, cell_size=cell_size)
    ids = units.assign(crimes)
    assert ids.notna().all()  # every crime is inside the grid built over its bounding box
    boxes = units.frame.set_index("unit_id").geometry
    cells = boxes.loc[ids.astype(object)].to_numpy()
    minx, miny, maxx, maxy = shapely.bounds(cells).T
    x, y = crimes["x"].to_numpy(), crimes["y"].to_numpy()
    # exactly the half-open box [minx, maxx) x [miny, maxy) contains the crime
    assert ((minx <= x) & (x < maxx) & (miny <= y) & (y < maxy)).all()
    assert shapely.intersects(cells, shapely.points(x, y)).all()
    # and no other cell's half-open box does
    all_b = shapely.bounds(units.frame.geometry.to_numpy())
    inside = ((all_b[:, [0]] <= x) & (x < all_b[:, [2]]) & (all_b[:, [1]] <= y) & (y < all_b[:, [3]]))
    assert (inside.sum(axis=0) == 1).all()


def test_a_crime_just_below_a_cell_edge_gets_the_cell_below() -> None:
    """Found by the property test above: -5e-324 / 25 rounds to -0.0, whose floor (0) once put the
    grid's first row above the crime; cell k is [k * size, (k + 1) * size), so y = -5e-324 is in row -1."""
    crimes = pd.DataFrame({"x": [0.0, 10.0], "y": [-5e-324, 3.0]})
    units = GridUnits.from_crimes(crimes, cell_size=25.0)
    assert units.assign(crimes).tolist() == ["g0_-1", "g0_0"]
