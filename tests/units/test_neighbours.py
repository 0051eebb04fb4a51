"""Units.neighbours(): queen grids by hand and against libpysal; LSOA contiguity against libpysal Queen."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from libpysal.weights import DistanceBand, Queen

from gripkit import datasets
from gripkit.errors import InputError
from gripkit.units import GridUnits, LsoaUnits

# A 4 x 4 grid of 100 m cells whose area has a hole at cell g1_1 (x 100-200, y 100-200).
HOLED_AREA = shapely.box(0, 0, 400, 400).difference(shapely.box(100, 100, 200, 200))


def test_grid_with_a_hole_by_hand() -> None:
    units = GridUnits(100, (0, 0, 399, 399), area=HOLED_AREA)
    ids = units.frame["unit_id"].tolist()
    assert len(ids) == 15 and "g1_1" not in ids
    w = units.neighbours()
    # Queen counts on a full 4 x 4 grid: corners 3, edges 5, interior 8. The missing g1_1 takes
    # one neighbour from each of its 8 surrounding cells (g0_0, g1_0, g2_0, g0_1, g2_1, g0_2, g1_2, g2_2).
    by_hand = {
        "g0_0": 2, "g1_0": 4, "g2_0": 4, "g3_0": 3,
        "g0_1": 4, "g2_1": 7, "g3_1": 5,
        "g0_2": 4, "g1_2": 7, "g2_2": 7, "g3_2": 5,
        "g0_3": 3, "g1_3": 5, "g2_3": 5, "g3_3": 3,
    }  # fmt: skip
    counts = dict(zip(ids, np.asarray(w.sum(axis=1)).ravel().astype(int).tolist(), strict=True))
    assert counts == by_hand
    first = w[ids.index("g0_0")].indices
    assert sorted(ids[j] for j in first) == ["g0_1", "g1_0"]  # g1_1 is gone
    assert (w != w.T).nnz == 0
    assert w.diagonal().sum() == 0
    assert set(w.data.tolist()) == {1.0}


def test_single_cell_and_a_row() -> None:
    assert GridUnits(100, (0, 0, 50, 50)).neighbours().shape == (1, 1)
    assert GridUnits(100, (0, 0, 50, 50)).neighbours().nnz == 0
    # a row of 3 cells: ends have 1 neighbour, the middle 2 (by hand)
    w = GridUnits(100, (0, 0, 299, 50)).neighbours()
    assert np.asarray(w.sum(axis=1)).ravel().tolist() == [1.0, 2.0, 1.0]


def test_real_grid_equals_libpysal_distance_band(bedfordshire_crimes, bedfordshire_area) -> None:
    crimes = bedfordshire_crimes(1)
    units = GridUnits.from_crimes(crimes, cell_size=500, area=bedfordshire_area)
    centres = units.frame.geometry.centroid
    # queen on a square grid = centres within cell x sqrt(2) (slack for rounding)
    reference = DistanceBand(
        np.c_[centres.x, centres.y], threshold=500 * 2**0.5 * 1.0001, binary=True, silence_warnings=True
    )
    w = units.neighbours()
    assert w.shape == (len(units), len(units))
    assert (w != reference.sparse).nnz == 0


def test_lsoa_contiguity_equals_libpysal_queen() -> None:
    polygons = datasets.bedfordshire_lsoa()
    units = LsoaUnits(polygons)
    reference = Queen.from_dataframe(polygons, use_index=False, silence_warnings=True)
    w = units.neighbours()
    assert w.shape == (381, 381)  # the 381 bundled Bedfordshire LSOAs (datasets docstring)
    assert (w != reference.sparse).nnz == 0
    assert w.diagonal().sum() == 0


def test_lsoa_corner_touch_counts_and_order_follows_frame() -> None:
    # C is listed first; A and B share only the corner (1, 1); C touches nobody
    squares = gpd.GeoDataFrame(
        {"lsoa11cd": ["C", "A", "B"]},
        geometry=[shapely.box(5, 5, 6, 6), shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2)],
        crs="EPSG:27700",
    )
    units = LsoaUnits(squares)
    assert units.frame["unit_id"].tolist() == ["C", "A", "B"]
    assert units.neighbours().toarray().tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 0]]


def test_lsoa_without_boundaries_is_an_input_error() -> None:
    units = LsoaUnits.from_crimes(pd.DataFrame({"lsoa_code": ["E01000001", "E01000002"]}))
    with pytest.raises(
        InputError, match=r"LSOA neighbours \(Gi\*, contiguous areas\) need polygons; received 2 LSOA units"
    ) as err:
        units.neighbours()
    # the fix names the parameter (the CLI turns 'boundaries' into --boundaries), never a Python class
    assert "'boundaries'" in str(err.value) and "LsoaUnits" not in str(err.value)
