"""PEI equals the hit rate exactly when the flagged area could hold every test crime; the backtest
says so instead of reporting PEI as if it were extra information. Hand calculations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gripkit.forecast.metrics import hit_rate, pei
from gripkit.forecast.report import BacktestResult


def test_pei_is_the_hit_rate_when_the_crimes_fit_in_the_flagged_area() -> None:
    counts = np.array([3.0, 1.0] + [0.0] * 8)  # 4 test crimes in 2 of 10 equal cells
    areas = np.ones(10)
    two = np.zeros(10, dtype=bool)
    two[[1, 5]] = True  # 2 cells flagged, holding 1 crime; the best 2 cells hold all 4 (n* = N)
    assert pei(two, counts, areas) == hit_rate(two, counts) == 0.25
    one = np.zeros(10, dtype=bool)
    one[1] = True  # 1 cell flagged: the best single cell holds 3, so PEI = 1/3 and the hit rate 1/4
    assert pei(one, counts, areas) == 1 / 3 and hit_rate(one, counts) == 0.25


def table(pei_values: list[float], hits: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"model": ["naive", "kde"] * 2, "step": [0, 0, 1, 1], "coverage": 0.05,
                         "pai": [4.0, 5.0, 3.0, 6.0], "crimes": 4.0, "pei": pei_values, "hit_rate": hits})


def test_backtest_says_when_pei_adds_nothing() -> None:
    same = BacktestResult(table([0.25, 0.5, 0.25, 0.75], [0.25, 0.5, 0.25, 0.75]), {})
    assert any(f.startswith("PEI equals the hit rate at 5% coverage") for f in same.flags())
    differs = BacktestResult(table([1 / 3, 0.5, 0.25, 0.75], [0.25, 0.5, 0.25, 0.75]), {})
    assert not any(f.startswith("PEI equals") for f in differs.flags())
