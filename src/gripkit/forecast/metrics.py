"""Forecast accuracy over a flagged share of the area (docs/domain.md, "Forecasting").

With ``n`` of ``N`` test-period crimes in the flagged units, which cover ``a`` of the area ``A``:

* hit rate = n / N;
* PAI = (n / N) / (a / A) (Chainey, Tompson & Uhlig 2008);
* PEI = PAI / PAI*, PAI* the best PAI any set of units of (at most) the same area could have had
  (Hunt 2016); that is n / n*, with n* the most test crimes such units could hold;
* RRI = (n₂ / n₁) / (N₂ / N₁), the flagged units' crimes in the test period (2) over those in the
  period before it (1), relative to all crimes (Levine 2008);
* harm-weighted hit rate = harm in flagged units / all harm in the test period.

Units are flagged whole, best score first, while their area fits in ``coverage × A``, so
``area_share = a / A`` is at most the coverage asked for (at least one unit is flagged).
"""

from __future__ import annotations

import numpy as np

from gripkit.errors import InputError
from gripkit.validate import fraction


def flag(scores: np.ndarray, areas: np.ndarray, coverage: float) -> np.ndarray:
    """Boolean mask of the units flagged at ``coverage``: best scores first, whole units.

    Ties keep the units' order (stable sort), so flagging is reproducible.

    Examples
    --------
    >>> flag(np.array([0.1, 3.0, 2.0, 0.0]), np.ones(4), 0.5).tolist()
    [False, True, True, False]
    >>> flag(np.array([0.1, 3.0, 2.0, 0.0]), np.ones(4), 0.3).tolist()  # 1 unit = 25% <= 30%
    [False, True, False, False]
    """
    cover = fraction("coverage", coverage)
    scores, areas = np.asarray(scores, dtype=float), np.asarray(areas, dtype=float)
    if scores.shape != areas.shape or scores.ndim != 1 or not len(scores):
        raise InputError(
            f"'scores' and 'areas' must be 1-D arrays of the same non-zero length; received shapes "
            f"{scores.shape} and {areas.shape}."
        )
    if not (np.isfinite(areas) & (areas > 0)).all():
        raise InputError("unit areas must be finite and > 0; received missing or zero areas. Use grid units.")
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
    cumulative = np.cumsum(areas[order])
    take = max(1, int(np.searchsorted(cumulative, cover * cumulative[-1] * (1 + 1e-12), side="right")))
    mask = np.zeros(len(scores), dtype=bool)
    mask[order[:take]] = True
    return mask


def hit_rate(flagged: np.ndarray, counts: np.ndarray) -> float:
    """n / N: the share of test crimes (or harm) in flagged units; NaN when N = 0.

    >>> hit_rate(np.array([True, False, True]), np.array([3.0, 5.0, 2.0]))
    0.5
    """
    total = float(np.sum(counts))
    return float(np.sum(np.asarray(counts, dtype=float)[flagged])) / total if total > 0 else float("nan")


def area_share(flagged: np.ndarray, areas: np.ndarray) -> float:
    """a / A: the share of the area flagged.

    >>> area_share(np.array([True, False]), np.array([1.0, 3.0]))
    0.25
    """
    areas = np.asarray(areas, dtype=float)
    return float(areas[flagged].sum() / areas.sum())


def pai(flagged: np.ndarray, counts: np.ndarray, areas: np.ndarray) -> float:
    """Predictive Accuracy Index: hit rate / area share.

    >>> pai(np.array([True, False, False, False]), np.array([2.0, 1.0, 1.0, 0.0]), np.ones(4))
    2.0
    """
    return hit_rate(flagged, counts) / area_share(flagged, areas)


def best_capture(counts: np.ndarray, areas: np.ndarray, area_budget: float) -> float:
    """n*: the most crimes whole units within ``area_budget`` could hold.

    Exact for equal-area units (the densest units first); for unequal areas the greedy density
    order is used, a lower bound of the knapsack optimum (so PEI is at worst slightly high).

    >>> best_capture(np.array([1.0, 4.0, 2.0]), np.ones(3), 2.0)
    6.0
    """
    counts, areas = np.asarray(counts, dtype=float), np.asarray(areas, dtype=float)
    order = np.argsort(-(counts / areas), kind="stable")
    fits = np.cumsum(areas[order]) <= area_budget * (1 + 1e-12)
    return float(counts[order][fits].sum())


def pei(flagged: np.ndarray, counts: np.ndarray, areas: np.ndarray) -> float:
    """Predictive Efficiency Index: PAI / PAI* = n / n* for the same flagged area; NaN when n* = 0.

    >>> pei(np.array([False, True, False]), np.array([5.0, 1.0, 0.0]), np.ones(3))
    0.2
    """
    counts = np.asarray(counts, dtype=float)
    best = best_capture(counts, areas, float(np.asarray(areas, dtype=float)[flagged].sum()))
    return float(counts[flagged].sum()) / best if best > 0 else float("nan")


def rri(flagged: np.ndarray, counts_before: np.ndarray, counts_after: np.ndarray) -> float:
    """Recapture Rate Index (n₂/n₁)/(N₂/N₁); NaN when n₁, N₁ or N₂ is 0.

    >>> rri(np.array([True, False]), np.array([4.0, 6.0]), np.array([6.0, 9.0]))
    1.0
    """
    n1 = float(np.sum(np.asarray(counts_before, dtype=float)[flagged]))
    n2 = float(np.sum(np.asarray(counts_after, dtype=float)[flagged]))
    big_n1, big_n2 = float(np.sum(counts_before)), float(np.sum(counts_after))
    if n1 <= 0 or big_n1 <= 0 or big_n2 <= 0:
        return float("nan")
    return (n2 / n1) / (big_n2 / big_n1)


def score(
    scores: np.ndarray,
    areas: np.ndarray,
    counts: np.ndarray,
    coverage: float,
    *,
    counts_before: np.ndarray | None = None,
    harm: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric of one forecast at one coverage, as a dict.

    Parameters
    ----------
    scores, areas, counts : numpy.ndarray
        Per unit: forecast score, area (m²) and crimes in the test period.
    coverage : float
        Fraction of the area to flag, e.g. 0.05.
    counts_before : numpy.ndarray, optional
        Crimes per unit in the period before the test period (for RRI; NaN without it).
    harm : numpy.ndarray, optional
        Harm per unit in the test period (for ``harm_hit_rate``; counts without it).

    Returns
    -------
    dict
        ``coverage, area_share, units_flagged, crimes, hits, hit_rate, pai, pei, rri, harm_hit_rate``.

    Examples
    --------
    >>> out = score(np.array([3.0, 2.0, 1.0, 0.0]), np.ones(4), np.array([4.0, 0.0, 4.0, 2.0]), 0.25)
    >>> out["hit_rate"], out["pai"], out["pei"]
    (0.4, 1.6, 1.0)
    """
    mask = flag(scores, areas, coverage)
    counts = np.asarray(counts, dtype=float)
    return {
        "coverage": float(coverage),
        "area_share": area_share(mask, areas),
        "units_flagged": int(mask.sum()),
        "crimes": float(counts.sum()),
        "hits": float(counts[mask].sum()),
        "hit_rate": hit_rate(mask, counts),
        "pai": pai(mask, counts, areas),
        "pei": pei(mask, counts, areas),
        "rri": float("nan") if counts_before is None else rri(mask, counts_before, counts),
        "harm_hit_rate": hit_rate(mask, counts if harm is None else harm),
    }
