"""The feedback simulation on the real counts of three Bedfordshire months (seeded).

Rules checked:
* with no uplift and no effect every round is an independent Poisson re-draw of the real counts, so a
  99% null band is left by about 1% of rounds (calibration), and the selection stays as close to
  round 0 as re-drawn data does;
* a large detection uplift on the proactive types alone concentrates recorded harm in the patrolled
  areas beyond that band;
* the detection / effect split equals its hand formula (CCHI days, stated in the module docstring of
  gripkit.audit.feedback).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gripkit import Workspace
from gripkit.audit import audit_hotspots
from gripkit.audit.feedback import BAND_STATS, FeedbackParams, simulate_feedback
from gripkit.errors import InputError


def _rounds(run) -> pd.DataFrame:
    return pd.DataFrame(run.feedback["rounds"][1:])


def test_zero_uplift_zero_effect_is_calibrated_against_the_null_band(workspace: Workspace) -> None:
    """200 null rounds against a 99% band from 400 re-draws. The band's ends are (by numpy's
    interpolation) about the 3rd smallest and 3rd largest re-draw, so by exchangeability a null round
    leaves it with probability 6/401 = 1.5%, and the rounds outside, which share one band, follow a
    beta-binomial(200, 6, 395) (the band's coverage is Beta(395, 6)): P(more than 11) = 0.0016
    (scipy below). Measured with seed 11: Gini 1, top share 9, overlap 2 rounds outside."""
    run = audit_hotspots(workspace, rounds=200, uplift=0.0, null_draws=400, seed=11, store=False)
    rows = _rounds(run)
    assert stats.betabinom.sf(11, 200, 6, 395) < 0.002
    outside = {name: int(rows[f"{name}_outside_band"].sum()) for name in BAND_STATS}
    assert max(outside.values()) <= 11, outside
    assert sum(outside.values()) >= 1  # the band is not so wide that nothing ever leaves it
    # the no-uplift twin of a zero-uplift run is the same model: same draws, same rounds
    assert [r["gini"] for r in run.feedback["no_uplift"]] == [r["gini"] for r in run.feedback["rounds"]]
    assert (rows["detection_harm"] == 0).all() and (rows["effect_harm"] == 0).all()
    # the selection stays statistically the same as round 0: its mean overlap with round 0 lies in
    # the middle of the null band of the overlap (not drifting away round after round)
    low, high = run.feedback["null_band"]["overlap_round0"]
    assert low < rows["overlap_round0"].mean() < high
    first, second = rows["overlap_round0"].iloc[:100], rows["overlap_round0"].iloc[100:]
    assert abs(first.mean() - second.mean()) < 0.05  # measured: 0.79 and 0.79 (no drift)


def test_large_proactive_uplift_raises_concentration(workspace: Workspace) -> None:
    """Recording of Drugs and Possession of weapons six times as often (uplift 5) where patrolled:
    the patrolled areas' share of recorded harm leaves the null band in every round and the Gini
    rises above the no-uplift twin's (measured: top share 0.30-0.32 against a band up to 0.28)."""
    run = audit_hotspots(workspace, rounds=5, uplift=5.0, null_draws=200, seed=3, store=False)
    rows = _rounds(run)
    flat = pd.DataFrame(run.feedback["no_uplift"][1:])
    assert rows["top_share_outside_band"].all()
    assert (rows["top_share"] > run.feedback["null_band"]["top_share"][1]).all()
    assert rows["gini"].mean() > flat["gini"].mean()
    assert rows["detection_share"].eq(1.0).all()  # no effect: all of the change is detection


def test_uplift_on_every_type_raises_the_gini_beyond_the_band(workspace: Workspace) -> None:
    """An uplift of 0.5 on every type recorded in patrolled areas: every round's Gini above the band."""
    run = audit_hotspots(
        workspace, rounds=3, uplift=0.5, reactive_uplift=0.5, null_draws=100, seed=3, store=False
    )
    high = run.feedback["null_band"]["gini"][1]
    assert all(row["gini"] > high for row in run.feedback["rounds"][1:])
    assert run.feedback["rounds"][-1]["gini"] > run.feedback["no_uplift"][-1]["gini"]


def test_detection_and_effect_equal_the_hand_formula(workspace: Workspace) -> None:
    """Round 1 patrols the real selection. With harm H in it, of which P from proactive types:
    expected true harm there is (1 - e) H (effect -e H) and expected recorded harm
    (1 - e)(H + u P + r (H - P)), so detection is (1 - e)(u P + r (H - P))."""
    u, r, e = 0.8, 0.1, 0.25
    run = audit_hotspots(
        workspace, rounds=1, uplift=u, reactive_uplift=r, effect=e, null_draws=20, seed=5, store=False
    )
    basis = run.rests_on["hotspots"]["basis"]
    big_h, big_p = basis["harm"], basis["proactive_harm"]
    row = run.feedback["rounds"][1]
    assert row["effect_harm"] == pytest.approx(-e * big_h)
    assert row["detection_harm"] == pytest.approx((1 - e) * (u * big_p + r * (big_h - big_p)))
    detection = (1 - e) * (u * big_p + r * (big_h - big_p))
    assert row["detection_share"] == pytest.approx(detection / (detection + e * big_h))


def test_an_effect_alone_moves_the_selection_away(workspace: Workspace) -> None:
    """Patrols that prevent 60% of harm and detect nothing more: the patrolled areas' recorded harm
    falls, so the next selection turns over and overlaps round 0 less than re-drawn data would."""
    run = audit_hotspots(workspace, rounds=4, uplift=0.0, effect=0.6, null_draws=200, seed=8, store=False)
    rows = _rounds(run)
    assert (rows["detection_harm"] == 0).all() and (rows["detection_share"] == 0).all()
    assert rows.loc[0, "overlap_round0"] < run.feedback["null_band"]["overlap_round0"][0]
    assert rows.loc[0, "turnover"] > 0.5


def test_seeded_runs_repeat_and_differ_by_seed(workspace: Workspace) -> None:
    one = audit_hotspots(workspace, rounds=3, null_draws=30, seed=4, store=False)
    two = audit_hotspots(workspace, rounds=3, null_draws=30, seed=4, store=False)
    other = audit_hotspots(workspace, rounds=3, null_draws=30, seed=5, store=False)
    assert one.feedback == two.feedback
    assert [r["gini"] for r in one.feedback["rounds"]] != [r["gini"] for r in other.feedback["rounds"]]
    drawn = audit_hotspots(workspace, rounds=1, null_draws=10, store=False)
    assert drawn.meta["seed_drawn"] and isinstance(drawn.meta["seed"], int)


def test_simulation_refuses_bad_parameters() -> None:
    with pytest.raises(InputError, match="'rounds' must be a whole number"):
        FeedbackParams(rounds=0)
    with pytest.raises(InputError, match="'reactive_uplift' must be a detection uplift"):
        FeedbackParams(reactive_uplift=11)
    with pytest.raises(InputError, match="needs counts per unit and a selection"):
        simulate_feedback(pd.DataFrame(), pd.Series(dtype=float), [], frozenset(), FeedbackParams())
    assert np.isfinite(FeedbackParams().uplift)
