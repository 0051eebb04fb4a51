"""Calibrated Gi*: exact permutation tails checked by enumeration, scipy's hypergeometric and Monte
Carlo; on real counts shuffled over the units the default flags (almost) nothing; on the real counts
it still finds the Luton and Bedford town centres.

Real data: police.uk street crime for Bedfordshire (the first 12 monthly files, 2021-05 to 2022-04),
serious violence (violence and sexual offences, robbery, possession of weapons); the 2011 LSOA
boundaries; the Chicago aggravated assaults of 2019 (City of Chicago, via crimemappingdata).
The long version (more runs, the 36-month and 100 m grids) is ``benchmarks/gistar_speed.py --null``.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
from scipy import stats

from gripkit import datasets
from gripkit.harm import apply_harm, load_harm_table
from gripkit.hotspots.count import count
from gripkit.hotspots.gistar import _gistar, gistar
from gripkit.hotspots.permutation import NeighbourhoodNull, subset_sum_pmf
from gripkit.units import GridUnits, LsoaUnits

SERIOUS_VIOLENCE = ["Violence and sexual offences", "Robbery", "Possession of weapons"]
#: runs of the shuffled-null acceptance in the suite; at most 5% of them (1) may flag any unit
RUNS = 20
#: town centres in EPSG:27700 from their Ordnance Survey grid references: Luton, St George's Square
#: (TL 092 212); Bedford, St Paul's Square (TL 049 497)
TOWN_CENTRES = {"Luton": (509_200.0, 221_200.0), "Bedford": (504_900.0, 249_700.0)}


# --------------------------------------------------------------------------- the exact tables


def enumerated_pmf(values: list[int], k: int, cap: int) -> np.ndarray:
    """P(S_k = s) by listing every k-subset (itertools), the last bin holding s >= cap."""
    sums = Counter(min(sum(c), cap) for c in itertools.combinations(values, k))
    total = math.comb(len(values), k)
    return np.array([sums.get(s, 0) / total for s in range(cap + 1)])


def test_tables_equal_enumeration_of_every_subset() -> None:
    values = [0, 0, 0, 0, 1, 1, 2, 3, 3, 5, 8, 0, 1]  # 13 values with ties, as counts have
    pmf = subset_sum_pmf(np.array(values), 6, 30)
    for k in range(7):
        np.testing.assert_allclose(pmf[k], enumerated_pmf(values, k, 30), rtol=1e-12, atol=1e-15)
    capped = subset_sum_pmf(np.array(values), 6, 10)  # everything >= 10 in the last bin
    np.testing.assert_allclose(capped[6], enumerated_pmf(values, 6, 10), rtol=1e-12, atol=1e-15)


def test_zero_one_values_are_the_hypergeometric() -> None:
    # 0/1 values: the sum of k drawn without replacement is hypergeometric (scipy.stats.hypergeom)
    x = np.r_[np.ones(37), np.zeros(19_963)]
    null = NeighbourhoodNull.build(x, 25)
    assert null.exact and null.step == 1.0
    for k in (1, 9, 25):
        ref = stats.hypergeom(20_000, 37, k)
        s = np.arange(min(k, 37) + 1)
        # upper tails summed from the top keep their relative precision far below 1e-30
        np.testing.assert_allclose(null.upper[k, s], ref.sf(s - 1), rtol=1e-9)
        np.testing.assert_allclose(null.lower[k, s], ref.cdf(s), rtol=1e-9)
    assert null.upper[9, 9] == pytest.approx(math.comb(37, 9) / math.comb(20_000, 9), rel=1e-9)


@pytest.fixture(scope="module")
def sv_grid(bedfordshire_crimes, bedfordshire_area) -> tuple[gpd.GeoDataFrame, GridUnits]:
    crimes = bedfordshire_crimes(12)
    crimes = crimes[crimes["crime_type"].isin(SERIOUS_VIOLENCE)].copy()
    crimes["harm"] = apply_harm(crimes, load_harm_table("cchi"))
    units = GridUnits.from_crimes(crimes, cell_size=250, area=bedfordshire_area)
    return count(crimes, units), units


def monte_carlo_upper(x: np.ndarray, k: int, thresholds: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """P(S_k >= t) from ``draws`` random k-subsets (without replacement) of ``x``."""
    rng = np.random.default_rng(seed)
    picks = np.argpartition(rng.random((draws, len(x))), k, axis=1)[:, :k]
    sums = x[picks].sum(axis=1)
    return (sums[:, None] >= thresholds[None, :]).mean(axis=0)


@pytest.mark.parametrize("column", ["crimes", "harm"])
def test_tails_agree_with_brute_force_monte_carlo(sv_grid, column: str) -> None:
    hotspots, _ = sv_grid
    rng = np.random.default_rng(3)
    # 80 real cells: the 6 busiest and 74 drawn at random (mostly zeros), so the tails are skewed
    values = hotspots[column].to_numpy(dtype=float)
    x = np.r_[values[:6], rng.choice(values[6:], 74, replace=False)]
    null = NeighbourhoodNull.build(x, 9)
    draws = 100_000
    for k in (4, 9):
        thresholds = np.quantile(x[np.argpartition(rng.random((2_000, 80)), k, axis=1)[:, :k]].sum(axis=1),
                                 [0.5, 0.9, 0.99, 0.999])
        mc = monte_carlo_upper(x, k, thresholds, draws, seed=k)
        # the observed sum on the lattice: floor(t / step) is what a unit summing to t gets
        lattice = np.floor(thresholds / null.step + 1e-9)
        exact = null.upper[k, np.minimum(lattice.astype(int), null.upper.shape[1] - 1)]
        se = np.sqrt(mc * (1 - mc) / draws) + 1 / draws
        if null.exact:  # counts: exact, so within 4.5 standard errors of the Monte Carlo estimate
            assert column == "crimes"
            np.testing.assert_array_less(np.abs(exact - mc), 4.5 * se)
        else:  # harm on the lattice: conservative (never below), and close (within k steps)
            assert column == "harm"
            np.testing.assert_array_less(mc - 4.5 * se, exact)
            looser = monte_carlo_upper(x, k, thresholds - (k + 1) * null.step, draws, seed=k)
            np.testing.assert_array_less(exact, looser + 4.5 * se)


# --------------------------------------------------------------------------- real data, shuffled


def hot_runs(hotspots: pd.DataFrame, units, column: str, p_values: str, runs: int) -> list[int]:
    """Hot units of gistar (FDR 5%) on ``runs`` shuffles of the real ``column`` over the units."""
    rng = np.random.default_rng(2024)
    weights = None if column == "crimes" else column
    out = []
    for _ in range(runs):
        shuffled = hotspots.assign(**{column: rng.permutation(hotspots[column].to_numpy())})
        out.append(int(gistar(shuffled, units, weights=weights, p_values=p_values, null_runs=0)["hot"].sum()))
    return out


@pytest.mark.parametrize("column", ["crimes", "harm"])
def test_shuffled_grid_flags_nothing(sv_grid, column: str) -> None:
    hotspots, units = sv_grid
    assert len(units) == 20_322  # 250 m cells over the force area
    calibrated = hot_runs(hotspots, units, column, "permutation", RUNS)
    assert sum(n > 0 for n in calibrated) <= RUNS // 20, calibrated  # any hot unit in <= 5% of runs
    normal = hot_runs(hotspots, units, column, "normal", 3)
    assert min(normal) > 100, normal  # the normal approximation flags chance in every run


@pytest.fixture(scope="module")
def sv_lsoa(bedfordshire_crimes) -> tuple[gpd.GeoDataFrame, LsoaUnits]:
    crimes = bedfordshire_crimes(12)
    crimes = crimes[crimes["crime_type"].isin(SERIOUS_VIOLENCE)].copy()
    units = LsoaUnits(datasets.bedfordshire_lsoa())
    return count(crimes, units), units


def test_shuffled_lsoas_flag_nothing(sv_lsoa) -> None:
    hotspots, units = sv_lsoa
    calibrated = hot_runs(hotspots, units, "crimes", "permutation", RUNS)
    assert sum(n > 0 for n in calibrated) <= RUNS // 20, calibrated
    normal = hot_runs(hotspots, units, "crimes", "normal", 5)
    assert sum(n > 0 for n in normal) >= 4, normal  # chance flags under the normal approximation


@pytest.fixture(scope="module")
def chicago(shared_data) -> tuple[gpd.GeoDataFrame, GridUnits]:
    raw = pd.read_csv(shared_data("chicago", "chicago_aggravated_assaults.csv.gz"))
    raw = raw[raw["date"].str.startswith("2019")].dropna(subset=["longitude", "latitude"])
    x, y = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:26916", always_xy=True).transform(
        raw["longitude"].to_numpy(), raw["latitude"].to_numpy()
    )
    crimes = pd.DataFrame({"x": x, "y": y})
    units = GridUnits.from_crimes(crimes, cell_size=250, crs="EPSG:26916")
    return count(crimes, units), units


def test_shuffled_chicago_flags_nothing(chicago) -> None:
    hotspots, units = chicago
    assert int(hotspots["crimes"].sum()) > 10_000 and len(units) > 15_000
    calibrated = hot_runs(hotspots, units, "crimes", "permutation", RUNS)
    assert sum(n > 0 for n in calibrated) <= RUNS // 20, calibrated
    # the real 2019 assaults do cluster
    assert gistar(hotspots, units, null_runs=0)["hot"].sum() > 20


# --------------------------------------------------------------------------- real data, as it is


def test_real_counts_find_the_town_centres(sv_grid) -> None:
    hotspots, units = sv_grid
    result, params = _gistar(hotspots, units)
    hot = result[result["hot"]]
    assert len(hot) >= 20 and params["null_hot_mean"] < 1  # what chance gives, reported with the result
    centres = hot.geometry.centroid
    near = {
        town: int((np.hypot(centres.x - ex, centres.y - ny) < 2_000).sum())
        for town, (ex, ny) in TOWN_CENTRES.items()
    }
    assert near["Luton"] >= 5 and near["Bedford"] >= 5, near
    assert sum(near.values()) >= 0.8 * len(hot)  # most hot cells are in the two town centres
    # the same by LSOA names (lsoa11nm "Luton 018F", "Bedford 012A", ...): every hot cell's centre
    # lies in an LSOA of Luton or Bedford borough
    lsoa = datasets.bedfordshire_lsoa().to_crs(result.crs)
    joined = gpd.sjoin(gpd.GeoDataFrame(geometry=centres, crs=result.crs), lsoa[["lsoa11nm", "geometry"]])
    towns = joined["lsoa11nm"].str.split(" ").str[0]
    assert set(towns) <= {"Luton", "Bedford"} and towns.value_counts().min() >= 5
    # the normal approximation flags many more cells, most of them the chance its null check shows
    normal = _gistar(hotspots, units, p_values="normal")[1]
    assert normal["n_hot"] > 3 * params["n_hot"] and normal["null_hot_mean"] > 100
