"""gistar: a 3 x 3 grid by hand; esda.G_Local(star=True) on real Bedfordshire grids and LSOAs; bad input.

How esda treats the self-weight (esda 2.9, ``getisord._infer_star_and_structure_w``): a binary W
without a diagonal and ``star=True`` gets ``fill_diagonal(w, 1)``, i.e. w_ii = 1 as in Gi*; its
variance is ``E[y²] − E[y]²`` (ddof=0). So the references below are built *without* self-links,
independently of gripkit (libpysal DistanceBand on cell centres, libpysal Queen on polygons), and
``G_Local(y, w, star=True, transform="B", permutations=0).Zs`` is compared with ``gi_z``.
esda's ``p_norm`` is one-sided (``norm.sf(|z|)``); gripkit's ``gi_p`` is two-sided.
"""

from __future__ import annotations

import json
import math
import sys
import warnings

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from libpysal.weights import DistanceBand, Queen
from scipy import stats

from gripkit import datasets
from gripkit.errors import InputError
from gripkit.harm import apply_harm, load_harm_table
from gripkit.hotspots import adjust_pvalues
from gripkit.hotspots.count import count
from gripkit.hotspots.gistar import _gistar, gistar
from gripkit.units import GridUnits, LsoaUnits

GISTAR_MODULE = sys.modules["gripkit.hotspots.gistar"]
#: the column tested -> the ``weights`` argument that tests it (None: crime counts)
WEIGHTS: dict[str, str | None] = {"crimes": None, "harm": "harm"}


def esda_z(y: np.ndarray, w) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return esda.G_Local(y, w, star=True, transform="B", permutations=0).Zs


def in_frame_order(result: pd.DataFrame, units, column: str) -> np.ndarray:
    ids = units.frame["unit_id"].astype(object)
    return result.set_index(result["unit_id"].astype(object)).loc[ids, column].to_numpy(dtype=float)


def centre_band(units: GridUnits, distance: float) -> DistanceBand:
    centres = units.frame.geometry.centroid
    return DistanceBand(
        np.c_[centres.x, centres.y], threshold=distance * 1.0001, binary=True, silence_warnings=True
    )


# --------------------------------------------------------------------------- by hand

# 3 x 3 grid of 100 m cells, frame order g0_0 g1_0 g2_0 / g0_1 g1_1 g2_1 / g0_2 g1_2 g2_2.
HAND_COUNTS = [4, 2, 0, 1, 1, 0, 0, 0, 1]


def hand_hotspots() -> tuple[gpd.GeoDataFrame, GridUnits]:
    units = GridUnits(100, (0, 0, 299, 299))
    centres = units.frame.geometry.centroid
    crimes = pd.DataFrame(
        {"x": np.repeat(centres.x.to_numpy(), HAND_COUNTS), "y": np.repeat(centres.y.to_numpy(), HAND_COUNTS)}
    )
    return count(crimes, units), units


def test_three_by_three_by_hand() -> None:
    hotspots, units = hand_hotspots()
    result = gistar(hotspots, units)
    z = dict(zip(result["unit_id"], result["gi_z"], strict=True))
    # n = 9, sum 9, mean 1; sum of squares 16+4+1+1+1 = 23, S² = 23/9 - 1 = 14/9, S = √14 / 3.
    # g0_0 (corner; itself + g1_0, g0_1, g1_1: 4 cells): Σwx = 4+2+1+1 = 8,
    #   z = (8 - 1·4) / (S · √((9·4 - 4²)/8)) = 4 / (√14/3 · √2.5) = 12 / √35
    assert z["g0_0"] == pytest.approx(12 / math.sqrt(35), abs=1e-12)
    # g1_0 (edge; 6 cells g0_0 g1_0 g2_0 g0_1 g1_1 g2_1): Σwx = 8, z = (8 - 6) / (S · √((54 - 36)/8)) = 4/√14
    assert z["g1_0"] == pytest.approx(4 / math.sqrt(14), abs=1e-12)
    # g2_2 (corner; g1_1 g2_1 g1_2 g2_2): Σwx = 1+0+0+1 = 2, z = (2 - 4) / (√35 / 3) = -6/√35
    assert z["g2_2"] == pytest.approx(-6 / math.sqrt(35), abs=1e-12)
    # g1_1 sees all 9 cells: n·9 - 9² = 0, no variance; gripkit sets z = 0 (esda gives NaN)
    assert z["g1_1"] == 0.0
    # two-sided normal p (p_values="normal"): 2 (1 - Φ(|z|)) = erfc(|z| / √2)
    normal = gistar(hotspots, units, p_values="normal")
    p = dict(zip(normal["unit_id"], normal["gi_p"], strict=True))
    assert p["g0_0"] == pytest.approx(math.erfc(12 / math.sqrt(35) / math.sqrt(2)), rel=1e-12)
    assert p["g1_1"] == 1.0
    # exact permutation p (the default): g0_0's 4 cells sum to 8; of the C(9, 4) = 126 sets of 4 of
    # the values {4, 2, 1, 1, 1, 0, 0, 0, 0}, a sum >= 8 needs the 4, the 2 and two of the three 1s
    # (3 sets; without the 4 or the 2 the most is 7), so P(S >= 8) = 3/126 and two-sided p = 6/126.
    # g2_2 sums to 2: P(S <= 2) = sets without the 4 and 2 summing <= 2 (C(7,4) − C(3,3)·C(4,1) = 31)
    # plus those with the 2 and three of the seven zeros or ones summing 0 (C(4,3) = 4): 35/126.
    exact = dict(zip(result["unit_id"], result["gi_p"], strict=True))
    assert exact["g0_0"] == pytest.approx(6 / 126, rel=1e-12)
    assert exact["g2_2"] == pytest.approx(min(1.0, 2 * 35 / 126), rel=1e-12)
    assert exact["g1_1"] == 1.0


def test_band_over_the_whole_grid_has_no_variance() -> None:
    hotspots, units = hand_hotspots()
    # 10 km on a 300 m x 300 m grid: every neighbourhood is all 9 cells, so n·9 − 9² = 0 everywhere
    result, params = _gistar(hotspots, units, distance=10_000)
    assert (result["gi_z"] == 0).all() and (result["gi_p"] == 1).all() and not result["hot"].any()
    assert params["neighbourhood_max"] == 9


def test_hand_example_matches_esda_where_defined() -> None:
    hotspots, units = hand_hotspots()
    result = gistar(hotspots, units)
    ours = in_frame_order(result, units, "gi_z")
    theirs = esda_z(np.array(HAND_COUNTS, dtype=float), centre_band(units, 100 * math.sqrt(2)))
    assert np.isnan(theirs[4])  # the centre cell: 0/0 in esda
    keep = np.arange(9) != 4
    np.testing.assert_allclose(ours[keep], theirs[keep], rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real_grid(bedfordshire_crimes, bedfordshire_area) -> tuple[gpd.GeoDataFrame, GridUnits]:
    crimes = bedfordshire_crimes(3)
    crimes["harm"] = apply_harm(crimes, load_harm_table("cchi"))
    units = GridUnits.from_crimes(crimes, cell_size=500, area=bedfordshire_area)
    return count(crimes, units), units


@pytest.mark.parametrize("value", ["crimes", "harm"])
@pytest.mark.parametrize("distance", [None, 1_200.0])
def test_real_grid_equals_esda(real_grid, value: str, distance: float | None) -> None:
    hotspots, units = real_grid
    result, params = _gistar(hotspots, units, weights=WEIGHTS[value], distance=distance)
    band = 500 * math.sqrt(2) if distance is None else distance
    y = in_frame_order(hotspots, units, value)
    expected = esda_z(y, centre_band(units, band))
    np.testing.assert_allclose(in_frame_order(result, units, "gi_z"), expected, rtol=0, atol=1e-9)
    assert len(result) > 5_000  # 500 m cells over the ~1,235 km² force area
    assert params["distance_m"] == pytest.approx(band) and params["weights"] == WEIGHTS[value]
    assert not result.attrs  # provenance goes to the job's meta, never into DataFrame.attrs


def test_real_grid_fft_path_equals_esda(real_grid, monkeypatch: pytest.MonkeyPatch) -> None:
    hotspots, units = real_grid
    monkeypatch.setattr(GISTAR_MODULE, "DIRECT_MAX_KERNEL_CELLS", 0)  # force overlap-add FFT
    # disc of radius 2,000 / 500 = 4 cells: i² + j² <= 16 holds for 9 + 2·7 + 2·7 + 2·5 + 2·1 = 49 cells
    reference = centre_band(units, 2_000)
    for value in ("crimes", "harm"):  # whole numbers are rounded after the FFT, harm is not
        result, params = _gistar(hotspots, units, weights=WEIGHTS[value], distance=2_000)
        assert params["spatial_weights"].endswith("(49-cell kernel) plus self")
        y = in_frame_order(hotspots, units, value)
        np.testing.assert_allclose(
            in_frame_order(result, units, "gi_z"), esda_z(y, reference), rtol=0, atol=1e-9
        )


def test_real_grid_columns_p_q_hot_and_params(real_grid) -> None:
    hotspots, units = real_grid
    before = hotspots.copy()
    result, params = _gistar(
        hotspots, units, weights="harm", correction="holm", alpha=0.01, p_values="normal"
    )
    pd.testing.assert_frame_equal(
        result, gistar(hotspots, units, weights="harm", correction="holm", alpha=0.01, p_values="normal")
    )  # the public verb is the same frame
    pd.testing.assert_frame_equal(hotspots, before)  # input untouched
    assert "gi_z" not in hotspots.columns
    assert list(result.columns) == [*hotspots.columns, "gi_z", "gi_p", "gi_q", "hot"]
    assert result["unit_id"].tolist() == hotspots["unit_id"].tolist()  # rows keep harm_rank order
    z = result["gi_z"].to_numpy()
    np.testing.assert_allclose(result["gi_p"], 2 * stats.norm.sf(np.abs(z)), rtol=1e-12)
    np.testing.assert_array_equal(result["gi_q"], adjust_pvalues(result["gi_p"].to_numpy(), "holm"))
    np.testing.assert_array_equal(result["hot"], (result["gi_q"] < 0.01) & (z > 0))
    json.dumps(params)
    assert params["weights"] == "harm" and params["correction"] == "holm" and params["alpha"] == 0.01
    assert params["n_units"] == len(units) and params["n_hot"] == int(result["hot"].sum()) > 0
    assert params["neighbourhood_max"] == 9  # queen + self
    assert params["p_values"] == "normal" and params["p_value_method"] == "two-sided, normal approximation"
    # BH flags at least as many units as Holm at the same level
    bh = _gistar(hotspots, units, weights="harm", alpha=0.01, p_values="normal")[1]
    assert bh["n_hot"] >= params["n_hot"]
    # the default exact permutation p-values: the same z, never more hot units than the normal
    # approximation on these skewed cells, and the null check recorded
    exact, record = _gistar(hotspots, units, weights="harm", correction="holm", alpha=0.01)
    np.testing.assert_array_equal(exact["gi_z"], result["gi_z"])
    assert record["p_values"] == "permutation" and record["p_values_exact"] is False  # harm: lattice
    assert 0 < record["n_hot"] <= params["n_hot"] and record["lattice_step"] > 0
    assert record["null_runs"] == 5 and len(record["null_hot"]) == 5 and record["null_seed"] == 0
    assert record["null_hot_mean"] == pytest.approx(np.mean(record["null_hot"]))
    json.dumps(record)


def test_row_order_of_hotspots_does_not_matter(real_grid) -> None:
    hotspots, units = real_grid
    shuffled = hotspots.sample(frac=1, random_state=7)
    shuffled["unit_id"] = shuffled["unit_id"].astype(object)  # also the non-Arrow string path
    a = gistar(hotspots, units).set_index("unit_id")["gi_z"]
    b = gistar(shuffled, units).set_index("unit_id")["gi_z"]
    pd.testing.assert_series_equal(a, b.loc[a.index], check_index_type=False)


@pytest.fixture(scope="module")
def real_lsoa(bedfordshire_crimes) -> tuple[gpd.GeoDataFrame, LsoaUnits, gpd.GeoDataFrame]:
    polygons = datasets.bedfordshire_lsoa()
    units = LsoaUnits(polygons)
    crimes = bedfordshire_crimes(3)
    crimes["harm"] = apply_harm(crimes, load_harm_table("cchi"))
    return count(crimes, units), units, polygons


@pytest.mark.parametrize("value", ["crimes", "harm"])
def test_real_lsoa_equals_esda_with_queen(real_lsoa, value: str) -> None:
    hotspots, units, polygons = real_lsoa
    result, params = _gistar(hotspots, units, weights=WEIGHTS[value])
    reference = Queen.from_dataframe(polygons, use_index=False, silence_warnings=True)
    expected = esda_z(in_frame_order(hotspots, units, value), reference)
    np.testing.assert_allclose(in_frame_order(result, units, "gi_z"), expected, rtol=0, atol=1e-9)
    assert params["n_units"] == 381


def test_real_lsoa_centroid_band_equals_esda(real_lsoa) -> None:
    hotspots, units, polygons = real_lsoa
    result = gistar(hotspots, units, distance=2_000)
    centres = polygons.geometry.centroid
    reference = DistanceBand(np.c_[centres.x, centres.y], threshold=2_000, binary=True, silence_warnings=True)
    expected = esda_z(in_frame_order(hotspots, units, "crimes"), reference)
    np.testing.assert_allclose(in_frame_order(result, units, "gi_z"), expected, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- bad input


def test_geographic_crs_is_an_input_error() -> None:
    hotspots, units = hand_hotspots()
    with pytest.raises(InputError, match=r"'hotspots CRS' must be a projected CRS in metres"):
        gistar(hotspots.to_crs("EPSG:4326"), units)


@pytest.mark.parametrize(
    ("change", "kwargs", "match"),
    [
        (None, {"weights": "harmx"}, r"hotspots lack the column 'harmx'"),
        ("negative", {}, r"must hold finite numbers >= 0; received 1 missing, infinite or negative"),
        ("constant", {}, r"is the same \(2\) in all 9 units, so its standard deviation is 0"),
        ("drop", {}, r"must hold each of the 9 units exactly once; received 8 rows"),
        ("duplicate", {}, r"received 9 rows with 0 unknown id\(s\).* and 1 duplicate"),
        (None, {"correction": "fdr"}, r"'correction' must be one of fdr_bh, holm, bonferroni, none"),
        (None, {"alpha": 0}, r"'alpha' must be a fraction between 0 and 1"),
        (None, {"distance": -5}, r"'distance' must be > 0 metres; received -5"),
        (None, {"distance": 50}, r"must reach the neighbouring cells, i\.e\. be >= the cell size 100 m"),
    ],
)
def test_bad_input(change: str | None, kwargs: dict, match: str) -> None:
    hotspots, units = hand_hotspots()
    if change == "negative":
        hotspots.loc[0, "crimes"] = -1
    elif change == "constant":
        hotspots["crimes"] = 2
    elif change == "drop":
        hotspots = hotspots.iloc[1:]
    elif change == "duplicate":
        hotspots = pd.concat([hotspots.iloc[:8], hotspots.iloc[:1]])
    with pytest.raises(InputError, match=match):
        gistar(hotspots, units, **kwargs)


def test_fewer_than_three_units_and_wrong_units() -> None:
    units = GridUnits(100, (0, 0, 199, 50))
    two = count(pd.DataFrame({"x": [50.0, 150.0, 160.0], "y": [10.0, 10.0, 10.0]}), units)
    with pytest.raises(InputError, match=r"Gi\* needs at least 3 units; received 2"):
        gistar(two, units)
    with pytest.raises(InputError, match=r"'units' must be a gripkit Units object; received str"):
        gistar(two, "grid")  # type: ignore[arg-type]


def test_lsoa_units_without_boundaries() -> None:
    crimes = pd.DataFrame({"lsoa_code": ["E01000001"] * 3 + ["E01000002", "E01000003"]})
    units = LsoaUnits.from_crimes(crimes)
    with pytest.raises(InputError, match=r"LSOA neighbours .* need polygons.*Pass .boundaries."):
        gistar(count(crimes, units), units)
    with pytest.raises(InputError, match=r"a distance band needs unit geometries"):
        gistar(count(crimes, units), units, distance=500)


# --------------------------------------------------------------------------- matching ids to cells

ALIGN_MODULE = sys.modules["gripkit.hotspots._align"]


@pytest.mark.parametrize(
    "ids",
    [["g01_0"], ["g-0_1"], ["g1_2_3"], ["h1_2"], ["g_1"], ["g1x_2"], ["g+5_1"], ["g5_-0012"], ["g1-2_3"],
     ["g 5_1"], ["g99999999999999999999_1"], ["gé_1"], ["g1_2", None]],
)
def test_non_canonical_ids_are_not_parsed(ids: list) -> None:
    # each differs from the canonical f"g{col}_{row}" (leading zero, "-0", "+", extra text, ...), so
    # the fast path must leave it to the exact string lookup
    assert ALIGN_MODULE._parse_grid_ids(pd.Series(ids, dtype="string")) is None


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(*[st.integers(-(10**12), 10**12)] * 2), min_size=1, max_size=50))
def test_canonical_ids_round_trip(cells: list[tuple[int, int]]) -> None:
    ids = pd.Series([f"g{c}_{r}" for c, r in cells], dtype="string")
    cols, rows = ALIGN_MODULE._parse_grid_ids(ids)
    assert cols.tolist() == [c for c, _ in cells] and rows.tolist() == [r for _, r in cells]


def test_unknown_grid_id_falls_back_and_is_reported() -> None:
    hotspots, units = hand_hotspots()
    hotspots.loc[hotspots["unit_id"] == "g2_2", "unit_id"] = "g02_2"  # not canonical: string lookup
    with pytest.raises(InputError, match=r"received 9 rows with 1 unknown id\(s\) \(e\.g\. g02_2\)"):
        gistar(hotspots, units)
