"""Multiple-testing control for many local tests (one per unit).

A Gi* map tests every cell at once: at ``alpha = 0.05`` a grid of 50,000 cells flags about 2,500
cells by chance alone. :func:`adjust_pvalues` turns raw p-values into adjusted ones that can be
compared with ``alpha`` directly:

``"fdr_bh"``
    Benjamini & Hochberg (1995) q-values: controls the expected share of false discoveries
    among the flagged units. ``q_(i) = min_{j >= i} min(1, n p_(j) / j)`` over the sorted p.
``"holm"``
    Holm (1979) step-down: controls the family-wise error rate, uniformly more powerful than
    Bonferroni. ``p~_(i) = max_{j <= i} min(1, (n - j + 1) p_(j))``.
``"bonferroni"``
    ``min(1, n p)``: family-wise error rate, the most conservative.
``"none"``
    The p-values unchanged (a copy).

The results equal ``statsmodels.stats.multitest.multipletests(p, method=...)[1]`` and, for
``"fdr_bh"``, ``scipy.stats.false_discovery_control(p, method="bh")`` (see the tests).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from gripkit.errors import InputError
from gripkit.validate import one_of

#: The accepted ``method`` names of :func:`adjust_pvalues`.
METHODS: Final[tuple[str, ...]] = ("fdr_bh", "holm", "bonferroni", "none")


def adjust_pvalues(p: Any, method: str = "fdr_bh") -> np.ndarray:
    """Adjust p-values for multiple testing.

    Parameters
    ----------
    p : array_like of float
        Raw p-values in [0, 1], any shape (treated as one family of tests). NaN is not allowed.
    method : {"fdr_bh", "holm", "bonferroni", "none"}, default "fdr_bh"
        Benjamini–Hochberg q-values, Holm step-down, Bonferroni, or no adjustment.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values (float, same shape as ``p``, each >= its raw p-value and <= 1). A unit
        is significant at level ``alpha`` when its adjusted value is < ``alpha``.

    Raises
    ------
    InputError
        If ``method`` is not one of :data:`METHODS`, or ``p`` holds values that are not numbers
        in [0, 1].

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.20]).round(4).tolist()  # BH: 0.01*4/1, 0.04*4/3 ...
    [0.04, 0.0533, 0.0533, 0.2]
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.20], "holm").round(4).tolist()
    [0.04, 0.09, 0.09, 0.2]
    >>> adjust_pvalues([0.01, 0.5], "bonferroni").tolist()
    [0.02, 1.0]
    """
    one_of("method", method, METHODS)
    values = _check_p(p)
    flat = values.ravel()
    n = flat.size
    if method == "none" or n == 0:
        return values.copy()
    if method == "bonferroni":
        return np.minimum(values * n, 1.0)
    order = np.argsort(flat, kind="mergesort")
    ranked = flat[order]
    rank = np.arange(1, n + 1, dtype=float)
    if method == "fdr_bh":
        # running minimum from the largest p-value down
        adjusted = np.minimum.accumulate((ranked * n / rank)[::-1])[::-1]
        adjusted = np.maximum(adjusted, ranked)  # q >= p also under rounding (p * 3 / 3 < p)
    else:  # holm: running maximum from the smallest p-value up
        adjusted = np.maximum.accumulate(ranked * (n - rank + 1))
    out = np.empty(n, dtype=float)
    out[order] = np.minimum(adjusted, 1.0)
    return out.reshape(values.shape)


def _check_p(p: Any) -> np.ndarray:
    """``p`` as a float array, raising InputError unless every value is a number in [0, 1]."""
    try:
        values = np.asarray(p, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"'p' must be an array of p-values (numbers in [0, 1]); received {type(p).__name__} that "
            "cannot be read as numbers. Pass e.g. a numpy array of floats."
        ) from exc
    bad = ~((values >= 0) & (values <= 1))  # also catches NaN
    if bad.any():
        example = float(values[bad].ravel()[0])
        raise InputError(
            f"'p' must hold p-values in [0, 1]; received {int(bad.sum())} value(s) outside it, e.g. "
            f"{example!r}. Drop missing tests before adjusting, or clip rounding errors to [0, 1]."
        )
    return values
