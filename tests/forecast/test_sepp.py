"""SEPP / ETAS: parameter recovery on a simulated process, prediction by hand, memory cap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gripkit.errors import InputError
from gripkit.forecast import SEPP, simulate_sepp
from gripkit.units import GridUnits

# Known parameters of the simulated (not real) process: background rate mu crimes/day, theta
# offspring per crime, omega decay per day, sigma metres (Mohler et al. 2011 model).
TRUE = {"mu": 3.0, "theta": 0.5, "omega": 0.2, "sigma": 100.0}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_em_recovers_simulated_parameters_within_20_percent(seed: int) -> None:
    crimes = simulate_sepp(**TRUE, days=365, bounds=(0, 0, 10_000, 10_000), seed=seed)
    model = SEPP(background_bandwidth=2000, max_lag=40, max_distance=600, n_iter=200, tol=1e-6).fit(crimes)
    fitted = {"mu": model.mu_, "theta": model.theta_, "omega": model.omega_, "sigma": model.sigma_}
    for name, value in TRUE.items():
        assert fitted[name] == pytest.approx(value, rel=0.20), (name, fitted)
    # the share of crimes the fit calls background is about 1 - theta (branching-process identity)
    assert model.background_.mean() == pytest.approx(1 - TRUE["theta"], abs=0.1)


def test_prediction_is_background_plus_triggered_mass_by_hand() -> None:
    grid = GridUnits(100, (-5000, -5000, 4999, 4999), crs="EPSG:26916")
    crimes = pd.DataFrame({"x": [0.0, 50.0], "y": [0.0, 50.0],
                           "occurred_at": pd.to_datetime(["1970-01-01", "1970-01-03"])})
    model = SEPP(background_bandwidth=200, n_iter=5).fit(crimes)
    score = model.predict(grid, at="1970-01-05", horizon="7D")
    # expected count in [4, 11) days: mu * 7 (background mass inside the grid, all of it here) plus,
    # per past crime aged a days, theta * (exp(-omega a) - exp(-omega (a + 7))) (g spreads it, sum 1)
    ages = np.array([4.0, 2.0])
    w = model.omega_
    hand = model.mu_ * 7 + model.theta_ * np.sum(np.exp(-w * ages) - np.exp(-w * (ages + 7)))
    assert score.sum() == pytest.approx(hand, rel=1e-3)


def test_memory_cap_names_the_fix() -> None:
    crimes = simulate_sepp(5.0, 0.3, 0.5, 50.0, days=60, bounds=(0, 0, 500, 500), seed=3)
    with pytest.raises(InputError, match=r"more than 100 event pairs.*--serious-violence"):
        SEPP(max_pairs=100).fit(crimes)


def test_month_only_times_are_spread_with_the_seed(bedfordshire_crimes) -> None:
    crimes = bedfordshire_crimes(2)
    crimes = crimes[crimes["crime_type"] == "Robbery"]
    a, b = SEPP(seed=1).fit(crimes), SEPP(seed=1).fit(crimes)
    assert a.theta_ == b.theta_ and math.isfinite(a.theta_)
    assert not np.array_equal(SEPP(seed=2).fit(crimes).events_.t, a.events_.t)
    assert SEPP().get_params()["seed"] == 0
