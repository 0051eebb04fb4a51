"""Concentration of crime or harm across units: top-k% shares, Lorenz curve, Gini.

The law of crime concentration (Weisburd 2015) is reported as the share of crime (or harm) held by
the top k% of units, the Lorenz curve and the Gini coefficient. When units outnumber crimes the
standard Gini overstates concentration, so the generalised Gini of Bernasco & Steenbeek (2017) is
reported alongside it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gripkit.errors import InputError
from gripkit.validate import fraction

__all__ = ["Concentration", "concentration", "units_in_top"]

DEFAULT_TOPS: tuple[float, ...] = (0.01, 0.05, 0.10)


def units_in_top(n_units: int, share: float) -> int:
    """Return how many of ``n_units`` make up the top ``share`` of units.

    ``share × n_units`` is rounded half up to a whole number of units, and at least one unit is
    taken (the top 1% of 30 units is 1 unit; of 250 units, 3 units; of 150 units, 2 units).

    Examples
    --------
    >>> units_in_top(250, 0.01), units_in_top(150, 0.01), units_in_top(30, 0.01)
    (3, 2, 1)
    """
    return max(1, min(n_units, math.floor(share * n_units + 0.5)))


@dataclass(frozen=True)
class Concentration:
    """How concentrated a quantity is across units.

    Attributes
    ----------
    n_units : int
        Number of units, zero-valued units included.
    total : float
        Sum of the values.
    n_crimes : int or None
        Number of crimes N used by the small-sample correction (``None`` if unknown).
    tops : tuple of float
        The shares of units / area reported, e.g. ``(0.01, 0.05, 0.1)``.
    top_unit_share : dict[float, float]
        Share of the total held by the top k of units by value; the number of units is
        :func:`units_in_top` (k × n rounded half up, at least 1).
    top_area_share : dict[float, float]
        Share of the total held by the highest-value units that together make up k of the total
        area: units are taken in descending order of value (ties in input order) until their
        cumulative area first reaches k × total area, the unit that crosses the line included.
    top_area_covered : dict[float, float]
        The share of the total area those units actually cover (>= k; larger when units are large).
    lorenz : pandas.DataFrame
        Columns ``unit_share, value_share``: units ranked from highest to lowest value, the
        cumulative share of units against the cumulative share of the total; ``n_units + 1`` rows
        from (0, 0) to (1, 1). This is the concentration form used by Bernasco & Steenbeek (2017):
        it lies on or above the diagonal.
    gini : float
        Standard Gini from values sorted ascending, ``G = 2 Σ i x_(i) / (n Σ x) − (n + 1) / n``.
    gini_corrected : float or None
        Generalised Gini of Bernasco & Steenbeek (2017), ``G' = 1 − max(1, n / N) (1 − G)``, which
        compares the curve with maximal equality given N crimes (at most N units can hold any) rather
        than with perfect equality; it equals ``G`` when ``N >= n``. This is the biased variant,
        ``lorenzgini::gini(x, generalized = TRUE, unbiased = FALSE)``; no n/(n−1) factor is applied.
        ``None`` when the crime count is unknown.
    gini_random : float or None
        The Gini the same N crimes would give if each were placed in a unit chosen uniformly at
        random (the mean over :data:`RANDOM_DRAWS` seeded multinomial draws): the concentration chance
        alone produces with so few crimes. Read ``gini`` against it, not against 0.
    gini_random_generalised : float or None
        The generalised Gini of the same random draws (about 0 when crimes < units: random
        placement spreads N crimes over about N units).
    """

    n_units: int
    total: float
    n_crimes: int | None
    tops: tuple[float, ...]
    top_unit_share: dict[float, float]
    top_area_share: dict[float, float]
    top_area_covered: dict[float, float]
    lorenz: pd.DataFrame = field(repr=False)
    gini: float
    gini_corrected: float | None
    gini_random: float | None = None
    gini_random_generalised: float | None = None

    @property
    def sparse(self) -> bool:
        """True when units outnumber crimes: the generalised Gini is the headline."""
        return self.n_crimes is not None and self.n_crimes < self.n_units

    def gini_sentence(self) -> str:
        """The Gini for a summary: the generalised one first when crimes < units, with chance's.

        >>> for part in concentration([5, 2, 1] + [0] * 7).gini_sentence().split("; "):
        ...     print(part)
        generalised Gini 0.75 (8 crimes over 10 units
        the standard Gini 0.80 cannot fall below 0.20 with so few crimes)
        a random placement of the same crimes gives 0.41
        """
        if self.sparse and self.gini_corrected is not None:
            floor = 1.0 - (self.n_crimes or 0) / self.n_units
            text = (f"generalised Gini {self.gini_corrected:.2f} ({self.n_crimes:,} crimes over "
                    f"{self.n_units:,} units; the standard Gini {self.gini:.2f} cannot fall below "
                    f"{floor:.2f} with so few crimes)")
            chance = self.gini_random_generalised
        else:
            text, chance = f"Gini {self.gini:.2f}", self.gini_random
        if chance is not None:
            text += f"; a random placement of the same crimes gives {chance:.2f}"
        return text

    def to_dict(self, lorenz_points: int | None = 101) -> dict[str, Any]:
        """Return a JSON-safe dict of the results.

        Parameters
        ----------
        lorenz_points : int or None
            Sample the Lorenz curve at this many evenly spaced unit shares (exact: the curve is
            piecewise linear); ``None`` keeps all ``n_units + 1`` points.

        Examples
        --------
        >>> import json
        >>> json.dumps(concentration([0, 0, 1, 3]).to_dict(lorenz_points=3))[:28]
        '{"n_units": 4, "total": 4.0,'
        """
        unit_share = self.lorenz["unit_share"].to_numpy(dtype=float)
        value_share = self.lorenz["value_share"].to_numpy(dtype=float)
        if lorenz_points is not None:
            grid = np.linspace(0.0, 1.0, max(2, int(lorenz_points)))
            value_share = np.interp(grid, unit_share, value_share)
            unit_share = grid
        return {
            "n_units": int(self.n_units),
            "total": float(self.total),
            "n_crimes": None if self.n_crimes is None else int(self.n_crimes),
            "tops": [float(k) for k in self.tops],
            "top_unit_share": {str(k): float(v) for k, v in self.top_unit_share.items()},
            "top_area_share": {str(k): float(v) for k, v in self.top_area_share.items()},
            "top_area_covered": {str(k): float(v) for k, v in self.top_area_covered.items()},
            "gini": float(self.gini),
            "gini_corrected": None if self.gini_corrected is None else float(self.gini_corrected),
            "gini_random": None if self.gini_random is None else float(self.gini_random),
            "gini_random_generalised": (
                None if self.gini_random_generalised is None else float(self.gini_random_generalised)
            ),
            "lorenz": {"unit_share": unit_share.tolist(), "value_share": value_share.tolist()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Concentration:
        """Rebuild a :class:`Concentration` from :meth:`to_dict` (e.g. a stored hotspot result's).

        The Lorenz curve is the one stored: exact from ``to_dict(lorenz_points=None)``, else its
        samples (the curve is piecewise linear, so the samples lie on it).

        Examples
        --------
        >>> c = concentration([0, 0, 1, 3])
        >>> Concentration.from_dict(c.to_dict(lorenz_points=None)).to_dict() == c.to_dict()
        True
        """
        try:
            tops = tuple(float(k) for k in data["tops"])
            shares = {
                name: {float(k): float(v) for k, v in data[name].items()}
                for name in ("top_unit_share", "top_area_share", "top_area_covered")
            }
            lorenz = pd.DataFrame(
                {
                    "unit_share": np.asarray(data["lorenz"]["unit_share"], dtype=float),
                    "value_share": np.asarray(data["lorenz"]["value_share"], dtype=float),
                }
            )
            corrected = data.get("gini_corrected")
            n_crimes = data.get("n_crimes")
            return cls(
                n_units=int(data["n_units"]),
                total=float(data["total"]),
                n_crimes=None if n_crimes is None else int(n_crimes),
                tops=tops,
                top_unit_share=shares["top_unit_share"],
                top_area_share=shares["top_area_share"],
                top_area_covered=shares["top_area_covered"],
                lorenz=lorenz,
                gini=float(data["gini"]),
                gini_corrected=None if corrected is None else float(corrected),
                gini_random=_optional_float(data.get("gini_random")),
                gini_random_generalised=_optional_float(data.get("gini_random_generalised")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(
                f"'data' must be the dict of Concentration.to_dict(); received keys "
                f"{', '.join(map(str, data)) if isinstance(data, dict) else type(data).__name__} ({exc!r})."
            ) from None


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


#: draws of the random-placement Gini (its mean's Monte Carlo error is below 0.005 on real grids)
RANDOM_DRAWS = 100


def random_gini(n_crimes: int, n_units: int, draws: int = RANDOM_DRAWS, seed: int = 0) -> tuple[float, float]:
    """Mean standard and generalised Gini of ``n_crimes`` placed uniformly at random over ``n_units``.

    Each draw is one multinomial placement (numpy, seeded); the generalised Gini is
    :func:`concentration`'s ``1 - max(1, n/N)(1 - G)``.

    Examples
    --------
    >>> g, generalised = random_gini(1000, 10)  # ~Poisson(100) per unit: E|X-Y|/(2 mu) * 9/10 = 0.051
    >>> round(g, 2), round(generalised, 2)
    (0.05, 0.05)
    """
    rng = np.random.default_rng(seed)
    share = np.full(n_units, 1.0 / n_units)
    ranks = np.arange(1, n_units + 1, dtype=float)
    weighted = np.empty(draws)
    # 8 draws at a time, sorted in place: the same draws as one (draws, n_units) call, without its
    # 3 x 400 MB of temporaries on a 500k-cell grid (the peak of a 50 m KDE run)
    for start in range(0, draws, 8):
        placed = rng.multinomial(n_crimes, share, size=min(8, draws - start))
        placed.sort(axis=1)
        weighted[start : start + len(placed)] = placed @ ranks  # integer sums: exact in float64
    gini = 2.0 * weighted / (n_units * n_crimes) - (n_units + 1) / n_units
    generalised = 1.0 - max(1.0, n_units / n_crimes) * (1.0 - gini)
    return float(gini.mean()), float(generalised.mean())


def _as_array(name: str, values: Any, n: int | None = None) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"'{name}' must be numbers, one per unit; received {type(values).__name__}. "
            "Pass a list, NumPy array or pandas Series of numbers."
        ) from exc
    if array.ndim != 1:
        raise InputError(
            f"'{name}' must be one-dimensional (one number per unit); received shape {array.shape}."
        )
    if n is not None and array.size != n:
        raise InputError(
            f"'{name}' must have one entry per unit ({n}); received {array.size}. "
            "Pass values, area and counts for the same units in the same order."
        )
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise InputError(
            f"'{name}' has {bad} missing or infinite entries. Fill them (e.g. 0 for no crime) first."
        )
    return array


def _check_tops(tops: Iterable[float]) -> tuple[float, ...]:
    checked = tuple(fraction("tops", k) for k in tops)
    if not checked:
        raise InputError(
            "'tops' must list at least one share; received an empty sequence. Pass (0.01, 0.05)."
        )
    return checked


def gini_sorted(ascending: np.ndarray) -> float:
    """Standard Gini of non-negative values sorted ascending: ``2 Σ i x_(i) / (n Σ x) − (n + 1) / n``.

    Examples
    --------
    >>> gini_sorted(np.array([0.0, 0.0, 1.0, 3.0]))
    0.625
    """
    n = ascending.size
    ranks = np.arange(1, n + 1, dtype=float)
    # an elementwise product and sum, not np.dot: BLAS would start threads that spin on a second
    # core for every force of a national run (measured: ~1-2 s of 43 forces' 6-7 s on 2 cores)
    return float(2.0 * (ranks * ascending).sum() / (n * ascending.sum()) - (n + 1) / n)


def _crime_count(values: np.ndarray, counts: Any) -> int | None:
    if counts is None:
        whole = bool(np.all(values == np.round(values)))
        return round(float(values.sum())) if whole else None
    array = _as_array("counts", counts, values.size)
    if (array < 0).any() or not np.all(array == np.round(array)):
        raise InputError(
            "'counts' must be whole numbers >= 0 (crimes per unit); received e.g. "
            f"{array[(array < 0) | (array != np.round(array))][0]!r}. Pass crime counts, not harm."
        )
    orphan = (values > 0) & (array == 0)
    if orphan.any():
        raise InputError(
            f"'counts' is 0 for {int(orphan.sum())} unit(s) whose value is > 0. Pass the number of crimes "
            "of the same units in the same order as 'values'."
        )
    return int(array.sum())


def _top_area(
    descending: np.ndarray, area_desc: np.ndarray, total: float, tops: Sequence[float]
) -> tuple[dict[float, float], dict[float, float]]:
    area_total = area_desc.sum()
    cum_area = np.cumsum(area_desc) / area_total
    # a running sum can pass the (pairwise) total in its last bits: a share is never above 1
    cum_value = np.minimum(np.cumsum(descending) / total, 1.0)
    shares: dict[float, float] = {}
    covered: dict[float, float] = {}
    for k in tops:
        # first rank whose cumulative area reaches k (tolerance for float sums)
        idx = min(int(np.searchsorted(cum_area, k * (1 - 1e-12), side="left")), descending.size - 1)
        shares[k] = float(cum_value[idx])
        covered[k] = float(cum_area[idx])
    return shares, covered


def concentration(
    values: Any,
    area: Any = None,
    *,
    counts: Any = None,
    tops: Iterable[float] = DEFAULT_TOPS,
) -> Concentration:
    """Measure how concentrated crime or harm is across units.

    Parameters
    ----------
    values : array-like of float
        Harm (or crime count) per unit, **including units with zero**; one entry per unit.
    area : array-like of float or None
        Area of each unit in m²; ``None`` treats all units as equal in area.
    counts : array-like of int or None
        Number of crimes per unit, for the small-sample (generalised) Gini. ``None`` uses ``values``
        as the counts when they are all whole numbers, else ``gini_corrected`` is ``None``.
    tops : iterable of float
        Shares of units and of area to report, each in (0, 1].

    Returns
    -------
    Concentration
        See the class for exactly what each figure is.

    Raises
    ------
    InputError
        Empty, negative, non-finite or all-zero values; mismatched lengths; non-positive areas;
        counts that are not whole numbers or are 0 where a value is > 0.

    Examples
    --------
    >>> c = concentration([0, 0, 1, 3], tops=(0.25,))
    >>> c.gini, c.top_unit_share[0.25]
    (0.625, 0.75)
    >>> round(concentration([5, 2, 1] + [0] * 7).gini_corrected, 6)  # lorenzgini example: 0.75
    0.75
    """
    x = _as_array("values", values)
    n = x.size
    if n == 0:
        raise InputError("'values' is empty; received 0 units. Pass one value per unit, zeros included.")
    if (x < 0).any():
        raise InputError(
            f"'values' must be >= 0; received {int((x < 0).sum())} negative value(s) such as "
            f"{x[x < 0][0]:g}. Pass crime counts or harm per unit."
        )
    total = float(x.sum())
    if total <= 0:
        raise InputError(
            f"'values' are all zero across {n} units, so there is nothing to concentrate. "
            "Check the crimes were assigned to these units and the harm table weighs them (not 'none' "
            "with all-zero weights)."
        )
    if area is None:
        a = np.ones(n)
    else:
        a = _as_array("area", area, n)
        if (a <= 0).any():
            raise InputError(
                f"'area' must be > 0 m² for every unit; received {int((a <= 0).sum())} unit(s) with "
                "area <= 0. Drop empty units or pass area=None for equal areas."
            )
    top_shares = _check_tops(tops)
    n_crimes = _crime_count(x, counts)

    order = np.argsort(-x, kind="stable")  # descending by value, ties in input order
    descending = x[order]
    cum_value = np.minimum(np.cumsum(descending) / total, 1.0)  # never above 1 (float sums)
    top_unit = {k: float(cum_value[units_in_top(n, k) - 1]) for k in top_shares}
    top_area, covered = _top_area(descending, a[order], total, top_shares)

    lorenz = pd.DataFrame(
        {
            "unit_share": np.arange(n + 1, dtype=float) / n,
            "value_share": np.concatenate([[0.0], cum_value]),
        }
    )
    lorenz.iloc[-1] = (1.0, 1.0)  # exact endpoint despite float sums

    gini = gini_sorted(descending[::-1])
    corrected = None if n_crimes is None else 1.0 - max(1.0, n / n_crimes) * (1.0 - gini)
    chance = random_gini(n_crimes, n) if n_crimes else (None, None)
    return Concentration(
        n_units=n,
        total=total,
        n_crimes=n_crimes,
        tops=top_shares,
        top_unit_share=top_unit,
        top_area_share=top_area,
        top_area_covered=covered,
        lorenz=lorenz,
        gini=gini,
        gini_corrected=corrected,
        gini_random=chance[0],
        gini_random_generalised=chance[1],
    )
