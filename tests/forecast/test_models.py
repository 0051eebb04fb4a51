"""Forecasters: hand-computed scores, an independent KDE, and the fit/predict contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from gripkit.errors import InputError
from gripkit.forecast import Naive, ProspectiveHotspot, RetrospectiveKDE
from gripkit.units import GridUnits


def frame(points: list[tuple[float, float, str]]) -> pd.DataFrame:
    x, y, when = zip(*points, strict=True)
    return pd.DataFrame({"x": x, "y": y, "occurred_at": pd.to_datetime(list(when), format="ISO8601")})


GRID = GridUnits(100, (0, 0, 499, 99))  # five 100 m cells in a row: g0_0 .. g4_0


def test_naive_last_period_and_mean_of_k() -> None:
    crimes = frame([(50, 50, "2023-03-10"), (50, 50, "2023-04-10"), (150, 50, "2023-04-20"),
                    (150, 50, "2023-05-02"), (450, 50, "2023-06-01")])
    at = "2023-05-01"
    # last month (April): one crime in g0 and one in g1; May and June crimes are not before `at`
    assert Naive().fit(crimes).predict(GRID, at=at).tolist() == [1, 1, 0, 0, 0]
    # mean of March..April: g0 (1 + 1) / 2, g1 1 / 2
    assert Naive(k=2).fit(crimes).predict(GRID, at=at).tolist() == [1, 0.5, 0, 0, 0]
    weekly = Naive().fit(crimes).predict(GRID, at="2023-04-24", horizon="1W")  # 17..23 April
    assert weekly.tolist() == [0, 1, 0, 0, 0]


def test_weights_name_the_column_every_forecaster_weighs_by() -> None:
    crimes = frame([(50, 50, "2023-04-10"), (150, 50, "2023-04-20"), (150, 50, "2023-04-21")])
    crimes["harm"] = [365.0, 1.0, 197.0]  # CCHI: a robbery, a shoplifting, a violent crime
    # by hand: April's harm per cell, g0 365, g1 1 + 197 = 198
    assert Naive(weights="harm").fit(crimes).predict(GRID, at="2023-05-01").tolist() == [365, 198, 0, 0, 0]
    for model in (Naive, RetrospectiveKDE, ProspectiveHotspot):
        assert model(weights="harm").get_params()["weights"] == "harm"
    with pytest.raises(InputError, match="'weights' must name a column of crimes; received 'cchi'"):
        Naive(weights="cchi").fit(crimes)


def test_prospective_bowers_johnson_pease_weights_by_hand() -> None:
    crimes = frame([(50, 50, "2023-05-31 12:00"),   # 0.5 days before: t = 0 weeks
                    (250, 50, "2023-05-20"),        # 12 days: t = 1 week
                    (450, 50, "2023-03-01")])       # 92 days: 13 weeks, beyond the 8-week band
    score = ProspectiveHotspot(distance_band=200, time_band=8).fit(crimes).predict(GRID, at="2023-06-01")
    # d in cells (centre to centre), band 200 m = 2 cells; weight 1/(1+d) x 1/(1+t)
    hand = [
        1 / 1 * 1 + 1 / 3 * 1 / 2,  # g0: first crime d=0,t=0; second d=2,t=1
        1 / 2 * 1 + 1 / 2 * 1 / 2,  # g1: d=1 from both
        1 / 3 * 1 + 1 / 1 * 1 / 2,  # g2: d=2 from the first, d=0 from the second
        0 + 1 / 2 * 1 / 2,          # g3: first crime 3 cells away (> band)
        0 + 1 / 3 * 1 / 2,          # g4
    ]
    np.testing.assert_allclose(score.to_numpy(), hand)


def test_retrospective_kde_matches_an_independent_direct_sum() -> None:
    rng = np.random.default_rng(5)
    x0, y0 = 500_000, 200_000  # British National Grid metres
    grid = GridUnits(50, (x0, y0, x0 + 1999, y0 + 1999))
    # crimes at cell centres, so binning is exact and the FFT result must equal the direct sum
    cx = rng.integers(0, 40, 300) * 50 + 25.0 + x0
    cy = rng.integers(0, 40, 300) * 50 + 25.0 + y0
    crimes = pd.DataFrame({"x": cx, "y": cy, "month": pd.Timestamp("2023-01-01")})
    score = RetrospectiveKDE(bandwidth=300).fit(crimes).predict(grid, at="2023-02-01")
    centres = grid.frame.geometry.centroid
    d = cdist(np.c_[centres.x, centres.y], np.c_[cx, cy])
    direct = (3 / (np.pi * 300**2) * np.clip(1 - (d / 300) ** 2, 0, None) ** 2).sum(axis=1)
    np.testing.assert_allclose(score.to_numpy(), direct, rtol=1e-6, atol=1e-15)


def test_predict_uses_only_crimes_before_at() -> None:
    # British National Grid metres (hotspots.kde rejects x/y that look like degrees)
    crimes = frame([(500_050, 200_050, "2023-04-10"), (500_450, 200_050, "2023-05-10")])
    grid = GridUnits(100, (500_000, 200_000, 500_499, 200_099))
    score = RetrospectiveKDE(bandwidth=100).fit(crimes).predict(grid, at="2023-05-01")
    assert score["g5004_2000"] < 1e-12 * score["g5000_2000"]  # zero up to FFT round-off


def test_contract_and_bad_inputs(bedfordshire_crimes) -> None:
    crimes = bedfordshire_crimes(1)
    model = ProspectiveHotspot()
    assert model.get_params() == {"distance_band": 400.0, "time_band": 8.0, "weights": None}
    with pytest.raises(InputError, match="not fitted"):
        model.predict(GRID, at="2023-01-01")
    with pytest.raises(InputError, match="'distance_band' must be > 0 metres"):
        ProspectiveHotspot(distance_band=-5)
    with pytest.raises(InputError, match="'k' must be a whole number"):
        Naive(k=0)
    with pytest.raises(InputError, match="scores grid cells"):
        model.fit(crimes).predict(object(), at="2021-06-01")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'horizon' must be a whole number"):
        model.predict(GRID, at="2021-06-01", horizon="fortnight")
    before = crimes.copy()
    Naive().fit(crimes).predict(GridUnits.from_crimes(crimes.iloc[:50], cell_size=500), at="2021-06-01")
    pd.testing.assert_frame_equal(crimes, before)  # never mutates the caller's frame
