"""Effects of treatment on counts and harm: statsmodels models with place and time effects.

The input is a plain frame of place-days (or place-periods): ``area_id, date, treated`` and an
outcome column (``count`` or ``harm``), optionally ``dosage`` (minutes of patrol). It can come from
:class:`~gripkit.evaluate.design.Design`, from a patrol plan, or from any spreadsheet.

The effect is the coefficient β of ``treated`` in a log-linear model with one effect per place
and (by default) one per day, reported as a percentage change (exp(β) − 1) × 100 with a 95%
confidence interval (docs/domain.md, Evaluation):

``poisson``
    Poisson pseudo-likelihood with robust standard errors, valid for counts and for harm.
    ``cov="cr2"`` clusters by place with the CR2 small-sample correction and Bell–McCaffrey
    degrees of freedom (:func:`cr2_bell_mccaffrey`; Pustejovsky & Tipton 2018, Imbens & Kolesár
    2016). It is the default whenever places are observed more than once (every place-day design,
    difference-in-differences, dosage): a place's days share its unmodelled variation, and with
    place and day effects the HC0 sandwich rejected a true null in 12% of 5% tests (300 runs,
    ``benchmarks/cluster_size.py --time-effects``). ``cov="hc0"`` (robust to overdispersion,
    normal reference) stays selectable and is the default only when every place appears once.
    ``cov="cluster"`` is the CR1 sandwich (statsmodels, G/(G − 1) and (N − 1)/(N − K)) with
    Student's t on G − 1 df (Cameron & Miller 2015).

    Size of a 5% test, measured (``benchmarks/cluster_size.py``): Op Rowan design (21 areas, 7
    treated a day, 90 days, re-drawn each run), NB counts with alpha 0.78, no effect, area effects
    only, 20,000 runs each, exact 95% Monte Carlo intervals. Area rates gamma(2, 0.3) (CV 0.53):
    HC0 5.20% [4.89, 5.51], CR1 t(20) 5.67% [5.36, 6.00], CR2 t(BM) 5.00% [4.71, 5.32]. Rates
    gamma(0.5, 1.2) (CV 1.64, a few areas hold most crime): HC0 5.24% [4.93, 5.55], CR1 t(20)
    **12.85%** [12.38, 13.32], CR2 t(BM) 5.33% [5.03, 5.66] (median BM df 4.9). The clustered
    t on G − 1 df over-rejects when the information sits in few places; CR2 with BM df does not.
    (An earlier note here claimed 5.3–6.4% for the clustered t; it was not reproduced.)
``nb``
    Negative binomial (NB2) maximum likelihood, dispersion ``alpha`` estimated; counts only.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> frame = pd.DataFrame({"area_id": np.repeat(list("abcdef"), 40),
...                       "date": np.tile(pd.date_range("2024-01-01", periods=40), 6)})
>>> frame["treated"] = rng.random(len(frame)) < 0.4
>>> frame["count"] = rng.poisson(np.where(frame["treated"], 1.2, 2.0))
>>> result = estimate_effect(frame, model="poisson")
>>> -60 < result.pct_change < -20
True
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.evaluate.design import _has
from gripkit.validate import one_of

MODELS = ("poisson", "nb")
COVARIANCES = ("hc0", "cluster", "cr2")


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run linear algebra on one BLAS thread where threadpoolctl is installed.

    statsmodels' SVDs of ~2,000 x 100 design matrices run 30x slower with OpenBLAS threads
    contending on small machines; one thread is always fast at this size.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it, only speed differs
        yield
        return
    with threadpool_limits(1):
        yield


@dataclass
class EffectResult:
    """One estimated effect.

    Attributes
    ----------
    label, outcome, model : str
        What was estimated, on which column, with which model.
    beta, se : float
        Coefficient of the treatment (log scale) and its standard error.
    pct_change, ci_low, ci_high : float
        (exp(β) − 1) × 100 and its confidence interval, in percent.
    p_value : float
        Two-sided Wald p-value: normal for ``hc0`` and ``nb``, t with places − 1 df for
        ``cluster``, t with the Bell–McCaffrey df (``extra["df"]``) for ``cr2``.
    n_obs, n_areas, n_treated : int
        Observations, places, treated observations.
    mean_treated, mean_control : float
        Raw outcome means.
    alpha : float or None
        NB2 dispersion (``nb`` only).
    ri_p_value : float or None
        Randomisation-inference p-value of this row's outcome (set by the evaluation job).
    ri_note : str or None
        Why a row has no randomisation p-value (a roll-out that was not randomised, a dosage
        slope, inference skipped).
    extra : dict
        Model options (place/time effects, covariance type, notes).
    """

    label: str
    outcome: str
    model: str
    beta: float
    se: float
    pct_change: float
    ci_low: float
    ci_high: float
    p_value: float
    n_obs: int
    n_areas: int
    n_treated: int
    mean_treated: float
    mean_control: float
    alpha: float | None = None
    ri_p_value: float | None = None
    ri_note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        out = asdict(self)
        out["extra"] = {k: str(v) for k, v in self.extra.items()}
        return out

    def summary(self) -> str:
        """One sentence, e.g. ``count fell 41.2% (95% CI -55.0% to -23.1%), p = 0.0004``."""
        verb = "fell" if self.pct_change < 0 else "rose"
        ri = "" if self.ri_p_value is None else f", randomisation p = {self.ri_p_value:.4f}"
        return (
            f"{self.label}: {self.outcome} {verb} {abs(self.pct_change):.1f}% "
            f"(95% CI {self.ci_low:+.1f}% to {self.ci_high:+.1f}%), p = {self.p_value:.4f}{ri} "
            f"[{self.model}, {self.n_obs:,} observations]"
        )


def check_place_days(frame: pd.DataFrame, outcome: str, *, need_date: bool = True) -> pd.DataFrame:
    """Validate a place-day frame; return a clean copy with ``treated`` as 0/1.

    Raises InputError for missing columns, missing or negative outcomes, duplicated place-days, no
    treated or no control observations, and outcomes that are zero everywhere.
    """
    cols = [C.AREA_ID, C.TREATED, outcome] + ([C.DATE] if need_date else [])
    _has(frame, cols, "place_days")
    out = frame.copy()
    out[C.AREA_ID] = out[C.AREA_ID].astype(str)
    if need_date:
        out[C.DATE] = pd.to_datetime(out[C.DATE])
        dup = out.duplicated([C.AREA_ID, C.DATE])
        if dup.any():
            first = out.loc[dup, [C.AREA_ID, C.DATE]].iloc[0].tolist()
            raise InputError(
                f"place_days has {int(dup.sum())} duplicated (area_id, date) rows, e.g. {first}. "
                "Aggregate to one row per place-day first."
            )
    treated = pd.to_numeric(out[C.TREATED].astype(float), errors="coerce")
    if treated.isna().any() or not treated.isin([0.0, 1.0]).all():
        raise InputError("'treated' must hold 0/1 or True/False for every row; received other values.")
    out[C.TREATED] = treated.astype(int)
    y = pd.to_numeric(out[outcome], errors="coerce")
    if y.isna().any() or (y < 0).any() or not np.isfinite(y).all():
        raise InputError(
            f"outcome {outcome!r} must be a finite number >= 0 on every row; received "
            f"{int((y.isna() | (y < 0)).sum())} missing or negative value(s). Fill place-days without "
            "crime with 0."
        )
    out[outcome] = y.astype(float)
    n1 = int(out[C.TREATED].sum())
    if n1 == 0 or n1 == len(out):
        which = "control" if n1 else "treated"
        raise InputError(
            f"place_days has no {which} observations ({n1} treated of {len(out)}). An effect needs both "
            "treated and control place-days: include the control areas/days of the design."
        )
    if float(out[outcome].sum()) == 0:
        raise InputError(
            f"outcome {outcome!r} is zero on all {len(out)} place-days, so no effect can be estimated. "
            "Check that crimes were matched to the areas and dates (area_id codes, date range)."
        )
    return out


def _design_matrix(frame: pd.DataFrame, regressor: str, place: bool, time: bool) -> pd.DataFrame:
    parts = [frame[[regressor]].astype(float)]
    if place:
        parts.append(pd.get_dummies(frame[C.AREA_ID], prefix="a", drop_first=True, dtype=float))
    if time:
        days = frame[C.DATE].dt.strftime("%Y-%m-%d")
        parts.append(pd.get_dummies(days, prefix="t", drop_first=True, dtype=float))
    return sm.add_constant(pd.concat(parts, axis=1), has_constant="add")


def cr2_bell_mccaffrey(
    x: np.ndarray, mu: np.ndarray, y: np.ndarray, groups: np.ndarray, index: int
) -> tuple[float, float]:
    """CR2 clustered standard error of coefficient ``index`` of a Poisson GLM and its Bell–McCaffrey df.

    The GLM is written as its working weighted regression at the estimate (Pustejovsky & Tipton
    2018, section 2, as ``clubSandwich::vcovCR(glm, type = "CR2")``): rows ``X̃ = √μ X``, working
    residuals ``ẽ = (y − μ) / √μ``, bread ``B = (X̃ᵀX̃)⁻¹`` and hat matrix ``H = X̃ B X̃ᵀ``. With
    ``A_g = (I − H_gg)^(−1/2)`` (symmetric square root of the pseudo-inverse: place dummies make
    ``I − H_gg`` singular, and the residuals are orthogonal to that null space) and
    ``p_g = A_g X̃_g B ℓ``::

        Var_CR2 = Σ_g (p_gᵀ ẽ_g)²
        df_BM  = (tr M)² / tr(M²),  M = Gᵀ G,  column g of G = (I − H)ᵀ_(·,g) p_g

    the Bell & McCaffrey (2002) Satterthwaite degrees of freedom in the form of Imbens & Kolesár
    (2016, eq. 11), under the working model of independent equal-variance working residuals.
    Intercept-only with G equal clusters gives ``df = G − 1`` and the CR1 variance with G/(G − 1).

    Examples
    --------
    >>> x = np.ones((6, 1)); y = np.array([1.0, 2.0, 3.0, 2.0, 4.0, 0.0])
    >>> mu = np.full(6, y.mean()); groups = np.repeat([0, 1, 2], 2)
    >>> se, df = cr2_bell_mccaffrey(x, mu, y, groups, 0)
    >>> round(df, 9)                       # three equal clusters: G - 1
    2.0
    """
    weight = np.sqrt(np.maximum(mu, 1e-300))
    xw = x * weight[:, None]
    resid = (y - mu) / weight
    bread = np.linalg.pinv(xw.T @ xw)
    q = xw @ bread[:, index]
    labels = np.unique(groups)
    columns = np.zeros((len(y), labels.size))
    variance = 0.0
    for j, label in enumerate(labels):
        rows = np.flatnonzero(groups == label)
        xg = xw[rows]
        values, vectors = np.linalg.eigh(np.eye(rows.size) - xg @ bread @ xg.T)
        root = np.divide(1.0, np.sqrt(np.abs(values)), out=np.zeros_like(values), where=values > 1e-10)
        pg = vectors @ (root * (vectors.T @ q[rows]))
        variance += float(pg @ resid[rows]) ** 2
        columns[rows, j] = pg
        columns[:, j] -= xw @ (bread @ (xg.T @ pg))
    m = columns.T @ columns
    df = float(np.trace(m) ** 2 / np.sum(m * m)) if labels.size > 1 else float("nan")
    return float(np.sqrt(variance)), df


def _fit(
    frame: pd.DataFrame, outcome: str, regressor: str, model: str, place: bool, time: bool, cov: str
) -> tuple[float, float, float | None, dict[str, Any]]:
    """(beta, se, alpha, notes) from statsmodels."""
    y = frame[outcome].to_numpy(dtype=float)
    x = _design_matrix(frame, regressor, place, time)
    if x.shape[1] >= len(y):
        raise InputError(
            f"{len(y)} observations cannot identify {x.shape[1]} parameters (treatment, place and time "
            "effects). Add place-days, or pass time_effects=False."
        )
    groups = pd.factorize(frame[C.AREA_ID])[0]
    if model == "poisson":
        if cov == "cr2":
            fit = sm.GLM(y, x, family=sm.families.Poisson()).fit()
            index = list(x.columns).index(regressor)
            se, df = cr2_bell_mccaffrey(x.to_numpy(float), np.asarray(fit.mu), y, groups, index)
            cr2_notes: dict[str, Any] = {"cov_type": "CR2(area)", "df": df}
            return float(fit.params[regressor]), se, None, cr2_notes
        if cov == "cluster":
            fit = sm.GLM(y, x, family=sm.families.Poisson()).fit(
                cov_type="cluster", cov_kwds={"groups": groups}
            )
        else:
            fit = sm.GLM(y, x, family=sm.families.Poisson()).fit(cov_type="HC0")
        notes: dict[str, Any] = {"cov_type": "cluster(area)" if cov == "cluster" else "HC0"}
        return float(fit.params[regressor]), float(fit.bse[regressor]), None, notes
    if not np.allclose(y, np.round(y)):
        raise InputError(
            f"the negative binomial model needs whole counts; outcome {outcome!r} has fractions (harm?). "
            "Use model='poisson' (robust standard errors) for harm."
        )
    start = sm.GLM(y, x, family=sm.families.Poisson()).fit().params
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.NegativeBinomial(y, x, loglike_method="nb2").fit(
            start_params=np.append(start.to_numpy(), 0.1), method="bfgs", maxiter=2000, disp=0
        )
        alpha = float(fit.params["alpha"])
        try:
            se = float(np.sqrt(np.diag(fit.cov_params()))[list(x.columns).index(regressor)])
        except ValueError:  # the Hessian could not be inverted: statsmodels has no covariance
            se = float("nan")
    notes = {"cov_type": "nonrobust (NB2 MLE)"}
    if not np.isfinite(se) or alpha < 1e-6:
        # alpha at its boundary (NB collapses to Poisson) or a singular Hessian (few place-days):
        # the standard error of the GLM with the fitted alpha
        fit2 = sm.GLM(y, x, family=sm.families.NegativeBinomial(alpha=max(alpha, 1e-8))).fit()
        se = float(fit2.bse[regressor])
        notes["note"] = (
            "NB dispersion at 0 (no overdispersion); GLM standard error used"
            if alpha < 1e-6
            else "NB information matrix singular (too few place-days for its parameters); GLM standard "
            "error at the fitted dispersion used"
        )
    return float(fit.params[regressor]), se, alpha, notes


def default_cov(place_days: pd.DataFrame) -> str:
    """``"cr2"`` when some place has more than one row (repeated observations), else ``"hc0"``.

    Examples
    --------
    >>> twice, once = pd.DataFrame({"area_id": list("aab")}), pd.DataFrame({"area_id": list("ab")})
    >>> default_cov(twice), default_cov(once)
    ('cr2', 'hc0')
    """
    return "cr2" if bool(place_days[C.AREA_ID].duplicated().any()) else "hc0"


def estimate_effect(
    place_days: pd.DataFrame,
    *,
    outcome: str = C.COUNT,
    model: str = "poisson",
    place_effects: bool = True,
    time_effects: bool = True,
    level: float = 0.95,
    label: str = "treated vs control",
    regressor: str = C.TREATED,
    cov: str | None = None,
) -> EffectResult:
    """Estimate the effect of ``treated`` on ``outcome`` with place and time effects.

    Parameters
    ----------
    place_days : pandas.DataFrame
        ``area_id, date, treated`` and the outcome column. Not modified.
    outcome : str
        Column to model, e.g. ``count`` or ``harm``.
    model : {"poisson", "nb"}
        Poisson with robust errors (``cov``), or negative binomial (counts only).
    place_effects, time_effects : bool
        One fixed effect per area / per date.
    level : float
        Confidence level of the interval.
    cov : {"hc0", "cluster", "cr2"} or None
        Robust covariance of the Poisson model (see the module notes): HC0 over place-days, CR1
        clustered by place with t on G − 1 df, or CR2 clustered by place with Bell–McCaffrey df
        (:func:`cr2_bell_mccaffrey`). ``None`` (default) chooses ``"cr2"`` when some place has
        more than one row (repeated observations of places) and ``"hc0"`` otherwise; the choice
        is in ``extra["cov_type"]``.

    Returns
    -------
    EffectResult

    Examples
    --------
    >>> frame = pd.DataFrame({"area_id": list("aabb"), "date": ["2024-01-01", "2024-01-02"] * 2,
    ...                       "treated": [1, 0, 0, 1], "count": [1, 2, 4, 2]})
    >>> round(estimate_effect(frame, time_effects=False).pct_change, 1)  # 1/2 and 2/4 by hand
    -50.0
    """
    one_of("model", model, MODELS)
    if cov is not None:
        one_of("cov", cov, COVARIANCES)
    frame = check_place_days(place_days, outcome)
    if regressor != C.TREATED:
        _has(frame, [regressor], "place_days")
    if cov is None:
        cov = default_cov(frame)
    with one_blas_thread():
        beta, se, alpha, notes = _fit(frame, outcome, regressor, model, place_effects, time_effects, cov)
    groups = int(frame[C.AREA_ID].nunique())
    dof = notes.get("df")
    if model == "poisson" and cov == "cr2" and dof is not None and np.isfinite(dof):
        ref, notes["reference"] = stats.t(dof), f"t({dof:.1f}, Bell-McCaffrey)"
    elif model == "poisson" and cov == "cluster" and groups > 1:
        ref, notes["reference"] = stats.t(groups - 1), f"t({groups - 1})"
    else:
        ref, notes["reference"] = stats.norm(), "normal"
    z = float(ref.ppf(0.5 + level / 2))
    is_t = frame[C.TREATED] == 1
    notes.update(place_effects=place_effects, time_effects=time_effects, level=level)
    return EffectResult(
        label=label,
        outcome=outcome,
        model=model,
        beta=beta,
        se=se,
        pct_change=float(np.expm1(beta) * 100),
        ci_low=float(np.expm1(beta - z * se) * 100),
        ci_high=float(np.expm1(beta + z * se) * 100),
        p_value=float(2 * ref.sf(abs(beta / se))) if se > 0 else float("nan"),
        n_obs=len(frame),
        n_areas=groups,
        n_treated=int(is_t.sum()),
        mean_treated=float(frame.loc[is_t, outcome].mean()),
        mean_control=float(frame.loc[~is_t, outcome].mean()),
        alpha=alpha,
        extra=notes,
    )


def difference_in_differences(
    panel: pd.DataFrame,
    *,
    group: str = "group",
    start: str | pd.Timestamp,
    outcome: str = C.COUNT,
    model: str = "poisson",
    cov: str = "cr2",
) -> EffectResult:
    """Before/after with controls for a non-randomised roll-out (place-clustered errors).

    The Poisson model's default error is CR2 clustered by place with Bell–McCaffrey degrees of
    freedom (``cov="cr2"``; the module notes give its measured size); ``cov="cluster"`` is the
    CR1 sandwich with t on G − 1 df.

    ``treated`` is built as (area in the treated ``group``) and (date >= ``start``); with place and
    time effects its coefficient is the difference-in-differences on the log scale. Needs
    observations before and after ``start`` and areas in and out of the group.

    Examples
    --------
    >>> panel = pd.DataFrame({"area_id": list("aabbcc"), "date": ["2024-01-01", "2024-02-01"] * 3,
    ...                       "group": [1, 1, 0, 0, 0, 0], "count": [10, 5, 10, 10, 20, 20]})
    >>> round(difference_in_differences(panel, start="2024-02-01").pct_change, 1)  # (5/10)/(30/30)
    -50.0
    """
    _has(panel, [C.AREA_ID, C.DATE, group, outcome], "panel")
    frame = panel.copy()
    frame[C.DATE] = pd.to_datetime(frame[C.DATE])
    when = pd.Timestamp(start)
    post = frame[C.DATE] >= when
    if post.all() or not post.any():
        raise InputError(
            f"difference-in-differences needs dates before and after start {when:%Y-%m-%d}; received "
            f"{frame[C.DATE].min():%Y-%m-%d} to {frame[C.DATE].max():%Y-%m-%d}. Include a before period."
        )
    in_group = frame[group].astype(bool)
    if in_group.all() or not in_group.any():
        raise InputError(
            f"difference-in-differences needs areas in and out of group {group!r}; received "
            f"{int(in_group.sum())} of {len(frame)} rows in the group. Add control areas."
        )
    frame[C.TREATED] = (in_group & post).astype(int)
    return estimate_effect(frame, outcome=outcome, model=model, label="difference-in-differences", cov=cov)


def dosage_response(
    place_days: pd.DataFrame,
    *,
    outcome: str = C.COUNT,
    per: float = 15.0,
    time_effects: bool = True,
    cov: str = "cr2",
) -> EffectResult:
    """% change in the outcome per ``per`` minutes of patrol dosage (Poisson, place-clustered errors).

    Needs a ``dosage`` column in minutes (0 on control place-days), e.g. from GPS. Dosage is not
    randomised - officers linger where they choose, and a place's days share its dosage habits - so
    the error is clustered by place: CR2 with Bell–McCaffrey degrees of freedom by default
    (``cov="cr2"``), or ``cov="cluster"`` (statsmodels' CR1 sandwich, t on G − 1 df). HC0 would
    treat a place's days as independent.
    """
    one_of("cov", cov, ("cluster", "cr2"))
    _has(place_days, [C.DOSAGE], "place_days")
    frame = place_days.copy()
    dose = pd.to_numeric(frame[C.DOSAGE], errors="coerce").fillna(0.0)
    if (dose < 0).any():
        raise InputError("'dosage' must be minutes >= 0; received negative values.")
    frame["dose_units"] = dose / per
    return estimate_effect(
        frame,
        outcome=outcome,
        model="poisson",
        time_effects=time_effects,
        regressor="dose_units",
        label=f"per {per:g} minutes of dosage",
        cov=cov,
    )
