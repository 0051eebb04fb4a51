"""Calibration of the backtest verdict's interval (gripkit.forecast.report.ratio_interval).

Synthetic data (no open data holds per-step PAI with a known true gain): paired per-step PAI of a
baseline, 4 + i.i.d. N(0, 0.5^2), and of a model with the same mean, 4 + an AR(1) series (unit
innovations, coefficient rho, 50 burn-in steps), so the true gain is 0. The 95% interval should
cover 0 in 95% of replications. With R replications the coverage of a calibrated interval has
binomial standard error sqrt(0.95 * 0.05 / R); the band is 0.95 +- 3 standard errors (R = 400:
0.95 +- 0.0327, i.e. [0.917, 0.983]), so a calibrated method fails it with probability 0.3%.
Without autocorrelation (rho 0) the interval is calibrated at 12, 24 and 36 steps. With rho 0.4 it
is not: it covers about 91% (docs/forecast.md, and the summary says so); those cases are checked
against that documented level (its own 3-standard-error band, 0.91 - 0.043 = 0.867), which the
previous moving-block bootstrap (74-86% on pure AR(1) differences) did not reach at 12 or 24 steps.
"""

from __future__ import annotations

import numpy as np
import pytest

from gripkit.forecast.report import ratio_interval

R = 400
BAND = 3 * np.sqrt(0.95 * 0.05 / R)


def ar1(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    e = rng.standard_normal(n + 50)
    x = np.zeros(n + 50)
    for t in range(1, n + 50):
        x[t] = rho * x[t - 1] + e[t]
    return x[50:]


def coverage(n: int, rho: float, seed: int = 7) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(R):
        model, base = 4.0 + ar1(rng, n, rho), 4.0 + 0.5 * rng.standard_normal(n)
        out = ratio_interval(model, base)
        hits += out["low"] <= 0.0 <= out["high"]
    return hits / R


@pytest.mark.parametrize("n", [12, 24, 36])
def test_interval_covers_95_percent_without_autocorrelation(n: int) -> None:
    assert abs(coverage(n, 0.0) - 0.95) <= BAND


@pytest.mark.parametrize("n", [12, 24, 36])
def test_autocorrelated_steps_reach_the_documented_level(n: int) -> None:
    """docs/forecast.md: about 91% at rho 0.4; the coverage must not fall below that level's band."""
    assert coverage(n, 0.4) >= 0.91 - 3 * np.sqrt(0.91 * 0.09 / R)
