"""A vectorised Poisson fixed-effects estimator and randomisation inference.

For a complete panel (days × areas) the Poisson maximum-likelihood estimate of the treatment
coefficient β with one effect per area has a one-dimensional score (the area effects profile out,
Hausman, Hall & Griliches 1984):

    U(β) = Σ_i [ T_i − Y_i · n1_i e^β / (n1_i e^β + n0_i) ]

with, per area i, Y_i its total, T_i its total on treated days and n1_i / n0_i its numbers of
treated / control days. :func:`poisson_fe` solves U(β) = 0 by Newton's method for many panels at
once and gives the robust (HC0) or place-clustered sandwich standard error; the tests check all
three against ``statsmodels.GLM`` with area dummies. :func:`poisson_fe_cr2` adds the CR2
place-clustered error with Bell–McCaffrey degrees of freedom in closed form (the size a clustered
test keeps with 21 places of unequal rates is measured in ``benchmarks/cluster_size.py``). It is
what :mod:`gripkit.evaluate.power`
simulates with and what :func:`randomisation_inference` re-estimates under every re-drawn
assignment.

Examples
--------
>>> import numpy as np
>>> y = np.array([[1.0, 4.0], [2.0, 2.0]])          # days x areas
>>> d = np.array([[1, 0], [0, 1]], dtype=bool)
>>> beta, se = poisson_fe(y, d)
>>> round(float(np.exp(beta)), 3)                    # 1/2 and 2/4 by hand
0.5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.evaluate.design import Design
from gripkit.evaluate.effects import check_place_days
from gripkit.evaluate.plan_design import PlanDesign
from gripkit.progress import Progress

BETA_BOUND = 10.0
#: Randomisation inference estimates its re-draws in at most this many chunks (one progress call each).
RI_CHUNKS = 20


def poisson_fe(
    y: np.ndarray, treated: np.ndarray, iterations: int = 30, cov: str = "hc0"
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson area-fixed-effects estimate of β and its robust standard error.

    Parameters
    ----------
    y : numpy.ndarray
        Outcomes shaped ``(..., n_days, n_areas)`` (counts or harm, >= 0).
    treated : numpy.ndarray
        Bool array broadcastable to ``y``.
    iterations : int
        Newton steps (the score is concave; 30 is ample).
    cov : {"hc0", "cluster"}
        ``hc0``: heteroskedasticity-robust sandwich over place-days (statsmodels ``HC0``);
        ``cluster``: clustered by area with the correction G / (G − 1) over the G areas with both
        treated and control days and a non-zero total.

    Returns
    -------
    beta, se : numpy.ndarray
        Shaped like ``y`` without its last two axes. β is bounded to ±10 when every treated (or
        control) outcome is 0.
    """
    y, d, total, on_treated, n1, n0, informative = _area_sums(y, treated)
    # start at the pooled rate ratio
    rate1 = on_treated.sum(axis=-1) / np.maximum(n1.sum(axis=-1), 1)
    rate0 = (total - on_treated).sum(axis=-1) / np.maximum(n0.sum(axis=-1), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.clip(np.nan_to_num(np.log(rate1 / rate0)), -BETA_BOUND, BETA_BOUND)
    for _ in range(iterations):
        share = _share(beta, n1, n0)
        score = np.where(informative, on_treated - total * share, 0.0).sum(axis=-1)
        info = np.where(informative, total * share * (1 - share), 0.0).sum(axis=-1)
        step = np.divide(score, info, out=np.zeros_like(score), where=info > 0)
        beta = np.clip(beta + step, -BETA_BOUND, BETA_BOUND)
    share = _share(beta, n1, n0)
    info = np.where(informative, total * share * (1 - share), 0.0).sum(axis=-1)
    if cov == "cluster":
        parts = np.where(informative, on_treated - total * share, 0.0)
        groups = informative.sum(axis=-1)
        correction = np.divide(groups, groups - 1, out=np.full(groups.shape, np.nan), where=groups > 1)
        meat = correction * (parts**2).sum(axis=-1)
    elif cov == "hc0":
        # per place-day profiled score (d_it - p_i)(y_it - mu_it), mu_it = Y_i e^(b d_it) / (n1 e^b + n0)
        e = np.exp(beta)[..., None]
        denom = n1 * e + n0
        unit = np.divide(total, denom, out=np.zeros_like(denom), where=denom > 0)[..., None, :]
        mu = unit * np.where(d > 0, e[..., None], 1.0)
        meat = (((d - share[..., None, :]) * (y - mu)) ** 2).sum(axis=(-1, -2))
    else:
        raise InputError(f"'cov' must be hc0 or cluster; received {cov!r}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(meat) / info
    return beta, se


def poisson_fe_cr2(y: np.ndarray, treated: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`poisson_fe` with the CR2 place-clustered error and its Bell–McCaffrey degrees of freedom.

    CR2 (Bell & McCaffrey 2002; Pustejovsky & Tipton 2018) is the clustered sandwich with each
    cluster's working residuals multiplied by ``(I − H_gg)^(−1/2)``, H the hat matrix of the
    iteratively-reweighted (working) regression at the estimate, as R's ``clubSandwich`` does for a
    GLM; the pseudo-inverse is used where the area effect makes ``I − H_gg`` singular. In this model
    the area dummies and the weighted residualised treatment ``r_it = √μ_it (d_it − p_i)`` are
    orthogonal within each area, so the correction reduces to a closed form: with ``U_i`` area i's
    profiled score, ``I_i = Y_i p_i (1 − p_i)`` its information, ``I = Σ I_i`` and the leverage
    ``h_i = I_i / I``::

        Var_CR2(β) = Σ_i U_i² / (1 − h_i) / I²

    The Bell–McCaffrey degrees of freedom for β (Imbens & Kolesár 2016, eq. 11, their working model
    of independent equal-variance working residuals) are ``(tr M)² / tr(M²)`` for the G × G matrix
    ``M = diag(a) − w wᵀ`` with ``a_i = h_i / (1 − h_i)`` and ``w_i = h_i / √(1 − h_i)``; they equal
    G − 1 when every area carries the same information and fall below it as the information
    concentrates in a few areas. Areas with no treated day, no control day or no crime carry no
    information and are left out of G.

    Returns
    -------
    beta, se, df : numpy.ndarray
        Shaped like ``y`` without its last two axes; ``df`` is NaN where fewer than two areas are
        informative.

    Examples
    --------
    >>> y = np.array([[1.0, 1.0, 2.0], [2.0, 2.0, 1.0]])          # days x areas, totals 3, 3, 3
    >>> d = np.array([[1, 0, 1], [0, 1, 0]], dtype=bool)
    >>> beta, se, df = poisson_fe_cr2(y, d)
    >>> round(float(df), 6)                                       # equal information: G - 1
    2.0
    """
    beta, _ = poisson_fe(y, treated)
    _, _, total, on_treated, n1, n0, informative = _area_sums(y, treated)
    share = _share(beta, n1, n0)
    info_i = np.where(informative, total * share * (1 - share), 0.0)
    info = info_i.sum(axis=-1)
    score = np.where(informative, on_treated - total * share, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = info_i / info[..., None]
        keep = informative & (h < 1 - 1e-12)
        a = np.where(keep, h / (1 - h), 0.0)
        w2 = np.where(keep, h**2 / (1 - h), 0.0)
        meat = np.where(keep, score**2 / (1 - h), 0.0).sum(axis=-1)
        se = np.sqrt(meat) / info
        trace = a.sum(axis=-1) - w2.sum(axis=-1)
        trace_sq = (a**2).sum(axis=-1) - 2 * (a * w2).sum(axis=-1) + w2.sum(axis=-1) ** 2
        df = np.where(keep.sum(axis=-1) > 1, trace**2 / trace_sq, np.nan)
    return beta, se, df


def _area_sums(
    y: np.ndarray, treated: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Float ``y`` and ``d`` and per area: total, total on treated days, treated and control days,
    and whether the area informs β (both kinds of day and a non-zero total)."""
    y, d = (a.astype(float) for a in np.broadcast_arrays(y, treated))
    total = y.sum(axis=-2)
    on_treated = (y * d).sum(axis=-2)
    n1 = d.sum(axis=-2)
    n0 = y.shape[-2] - n1
    informative = (n1 > 0) & (n0 > 0) & (total > 0)
    return y, d, total, on_treated, n1, n0, informative


def _share(beta: np.ndarray, n1: np.ndarray, n0: np.ndarray) -> np.ndarray:
    """Expected share of an area's total on treated days: n1 e^β / (n1 e^β + n0)."""
    e = np.exp(np.asarray(beta))[..., None]
    denom = n1 * e + n0
    return np.divide(n1 * e, denom, out=np.zeros_like(denom), where=denom > 0)


def to_panel(
    place_days: pd.DataFrame, outcome: str = C.COUNT
) -> tuple[np.ndarray, np.ndarray, list[str], list]:
    """Complete days × areas arrays ``(y, treated, areas, dates)`` from a place-day frame.

    Raises InputError when some (area, date) cells are missing: randomisation inference needs the
    full design.
    """
    frame = check_place_days(place_days, outcome)
    y = frame.pivot(index=C.DATE, columns=C.AREA_ID, values=outcome)
    d = frame.pivot(index=C.DATE, columns=C.AREA_ID, values=C.TREATED)
    if y.isna().any().any():
        raise InputError(
            f"place_days is not a complete panel: {int(y.isna().sum().sum())} of {y.size} (area, date) "
            "cells are missing. Give every area a row for every day (0 when nothing happened)."
        )
    return y.to_numpy(float), d.to_numpy(bool), [str(c) for c in y.columns], list(y.index)


@dataclass
class RandomisationResult:
    """Randomisation inference for the Poisson area-effects coefficient.

    Attributes
    ----------
    beta : float
        Observed coefficient (log rate ratio).
    p_value : float
        (1 + #{|β*| >= |β|}) / (1 + draws): two-sided, counting the observed assignment.
    draws : numpy.ndarray
        β under each re-drawn assignment.
    scheme : str
        How assignments were re-drawn.
    seed : int
    """

    beta: float
    p_value: float
    draws: np.ndarray
    scheme: str
    seed: int

    @property
    def pct_change(self) -> float:
        """(exp(β) − 1) × 100."""
        return float(np.expm1(self.beta) * 100)


def randomisation_inference(
    place_days: pd.DataFrame,
    design: Design | PlanDesign | None = None,
    *,
    outcome: str = C.COUNT,
    draws: int = 999,
    seed: int = 0,
    progress: Progress | None = None,
) -> RandomisationResult:
    """Locate the observed effect among effects under re-drawn assignments.

    Parameters
    ----------
    place_days : pandas.DataFrame
        Complete panel ``area_id, date, treated, <outcome>``.
    design : Design or PlanDesign, optional
        The stored design; its areas and dates must match the panel. A
        :class:`~gripkit.evaluate.plan_design.PlanDesign` (a stored patrol plan) re-draws with the
        plan's own block randomiser. Without a design the assignment is re-drawn by permuting
        ``treated`` across areas within each day (each day's number of treated areas is kept).
    draws : int
        Number of re-drawn assignments.
    seed : int
        Seed of the re-draws (recorded on the result).
    progress : callable, optional
        ``progress(done, draws, name)`` (:data:`gripkit.progress.Progress`) as the re-drawn
        assignments are estimated, in at most :data:`RI_CHUNKS` chunks (the same numbers as in one).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from gripkit.evaluate.design import place_day_design
    >>> design = place_day_design(list("abcdef"), days=30, treated_per_day=2, start="2024-01-01", seed=0)
    >>> frame = design.assignment.assign(count=np.random.default_rng(1).poisson(3.0, 180))
    >>> 0 < randomisation_inference(frame, design, draws=99).p_value <= 1
    True
    """
    if draws < 19:
        raise InputError(f"'draws' must be >= 19 for a p-value of 0.05 to be possible; received {draws}.")
    y, d, areas, dates = to_panel(place_days, outcome)
    rng = np.random.default_rng(seed)
    if design is not None:
        _match(design, areas, dates, d)
        order = [areas.index(a) for a in design.areas]
        y, d = y[:, order], d[:, order]
        redrawn = design.draw(rng, size=draws)
        if redrawn.ndim == 2:  # place design: the same areas treated on every day
            redrawn = np.repeat(redrawn[:, None, :], y.shape[0], axis=1)
        if isinstance(design, PlanDesign):
            scheme = (
                f"re-drawn with the block randomiser of plan {design.plan_id} ({design.block_days}-day "
                f"blocks, {design.treated_per_day} treated a day, plan seed {design.seed})"
            )
        else:
            scheme = f"re-drawn under the stored {design.scheme} design (seed {design.seed})"
    else:
        keys = rng.random((draws, *d.shape))
        ranks = np.argsort(np.argsort(keys, axis=-1), axis=-1)
        redrawn = ranks < d.sum(axis=1)[None, :, None]
        scheme = "treated permuted across areas within each day"
    beta, _ = poisson_fe(y, d)
    # chunks of re-draws: each draw's estimate is computed on its own, so chunking changes no number
    size = -(-draws // RI_CHUNKS)
    parts = []
    for start in range(0, draws, size):
        parts.append(poisson_fe(y[None], redrawn[start : start + size])[0])
        if progress is not None:
            done = min(draws, start + size)
            progress(done, draws, f"re-draw {done} of {draws}")
    null = np.concatenate(parts)
    p = (1 + np.sum(np.abs(null) >= abs(float(beta)) - 1e-12)) / (1 + draws)
    return RandomisationResult(float(beta), float(p), null, scheme, seed)


def _match(design: Design | PlanDesign, areas: list[str], dates: list, treated: np.ndarray) -> None:
    """The panel must hold exactly the design's areas and dates and its assignment."""
    unknown = sorted(set(areas) - set(design.areas))
    absent = sorted(set(design.areas) - set(areas))
    if unknown or absent:
        raise InputError(
            f"place_days area ids do not match the design: {len(unknown)} not in the design (e.g. "
            f"{unknown[:3]}), {len(absent)} design areas missing (e.g. {absent[:3]}). Use the same "
            "area_id codes as the design."
        )
    if design.dates and [pd.Timestamp(x) for x in dates] != list(design.dates):
        raise InputError(
            f"place_days dates ({len(dates)}) do not match the design's {len(design.dates)} days from "
            f"{design.dates[0]:%Y-%m-%d}. Pass the panel of the design's days."
        )
    order = [areas.index(a) for a in design.areas]
    stored = design.matrix()
    observed = treated[:, order] if stored.ndim == 2 else treated[0, order]
    if not np.array_equal(observed, stored):
        raise InputError(
            "place_days 'treated' differs from the design's stored assignment; randomisation inference "
            "must use the assignment that was drawn. Rebuild the panel from design.assignment."
        )
