"""Size of the effect tests under a true null: HC0, place-clustered CR1 and CR2 (Bell–McCaffrey).

Design: the Op Rowan place-day design (21 areas, 7 treated a day, 90 days, re-drawn every run),
negative binomial counts with dispersion 0.78 (the Bedfordshire monthly alpha x 30.5 days, see
tests/evaluate/test_power.py) and no effect. Area rates are unequal: drawn once per scenario from
a gamma distribution (shape 2, scale 0.3: coefficient of variation ~0.7; shape 0.5, scale 1.2:
~1.4), seeded. Each run is analysed with the Poisson area-effects estimator
(:func:`gripkit.evaluate.inference.poisson_fe`, equal to statsmodels' GLM with area dummies) and a
two-sided 5% test:

- ``hc0``: robust sandwich, normal reference (``estimate_effect``'s default);
- ``CR1 t(G-1)``: clustered by area with G/(G-1), Student t on G - 1 = 20 df (``cov="cluster"``);
- ``CR2 t(BM)``: CR2 clustered error, Bell–McCaffrey degrees of freedom (``cov="cr2"``).

Prints each rejection rate with its exact (Clopper–Pearson) 95% Monte Carlo interval. With
``--time-effects N`` it also fits N runs through ``estimate_effect`` (statsmodels, place and day
effects; ~0.5 s a run) for the model the evaluation job fits.

Run: ``python benchmarks/cluster_size.py [--sims 20000] [--time-effects 400]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from gripkit.evaluate import estimate_effect, place_day_design, poisson_fe
from gripkit.evaluate.inference import poisson_fe_cr2
from gripkit.evaluate.power import _simulate

AREAS = [f"L{i:02d}" for i in range(21)]
SCENARIOS = {"gamma(2, 0.3)": (2.0, 0.3), "gamma(0.5, 1.2)": (0.5, 1.2)}
ALPHA_NB = 0.78


def interval(rejections: int, runs: int) -> str:
    """Rate and its exact binomial 95% interval, e.g. ``5.1% [4.8%, 5.4%]``."""
    ci = stats.binomtest(rejections, runs).proportion_ci(0.95, method="exact")
    return f"{rejections / runs:6.2%} [{ci.low:.2%}, {ci.high:.2%}]"


def vectorised(sims: int, batch: int = 2000) -> None:
    design = place_day_design(AREAS, days=90, treated_per_day=7, start="2024-06-01", seed=0)
    crit = stats.norm.ppf(0.975)
    crit_t = stats.t.ppf(0.975, len(AREAS) - 1)
    for name, (shape, scale) in SCENARIOS.items():
        rng = np.random.default_rng(2026)
        mu = rng.gamma(shape, scale, len(AREAS))
        hits = np.zeros(3, dtype=int)
        dfs = []
        for start in range(0, sims, batch):
            size = min(batch, sims - start)
            treated = design.draw(rng, size=size)
            y = _simulate(rng, mu, ALPHA_NB, treated, 0.0, None)
            beta, se = poisson_fe(y, treated)
            _, se_cl = poisson_fe(y, treated, cov="cluster")
            _, se_cr2, df = poisson_fe_cr2(y, treated)
            hits += [
                int((np.abs(beta / se) > crit).sum()),
                int((np.abs(beta / se_cl) > crit_t).sum()),
                int((np.abs(beta / se_cr2) > stats.t.ppf(0.975, df)).sum()),
            ]
            dfs.append(df)
        cv = mu.std() / mu.mean()
        print(f"rates {name} (21 areas, CV {cv:.2f}), {sims:,} null runs, no time effects:")
        for label, k in zip(("hc0 normal", "CR1 t(20)", "CR2 t(BM)"), hits, strict=True):
            print(f"  {label:11s} {interval(int(k), sims)}")
        print(f"  Bell-McCaffrey df: median {np.median(np.concatenate(dfs)):.1f} (G - 1 = 20)")


def with_time_effects(runs: int) -> None:
    design = place_day_design(AREAS, days=90, treated_per_day=7, start="2024-06-01", seed=0)
    shape, scale = SCENARIOS["gamma(0.5, 1.2)"]
    rng = np.random.default_rng(7)
    mu = rng.gamma(shape, scale, len(AREAS))
    hits = {"hc0": 0, "cluster": 0, "cr2": 0}
    began = time.perf_counter()
    for _ in range(runs):
        treated = design.draw(rng, size=1)
        y = _simulate(rng, mu, ALPHA_NB, treated, 0.0, None)[0]
        frame = design.assignment.assign(treated=treated[0].ravel(), count=y.ravel())
        for cov in hits:
            hits[cov] += estimate_effect(frame, cov=cov).p_value < 0.05
    print(
        f"estimate_effect with place and day effects, rates gamma(0.5, 1.2), {runs} null runs "
        f"({time.perf_counter() - began:.0f} s):"
    )
    for cov, k in hits.items():
        print(f"  {cov:8s} {interval(int(k), runs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=20_000)
    parser.add_argument("--time-effects", type=int, default=0, metavar="N")
    args = parser.parse_args()
    vectorised(args.sims)
    if args.time_effects:
        with_time_effects(args.time_effects)


if __name__ == "__main__":
    main()
