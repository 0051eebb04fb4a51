"""Tests for gripkit.hotspots.concentration.

Every expected number is a hand calculation written next to it, a figure from the lorenzgini R
package documentation (Bernasco & Steenbeek), or an independent numpy formula.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gripkit.errors import InputError
from gripkit.hotspots.concentration import Concentration, concentration, units_in_top


def gini_mean_difference(x: np.ndarray) -> float:
    """Independent Gini: mean absolute difference over all ordered pairs / (2 × mean)."""
    return float(np.abs(x[:, None] - x[None, :]).mean() / (2 * x.mean()))


def test_gini_by_hand() -> None:
    # Sorted ascending x = 0, 0, 1, 3; n = 4; Σx = 4; Σ i·x_(i) = 3·1 + 4·3 = 15.
    # G = 2·15 / (4·4) − 5/4 = 1.875 − 1.25 = 0.625.
    # Check by mean difference: Σ_{i<j} |xi − xj| = 0+1+3+1+3+2 = 10, over 16 ordered pairs
    # 2·10/16 = 1.25; / (2·mean 1) = 0.625.
    result = concentration([0, 0, 1, 3])
    assert isinstance(result, Concentration)
    assert result.gini == pytest.approx(0.625)
    assert result.n_units == 4 and result.total == 4.0


def test_equality_gives_zero() -> None:
    assert concentration([2, 2, 2, 2, 2]).gini == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("n", [1, 2, 5, 100])
def test_one_unit_holds_all(n: int) -> None:
    # Ascending: n−1 zeros then X at rank n: G = 2·n·X/(n·X) − (n+1)/n = (n − 1)/n.
    values = np.zeros(n)
    values[n // 2] = 7.0
    assert concentration(values).gini == pytest.approx((n - 1) / n)


def test_lorenz_by_hand() -> None:
    # Descending 3, 1, 0, 0 of total 4: cumulative shares 0, 3/4, 1, 1, 1.
    lorenz = concentration([0, 0, 1, 3]).lorenz
    assert list(lorenz.columns) == ["unit_share", "value_share"]
    assert lorenz["unit_share"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert lorenz["value_share"].tolist() == pytest.approx([0.0, 0.75, 1.0, 1.0, 1.0])


def test_units_in_top_rounding() -> None:
    # k·n rounded half up, at least one unit.
    assert units_in_top(10, 0.25) == 3  # 2.5 -> 3
    assert units_in_top(10, 0.24) == 2  # 2.4 -> 2
    assert units_in_top(30, 0.01) == 1  # 0.3 -> 0 -> at least 1
    assert units_in_top(250, 0.01) == 3  # 2.5 -> 3
    assert units_in_top(4, 1.0) == 4


def test_top_unit_share_by_hand() -> None:
    # 10 units, total 20. Descending: 10, 5, 3, 1, 1, 0...
    # top 10% = 1 unit -> 10/20 = 0.5; top 25% = 2.5 -> 3 units -> 18/20 = 0.9;
    # top 50% = 5 units -> 20/20 = 1.0.
    values = [10, 0, 5, 0, 3, 0, 1, 0, 1, 0]
    result = concentration(values, tops=(0.1, 0.25, 0.5))
    assert result.top_unit_share == pytest.approx({0.1: 0.5, 0.25: 0.9, 0.5: 1.0})
    assert result.tops == (0.1, 0.25, 0.5)


def test_top_area_share_by_hand() -> None:
    # values 10, 5, 3, 2 (total 20) with areas 4, 1, 3, 2 (total 10), already in descending value.
    # cumulative area shares 0.4, 0.5, 0.8, 1.0; cumulative value shares 0.5, 0.75, 0.9, 1.0.
    # k = 0.1 -> first unit (area 0.4 >= 0.1): 0.5; k = 0.4 -> first unit exactly: 0.5;
    # k = 0.5 -> two units: 0.75; k = 0.6 -> three units (0.8 >= 0.6): 0.9.
    result = concentration([10, 5, 3, 2], [4, 1, 3, 2], tops=(0.1, 0.4, 0.5, 0.6))
    assert result.top_area_share == pytest.approx({0.1: 0.5, 0.4: 0.5, 0.5: 0.75, 0.6: 0.9})
    assert result.top_area_covered == pytest.approx({0.1: 0.4, 0.4: 0.4, 0.5: 0.5, 0.6: 0.8})


def test_top_area_share_equal_areas_by_hand() -> None:
    # 4 equal units: k = 0.25 -> 1 unit (3/4 of total 4 for values 0, 0, 1, 3);
    # k = 0.3 -> 2 units (first cumulative area >= 0.3 is 0.5) -> (3 + 1)/4 = 1.
    result = concentration([0, 0, 1, 3], tops=(0.25, 0.3))
    assert result.top_area_share == pytest.approx({0.25: 0.75, 0.3: 1.0})


def test_generalised_gini_lorenzgini_examples() -> None:
    # Figures from the lorenzgini R package documentation of gini() (Bernasco & Steenbeek):
    # c(10,8,2,0,...) n=10, N=20 -> G = 0.78 and G' = 0.78 (N >= n, no correction);
    # c(5,2,1,0,...) n=10, N=8 -> G = 0.8 and G' = 0.75.
    dense = concentration([10, 8, 2] + [0] * 7)
    assert dense.n_crimes == 20
    assert dense.gini == pytest.approx(0.78)
    assert dense.gini_corrected == pytest.approx(0.78)
    sparse = concentration([5, 2, 1] + [0] * 7)
    assert sparse.n_crimes == 8
    assert sparse.gini == pytest.approx(0.8)
    assert sparse.gini_corrected == pytest.approx(0.75)


def test_generalised_gini_with_harm_and_counts_by_hand() -> None:
    # Harm 365, 0, 2, 0 from 1, 0, 1, 0 crimes: n = 4, N = 2.
    # Ascending 0, 0, 2, 365: Σ i·x = 3·2 + 4·365 = 1466; G = 2·1466/(4·367) − 5/4.
    # G' = 1 − (4/2)(1 − G).
    g = 2 * 1466 / (4 * 367) - 5 / 4
    result = concentration([365, 0, 2, 0], counts=[1, 0, 1, 0])
    assert result.n_crimes == 2
    assert result.gini == pytest.approx(g)
    assert result.gini_corrected == pytest.approx(1 - 2 * (1 - g))


def test_gini_corrected_none_for_non_integer_values_without_counts() -> None:
    result = concentration([1.5, 0.0, 2.25])
    assert result.n_crimes is None and result.gini_corrected is None


def test_crimes_spread_one_per_unit_is_maximally_equal() -> None:
    # 3 crimes in 3 of 10 units: G = 1 − 3/10 = 0.7 (ascending ranks 8,9,10: 2·27/30 − 11/10),
    # G' = 1 − (10/3)(0.3) = 0 — as equal as 3 crimes can be (Bernasco & Steenbeek 2017).
    result = concentration([1, 1, 1] + [0] * 7)
    assert result.gini == pytest.approx(0.7)
    assert result.gini_corrected == pytest.approx(0.0, abs=1e-12)


def test_to_dict_json_safe() -> None:
    result = concentration(pd.Series([0, 0, 1, 3]), tops=(0.25,))
    data = json.loads(json.dumps(result.to_dict(lorenz_points=None)))
    assert data["gini"] == pytest.approx(0.625)
    assert data["top_unit_share"] == {"0.25": pytest.approx(0.75)}
    assert data["lorenz"]["value_share"] == pytest.approx([0.0, 0.75, 1.0, 1.0, 1.0])
    sampled = result.to_dict(lorenz_points=3)["lorenz"]
    # Interpolating the curve at 0, 0.5, 1 (points from test_lorenz_by_hand).
    assert sampled == {"unit_share": [0.0, 0.5, 1.0], "value_share": pytest.approx([0.0, 1.0, 1.0])}


def test_from_dict_inverts_to_dict() -> None:
    # values [0, 0, 1, 3] with areas: the same hand example as above, through JSON and back
    result = concentration([0, 0, 1, 3], [1.0, 1.0, 2.0, 1.0], counts=[0, 0, 1, 2], tops=(0.25, 0.5))
    data = json.loads(json.dumps(result.to_dict(lorenz_points=None)))
    back = Concentration.from_dict(data)
    assert back.tops == (0.25, 0.5) and back.n_units == 4 and back.total == 4.0 and back.n_crimes == 3
    assert back.top_unit_share == result.top_unit_share and back.top_unit_share[0.25] == pytest.approx(0.75)
    assert back.top_area_share == result.top_area_share
    assert back.top_area_covered == result.top_area_covered
    assert back.gini == result.gini == pytest.approx(0.625) and back.gini_corrected == result.gini_corrected
    pd.testing.assert_frame_equal(back.lorenz, result.lorenz.astype(float), check_dtype=False)
    assert back.to_dict(lorenz_points=101) == result.to_dict(lorenz_points=101)
    # the stored form samples the curve at 101 points; rebuilt, it samples back to the same points
    stored = Concentration.from_dict(result.to_dict(lorenz_points=101))
    assert stored.to_dict(lorenz_points=101) == result.to_dict(lorenz_points=101)
    with pytest.raises(InputError, match=r"'data' must be the dict of Concentration.to_dict\(\)"):
        Concentration.from_dict({"gini": 0.5})


def test_inputs_not_mutated() -> None:
    values = pd.Series([3.0, 0.0, 1.0], index=[9, 8, 7])
    before = values.copy()
    concentration(values, area=np.array([1.0, 2.0, 3.0]))
    pd.testing.assert_series_equal(values, before)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": [0, 0, 0]}, "all zero across 3 units"),
        ({"values": []}, "'values' is empty"),
        ({"values": [1, -2]}, r"must be >= 0; received 1 negative value\(s\) such as -2"),
        ({"values": [1, np.nan]}, "1 missing or infinite"),
        ({"values": [[1, 2]]}, "one-dimensional"),
        ({"values": ["a"]}, "must be numbers"),
        ({"values": [1, 2], "area": [1]}, r"one entry per unit \(2\); received 1"),
        ({"values": [1, 2], "area": [1, 0]}, "'area' must be > 0"),
        ({"values": [1, 2], "counts": [1, 0]}, r"'counts' is 0 for 1 unit\(s\)"),
        ({"values": [1, 2], "counts": [1, 1.5]}, "whole numbers"),
        ({"values": [1, 2], "tops": (0.0,)}, "'tops' must be a fraction"),
        ({"values": [1, 2], "tops": ()}, "at least one share"),
    ],
)
def test_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        concentration(**kwargs)  # type: ignore[arg-type]


values_strategy = arrays(
    np.float64,
    st.integers(1, 60),
    # harm per unit is 0 or a sum of table weights (>= 1 in the bundled tables): values far below
    # that, e.g. subnormal floats, only test float underflow in the reference formula
    elements=st.one_of(st.just(0.0), st.floats(1e-3, 1e6, allow_nan=False, allow_infinity=False)),
).filter(lambda x: x.sum() > 0)


@settings(max_examples=200, deadline=None)
@given(values_strategy)
def test_gini_matches_mean_difference_formula(x: np.ndarray) -> None:
    result = concentration(x)
    assert result.gini == pytest.approx(gini_mean_difference(x), abs=1e-9)
    assert -1e-12 <= result.gini <= (x.size - 1) / x.size + 1e-12


@settings(max_examples=200, deadline=None)
@given(values_strategy)
def test_lorenz_and_shares_properties(x: np.ndarray) -> None:
    result = concentration(x, tops=(0.01, 0.05, 0.1, 0.5, 1.0))
    lorenz = result.lorenz
    assert len(lorenz) == x.size + 1
    assert tuple(lorenz.iloc[0]) == (0.0, 0.0) and tuple(lorenz.iloc[-1]) == (1.0, 1.0)
    value_share = lorenz["value_share"].to_numpy()
    assert np.all(np.diff(value_share) >= -1e-12)  # non-decreasing
    assert np.all(value_share >= lorenz["unit_share"].to_numpy() - 1e-9)  # on/above the diagonal
    shares = [result.top_unit_share[k] for k in result.tops]
    assert np.all(np.diff(shares) >= -1e-12) and shares[-1] == pytest.approx(1.0)
    assert result.top_area_share[1.0] == pytest.approx(1.0)


def test_random_placement_gini_equals_enumeration() -> None:
    # 2 crimes over 3 units, by hand: both in one unit (p = 1/3), counts (0, 0, 2), G = 2/3 and
    # generalised 1 - 1.5 (1/3) = 1/2; in two units (p = 2/3), counts (0, 1, 1), G = 1/3 and
    # generalised 1 - 1.5 (2/3) = 0. Expected G = 4/9, generalised 1/6.
    from gripkit.hotspots.concentration import random_gini

    gini, generalised = random_gini(2, 3, draws=20_000, seed=1)
    assert gini == pytest.approx(4 / 9, abs=0.01)  # Monte Carlo sd 0.157/sqrt(20000) = 0.001
    assert generalised == pytest.approx(1 / 6, abs=0.01)


def test_sparse_data_headlines_the_generalised_gini() -> None:
    sparse = concentration([5, 2, 1] + [0] * 7)  # the lorenzgini example: 8 crimes, 10 units
    assert sparse.sparse and sparse.gini_sentence().startswith("generalised Gini 0.75")
    assert sparse.gini_random is not None and sparse.gini_random_generalised is not None
    assert sparse.gini_random > sparse.gini_random_generalised  # the standard Gini's floor, 0.2, lifts it
    dense = concentration([10, 6, 4])  # 20 crimes, 3 units
    assert not dense.sparse and dense.gini_sentence().startswith(f"Gini {dense.gini:.2f}")
    back = type(dense).from_dict(dense.to_dict())
    assert back.gini_random == dense.gini_random
