"""hotspots.count: hand-calculated grids, real Bedfordshire data vs geopandas, properties."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gripkit.columns import HOTSPOT_COLUMNS
from gripkit.errors import InputError
from gripkit.hotspots.count import _count, count
from gripkit.units import GridUnits, LsoaUnits, read_lsoa_boundaries

# Five crimes in a 2x2 grid of 100 m cells; cells by hand (floor(x/100), floor(y/100)):
# g0_0: 1 crime harm 1; g1_0: 2 crimes harm 2 + 5 = 7; g0_1: 1 crime harm 0; g1_1: 1 crime harm 3.
FIVE = pd.DataFrame(
    {
        "x": [10.0, 150.0, 160.0, 20.0, 199.9],
        "y": [10.0, 20.0, 30.0, 150.0, 199.9],
        "harm": [1.0, 2.0, 5.0, 0.0, 3.0],
    }
)
GRID = GridUnits(100, (0, 0, 199.9, 199.9))


def test_hand_calculated_harm() -> None:
    result, meta = _count(FIVE, GRID)
    pd.testing.assert_frame_equal(result, count(FIVE, GRID))
    assert not result.attrs  # provenance goes to the job's meta, never into DataFrame.attrs
    assert isinstance(result, gpd.GeoDataFrame) and result.crs.to_epsg() == 27700
    assert tuple(result.columns) == HOTSPOT_COLUMNS
    # total harm 1 + 7 + 0 + 3 = 11; ranks by harm: g1_0 (7), g1_1 (3), g0_0 (1), g0_1 (0)
    assert result["unit_id"].tolist() == ["g1_0", "g1_1", "g0_0", "g0_1"]
    assert result["crimes"].tolist() == [2, 1, 1, 1]
    assert result["harm"].tolist() == [7.0, 3.0, 1.0, 0.0]
    assert result["harm_rank"].tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(result["share_of_harm"], [7 / 11, 3 / 11, 1 / 11, 0.0])
    np.testing.assert_allclose(result["cumulative_share"], [7 / 11, 10 / 11, 1.0, 1.0])
    assert result["area_m2"].tolist() == [10_000.0] * 4
    assert meta["unassigned"] == 0 and meta["weights"] == "harm"
    assert meta["units"]["cell_size_m"] == 100.0


def test_no_harm_column_counts_and_tie_breaks() -> None:
    crimes = FIVE.drop(columns="harm")
    result, meta = _count(crimes, GRID)
    # every crime weighs 1: g1_0 has 2; g0_0, g0_1, g1_1 tie on 1 and are ordered by unit_id
    assert result["unit_id"].tolist() == ["g1_0", "g0_0", "g0_1", "g1_1"]
    assert result["harm"].tolist() == [2.0, 1.0, 1.0, 1.0]
    assert (result["harm"] == result["crimes"]).all()
    assert meta["weights"] is None
    # ties on harm broken by crimes: harm 4 in both cells, but g1_1 has 2 crimes -> rank 1
    tied = pd.DataFrame({"x": [10.0, 150.0, 160.0], "y": [10.0, 150.0, 160.0], "w": [4.0, 1.0, 3.0]})
    ranked = count(tied, GRID, weights="w")
    assert ranked["unit_id"].tolist()[:2] == ["g1_1", "g0_0"]
    # count(weights=None) ignores an existing harm column
    assert count(FIVE, GRID, weights=None)["harm"].sum() == 5.0


def test_empty_units_and_unassigned_are_reported(caplog: pytest.LogCaptureFixture) -> None:
    crimes = pd.DataFrame({"x": [10.0, 900.0, np.nan], "y": [10.0, 10.0, 5.0], "harm": [2.0, 5.0, 1.0]})
    with caplog.at_level(logging.INFO, logger="gripkit"):
        result, meta = _count(crimes, GRID)
    # one crime in g0_0; (900, 10) is outside the 2x2 grid and NaN has no place: 2 unassigned, harm 6
    assert len(result) == 4 and result["crimes"].sum() == 1
    assert meta["unassigned"] == 2 and meta["unassigned_harm"] == 6.0
    assert "2 of 3 crimes (harm 6) fall in no grid unit" in caplog.text
    assert result["crimes"].tolist() == [1, 0, 0, 0]


def test_zero_total_harm_gives_nan_shares() -> None:
    result = count(FIVE.assign(harm=0.0), GRID)
    assert result["share_of_harm"].isna().all() and result["cumulative_share"].isna().all()


def test_open_lsoa_units_get_rows_without_geometry() -> None:
    crimes = pd.DataFrame({"lsoa_code": ["B", "A", "B", None]})
    result, meta = _count(crimes, LsoaUnits())
    # by hand: B 2 crimes, A 1; the missing code is unassigned
    assert result["unit_id"].tolist() == ["B", "A"]
    assert result["crimes"].tolist() == [2, 1]
    assert result["area_m2"].isna().all() and result.geometry.isna().all()
    assert meta["unassigned"] == 1


def test_inputs_not_mutated() -> None:
    crimes = FIVE.copy()
    frame_before = GRID.frame
    count(crimes, GRID)
    pd.testing.assert_frame_equal(crimes, FIVE)
    pd.testing.assert_frame_equal(GRID.frame, frame_before)


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match="'units' must be a gripkit Units object"):
        count(FIVE, GRID.frame)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'weights' must name a column of crimes; received 'cchi'"):
        count(FIVE, GRID, weights="cchi")
    with pytest.raises(InputError, match="finite weights >= 0; received 1"):
        count(FIVE.assign(harm=[1.0, -2.0, 1.0, 1.0, 1.0]), GRID)
    with pytest.raises(InputError, match="finite weights >= 0"):
        count(FIVE.assign(harm=[1.0, np.nan, 1.0, 1.0, 1.0]), GRID)
    with pytest.raises(InputError, match="must be numeric"):
        count(FIVE.assign(harm=["a", "b", "c", "d", "e"]), GRID)
    with pytest.raises(InputError, match="has no rows"):
        count(FIVE.iloc[:0], GRID)


def test_real_grid_counts_match_geopandas(bedfordshire_crimes, bedfordshire_area) -> None:  # type: ignore[no-untyped-def]
    crimes = bedfordshire_crimes(months=3)
    units = GridUnits.from_crimes(crimes, area=bedfordshire_area)  # Chainey's rule on the force area
    result, meta = _count(crimes, units)
    assert meta["units"]["cell_size_auto"] is True
    assert result["crimes"].sum() + meta["unassigned"] == len(crimes)
    # independent reference: geopandas point-in-polygon join, on crimes off the cell edges
    size = units.cell_size
    off_edge = crimes[(crimes["x"] % size != 0) & (crimes["y"] % size != 0)]
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(off_edge["x"], off_edge["y"]), crs="EPSG:27700")
    reference = gpd.sjoin(points, units.frame, predicate="within")["unit_id"].value_counts()
    ours = count(off_edge, units).set_index("unit_id")["crimes"]
    ours = ours[ours > 0]
    pd.testing.assert_series_equal(
        ours.sort_index(), reference.sort_index().astype("int64"), check_names=False, check_index_type=False
    )


def test_real_lsoa_counts_sum_to_crimes(bedfordshire_crimes, lsoa_gpkg) -> None:  # type: ignore[no-untyped-def]
    crimes = bedfordshire_crimes(months=3)
    units = LsoaUnits(read_lsoa_boundaries(lsoa_gpkg, force="Bedfordshire"))
    result, meta = _count(crimes, units)
    assert len(result) == len(units)  # every LSOA, including any without crime
    assert result["crimes"].sum() + meta["unassigned"] == len(crimes)
    # independent reference: the published code when it is a unit, else the polygon containing the
    # point (geopandas sjoin), then pandas value_counts
    known = set(units.frame["unit_id"].astype(object))
    by_code = crimes["lsoa_code"].where(crimes["lsoa_code"].isin(known))
    rest = crimes[by_code.isna()]
    points = gpd.GeoDataFrame(rest, geometry=gpd.points_from_xy(rest["x"], rest["y"]), crs="EPSG:27700")
    joined = gpd.sjoin(points, units.frame, predicate="intersects")
    joined = joined[~joined.index.duplicated()]
    reference = by_code.fillna(joined["unit_id"].astype(object)).value_counts()
    ours = result.set_index(result["unit_id"].astype(object))["crimes"]
    assert (ours.loc[reference.index].to_numpy() == reference.to_numpy()).all()
    assert reference.sum() == result["crimes"].sum()
    assert (
        meta["units"]["last_assignment"]["unmatched"]
        == (crimes["lsoa_code"].notna() & ~crimes["lsoa_code"].isin(known)).sum()
    )


@settings(max_examples=150, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.floats(-1_000, 1_000), st.floats(-1_000, 1_000), st.floats(0, 500)),
        min_size=1,
        max_size=60,
    ),
    cell_size=st.floats(50, 800),
)
def test_property_counts_and_shares(points: list[tuple[float, float, float]], cell_size: float) -> None:
    crimes = pd.DataFrame(points, columns=["x", "y", "harm"])
    units = GridUnits(cell_size, (-500, -500, 500, 500))  # points outside are unassigned
    result, meta = _count(crimes, units)
    assigned = int(units.assign(crimes).notna().sum())
    assert result["crimes"].sum() == assigned
    assert meta["unassigned"] == len(crimes) - assigned
    assert result["harm_rank"].tolist() == list(range(1, len(result) + 1))
    assert (np.diff(result["harm"]) <= 0).all()
    if result["harm"].sum() > 0:
        assert result["cumulative_share"].iloc[-1] == 1.0
        assert (np.diff(result["cumulative_share"]) >= 0).all()
        np.testing.assert_allclose(result["share_of_harm"].sum(), 1.0)
