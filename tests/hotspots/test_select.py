"""hotspots.select: hand-made grids with known areas; real Bedfordshire invariants."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gripkit.errors import InputError
from gripkit.harm import apply_harm, load_harm_table
from gripkit.hotspots import candidate_areas
from gripkit.hotspots.count import count
from gripkit.hotspots.select import AREA_COLUMNS, DEFAULT_MAX_AREA_M2, _candidate_areas
from gripkit.units import GridUnits

UNITS = GridUnits(100, (0, 0, 999, 999))  # 10 x 10 cells of 100 m = 10,000 m² each

# One crime at the centre of cell (i, j) with this harm; every other cell is empty.
HARM = {
    (2, 2): 10.0,
    (3, 2): 8.0,
    (2, 3): 6.0,
    (3, 3): 1.0,
    (5, 2): 9.0,  # 100 m east of (3, 2): too close to the first area when min_separation_m = 150
    (7, 7): 7.0,
    (8, 8): 5.0,  # diagonal (queen) neighbour of (7, 7)
    (9, 0): 3.0,
    (0, 9): 2.0,
}
TOTAL = sum(HARM.values())  # 51


def _hotspots() -> gpd.GeoDataFrame:
    cells = list(HARM)
    crimes = pd.DataFrame({
        "x": [i * 100 + 50.0 for i, _ in cells],
        "y": [j * 100 + 50.0 for _, j in cells],
        "harm": list(HARM.values()),
    })
    return count(crimes, UNITS)


def test_hand_grid_three_cell_cap() -> None:
    hotspots = _hotspots()
    before = hotspots.copy()
    areas = candidate_areas(hotspots, UNITS, max_area_m2=30_000, min_separation_m=150)
    assert tuple(areas.columns) == AREA_COLUMNS
    # By hand, seeds in harm order 10, 9, 8, ...:
    # 1. g2_2 (10) absorbs its best neighbour g3_2 (8), then g2_3 (6): 3 cells = 30,000 m² = cap.
    #    g3_3 (1, touching) and g5_2 (9, 100 m away) are now closer than 150 m: blocked.
    # 2. g7_7 (7) absorbs its diagonal neighbour g8_8 (5).
    # 3. g9_0 (3) alone; 4. g0_9 (2) alone.
    assert areas["unit_ids"].tolist() == ["g2_2,g3_2,g2_3", "g7_7,g8_8", "g9_0", "g0_9"]
    assert areas["harm"].tolist() == [24.0, 12.0, 3.0, 2.0]
    assert areas["crimes"].tolist() == [3, 2, 1, 1]
    assert areas["area_m2"].tolist() == [30_000.0, 20_000.0, 10_000.0, 10_000.0]
    np.testing.assert_allclose(areas["share_of_harm"], np.array([24, 12, 3, 2]) / TOTAL)
    assert areas["area_id"].tolist() == [1, 2, 3, 4] and not areas["over_cap"].any()
    # dissolved: the first area is the L of three 100 m boxes
    expected = shapely.union_all([shapely.box(200, 200, 400, 300), shapely.box(200, 300, 300, 400)])
    assert areas.geometry.iloc[0].symmetric_difference(expected).area == pytest.approx(0)
    assert areas.crs == hotspots.crs
    pd.testing.assert_frame_equal(hotspots, before)  # not mutated
    # n stops early
    assert candidate_areas(hotspots, UNITS, n=2, max_area_m2=30_000, min_separation_m=150)["harm"].tolist() \
        == [24.0, 12.0]


def test_hand_grid_other_caps_and_separation() -> None:
    hotspots = _hotspots()
    # max_cells=2: g2_2 + g3_2 (18); g2_3, g3_3 touch it, g5_2 is 100 m away: all blocked
    two = candidate_areas(hotspots, UNITS, max_cells=2, min_separation_m=150)
    assert two["unit_ids"].tolist() == ["g2_2,g3_2", "g7_7,g8_8", "g9_0", "g0_9"]
    # default cap 62,500 m² = 6 cells: the first area also absorbs g3_3 (4 cells, harm 25)
    wide, record = _candidate_areas(hotspots, UNITS, min_separation_m=150)
    assert wide["unit_ids"].iloc[0] == "g2_2,g3_2,g2_3,g3_3" and wide["harm"].iloc[0] == 25.0
    assert record["max_area_m2"] == DEFAULT_MAX_AREA_M2 and not wide.attrs
    # min_separation_m = 100: g5_2 is exactly 100 m from the first area, so it may be an area
    close = candidate_areas(hotspots, UNITS, max_area_m2=30_000, min_separation_m=100)
    assert close["unit_ids"].tolist() == ["g2_2,g3_2,g2_3", "g5_2", "g7_7,g8_8", "g9_0", "g0_9"]
    # geometry adjacency (units=None) gives the same areas as GridUnits.neighbours()
    geo, record = _candidate_areas(hotspots, None, max_area_m2=30_000, min_separation_m=150)
    assert geo["unit_ids"].tolist() == ["g2_2,g3_2,g2_3", "g7_7,g8_8", "g9_0", "g0_9"]
    assert record["adjacency"] == "geometry"
    # ranking by crimes (all 1): ties broken by unit_id -> g0_9 seeds first
    by_count = candidate_areas(hotspots, UNITS, weights=None, max_cells=1, min_separation_m=0)
    assert by_count["unit_ids"].iloc[0] == "g0_9" and len(by_count) == len(HARM)


def test_bad_arguments() -> None:
    hotspots = _hotspots()
    with pytest.raises(InputError, match="'min_separation_m' must be >= 0"):
        candidate_areas(hotspots, UNITS, min_separation_m=-1)
    with pytest.raises(InputError, match="'max_area_m2' must be > 0"):
        candidate_areas(hotspots, UNITS, max_area_m2=0)
    with pytest.raises(InputError, match="projected CRS"):
        candidate_areas(hotspots.to_crs("EPSG:4326"), UNITS)
    with pytest.raises(InputError, match="lacks column"):
        candidate_areas(hotspots.drop(columns="harm"), UNITS)
    with pytest.raises(InputError, match="no unit has harm > 0"):
        candidate_areas(hotspots.assign(harm=0.0), UNITS)


def test_real_bedfordshire_areas(bedfordshire_crimes, bedfordshire_area) -> None:
    crimes = bedfordshire_crimes(3)
    crimes["harm"] = apply_harm(crimes, load_harm_table("cchi"))
    units = GridUnits.from_crimes(crimes, cell_size=150, area=bedfordshire_area)
    hotspots = count(crimes, units)
    areas = candidate_areas(hotspots, units, n=20)
    assert len(areas) == 20
    assert (areas["area_m2"] <= DEFAULT_MAX_AREA_M2).all() and not areas["over_cap"].any()
    # harm and crimes of each area = the sums over its member units in the count frame
    by_id = hotspots.set_index("unit_id")
    members = [ids.split(",") for ids in areas["unit_ids"]]
    flat = [u for m in members for u in m]
    assert len(flat) == len(set(flat))  # disjoint: no unit in two areas
    for row, ids in zip(areas.itertuples(), members, strict=True):
        assert row.harm == pytest.approx(by_id.loc[ids, "harm"].sum())
        assert row.crimes == by_id.loc[ids, "crimes"].sum()
        assert row.area_m2 == pytest.approx(150.0**2 * len(ids))
        assert row.geometry.area == pytest.approx(row.area_m2)  # dissolved cells do not overlap
    np.testing.assert_allclose(areas["share_of_harm"], areas["harm"] / hotspots["harm"].sum())
    # separated: boundaries at least 200 m apart, pairwise
    for a, b in itertools.combinations(areas.geometry, 2):
        assert a.distance(b) >= 200 - 1e-6
    # the first area is seeded by the unit ranked first by count()
    assert members[0][0] == hotspots["unit_id"].iloc[0]
    # deterministic
    pd.testing.assert_frame_equal(areas, candidate_areas(hotspots, units, n=20))


def test_rook_contiguity_does_not_merge_diagonals() -> None:
    # g7_7 and g8_8 meet only at the corner (800, 800): rook does not merge them, and g8_8, at
    # distance 0 from the area {g7_7}, is then blocked; queen merges them (see above)
    areas = candidate_areas(_hotspots(), UNITS, max_area_m2=30_000, min_separation_m=150, contiguity="rook")
    assert areas["unit_ids"].tolist() == ["g2_2,g3_2,g2_3", "g7_7", "g9_0", "g0_9"]
