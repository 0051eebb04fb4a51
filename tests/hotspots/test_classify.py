"""hotspots.classify: Mann–Kendall vs scipy/hand formulas; categories known by construction."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gripkit.errors import InputError
from gripkit.hotspots.classify import CATEGORIES, _emerging, classify_trends, emerging, mann_kendall
from gripkit.hotspots.count import count
from gripkit.hotspots.gistar import gistar
from gripkit.units import GridUnits

T = 10


def _s_and_var(x: np.ndarray) -> tuple[float, float]:
    """Mann–Kendall S by the double loop and its tie-corrected variance (Kendall 1975 formula)."""
    n = len(x)
    s = sum(np.sign(x[j] - x[i]) for i, j in itertools.combinations(range(n), 2))
    ties = sum(t * (t - 1) * (2 * t + 5) for t in Counter(x.tolist()).values())
    return float(s), (n * (n - 1) * (2 * n + 5) - ties) / 18


def test_mann_kendall_hand_example() -> None:
    # [1, 2, 3, 4]: all 6 pairs increase, S = 6, Var = 4*3*13/18 = 26/3, z = (6 - 1)/sqrt(26/3)
    tau, z, p = mann_kendall(np.array([1.0, 2.0, 3.0, 4.0]))
    assert tau[0] == 1.0
    assert z[0] == pytest.approx(5 / np.sqrt(26 / 3))
    assert p[0] == pytest.approx(2 * stats.norm.sf(5 / np.sqrt(26 / 3)))
    # a constant row: every value tied, Var(S) = 0 -> z = 0, p = 1
    tau, z, p = mann_kendall(np.full((1, 6), 2.5))
    assert (tau[0], z[0], p[0]) == (0.0, 0.0, 1.0)


def test_mann_kendall_matches_kendalltau_without_ties() -> None:
    rng = np.random.default_rng(7)
    series = np.array([rng.permutation(12) + rng.uniform(0, 0.1) for _ in range(40)])  # tie-free rows
    tau, z, _ = mann_kendall(series)
    t = np.arange(12)
    for row, tau_i, z_i in zip(series, tau, z, strict=True):
        ref = stats.kendalltau(t, row, method="asymptotic")
        # without ties tau-b (scipy) = tau-a (Mann–Kendall)
        assert tau_i == pytest.approx(ref.statistic, abs=1e-12)
        # scipy's asymptotic z = S / sqrt(Var); ours subtracts sign(S) (continuity correction)
        s, var = _s_and_var(row)
        assert s == pytest.approx(tau_i * 66)  # 12*11/2 = 66 pairs
        assert abs(z_i) == pytest.approx(max(abs(s) - 1, 0) / np.sqrt(var))
        assert stats.norm.isf(ref.pvalue / 2) == pytest.approx(abs(s) / np.sqrt(var))


def test_mann_kendall_tie_corrected_variance_matches_scipy() -> None:
    rng = np.random.default_rng(11)
    series = rng.integers(0, 4, size=(30, 15)).astype(float)  # many ties
    series = series[series.std(axis=1) > 0]
    tau, z, _ = mann_kendall(series)
    t = np.arange(15)
    n0 = 15 * 14 / 2
    for row, tau_i, z_i in zip(series, tau, z, strict=True):
        s, var = _s_and_var(row)  # independent double loop
        assert tau_i == pytest.approx(s / n0)  # tau-a
        ref = stats.kendalltau(t, row, method="asymptotic")
        # tau-b = S / sqrt(n0 (n0 - n2)), n2 = tied pairs in row (none in t)
        n2 = sum(c * (c - 1) / 2 for c in Counter(row.tolist()).values())
        assert ref.statistic * np.sqrt(n0 * (n0 - n2)) == pytest.approx(s)
        # scipy's asymptotic variance with ties in y only is the Mann–Kendall tie-corrected one
        assert stats.norm.isf(ref.pvalue / 2) == pytest.approx(abs(s) / np.sqrt(var))
        assert z_i == pytest.approx(np.sign(s) * max(abs(s) - 1, 0) / np.sqrt(var))


def test_mann_kendall_bad_input() -> None:
    with pytest.raises(InputError, match="at least 2 time steps"):
        mann_kendall(np.ones((3, 1)))
    with pytest.raises(InputError, match="must be finite"):
        mann_kendall(np.array([[1.0, np.nan, 2.0]]))


def _row(hot_at: list[int], z: list[float] | None = None, cold_at: tuple[int, ...] = ()) -> tuple:
    hot = np.zeros(T, dtype=bool)
    hot[hot_at] = True
    cold = np.zeros(T, dtype=bool)
    cold[list(cold_at)] = True
    values = np.asarray(z, dtype=float) if z is not None else np.where(hot, 3.0, np.where(cold, -3.0, 0.0))
    return values, hot, cold


# Each case is built to fit exactly one rule of classify_trends (T = 10 slices, 90% = 9 slices).
CASES = {
    # hot only in the last slice
    "new": _row([9]),
    # one run of 3 hot slices ending in the last, never hot before, 3 < 9
    "consecutive": _row([7, 8, 9]),
    # 8-slice run ending last: 80% < 90%, so consecutive even with a rising trend
    "consecutive_80": _row(list(range(2, 10)), z=list(range(1, 11))),
    # hot in 9 of 10 incl. last; z strictly rising: S = 45, Var = 10*9*25/18 = 125, z = 44/sqrt(125) = 3.9
    "intensifying": _row(list(range(1, 10)), z=list(range(1, 11))),
    # hot in all 10; z strictly falling: z = -3.9
    "diminishing": _row(list(range(10)), z=list(range(10, 0, -1))),
    # hot in all 10; z alternates 3, 4: S = 15 - 10 = 5, z = 4/sqrt(Var) ~ 0.4, not significant
    "persistent": _row(list(range(10)), z=[3, 4] * 5),
    # hot in the first 9 (90%), not in the last
    "historical": _row(list(range(9))),
    # hot last, on and off before, never cold
    "sporadic": _row([2, 5, 9]),
    # hot last, on and off, cold in slice 2
    "oscillating": _row([5, 9], cold_at=(2,)),
    # cold in slice 2, then hot only in the last: new wins over oscillating (documented choice)
    "new_after_cold": _row([9], cold_at=(2,)),
    # cold only in the last slice
    "new cold": _row([], cold_at=(9,)),
    # cold in the last 2 slices only
    "consecutive cold": _row([], cold_at=(8, 9)),
    # hot in slice 4 only, not recently: nothing
    "none": _row([4]),
    "none_never": _row([]),
}
EXPECTED = {
    "consecutive_80": "consecutive",
    "new_after_cold": "new",
    "none_never": "none",
}


def test_categories_known_by_construction() -> None:
    names = list(CASES)
    z = np.vstack([CASES[k][0] for k in names])
    hot = np.vstack([CASES[k][1] for k in names])
    cold = np.vstack([CASES[k][2] for k in names])
    result = classify_trends(z, hot, cold=cold)
    got = dict(zip(names, result["category"].astype(str), strict=True))
    assert got == {k: EXPECTED.get(k, k) for k in names}
    assert result["n_hot_slices"].tolist() == hot.sum(axis=1).tolist()
    assert result["n_cold_slices"].tolist() == cold.sum(axis=1).tolist()
    inten = names.index("intensifying")
    assert result["trend_z"].iloc[inten] == pytest.approx(44 / np.sqrt(125))  # hand: see CASES
    assert list(result["category"].cat.categories) == list(CATEGORIES)


def test_trend_alpha_and_missing_z() -> None:
    # intensifying row: z = 3.935, p = 2*sf(3.935) = 8.3e-5; alpha=1e-5 makes the trend not significant
    z, hot, _ = CASES["intensifying"]
    assert classify_trends(z[None], hot[None], alpha=1e-5)["category"][0] == "persistent"
    # NaN z-scores (e.g. an empty slice) count as 0 for the trend
    z_nan = z.copy()
    z_nan[0] = np.nan
    assert classify_trends(z_nan[None], hot[None])["category"][0] == "intensifying"


def test_classify_bad_input() -> None:
    z, hot, _ = CASES["new"]
    with pytest.raises(InputError, match="boolean array"):
        classify_trends(z[None], hot[None].astype(int))
    with pytest.raises(InputError, match="hot and cold in the same slice"):
        classify_trends(z[None], hot[None], cold=hot[None])
    with pytest.raises(InputError, match="fraction"):
        classify_trends(z[None], hot[None], alpha=2)


# --- emerging(): the wrapper over count + gistar -------------------------------------------------

GRID = GridUnits(100, (0, 0, 999, 999))  # 10 x 10 cells of 100 m


def _cell_crimes(cells: dict[tuple[int, int], int], month: str) -> pd.DataFrame:
    """``n`` crimes at the centre of each cell (i, j) of GRID, all in ``month``."""
    xs, ys = [], []
    for (i, j), n in cells.items():
        xs += [i * 100 + 50.0] * n
        ys += [j * 100 + 50.0] * n
    return pd.DataFrame({"x": xs, "y": ys, "month": pd.Timestamp(month)})


# One scattered crime in a third of the cells (a fixed pattern), every month.
BACKGROUND = {(i, j): 1 for i in range(10) for j in range(10) if (i + 2 * j) % 3 == 0}
# A block of 3 x 3 cells around (7, 7) with 12 crimes each, every month: hot in every slice.
PERSISTENT = {(i, j): 12 for i in (6, 7, 8) for j in (6, 7, 8)}
# The same block around (2, 2), in the last month only: hot only in the final slice.
NEW = {(i, j): 12 for i in (1, 2, 3) for j in (1, 2, 3)}
MONTHS = [f"2023-{m:02d}-01" for m in range(1, 13)]


def _twelve_months() -> pd.DataFrame:
    frames = [_cell_crimes({**BACKGROUND, **PERSISTENT}, m) for m in MONTHS]
    frames.append(_cell_crimes(NEW, MONTHS[-1]))
    return pd.concat(frames, ignore_index=True)


def test_emerging_known_patterns() -> None:
    crimes = _twelve_months()
    result, meta = _emerging(crimes, GRID)
    assert meta["slices"] == [m[:7] for m in MONTHS] and not result.attrs
    cat = result.set_index("unit_id")["category"].astype(str)
    # the centre of each block is hot (9 x 12 crimes among 3 x 3 neighbours); the persistent block's
    # z is the same in months 1-11 and lower in month 12 (the new block raises the mean):
    # S = -11, Var = (12*11*29 - 11*10*27)/18 = 47.67, z = -10/6.9 = -1.45, p = 0.15 -> no trend
    assert cat["g7_7"] == "persistent"
    assert cat["g2_2"] == "new"
    assert result.set_index("unit_id").loc["g7_7", "n_hot_slices"] == 12
    assert set(cat.unique()) <= set(CATEGORIES)
    assert len(result) == 100 and crimes.shape[1] == 3  # every unit; input not mutated


def test_emerging_equals_composition_of_verbs() -> None:
    crimes = _twelve_months()
    result = emerging(crimes, GRID, weights=None).set_index("unit_id")
    ids = result.index
    z = np.zeros((len(ids), 12))
    hot = np.zeros_like(z, dtype=bool)
    cold = np.zeros_like(z, dtype=bool)
    for k, month in enumerate(MONTHS):
        gi = gistar(count(crimes[crimes["month"] == month], GRID), GRID).set_index("unit_id").loc[ids]
        z[:, k] = gi["gi_z"]
        hot[:, k] = gi["hot"]
        cold[:, k] = (gi["gi_q"] < 0.05) & (gi["gi_z"] < 0)
    expected = classify_trends(z, hot, cold=cold)
    assert result["category"].astype(str).tolist() == expected["category"].astype(str).tolist()
    np.testing.assert_allclose(result["trend_z"], expected["trend_z"])
    assert result["n_hot_slices"].tolist() == expected["n_hot_slices"].tolist()


def test_emerging_empty_slice_and_bad_period() -> None:
    crimes = _twelve_months()
    crimes = crimes[crimes["month"] != "2023-06-01"]  # no crimes in June: z = 0, not hot
    result, meta = _emerging(crimes, GRID)
    result = result.set_index("unit_id")
    assert len(meta["slices"]) == 12 and "2023-06" in meta["slices"]
    assert result.loc["g7_7", "n_hot_slices"] == 11  # 11 of 12 = 92% >= 90%
    with pytest.raises(InputError, match="month only"):
        emerging(crimes, GRID, period="W")
    with pytest.raises(InputError, match="'weights' must be one of harm; received 'count'"):
        emerging(crimes, GRID, weights="count")


def test_emerging_real_bedfordshire(bedfordshire_crimes, bedfordshire_area) -> None:
    crimes = bedfordshire_crimes(12)  # 12 police.uk months, May 2021 - April 2022
    units = GridUnits.from_crimes(crimes, cell_size=500, area=bedfordshire_area)
    result, meta = _emerging(crimes, units)
    assert len(meta["slices"]) == 12
    assert len(result) == len(units.frame)
    assert result["n_hot_slices"].between(0, 12).all()
    assert result["category"].notna().all()
    # a unit hot in all 12 slices is intensifying, persistent or diminishing, by the rules
    always = result[result["n_hot_slices"] == 12]
    assert len(always) > 0
    assert set(always["category"].astype(str)) <= {"intensifying", "persistent", "diminishing"}
    # hot in the last slice <=> a hot category other than historical
    last = gistar(count(crimes[crimes["month"] == crimes["month"].max()], units), units)
    hot_last = set(last.loc[last["hot"], "unit_id"])
    hot_cats = set(CATEGORIES[:8]) - {"historical"}
    assert hot_last == set(result.loc[result["category"].isin(hot_cats), "unit_id"])


def test_trend_family_is_the_units_the_trend_decides() -> None:
    # 200 empty cells whose Gi* z moves with each slice's mean and spread (the same series for all:
    # -x̄k/(S...)), here falling steadily, plus the intensifying and persistent rows of CASES
    empty = np.tile(np.linspace(-0.1, -0.5, T), (200, 1))
    names = ["intensifying", "persistent"]
    z = np.vstack([empty, *[CASES[k][0] for k in names]])
    hot = np.vstack([np.zeros_like(empty, dtype=bool), *[CASES[k][1] for k in names]])
    result = classify_trends(z, hot)
    # the empty rows: a perfect falling trend (raw p = 2 sf(44/sqrt(125)) = 8.3e-5), but never hot,
    # so not in the family: no q-value, category none
    assert result["trend_p"].iloc[0] == pytest.approx(2 * stats.norm.sf(44 / np.sqrt(125)))
    assert result["trend_q"].iloc[:200].isna().all()
    assert (result["category"].iloc[:200] == "none").all()
    # the family is the 2 rows hot in the last slice and in >= 90% of slices; BH over 2 p-values by
    # hand: q(small) = min(2 p_small, p_large), q(large) = p_large
    p_int, p_per = result["trend_p"].iloc[200], result["trend_p"].iloc[201]
    assert result["trend_q"].iloc[200] == pytest.approx(min(2 * p_int, p_per))
    assert result["trend_q"].iloc[201] == pytest.approx(p_per)
    assert result["category"].astype(str).iloc[200:].tolist() == names


def test_time_step_widens_the_bin_to_earlier_slices() -> None:
    frames = [_cell_crimes({**BACKGROUND, **PERSISTENT}, m) for m in MONTHS]
    frames.append(_cell_crimes(NEW, MONTHS[5]))  # the block around (2, 2) in June only
    crimes = pd.concat(frames, ignore_index=True)
    one, meta1 = _emerging(crimes, GRID)
    two, meta2 = _emerging(crimes, GRID, time_step=2)
    assert (meta1["time_step"], meta2["time_step"]) == (1, 2)
    # time_step=1: hot in June only; time_step=2: the July bin also holds June's crimes, so hot twice
    assert one.set_index("unit_id").loc["g2_2", "n_hot_slices"] == 1
    assert two.set_index("unit_id").loc["g2_2", "n_hot_slices"] == 2
    assert two.set_index("unit_id").loc["g7_7", "n_hot_slices"] == 12
    with pytest.raises(InputError, match="'time_step' must be a whole number of slices >= 1; received 0"):
        _emerging(crimes, GRID, time_step=0)


def test_window_sets_the_slices() -> None:
    crimes = _twelve_months()
    result, meta = _emerging(crimes, GRID, window=("2022-11", "2023-03"))
    assert meta["slices"] == ["2022-11", "2022-12", "2023-01", "2023-02", "2023-03"]
    # 2 empty slices (before the data), 3 hot ones: g7_7 hot in 3 of 5 slices, including the last
    assert result.set_index("unit_id").loc["g7_7", "n_hot_slices"] == 3
    assert result.set_index("unit_id").loc["g7_7", "category"] == "consecutive"  # one run ending last
    assert int(result["crimes"].sum()) == int((crimes["month"] <= "2023-03-01").sum())


def test_share_trend_runs_on_each_units_share_of_the_slice() -> None:
    crimes = _twelve_months()
    result, meta = _emerging(crimes, GRID, trend="share")
    assert meta["trend"] == "share"
    # g7_7 holds 12 of the slice's crimes every month; its share is the same in months 1-11 and lower
    # in month 12 (the new block adds 108 crimes): S = -11, 11 tied values,
    # Var = (12*11*29 - 11*10*27) / 18, z = (S + 1) / sqrt(Var)
    var = (12 * 11 * 29 - 11 * 10 * 27) / 18
    row = result.set_index("unit_id").loc["g7_7"]
    assert row["trend_z"] == pytest.approx(-10 / np.sqrt(var))
    assert row["category"] == "persistent"
    with pytest.raises(InputError, match="'trend' must be one of z, share; received 'counts'"):
        _emerging(crimes, GRID, trend="counts")
