"""Power and minimum detectable effect (MDE) by simulation under a place-day design.

Counts per place-day are simulated as negative binomial (gamma-Poisson) with each area's own rate
and a dispersion ``alpha`` estimated from the force's history (:func:`estimate_dispersion`); the
planted effect multiplies the rate on treated place-days by ``1 − effect``; each simulated trial
is analysed with the Poisson area-effects estimator and robust (HC0) errors of
:func:`gripkit.evaluate.inference.poisson_fe`. Power is the share of trials with a significant
reduction.

Monthly data (police.uk) and daily designs
------------------------------------------
police.uk publishes months only. Daily rates are monthly counts / days in the month, which is
fine for means. Day-to-day overdispersion cannot be observed: if a month is the sum of d days of
NB(m, α_d) with independent day shocks then α_month = α_d / d, and if the shock is shared by all
days of the month α_month = α_d. So α_d lies between α_month and d·α_month;
:class:`Dispersion` reports both and the power functions default to the conservative one
(``independent`` days, more noise).

Examples
--------
>>> result = simulate_power([0.5] * 21, alpha=0.5, days=90, treated_per_day=7,
...                         effects=[0.0, 0.44], sims=200, seed=1)
>>> float(result.curve.loc[result.curve["effect"] == 0.44, "power"].iloc[0]) > 0.9
True
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.evaluate.design import Design
from gripkit.evaluate.effects import one_blas_thread
from gripkit.evaluate.inference import poisson_fe
from gripkit.progress import Progress, throttled
from gripkit.results import ResultMixin, to_jsonable
from gripkit.validate import fraction, positive

if TYPE_CHECKING:
    from gripkit.workspace import Workspace

PERIOD = "period"
DEFAULT_EFFECTS = tuple(np.round(np.arange(0.0, 0.61, 0.05), 2))


@dataclass
class Dispersion:
    """Rates and negative-binomial dispersion estimated from a history of area-period counts.

    Attributes
    ----------
    rates : pandas.Series
        Mean count per area per day (index ``area_id``).
    alpha_period : float
        NB2 dispersion of the period (e.g. monthly) counts, with area and period effects.
    days_per_period : float
        Mean days per period (30.4 for months).
    alpha_daily_independent, alpha_daily_shared : float
        Daily dispersion if day shocks are independent (``alpha_period × days``, the conservative
        bound) or shared within the period (``alpha_period``).
    """

    rates: pd.Series
    alpha_period: float
    days_per_period: float
    n_periods: int

    @property
    def alpha_daily_independent(self) -> float:
        return self.alpha_period * self.days_per_period

    @property
    def alpha_daily_shared(self) -> float:
        return self.alpha_period

    def daily_alpha(self, assumption: str = "independent") -> float:
        """The daily alpha under ``independent`` or ``shared`` day shocks."""
        if assumption not in ("independent", "shared"):
            raise InputError(f"'assumption' must be independent or shared; received {assumption!r}.")
        return self.alpha_daily_independent if assumption == "independent" else self.alpha_daily_shared


def estimate_dispersion(history: pd.DataFrame, *, count: str = C.COUNT) -> Dispersion:
    """Fit NB2 with area and period effects to ``area_id, period, count`` (periods are months).

    ``period`` holds the first day of each month (or any date); days per period come from the
    calendar. Every area must have a row for every period (zeros included).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> months = pd.date_range("2023-01-01", periods=12, freq="MS")
    >>> hist = pd.DataFrame({"area_id": np.repeat(list("abcdefghij"), 12),
    ...                      "period": np.tile(months, 10)})
    >>> hist["count"] = rng.negative_binomial(1 / 0.2, 1 / (1 + 0.2 * 15), len(hist))  # alpha 0.2
    >>> 0.05 < estimate_dispersion(hist).alpha_period < 0.4
    True
    """
    for name in (C.AREA_ID, PERIOD, count):
        if name not in history.columns:
            raise InputError(
                f"history lacks column {name!r}; received {', '.join(map(str, history.columns))}. "
                "Pass area_id, period (month start date) and count per area and month."
            )
    frame = history.copy()
    frame[PERIOD] = pd.to_datetime(frame[PERIOD])
    wide = frame.pivot_table(index=PERIOD, columns=C.AREA_ID, values=count, aggfunc="sum")
    if wide.isna().any().any():
        raise InputError("history is not a complete area × period panel; fill missing area-months with 0.")
    if wide.shape[0] < 3 or wide.shape[1] < 2:
        raise InputError(
            f"history needs >= 3 periods and >= 2 areas; received {wide.shape[0]} and {wide.shape[1]}."
        )
    if (wide.sum(axis=0) == 0).any():
        empty = [str(c) for c in wide.columns[wide.sum(axis=0) == 0]]
        raise InputError(f"area(s) {empty[:3]} have no crimes in the history; drop them or widen the window.")
    days = pd.Series(pd.DatetimeIndex(wide.index).days_in_month, index=wide.index).astype(float)
    rates = wide.sum(axis=0) / days.sum()
    long = pd.Series(wide.stack(), name="y").reset_index()
    x = pd.concat(
        [
            pd.get_dummies(long[C.AREA_ID].astype(str), prefix="a", dtype=float),
            pd.get_dummies(long[PERIOD].dt.strftime("%Y-%m"), prefix="p", drop_first=True, dtype=float),
        ],
        axis=1,
    )
    y = long["y"].to_numpy(float)
    with one_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = sm.GLM(y, x, family=sm.families.Poisson()).fit().params.to_numpy()
        fit = sm.NegativeBinomial(y, x, loglike_method="nb2").fit(
            start_params=np.append(start, 0.1), method="bfgs", maxiter=2000, disp=0
        )
    alpha = max(float(fit.params["alpha"]), 0.0)
    return Dispersion(rates.rename("rate_per_day"), alpha, float(days.mean()), int(wide.shape[0]))


@dataclass
class PowerResult(ResultMixin):
    """Power curve and MDE of a design (a stored result of kind ``power``).

    Attributes
    ----------
    curve : pandas.DataFrame
        ``effect`` (planted reduction, 0.4 = −40%), ``power``, ``mean_pct_change`` (mean estimate).
    mde : float or None
        Smallest reduction with power >= ``target`` (linear interpolation on the curve), None if
        no effect in the grid reaches it.
    meta : dict
        Provenance: the design, mean rate, daily dispersion ``alpha``, outcome, sims, seed,
        significance level, target power, the ``effect`` of interest; for
        :func:`~gripkit.evaluate.rowan.op_rowan_power` also the areas, months, harm table and
        SHA-256 and the dispersion estimate.
    details : dict of str -> pandas.DataFrame
        Further tables stored with the curve (Op Rowan: the chosen areas and the power under each
        outcome and dispersion bound).
    """

    kind: ClassVar[str] = "power"
    curve: pd.DataFrame
    mde: float | None
    meta: dict[str, Any] = field(default_factory=dict)
    details: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        """The simulation's parameters (the same dict as :attr:`meta`)."""
        return self.meta

    def power_at(self, effect: float) -> float:
        """Interpolated power at a reduction ``effect``."""
        return float(np.interp(effect, self.curve["effect"], self.curve["power"]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe MDE, power at the effect of interest, curve, details and meta."""
        effect = self.meta.get("effect")
        return {
            "mde": self.mde,
            "effect": effect,
            "power_at_effect": None if effect is None else self.power_at(float(effect)),
            "curve": to_jsonable(self.curve),
            "details": {name: to_jsonable(frame) for name, frame in self.details.items()},
            "meta": to_jsonable(self.meta),
        }

    def summary(self) -> str:
        """One paragraph: power at the effect of interest and the MDE for this design."""
        m = self.meta
        noun = C.HARM if m.get("outcome") == C.HARM else C.CRIMES
        target = float(m.get("target", 0.8))
        mde = "is not reached in the simulated range" if self.mde is None else f"is {self.mde:.0%}"
        lead = ""
        if m.get("areas") and m.get("months"):
            lead = (
                f"The {len(m['areas'])} areas with most serious-violence harm ({m['months']}) hold "
                f"{float(m.get('top_share_of_harm', 0)):.1%} of it. "
            )
        design = f"A design treating {m.get('treated_per_day')} a day for {m.get('days')} days"
        effect = m.get("effect")
        if effect is None:
            head = f"{design}: the minimum detectable effect at {target:.0%} power {mde}"
        else:
            head = (
                f"{design} has power {self.power_at(float(effect)):.2f} for a {float(effect):.0%} cut in "
                f"{noun}; the minimum detectable effect at {target:.0%} power {mde}"
            )
        bounds = m.get("mde_range")
        span = f", and {bounds} across outcomes and dispersion bounds" if bounds else ""
        return (
            f"{lead}{head}{span} ({m.get('n_areas')} areas, {float(m.get('mean_rate', 0)):.2f} crimes a "
            f"day each on average, daily dispersion {_dispersion(float(m.get('alpha', 0)))}, "
            f"two-sided test at {float(m.get('significance', 0.05)):.0%}; {m.get('sims')} simulations, "
            f"seed {m.get('seed')})."
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """The power curve (and any :attr:`details`)."""
        return {"curve": self.curve, **self.details}


def _dispersion(alpha: float) -> str:
    """``0.78``, or ``about 0 (Poisson)`` for a dispersion below 0.001."""
    return "about 0 (Poisson)" if alpha < 1e-3 else f"{alpha:.3g}"


def simulate_power(
    rates: Sequence[float] | np.ndarray | pd.Series,
    alpha: float,
    *,
    days: int,
    treated_per_day: int,
    effects: Sequence[float] = DEFAULT_EFFECTS,
    sims: int = 500,
    seed: int = 0,
    significance: float = 0.05,
    target: float = 0.8,
    harm_mix: tuple[np.ndarray, np.ndarray] | None = None,
    design: Design | None = None,
    effect: float | None = None,
    workspace: Workspace | None = None,
    progress: Progress | None = None,
) -> PowerResult:
    """Power of a place-day design to detect each planted reduction in ``effects``.

    Parameters
    ----------
    rates : sequence of float
        Expected crimes per area per day, one per area (e.g. :attr:`Dispersion.rates`).
    alpha : float
        Daily NB2 dispersion (0 = Poisson).
    days, treated_per_day : int
        The design: each day ``treated_per_day`` of the areas are treated, for ``days`` days.
    effects : sequence of float
        Planted reductions (0.44 = −44%).
    sims : int
        Simulated trials per effect.
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    significance, target : float
        Two-sided test level; power defining the MDE.
    harm_mix : (probabilities, weights), optional
        Simulate harm instead of counts: ``probabilities`` (areas × crime types, rows sum to 1)
        split each area's crimes by type, ``weights`` (crime types) are their harm weights.
    design : Design, optional
        Draw assignments from this design instead (its areas must match ``rates``).
    effect : float, optional
        The reduction of interest (added to ``effects``); the summary reports power for it.
    workspace : Workspace, optional
        Store the result there (kind ``power``).
    progress : callable, optional
        ``progress(done, total, name)`` (:data:`gripkit.progress.Progress`) after each effect's
        simulations: ``done`` simulated trials of ``total = len(effects) x sims``.
    """
    mu = np.asarray(rates, dtype=float)
    if mu.ndim != 1 or len(mu) < 2 or not np.all(np.isfinite(mu)) or (mu < 0).any():
        raise InputError(f"'rates' must be >= 2 finite rates >= 0, one per area; received {len(mu)} values.")
    if mu.sum() <= 0:
        raise InputError(
            "'rates' are all 0: nothing can be detected. Estimate them from the force's history."
        )
    if not np.isfinite(alpha) or alpha < 0:
        raise InputError(f"'alpha' must be >= 0 (0 = Poisson); received {alpha!r}.")
    positive("sims", sims, example="500")
    fraction("significance", significance)
    if effect is not None:
        effects = sorted({*(round(float(e), 4) for e in effects), round(float(effect), 4)})
    effects_arr = np.asarray(effects, dtype=float)
    if ((effects_arr < 0) | (effects_arr >= 1)).any():
        raise InputError(
            f"'effects' are reductions in [0, 1); received {effects_arr.tolist()}. Pass e.g. 0.44."
        )
    if design is None:
        design = _synthetic_design(len(mu), days, treated_per_day)
    elif len(design.areas) != len(mu):
        raise InputError(
            f"design has {len(design.areas)} areas but 'rates' has {len(mu)}; pass one rate per area."
        )
    rng = np.random.default_rng(seed)
    # HC0 errors, normal reference (poisson_fe's vectorised test). Not estimate_effect's default, which
    # is CR2 with Bell-McCaffrey df when places repeat (effects.py): that test is wider, so this
    # power may be optimistic (HC0 sizes: benchmarks/cluster_size.py, docs/evaluate.md).
    z = stats.norm.isf(significance / 2)
    rows = []
    total = len(effects_arr) * int(sims)
    update = throttled(progress, total)
    for i, planted in enumerate(effects_arr, start=1):
        treated = design.draw(rng, size=int(sims))
        if treated.ndim == 2:
            treated = np.repeat(treated[:, None, :], days, axis=1)
        y = _simulate(rng, mu, float(alpha), treated, planted, harm_mix)
        beta, se = poisson_fe(y, treated)
        significant = (beta / se < -z) & np.isfinite(se)
        rows.append((planted, float(significant.mean()), float(np.nanmean(np.expm1(beta)) * 100)))
        if update is not None:
            update(i * int(sims), total, f"effect -{planted:.0%}")
    curve = pd.DataFrame(rows, columns=["effect", "power", "mean_pct_change"])
    params = {
        "n_areas": len(mu),
        "treated_per_day": treated_per_day,
        "days": days,
        "alpha": alpha,
        "mean_rate": float(mu.mean()),
        "rates": [float(r) for r in mu],
        "outcome": C.HARM if harm_mix is not None else C.COUNT,
        "sims": int(sims),
        "seed": seed,
        "significance": significance,
        "target": target,
        "estimator": "Poisson with area effects, robust (HC0) SE, two-sided Wald test",
        "effect": None if effect is None else float(effect),
        "effects": [float(e) for e in effects_arr],
    }
    result = PowerResult(curve, _mde(curve, target), params)
    if workspace is not None:
        workspace.save_result(result)
    return result


def _synthetic_design(n_areas: int, days: int, k: int) -> Design:
    from gripkit.evaluate.design import place_day_design

    return place_day_design(
        [f"area{i}" for i in range(n_areas)], days=days, treated_per_day=k, start="2000-01-01", seed=0
    )


def _simulate(
    rng: np.random.Generator,
    mu: np.ndarray,
    alpha: float,
    treated: np.ndarray,
    effect: float,
    harm_mix: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    """Gamma-Poisson outcomes shaped like ``treated`` (sims × days × areas)."""
    lam = mu * np.where(treated, 1.0 - effect, 1.0)
    if alpha > 0:
        lam = lam * rng.gamma(1.0 / alpha, alpha, size=lam.shape)
    if harm_mix is None:
        return rng.poisson(lam).astype(float)
    probs, weights = (np.asarray(a, dtype=float) for a in harm_mix)
    harm = np.zeros(lam.shape)
    for k, weight in enumerate(weights):
        harm += weight * rng.poisson(lam * probs[:, k])
    return harm


def _mde(curve: pd.DataFrame, target: float) -> float | None:
    """First crossing of ``target`` on the power curve, linearly interpolated."""
    effect, power = curve["effect"].to_numpy(), curve["power"].to_numpy()
    above = np.flatnonzero(power >= target)
    if not len(above):
        return None
    i = int(above[0])
    if i == 0:
        return float(effect[0])
    e0, e1, p0, p1 = effect[i - 1], effect[i], power[i - 1], power[i]
    return float(e0 + (target - p0) * (e1 - e0) / (p1 - p0)) if p1 > p0 else float(e1)
