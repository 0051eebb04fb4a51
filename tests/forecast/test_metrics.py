"""Forecast metrics against hand calculations written out here (formulas per docs/domain.md, Forecasting)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gripkit.errors import InputError
from gripkit.forecast import metrics

# Five equal cells; scores rank them c1 > c3 > c0 > c4 > c2.
SCORES = np.array([2.0, 9.0, 0.0, 5.0, 1.0])
AREAS = np.ones(5)
TEST = np.array([1.0, 6.0, 8.0, 3.0, 2.0])  # N = 20 crimes in the forecast period
BEFORE = np.array([2.0, 4.0, 1.0, 3.0, 0.0])  # N1 = 10 crimes in the period before


def test_flag_whole_units_within_coverage() -> None:
    # 40% of 5 unit cells = 2 cells: the two best scores, c1 and c3.
    assert metrics.flag(SCORES, AREAS, 0.4).tolist() == [False, True, False, True, False]
    # 50% still fits only 2 whole cells (3 would be 60%).
    assert metrics.flag(SCORES, AREAS, 0.5).sum() == 2
    # Below one cell's share, one cell is flagged anyway (area_share 20% > 10% asked).
    assert metrics.flag(SCORES, AREAS, 0.1).tolist() == [False, True, False, False, False]


def test_hand_calculation_at_40_percent() -> None:
    harm = np.array([0, 10, 50, 30, 10.0])  # harm of the test crimes per cell, total 100
    out = metrics.score(SCORES, AREAS, TEST, 0.4, counts_before=BEFORE, harm=harm)
    # flagged c1, c3: n = 6 + 3 = 9 of N = 20; a/A = 2/5
    assert out["area_share"] == pytest.approx(0.4)
    assert out["hit_rate"] == pytest.approx(9 / 20)
    assert out["pai"] == pytest.approx((9 / 20) / (2 / 5))  # 1.125
    # best two cells hold 8 + 6 = 14 -> PEI = 9 / 14 (= PAI / PAI*, PAI* = (14/20)/(2/5))
    assert out["pei"] == pytest.approx(9 / 14)
    assert out["pei"] == pytest.approx(out["pai"] / ((14 / 20) / (2 / 5)))
    # RRI: n1 = 4 + 3 = 7 of N1 = 10, n2 = 9 of N2 = 20 -> (9/7) / (20/10)
    assert out["rri"] == pytest.approx((9 / 7) / (20 / 10))
    # harm hit rate: (10 + 30) / 100
    assert out["harm_hit_rate"] == pytest.approx(0.4)


def test_unequal_areas_area_share_is_what_was_flagged() -> None:
    # areas 1, 2, 3, 4 (A = 10); scores favour the 3, then the 1; coverage 45% = 4.5 area units
    scores, areas = np.array([5.0, 0.0, 9.0, 1.0]), np.array([1.0, 2.0, 3.0, 4.0])
    counts = np.array([3, 1, 6, 0.0])
    mask = metrics.flag(scores, areas, 0.45)
    assert mask.tolist() == [True, False, True, False]  # 3 + 1 = 4 <= 4.5; adding 4 would exceed
    assert metrics.area_share(mask, areas) == pytest.approx(0.4)
    assert metrics.pai(mask, counts, areas) == pytest.approx((9 / 10) / 0.4)


def test_no_crimes_gives_nan_not_error() -> None:
    out = metrics.score(SCORES, AREAS, np.zeros(5), 0.4, counts_before=np.zeros(5))
    assert math.isnan(out["hit_rate"]) and math.isnan(out["pai"]) and math.isnan(out["pei"])
    assert math.isnan(out["rri"])


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match="'coverage' must be a fraction"):
        metrics.flag(SCORES, AREAS, 5)
    with pytest.raises(InputError, match="same non-zero length"):
        metrics.flag(SCORES, AREAS[:3], 0.1)
    with pytest.raises(InputError, match="areas must be finite"):
        metrics.flag(SCORES, np.array([1, 1, 0, 1, 1.0]), 0.1)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 100), st.integers(0, 20)), min_size=1, max_size=40),
    st.floats(0.01, 1.0),
)
def test_properties_equal_areas(cells: list[tuple[float, int]], coverage: float) -> None:
    scores = np.array([c[0] for c in cells])
    counts = np.array([c[1] for c in cells], dtype=float)
    areas = np.ones(len(cells))
    out = metrics.score(scores, areas, counts, coverage)
    assert out["area_share"] <= max(coverage, 1 / len(cells)) + 1e-12
    if counts.sum() > 0:
        assert 0 <= out["hit_rate"] <= 1
        assert out["pai"] == pytest.approx(out["hit_rate"] / out["area_share"])
        if not math.isnan(out["pei"]):
            assert 0 <= out["pei"] <= 1 + 1e-12  # nothing beats the best cells of the same area
