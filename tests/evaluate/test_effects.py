"""Effects: checked against statsmodels fitted directly, validated by seeded simulation.

The 200-run validation uses :func:`poisson_fe` (vectorised, all runs in one call), which
``test_fast_estimator_equals_statsmodels`` shows equals ``statsmodels.GLM`` Poisson with area
dummies (HC0 and place-clustered errors); ``estimate_effect`` is that statsmodels model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from gripkit.errors import InputError
from gripkit.evaluate import (
    difference_in_differences,
    dosage_response,
    estimate_effect,
    place_day_design,
    poisson_fe,
    randomisation_inference,
)
from gripkit.evaluate.effects import cr2_bell_mccaffrey
from gripkit.evaluate.inference import poisson_fe_cr2
from gripkit.evaluate.power import _simulate

AREAS = [f"L{i:02d}" for i in range(21)]


def _trial(seed: int, effect: float = 0.4, days: int = 30, alpha: float = 0.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    design = place_day_design(AREAS, days=days, treated_per_day=7, start="2024-06-01", seed=seed)
    mu = rng.gamma(2.0, 0.4, len(AREAS))
    y = _simulate(rng, mu, alpha, design.matrix()[None], effect, None)[0]
    return design.assignment.assign(count=y.ravel())


def _dummies(frame: pd.DataFrame, time: bool) -> pd.DataFrame:
    parts = [frame[["treated"]].astype(float), pd.get_dummies(frame["area_id"], drop_first=True, dtype=float)]
    if time:
        parts.append(pd.get_dummies(frame["date"].astype(str), drop_first=True, dtype=float))
    return sm.add_constant(pd.concat(parts, axis=1))


def test_fast_estimator_equals_statsmodels() -> None:
    for seed in (1, 2, 3):
        frame = _trial(seed)
        groups = pd.factorize(frame["area_id"])[0]
        model = sm.GLM(frame["count"], _dummies(frame, False), family=sm.families.Poisson())
        clustered = model.fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False})
        hc0 = model.fit(cov_type="HC0")
        y = frame["count"].to_numpy().reshape(30, 21)
        d = frame["treated"].to_numpy().reshape(30, 21)
        beta, se = poisson_fe(y, d)
        assert float(beta) == pytest.approx(hc0.params["treated"], abs=1e-8)
        assert float(se) == pytest.approx(hc0.bse["treated"], rel=1e-6)
        # poisson_fe applies G/(G-1) = 21/20; statsmodels without its correction does not
        _, se_cluster = poisson_fe(y, d, cov="cluster")
        assert float(se_cluster) == pytest.approx(clustered.bse["treated"] * np.sqrt(21 / 20), rel=1e-6)


def test_estimate_effect_matches_statsmodels_directly() -> None:
    frame = _trial(7)
    # HC0 is no longer the default (places repeat over days, so the default is CR2, checked against
    # its definition in test_cr2_by_hand_and_against_its_definition); these are statsmodels' HC0
    # numbers, selected explicitly
    result = estimate_effect(frame, model="poisson", cov="hc0")
    default = estimate_effect(frame, model="poisson")
    assert default.extra["cov_type"] == "CR2(area)"
    assert default.se == pytest.approx(estimate_effect(frame, cov="cr2").se, rel=1e-12)
    assert default.beta == pytest.approx(result.beta, rel=1e-12)  # the covariance moves only the error
    model = sm.GLM(frame["count"], _dummies(frame, True), family=sm.families.Poisson())
    fit = model.fit(cov_type="HC0")
    assert result.beta == pytest.approx(fit.params["treated"], rel=1e-6)
    assert result.se == pytest.approx(fit.bse["treated"], rel=1e-6)
    low, _ = fit.conf_int().loc["treated"]
    assert result.pct_change == pytest.approx((np.exp(fit.params["treated"]) - 1) * 100)
    assert result.ci_low == pytest.approx((np.exp(low) - 1) * 100)
    assert result.p_value == pytest.approx(fit.pvalues["treated"], rel=1e-6)
    clustered = estimate_effect(frame, model="poisson", cov="cluster")
    groups = pd.factorize(frame["area_id"])[0]
    fit_c = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
    t = stats.t.ppf(0.975, 20)  # t with areas - 1 df
    assert clustered.se == pytest.approx(fit_c.bse["treated"], rel=1e-6)
    upper = fit_c.params["treated"] + t * fit_c.bse["treated"]
    assert clustered.ci_high == pytest.approx((np.exp(upper) - 1) * 100)
    nb = estimate_effect(frame, model="nb")
    direct = sm.NegativeBinomial(frame["count"], _dummies(frame, True)).fit(disp=0, maxiter=500)
    assert nb.beta == pytest.approx(direct.params["treated"], abs=1e-3)
    assert nb.alpha == pytest.approx(direct.params["alpha"], abs=1e-3)


def test_planted_reduction_is_recovered_and_size_is_kept() -> None:
    """200 seeded Op Rowan trials (21 areas, 7/day, 90 days, NB alpha 0.78 = the Bedfordshire
    monthly alpha x 30.5 days, see test_power): a planted 40% cut is covered by the 95% CI in
    >= 90% of runs and, with no effect, p < 0.05 in <= 7% (the effect models' acceptance thresholds).
    Robust (HC0) errors of the vectorised area-effects estimator (estimate_effect's cov="hc0")."""
    rng = np.random.default_rng(2024)
    design = place_day_design(AREAS, days=90, treated_per_day=7, start="2024-06-01", seed=0)
    mu = rng.gamma(2.0, 0.3, 21)
    treated = design.draw(rng, size=200)
    crit = stats.norm.ppf(0.975)
    y = _simulate(rng, mu, 0.78, treated, 0.4, None)
    beta, se = poisson_fe(y, treated)
    covered = (beta - crit * se < np.log(0.6)) & (np.log(0.6) < beta + crit * se)
    assert covered.mean() >= 0.90
    assert np.expm1(np.median(beta)) == pytest.approx(-0.4, abs=0.05)
    # null trials from their own stream; over 5,000 such trials the rejection rate was 4.7%, so a
    # 200-run rate has binomial SD ~1.5 pp around it (seed 2024's own stream gave 16/200 = 8%)
    null_rng = np.random.default_rng(1)
    treated0 = design.draw(null_rng, size=200)
    y0 = _simulate(null_rng, mu, 0.78, treated0, 0.0, None)
    beta0, se0 = poisson_fe(y0, treated0)
    assert (np.abs(beta0 / se0) > crit).mean() <= 0.07


def _cr2_dense(x: np.ndarray, mu: np.ndarray, y: np.ndarray, groups: np.ndarray, index: int):
    """CR2 and Bell-McCaffrey df straight from their definitions with full n x n matrices.

    Pustejovsky & Tipton (2018) eq. 5 on the GLM's working regression (X~ = sqrt(mu) X,
    e~ = (y - mu) / sqrt(mu)); df from Imbens & Kolesar (2016) eq. 11. The full hat matrix and
    scipy's SVD, not the per-cluster eigen-decomposition the library uses.
    """
    from scipy import linalg

    xw = x * np.sqrt(mu)[:, None]
    e = (y - mu) / np.sqrt(mu)
    bread = linalg.pinv(xw.T @ xw)
    hat = xw @ bread @ xw.T
    ell = np.zeros(x.shape[1])
    ell[index] = 1.0
    meat, cols = 0.0, []
    for g in np.unique(groups):
        rows = groups == g
        u, singular, _ = linalg.svd(np.eye(rows.sum()) - hat[np.ix_(rows, rows)])
        kept = singular > 1e-9  # the place dummy's direction has singular value 0: pseudo-inverse
        a_g = (u[:, kept] / np.sqrt(singular[kept])) @ u[:, kept].T
        p_g = a_g @ xw[rows] @ bread @ ell
        meat += float(p_g @ e[rows]) ** 2
        embedded = np.zeros(len(y))
        embedded[rows] = p_g
        cols.append((np.eye(len(y)) - hat).T @ embedded)
    m = np.array(cols) @ np.array(cols).T
    return np.sqrt(meat), np.trace(m) ** 2 / np.trace(m @ m)


def test_cr2_by_hand_and_against_its_definition() -> None:
    # intercept only, three equal clusters: H_gg = J/6, (I - H_gg)^(-1/2) scales each cluster's sum
    # by (1 - 1/3)^(-1/2), so Var = G/(G-1) sum_g S_g^2 / (N ybar)^2 with S_g the cluster's
    # residual sum (= statsmodels' CR1, whose (N-1)/(N-K) is 1 here) and df = G - 1 = 2
    y = np.array([1.0, 2.0, 3.0, 2.0, 4.0, 0.0])
    groups = np.repeat([0, 1, 2], 2)
    mu = np.full(6, 2.0)
    se, df = cr2_bell_mccaffrey(np.ones((6, 1)), mu, y, groups, 0)
    sums = np.array([1 + 2 - 4, 3 + 2 - 4, 4 + 0 - 4])  # (-1, 1, 0)
    assert se == pytest.approx(np.sqrt(3 / 2 * (sums**2).sum()) / (6 * 2.0), rel=1e-12)
    assert df == pytest.approx(2.0, rel=1e-12)
    fit = sm.GLM(y, np.ones((6, 1)), family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    assert se == pytest.approx(float(fit.bse[0]), rel=1e-9)
    # leverages (1/2, 1/4, 1/4): areas of totals 4, 2, 2 with one treated and one control day
    # each and beta = 0 (equal days), so h_i = Y_i / 8; a = h/(1-h) = (1, 1/3, 1/3),
    # w^2 = h^2/(1-h) = (1/2, 1/12, 1/12): tr M = 5/3 - 2/3 = 1, tr M^2 = 11/9 - 2(5/9) + 4/9 = 5/9,
    # df = 1 / (5/9) = 1.8 (less than G - 1 = 2: the information sits in one area)
    panel = np.array([[2.0, 1.0, 1.0], [2.0, 1.0, 1.0]])
    assigned = np.array([[1, 0, 1], [0, 1, 0]], dtype=bool)
    _, _, df_unequal = poisson_fe_cr2(panel, assigned)
    assert float(df_unequal) == pytest.approx(1.8, rel=1e-12)
    # place and day effects on a small panel: the library equals the dense definition
    frame = _trial(11, effect=0.2, days=8).query("area_id < 'L06'")
    x = _dummies(frame, True)
    glm = sm.GLM(frame["count"].to_numpy(float), x, family=sm.families.Poisson()).fit()
    codes = pd.factorize(frame["area_id"])[0]
    dense = _cr2_dense(x.to_numpy(float), np.asarray(glm.mu), frame["count"].to_numpy(float), codes, 1)
    result = estimate_effect(frame, cov="cr2")
    assert result.se == pytest.approx(dense[0], rel=1e-8)
    assert result.extra["df"] == pytest.approx(dense[1], rel=1e-8)
    t = stats.t.ppf(0.975, dense[1])
    assert result.ci_high == pytest.approx(np.expm1(glm.params["treated"] + t * dense[0]) * 100, rel=1e-8)
    # area effects only: the closed form of poisson_fe_cr2 equals the general computation
    full = _trial(12, days=30)
    general = estimate_effect(full, cov="cr2", time_effects=False)
    y_panel = full["count"].to_numpy().reshape(30, 21)
    d_panel = full["treated"].to_numpy().reshape(30, 21)
    beta, se_closed, df_closed = poisson_fe_cr2(y_panel, d_panel)
    assert general.beta == pytest.approx(float(beta), abs=1e-9)
    assert general.se == pytest.approx(float(se_closed), rel=1e-8)
    assert general.extra["df"] == pytest.approx(float(df_closed), rel=1e-8)


def test_cr2_keeps_its_size_where_cr1_does_not() -> None:
    """1,000 null Op Rowan trials (21 areas, 7/day, 90 days, NB alpha 0.78) with unequal area rates
    (gamma shape 0.5, scale 1.2: CV ~1.6). A 5% test's rejections then fall in the exact binomial
    99% interval of 5% over 1,000 runs, [33, 69] (scipy.stats.binom.ppf(0.005 / 0.995, 1000, 0.05)),
    for CR2 with Bell-McCaffrey df; CR1 with t(20) rejects more often than 69. Over 20,000 runs
    (benchmarks/cluster_size.py) the rates were CR2 5.3% [5.0%, 5.7%], CR1 12.9%, HC0 5.2%."""
    assert (stats.binom.ppf(0.005, 1000, 0.05), stats.binom.ppf(0.995, 1000, 0.05)) == (33, 69)
    design = place_day_design(AREAS, days=90, treated_per_day=7, start="2024-06-01", seed=0)
    rng = np.random.default_rng(2026)
    mu = rng.gamma(0.5, 1.2, 21)
    treated = design.draw(rng, size=1000)
    y = _simulate(rng, mu, 0.78, treated, 0.0, None)
    beta, se, df = poisson_fe_cr2(y, treated)
    cr2 = int((np.abs(beta / se) > stats.t.ppf(0.975, df)).sum())
    _, se_cr1 = poisson_fe(y, treated, cov="cluster")
    cr1 = int((np.abs(beta / se_cr1) > stats.t.ppf(0.975, 20)).sum())
    assert 33 <= cr2 <= 69 and cr1 > 69


def test_default_error_keeps_its_size_with_place_and_day_effects() -> None:
    """estimate_effect's default on 200 null place-day trials fitted with place AND day effects
    (12 areas, 4 treated a day re-drawn daily, 20 days, NB alpha 0.78, area rates gamma(0.5, 1.2)).
    The default there is CR2 with Bell-McCaffrey df. Bound: rejections of a true 5% test over 200
    runs lie in [3, 20] with probability > 0.998 (scipy: binom.cdf(2, 200, 0.05) = 0.0023,
    binom.sf(20, 200, 0.05) = 0.0012); a 12% rate (HC0's with day effects, 300 runs) would exceed
    20 with probability 0.77 (binom.sf(20, 200, 0.12))."""
    assert stats.binom.cdf(2, 200, 0.05) < 0.003 and stats.binom.sf(20, 200, 0.05) < 0.0012
    areas = AREAS[:12]
    design = place_day_design(areas, days=20, treated_per_day=4, start="2024-06-01", seed=0)
    rng = np.random.default_rng(31)
    mu = rng.gamma(0.5, 1.2, len(areas))
    treated = design.draw(rng, size=200)
    y = _simulate(rng, mu, 0.78, treated, 0.0, None)
    rejections = 0
    for run in range(200):
        frame = design.assignment.assign(treated=treated[run].ravel(), count=y[run].ravel())
        result = estimate_effect(frame)
        rejections += result.p_value < 0.05
    assert result.extra["cov_type"] == "CR2(area)"
    assert 3 <= rejections <= 20


def test_default_is_hc0_when_each_place_appears_once() -> None:
    # one row per place: no repeated observations to cluster; by hand, treated a, c (1 + 2 = 3
    # crimes over 2 places) against b, d (4 + 2 = 6 over 2): ratio 0.5, -50%
    frame = pd.DataFrame(
        {"area_id": list("abcd"), "date": ["2024-01-01"] * 4, "treated": [1, 0, 1, 0], "count": [1, 4, 2, 2]}
    )
    result = estimate_effect(frame, place_effects=False, time_effects=False)
    assert result.extra["cov_type"] == "HC0" and result.extra["reference"] == "normal"
    assert result.pct_change == pytest.approx(-50.0, abs=1e-6)
    with pytest.raises(InputError, match="'cov'"):
        estimate_effect(frame, place_effects=False, time_effects=False, cov="hc1")


def test_randomisation_inference() -> None:
    frame = _trial(3, effect=0.6, days=30)
    design = place_day_design(AREAS, days=30, treated_per_day=7, start="2024-06-01", seed=3)
    strong = randomisation_inference(frame, design, draws=199, seed=1)
    assert strong.p_value == pytest.approx(1 / 200)  # no re-draw beats a 60% cut: (1 + 0) / (1 + 199)
    null = randomisation_inference(_trial(4, effect=0.0), draws=199, seed=1)
    assert abs(float(np.mean(null.draws))) < 0.05 and 0.01 < null.p_value <= 1
    shifted = frame.assign(area_id=frame["area_id"].str.replace("L00", "X00"))
    with pytest.raises(InputError, match="do not match the design"):
        randomisation_inference(shifted, design, draws=99)
    with pytest.raises(InputError, match="stored assignment"):
        randomisation_inference(frame.assign(treated=~frame["treated"]), design, draws=99)


def test_did_and_dosage_by_hand() -> None:
    # by hand: group area a halves (10 -> 5); controls b, c unchanged -> DiD ratio 0.5 -> -50%
    panel = pd.DataFrame(
        {
            "area_id": list("aabbcc"),
            "date": ["2024-01-01", "2024-02-01"] * 3,
            "group": [1, 1, 0, 0, 0, 0],
            "count": [10, 5, 10, 10, 20, 20],
        }
    )
    assert difference_in_differences(panel, start="2024-02-01").pct_change == pytest.approx(-50.0, abs=1e-6)
    frame = _trial(5, effect=0.0, days=60)
    rng = np.random.default_rng(5)
    dose = np.where(frame["treated"], rng.uniform(5, 30, len(frame)), 0.0)
    rate = frame["count"].groupby(frame["area_id"]).transform("mean").to_numpy() + 0.2
    frame = frame.assign(dosage=dose, count=rng.poisson(rate * np.exp(-0.02 * dose)))
    result = dosage_response(frame, per=15)
    # planted: exp(-0.02 x 15) - 1 = -25.9% per 15 minutes
    assert result.ci_low < -25.9 < result.ci_high
    # dosage is not randomised: its error is clustered by place (CR2), not HC0
    assert result.extra["cov_type"] == "CR2(area)" and "Bell-McCaffrey" in result.extra["reference"]
    direct = estimate_effect(frame.assign(dose_units=frame["dosage"] / 15), regressor="dose_units", cov="cr2")
    assert result.se == pytest.approx(direct.se, rel=1e-12)
    cr1 = dosage_response(frame, per=15, cov="cluster")
    assert cr1.extra["cov_type"] == "cluster(area)" and cr1.extra["reference"] == "t(20)"
    did = difference_in_differences(panel, start="2024-02-01")
    assert did.extra["cov_type"] == "CR2(area)"


def test_bad_input_says_how_to_fix() -> None:
    frame = _trial(1)
    with pytest.raises(InputError, match="no control observations"):
        estimate_effect(frame.assign(treated=1))
    with pytest.raises(InputError, match="zero on all"):
        estimate_effect(frame.assign(count=0))
    with pytest.raises(InputError, match="duplicated"):
        estimate_effect(pd.concat([frame, frame.head(1)]))
    with pytest.raises(InputError, match="whole counts"):
        estimate_effect(frame.assign(count=frame["count"] + 0.5), model="nb")
    with pytest.raises(InputError, match="not a complete panel"):
        randomisation_inference(frame.iloc[1:], draws=99)
    with pytest.raises(InputError, match="areas in and out"):
        difference_in_differences(frame.assign(group=1), start="2024-06-10")


def test_negative_binomial_on_few_place_days_falls_back_to_the_glm_error() -> None:
    """20 place-days (4 areas x 5 days, synthetic Poisson(1) counts, stated here) leave the NB2
    likelihood's information matrix singular with the dispersion at its boundary; statsmodels then
    has no covariance (`cov_params` raised "need covariance of parameters"). The standard error is
    the GLM's at the fitted dispersion, computed independently here with statsmodels."""
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=5)
    frame = pd.DataFrame(
        [
            {
                "area_id": f"A{a}",
                "date": d,
                "treated": int(a < 2 and d.day > 2),
                "count": int(rng.poisson(1.0)),
            }
            for a in range(4)
            for d in dates
        ]
    )
    result = estimate_effect(frame, model="nb")
    assert np.isfinite(result.se) and result.alpha is not None
    glm = sm.GLM(
        frame["count"].to_numpy(float),
        _dummies(frame, time=True),
        family=sm.families.NegativeBinomial(alpha=max(result.alpha, 1e-8)),
    ).fit()
    assert result.se == pytest.approx(float(glm.bse["treated"]), rel=1e-9)
    assert "GLM standard error" in result.extra["note"]
