"""Getis–Ord Gi* hot spots with multiple-testing control.

For unit i with values x over n units and binary weights w (self included, ``w_ii = 1``),

    z_i = (Σ_j w_ij x_j − x̄ Σ_j w_ij) / (S · sqrt((n Σ_j w_ij² − (Σ_j w_ij)²) / (n − 1)))

with x̄ and S the mean and the population standard deviation (ddof=0) over all n units
(Getis & Ord 1992; Ord & Getis 1995). This is exactly ``esda.G_Local(x, w, star=True,
transform="B", permutations=0).Zs``: esda fills an empty diagonal of a binary W with 1 for Gi*,
and its variance ``E[x²] − E[x]²`` is the ddof=0 variance. For binary weights
``Σ_j w_ij² = Σ_j w_ij`` (the number of units in i's neighbourhood, itself included).

Grids take a fast path: values go on the grid's 2-D array and the two sums are a 2-D correlation
with the 0/1 kernel of the neighbourhood (``scipy.ndimage.correlate``; FFT overlap-add for very
wide bands, rounded back to whole numbers when the values are whole), read at the kept cells only.
Other units use the sparse ``W = neighbours() + I``. There is no per-unit Python loop.

A unit whose neighbourhood is the whole study area (``Σ_j w_ij = n``) has no variance; its z is
set to 0 (p = 1) where esda returns NaN.

p-values (``p_values``)
-----------------------
``"permutation"`` (the default, for counts and harm on every unit type): the exact two-sided
permutation p-value of each unit's neighbourhood sum when the n values are permuted over all
units (total randomisation; :mod:`gripkit.hotspots.permutation`), resolved far below the BH
threshold of a 20,000-cell grid. ``"normal"``: ``2 · (1 − Φ(|z|))``, which is anti-conservative
on sparse, skewed counts (it flags hundreds of cells of a grid whose counts were shuffled at
random) and is kept for comparison with esda's ``p_norm``. Every run also reports how many
units the same procedure flags on ``null_runs`` seeded random permutations of the values over
the units (``null_hot``, ``null_hot_mean``): the number of hot units chance alone would give.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import ndimage, sparse, special

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.hotspots._align import unit_positions
from gripkit.hotspots.multiple import METHODS, adjust_pvalues
from gripkit.hotspots.permutation import NeighbourhoodNull, null_flag_counts
from gripkit.progress import Progress, Steps
from gripkit.units.base import Units
from gripkit.units.grid import GridUnits
from gripkit.validate import fraction, one_of, positive, projected_crs

#: Neighbourhood sums: a vector of unit values -> Σ_j w_ij v_j for every tested unit.
Lag = Callable[[np.ndarray], np.ndarray]

logger = logging.getLogger("gripkit")

GI_Z: Final = "gi_z"
GI_P: Final = "gi_p"
GI_Q: Final = "gi_q"
HOT: Final = "hot"
#: Columns :func:`gistar` adds to the hotspot frame.
GISTAR_COLUMNS: Final[tuple[str, ...]] = (GI_Z, GI_P, GI_Q, HOT)

#: Kernels with more cells than this are applied by FFT (overlap-add) instead of directly.
DIRECT_MAX_KERNEL_CELLS = 625
#: Relative slack on the distance band so that e.g. cell × √2 includes the diagonal cells.
BAND_TOLERANCE: Final = 1e-9
#: What ``p_values`` accepts: the exact permutation test (default) or the normal approximation.
P_VALUES: Final[tuple[str, ...]] = ("permutation", "normal")
P_VALUE_LABELS: Final[dict[str, str]] = {
    "permutation": "two-sided, exact permutation (values permuted over all units)",
    "normal": "two-sided, normal approximation",
}
#: Default number of seeded permutations of the values whose hot units are reported (null_hot).
NULL_RUNS: Final = 5


def gistar(
    hotspots: pd.DataFrame,
    units: Units,
    *,
    weights: str | None = None,
    distance: float | None = None,
    correction: str = "fdr_bh",
    alpha: float = 0.05,
    p_values: str = "permutation",
    null_runs: int = NULL_RUNS,
    seed: int | None = 0,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Getis–Ord Gi* z-scores, p-values adjusted for multiple testing, and hot units.

    Parameters
    ----------
    hotspots : pandas.DataFrame or geopandas.GeoDataFrame
        The frame of :func:`gripkit.hotspots.count` for ``units``: one row per unit (zeros
        included), matched to the units by ``unit_id`` (its row order does not matter). Not modified.
    units : gripkit.units.Units
        The units counted in. Grids use the 8 surrounding cells plus the cell itself (a band of
        cell size × √2); other units use :meth:`~gripkit.units.base.Units.neighbours` plus self.
    weights : str or None, default None
        None tests the number of crimes per unit (column ``crimes``); a column name of
        non-negative values tests those instead, e.g. ``"harm"`` for harm-weighted hot spots.
    distance : float, optional
        Distance band in metres instead of the default neighbourhood: every unit whose centre
        (grid cell centre; polygon centroid otherwise) lies within ``distance`` of the unit's own.
    correction : {"fdr_bh", "holm", "bonferroni", "none"}, default "fdr_bh"
        Multiple-testing adjustment of the p-values (:func:`~gripkit.hotspots.adjust_pvalues`).
    alpha : float, default 0.05
        Level the adjusted p-values are compared with.
    p_values : {"permutation", "normal"}, default "permutation"
        ``"permutation"``: exact permutation p-values (values permuted over all units; harm and
        very large counts on a conservative lattice, see :mod:`gripkit.hotspots.permutation`).
        ``"normal"``: the normal approximation (anti-conservative on sparse counts).
    null_runs : int, default 5
        Seeded random permutations of the values over the units on which the same test is run
        to report how many units chance alone flags (0 skips it).
    seed : int or None, default 0
        Seed of those permutations (``numpy.random.default_rng``).
    progress : callable, optional
        ``progress(done, total, name)`` (:data:`gripkit.progress.Progress`): ``total`` is
        ``1 + null_runs``, one step for the test of the data, then one per null permutation.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``hotspots`` (same rows, same order) with the columns added:

        - ``gi_z``: Gi* z-score (float);
        - ``gi_p``: two-sided p-value: exact permutation ``min(1, 2 min(P(S >= s), P(S <= s)))``
          by default, or ``2 · (1 − Φ(|z|))`` with ``p_values="normal"``;
        - ``gi_q``: ``gi_p`` adjusted with ``correction`` over all units;
        - ``hot``: ``gi_q < alpha`` and ``gi_z > 0`` (bool).

        The parameters used (``weights``, ``spatial_weights``, ``distance_m``,
        ``neighbourhood_max`` = most units in one neighbourhood, self included, ``correction``,
        ``alpha``, ``p_values``, ``n_hot``, ``null_hot``, ``null_hot_mean`` ...) are logged, and
        recorded in the hotspot job's ``meta["method_params"]`` (:func:`gripkit.hotspots.find.find_hotspots`).

    Raises
    ------
    InputError
        If the CRS is geographic, ``hotspots`` does not hold exactly the units, the value
        column is missing, negative, non-finite or constant, there are fewer than 3 units, a
        grid's ``distance`` is below its cell size, or the units have no geometry to find
        neighbours with (LSOAs from codes only).

    Examples
    --------
    >>> import pandas as pd
    >>> from gripkit.hotspots.count import count
    >>> from gripkit.units import GridUnits
    >>> units = GridUnits(100, (0, 0, 999, 999))  # 10 x 10 cells
    >>> crimes = pd.DataFrame({"x": [50.0] * 9 + [150.0] * 8 + [50.0] * 8 + [550.0],
    ...                        "y": [50.0] * 17 + [150.0] * 8 + [550.0]})
    >>> result = gistar(count(crimes, units), units)
    >>> result.loc[result["hot"], "unit_id"].tolist()  # rows stay in harm_rank order
    ['g0_0', 'g0_1', 'g1_0', 'g1_1']

    The corner cell's 4 cells hold 9 + 8 + 8 + 0: of the C(100, 4) sets of 4 cells, only the 97
    holding the three busy cells reach 25, so its two-sided p is 2 · 97 / 3,921,225.

    >>> abs(float(result.loc[0, "gi_p"]) / (2 * 97 / 3_921_225) - 1) < 1e-12
    True
    """
    return _gistar(
        hotspots, units, weights=weights, distance=distance, correction=correction, alpha=alpha,
        p_values=p_values, null_runs=null_runs, seed=seed, progress=progress,
    )[0]


def _gistar(
    hotspots: pd.DataFrame,
    units: Units,
    *,
    weights: str | None = None,
    distance: float | None = None,
    correction: str = "fdr_bh",
    alpha: float = 0.05,
    p_values: str = "permutation",
    null_runs: int = NULL_RUNS,
    seed: int | None = 0,
    progress: Progress | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`gistar` and its JSON-safe parameters (what the hotspot job records in its meta)."""
    _check_units(units)
    one_of("correction", correction, METHODS)
    one_of("p_values", p_values, P_VALUES)
    level = fraction("alpha", alpha)
    runs = check_runs(null_runs)
    band = None if distance is None else positive("distance", distance, unit="metres", example="300")
    _check_crs(hotspots, units)
    value = col.CRIMES if weights is None else weights
    x, position = _values_in_unit_order(hotspots, units, value)
    lag, cardinality, spatial, band_used = neighbourhoods(units, band)
    tests = LocalTests(x, lag, cardinality, p_values=p_values)
    z, p = tests.z, tests.p
    q = adjust_pvalues(p, correction)
    hot = (q < level) & (z > 0)
    steps = Steps(progress, 1 + runs)
    steps.step("Gi* test")
    null_hot = tests.null_hot(correction, level, runs=runs, seed=seed, progress=steps.part(runs))

    # pandas >= 3 copies on write: a shallow copy never lets the new columns reach the caller's frame
    source = hotspots if isinstance(hotspots, gpd.GeoDataFrame) else gpd.GeoDataFrame(hotspots)
    result = source.assign(
        **{GI_Z: z[position], GI_P: p[position], GI_Q: q[position], HOT: hot[position]}
    )
    params: dict[str, Any] = {
        "method": "Getis-Ord Gi*",
        "weights": weights,
        "spatial_weights": spatial,
        "distance_m": band_used,
        "neighbourhood_max": int(cardinality.max()),
        "correction": correction,
        "alpha": level,
        **tests.describe(),
        "n_units": len(x),
        "n_hot": int(hot.sum()),
        **null_record(null_hot, runs, seed),
    }
    logger.info(
        "Gi* on %s: %d of %d units hot (%s-adjusted %s p < %g; spatial weights: %s); %s",
        value, params["n_hot"], len(x), correction, p_values, level, spatial, null_sentence(params),
    )
    return result, params


class LocalTests:
    """Gi* z-scores and p-values of n tested units against a reference population of values.

    ``population`` holds the N values the null permutes (the n units themselves for
    :func:`gistar`; every bin of a time window for space-time neighbourhoods), ``lag`` maps a
    population-shaped vector to the n neighbourhood sums, and ``cardinality`` is the number of
    population values in each neighbourhood (self included).
    """

    def __init__(
        self, population: np.ndarray, lag: Lag, cardinality: np.ndarray, *, p_values: str = "permutation"
    ) -> None:
        one_of("p_values", p_values, P_VALUES)
        self.population = np.asarray(population, dtype=float)
        self.lag = lag
        self.cardinality = np.asarray(cardinality, dtype=float)
        self.p_values = p_values
        self.null: NeighbourhoodNull | None = None
        if p_values == "permutation":
            self.null = NeighbourhoodNull.build(self.population, int(self.cardinality.max()))
        self.z, self.p, self.upper, self.lower = self.test(self.population)

    def test(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """z, two-sided p, upper and lower one-sided p of ``values`` (a permutation of the population)."""
        lagged = self.lag(values)
        z = gistar_z(values, lagged, self.cardinality)
        if self.null is None:
            upper = special.ndtr(-z)
            lower = special.ndtr(z)
        else:
            floor, ceil = self.null.levels(values)
            floor_sum = self.lag(floor.astype(float))
            ceil_sum = floor_sum if self.null.exact else self.lag(ceil.astype(float))
            upper, lower = self.null.tails(floor_sum, ceil_sum, self.cardinality)
            full = self.cardinality >= len(values)  # the whole population: its sum never varies
            upper, lower = np.where(full, 1.0, upper), np.where(full, 1.0, lower)
        # normal: 2 min(Φ(−z), Φ(z)) = 2 norm.sf(|z|), without scipy.stats' overhead
        p = np.minimum(2.0 * np.minimum(upper, lower), 1.0)
        return z, p, upper, lower

    def null_hot(
        self, correction: str, alpha: float, *, runs: int, seed: int | None, progress: Progress | None = None
    ) -> list[int]:
        """Hot units the same test flags on ``runs`` seeded permutations of the population."""

        def flagged(values: np.ndarray) -> int:
            z, p, _, _ = self.test(values)
            return int(((adjust_pvalues(p, correction) < alpha) & (z > 0)).sum())

        return null_flag_counts(self.population, flagged, runs=runs, seed=seed, progress=progress)

    def describe(self) -> dict[str, Any]:
        """``p_values`` (the option), its label, and the lattice of the permutation test."""
        out: dict[str, Any] = {"p_values": self.p_values, "p_value_method": P_VALUE_LABELS[self.p_values]}
        if self.null is not None:
            out["lattice_step"] = self.null.step
            out["p_values_exact"] = self.null.exact
        return out


def check_runs(runs: Any, name: str = "null_runs") -> int:
    """A whole number of null runs >= 0."""
    if isinstance(runs, bool) or not isinstance(runs, int | np.integer) or runs < 0:
        raise InputError(
            f"'{name}' must be a whole number >= 0; received {runs!r}. Pass e.g. 5, or 0 to skip "
            "the null check."
        )
    return int(runs)


def null_record(counts: list[int], runs: int, seed: int | None) -> dict[str, Any]:
    """The null check as JSON-safe parameters."""
    return {
        "null_runs": runs,
        "null_seed": seed,
        "null_hot": counts,
        "null_hot_mean": float(np.mean(counts)) if counts else None,
        "null_hot_max": int(max(counts)) if counts else None,
    }


def null_sentence(params: dict[str, Any]) -> str:
    """``"a null (values permuted over the units, mean of 5 seeded runs) flags 0.2"``.

    Examples
    --------
    >>> null_sentence({"null_runs": 5, "null_hot_mean": 0.2})
    'the same test on the values permuted at random over the units flags 0.2 (mean of 5 seeded runs)'
    >>> null_sentence({"null_runs": 0})
    'no null check run'
    """
    runs = int(params.get("null_runs") or 0)
    if not runs or params.get("null_hot_mean") is None:
        return "no null check run"
    mean = float(params["null_hot_mean"])
    shown = f"{mean:,.0f}" if mean >= 10 else f"{mean:.1f}"
    return (
        f"the same test on the values permuted at random over the units flags {shown} "
        f"(mean of {runs} seeded run{'s' if runs != 1 else ''})"
    )


def gistar_z(x: np.ndarray, lagged: np.ndarray, cardinality: np.ndarray) -> np.ndarray:
    """Gi* z-scores from the values and their binary-weighted sums (self included).

    Parameters
    ----------
    x : numpy.ndarray
        Values of the n units.
    lagged : numpy.ndarray
        ``Σ_j w_ij x_j`` for each unit.
    cardinality : numpy.ndarray
        ``Σ_j w_ij`` (= ``Σ_j w_ij²`` for binary weights) for each unit.

    Returns
    -------
    numpy.ndarray
        z-scores; 0 where a neighbourhood holds every unit (no variance).

    Examples
    --------
    A line of 4 units, each with its left and right neighbours and itself; mean 1, S = √1.5.
    Unit 0: (3 − 1·2) / (√1.5 · √((4·2 − 2²)/3)) = 1 / √2.

    >>> x = np.array([3.0, 0.0, 0.0, 1.0])
    >>> gistar_z(x, np.array([3.0, 3.0, 1.0, 1.0]), np.array([2.0, 3.0, 3.0, 2.0])).round(4).tolist()
    [0.7071, 0.0, -1.633, -0.7071]
    """
    n = len(x)
    mean = float(x.mean())
    sd = float(x.std())  # ddof=0, as esda
    spread = (n * cardinality - cardinality**2) / (n - 1)
    defined = (spread > 0) & (sd > 0)
    z = np.zeros(len(lagged))
    z[defined] = (lagged[defined] - mean * cardinality[defined]) / (sd * np.sqrt(spread[defined]))
    return z


def band_kernel(distance: float, cell_size: float, max_reach: int | None = None) -> np.ndarray:
    """0/1 kernel of the cells whose centres are within ``distance`` of the centre cell's.

    ``max_reach`` caps the kernel's half-width in cells (offsets beyond a grid's size never meet
    another cell of it).

    Examples
    --------
    >>> band_kernel(150 * 2**0.5, 150).astype(int).tolist()  # queen + self
    [[1, 1, 1], [1, 1, 1], [1, 1, 1]]
    >>> band_kernel(200, 100).astype(int).tolist()[2]  # centre row: 2 cells either side
    [1, 1, 1, 1, 1]
    """
    reach = (distance / cell_size) ** 2 * (1 + BAND_TOLERANCE)
    r = math.floor(math.sqrt(reach))
    if max_reach is not None:
        r = min(r, max_reach)
    offsets = np.arange(-r, r + 1)
    return ((offsets[:, None] ** 2 + offsets[None, :] ** 2) <= reach).astype(float)


def neighbourhoods(units: Units, band: float | None) -> tuple[Lag, np.ndarray, str, float | None]:
    """The neighbourhood-sum function of ``units``, each unit's cardinality, a description, the band."""
    if isinstance(units, GridUnits):
        return _grid_lag(units, band)
    return _sparse_lag(units, band)


def _grid_lag(units: GridUnits, band: float | None) -> tuple[Lag, np.ndarray, str, float]:
    """Σ w v at the kept cells by 2-D correlation of the grid with the band kernel."""
    size = units.cell_size
    used = size * math.sqrt(2) if band is None else band
    if used < size:
        raise InputError(
            f"'distance' must reach the neighbouring cells, i.e. be >= the cell size {size:g} m; received "
            f"{used:g}. Pass e.g. distance={2 * size:g}, or None for the 8 surrounding cells."
        )
    kernel = band_kernel(used, size, max_reach=max(units.n_rows, units.n_cols))
    rows, cols = units._cell_positions()
    shape = (units.n_rows, units.n_cols)

    def lag(v: np.ndarray) -> np.ndarray:
        grid = np.zeros(shape)
        grid[rows, cols] = v
        return _correlate(grid, kernel, bool(np.all(v == np.round(v))))[rows, cols]

    cardinality = lag(np.ones(len(rows)))
    if band is None:
        weights = f"binary queen contiguity of {size:g} m grid cells (8 neighbours) plus self"
    else:
        weights = (
            f"binary distance band {used:g} m between {size:g} m cell centres "
            f"({int(kernel.sum())}-cell kernel) plus self"
        )
    return lag, cardinality, weights, float(used)


def _correlate(grid: np.ndarray, kernel: np.ndarray, whole: bool) -> np.ndarray:
    """Sum of ``grid`` over the kernel around every cell (zeros outside the grid)."""
    if kernel.sum() <= DIRECT_MAX_KERNEL_CELLS:
        return ndimage.correlate(grid, kernel, mode="constant", cval=0.0)
    # the kernel is symmetric, so convolution equals correlation; scipy.signal imported here, as it
    # imports scipy.stats (~1 s), which nothing else on the common paths (e.g. `gripkit national`) needs
    from scipy.signal import oaconvolve

    summed = oaconvolve(grid, kernel, mode="same")
    return np.round(summed) if whole else summed


def _sparse_lag(units: Units, band: float | None) -> tuple[Lag, np.ndarray, str, float | None]:
    """Σ w v with the sparse W = neighbours + I (or a centroid distance band)."""
    n = len(units)
    if band is None:
        w = units.neighbours() + sparse.identity(n, format="csr")
        weights = f"binary {units.kind} contiguity (shared edge or corner) plus self"
    else:
        w = _centroid_band(units, band)
        weights = f"binary distance band {band:g} m between {units.kind} centroids plus self"
    w = sparse.csr_matrix(w)
    w.data[:] = 1.0

    def lag(v: np.ndarray) -> np.ndarray:
        return np.asarray(w @ v, dtype=float)

    return lag, np.asarray(w.sum(axis=1)).ravel(), weights, band


def _centroid_band(units: Units, band: float) -> sparse.csr_matrix:
    """Binary W (self included) of units whose centroids are within ``band`` metres."""
    geometry = units.frame.geometry.to_numpy()
    empty = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    if empty.any():
        raise InputError(
            f"a distance band needs unit geometries; received {int(empty.sum())} {units.kind} units "
            "without one. Build the units with boundaries, or pass distance=None."
        )
    centres = shapely.centroid(geometry)
    left, right = shapely.STRtree(centres).query(centres, predicate="dwithin", distance=band)
    n = len(centres)
    return sparse.csr_matrix((np.ones(len(left)), (left, right)), shape=(n, n))


def _check_units(units: Any) -> None:
    if not isinstance(units, Units):
        raise InputError(
            f"'units' must be a gripkit Units object; received {type(units).__name__}. Pass the units "
            "given to gripkit.hotspots.count, e.g. GridUnits.from_crimes(crimes, cell_size=150)."
        )


def _check_crs(hotspots: pd.DataFrame, units: Units) -> None:
    """Distances need a projected CRS, and the hotspots must be in the units' CRS."""
    unit_crs = units.crs if isinstance(units, GridUnits) else units.frame.crs
    if unit_crs is not None:
        projected_crs("units CRS", unit_crs)
    own = hotspots.crs if isinstance(hotspots, gpd.GeoDataFrame) else None
    if own is None:
        return
    parsed = projected_crs("hotspots CRS", own)
    if unit_crs is not None and not parsed.equals(pyproj.CRS(unit_crs)):
        raise InputError(
            f"hotspots are in {parsed.to_string()} but the units in {pyproj.CRS(unit_crs).to_string()}; "
            "received frames in two CRSs. Pass the frame count() returned for these units."
        )


def _values_in_unit_order(
    hotspots: pd.DataFrame, units: Units, value: str
) -> tuple[np.ndarray, np.ndarray]:
    """``value`` per unit in frame order, and each hotspot row's position in that order."""
    if not isinstance(hotspots, pd.DataFrame):
        raise InputError(
            f"'hotspots' must be the frame gripkit.hotspots.count returned; received "
            f"{type(hotspots).__name__}. Run hotspots = count(crimes, units) first."
        )
    for name in (col.UNIT_ID, value):
        if name not in hotspots.columns:
            raise InputError(
                f"hotspots lack the column {name!r}; received columns "
                f"{', '.join(map(str, hotspots.columns))}. Pass the frame of count(crimes, units) and "
                "'weights' None (crimes) or one of its numeric columns, e.g. 'harm'."
            )
    position = unit_positions(hotspots[col.UNIT_ID], units)
    n = len(position)
    if n < 3:
        raise InputError(
            f"Gi* needs at least 3 units; received {n}. Use a smaller cell size or a larger area."
        )
    try:
        raw = pd.to_numeric(hotspots[value]).to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"value column {value!r} must be numeric; received dtype {hotspots[value].dtype}. "
            "Pass weights=None (crimes) or weights='harm'."
        ) from exc
    bad = ~np.isfinite(raw) | (raw < 0)
    if bad.any():
        raise InputError(
            f"value column {value!r} must hold finite numbers >= 0; received {int(bad.sum())} "
            f"missing, infinite or negative value(s), e.g. {raw[bad][0]!r}. Fill gaps with 0 and use "
            "non-negative counts or harm."
        )
    if np.ptp(raw) == 0:
        raise InputError(
            f"value column {value!r} is the same ({raw[0]:g}) in all {n} units, so its standard "
            "deviation is 0 and Gi* is undefined. Choose crimes that vary, more months, or other weights."
        )
    x = np.empty(n)
    x[position] = raw
    return x, position
