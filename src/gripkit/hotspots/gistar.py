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
"""

from __future__ import annotations

import logging
import math
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
from gripkit.units.base import Units
from gripkit.units.grid import GridUnits
from gripkit.validate import fraction, one_of, positive, projected_crs

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


def gistar(
    hotspots: pd.DataFrame,
    units: Units,
    *,
    weights: str | None = None,
    distance: float | None = None,
    correction: str = "fdr_bh",
    alpha: float = 0.05,
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

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``hotspots`` (same rows, same order) with the columns added:

        - ``gi_z``: Gi* z-score (float);
        - ``gi_p``: two-sided p-value under the normal approximation, ``2 · (1 − Φ(|z|))``;
        - ``gi_q``: ``gi_p`` adjusted with ``correction`` over all units;
        - ``hot``: ``gi_q < alpha`` and ``gi_z > 0`` (bool).

        The parameters used (``weights``, ``spatial_weights``, ``distance_m``,
        ``neighbourhood_max`` = most units in one neighbourhood, self included, ``correction``,
        ``alpha``, ``n_hot`` ...) are logged, and recorded in the hotspot job's
        ``meta["method_params"]`` (:func:`gripkit.hotspots.find.find_hotspots`).

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
    >>> units = GridUnits(100, (0, 0, 499, 499))  # 5 x 5 cells
    >>> crimes = pd.DataFrame({"x": [50.0] * 9 + [150.0] * 8 + [50.0] * 8, "y": [50.0] * 17 + [150.0] * 8})
    >>> result = gistar(count(crimes, units), units)
    >>> result.loc[result["hot"], "unit_id"].tolist()  # rows stay in harm_rank order
    ['g0_0', 'g0_1', 'g1_0']
    >>> int(result["hot"].sum())
    3
    """
    return _gistar(
        hotspots, units, weights=weights, distance=distance, correction=correction, alpha=alpha
    )[0]


def _gistar(
    hotspots: pd.DataFrame,
    units: Units,
    *,
    weights: str | None = None,
    distance: float | None = None,
    correction: str = "fdr_bh",
    alpha: float = 0.05,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`gistar` and its JSON-safe parameters (what the hotspot job records in its meta)."""
    _check_units(units)
    one_of("correction", correction, METHODS)
    level = fraction("alpha", alpha)
    band = None if distance is None else positive("distance", distance, unit="metres", example="300")
    _check_crs(hotspots, units)
    value = col.CRIMES if weights is None else weights
    x, position = _values_in_unit_order(hotspots, units, value)
    band_used: float | None
    if isinstance(units, GridUnits):
        lagged, cardinality, spatial, band_used = _grid_sums(units, x, band)
    else:
        lagged, cardinality, spatial, band_used = _sparse_sums(units, x, band)
    z = gistar_z(x, lagged, cardinality)
    p = np.minimum(2.0 * special.ndtr(-np.abs(z)), 1.0)  # = 2 norm.sf(|z|), without its overhead
    q = adjust_pvalues(p, correction)
    hot = (q < level) & (z > 0)

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
        "p_values": "two-sided, normal approximation",
        "n_units": len(x),
        "n_hot": int(hot.sum()),
    }
    logger.info(
        "Gi* on %s: %d of %d units hot (%s-adjusted p < %g; spatial weights: %s)",
        value, params["n_hot"], len(x), correction, level, spatial,
    )
    return result, params


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
    defined = spread > 0
    z = np.zeros(n)
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


def _grid_sums(
    units: GridUnits, x: np.ndarray, band: float | None
) -> tuple[np.ndarray, np.ndarray, str, float]:
    """Σ w x and Σ w at the kept cells by 2-D correlation of the grid with the band kernel."""
    size = units.cell_size
    used = size * math.sqrt(2) if band is None else band
    if used < size:
        raise InputError(
            f"'distance' must reach the neighbouring cells, i.e. be >= the cell size {size:g} m; received "
            f"{used:g}. Pass e.g. distance={2 * size:g}, or None for the 8 surrounding cells."
        )
    kernel = band_kernel(used, size, max_reach=max(units.n_rows, units.n_cols))
    rows, cols = units._cell_positions()
    values = np.zeros((units.n_rows, units.n_cols))
    values[rows, cols] = x
    mask = np.zeros((units.n_rows, units.n_cols))
    mask[rows, cols] = 1.0
    whole = bool(np.all(x == np.round(x)))
    lagged = _correlate(values, kernel, whole)[rows, cols]
    cardinality = _correlate(mask, kernel, True)[rows, cols]
    if band is None:
        weights = f"binary queen contiguity of {size:g} m grid cells (8 neighbours) plus self"
    else:
        weights = (
            f"binary distance band {used:g} m between {size:g} m cell centres "
            f"({int(kernel.sum())}-cell kernel) plus self"
        )
    return lagged, cardinality, weights, float(used)


def _correlate(grid: np.ndarray, kernel: np.ndarray, whole: bool) -> np.ndarray:
    """Sum of ``grid`` over the kernel around every cell (zeros outside the grid)."""
    if kernel.sum() <= DIRECT_MAX_KERNEL_CELLS:
        return ndimage.correlate(grid, kernel, mode="constant", cval=0.0)
    # the kernel is symmetric, so convolution equals correlation; scipy.signal imported here, as it
    # imports scipy.stats (~1 s), which nothing else on the common paths (e.g. `gripkit national`) needs
    from scipy.signal import oaconvolve

    summed = oaconvolve(grid, kernel, mode="same")
    return np.round(summed) if whole else summed


def _sparse_sums(
    units: Units, x: np.ndarray, band: float | None
) -> tuple[np.ndarray, np.ndarray, str, float | None]:
    """Σ w x and Σ w with the sparse W = neighbours + I (or a centroid distance band)."""
    n = len(x)
    if band is None:
        w = units.neighbours() + sparse.identity(n, format="csr")
        weights = f"binary {units.kind} contiguity (shared edge or corner) plus self"
    else:
        w = _centroid_band(units, band)
        weights = f"binary distance band {band:g} m between {units.kind} centroids plus self"
    w = sparse.csr_matrix(w)
    w.data[:] = 1.0
    return w @ x, np.asarray(w.sum(axis=1)).ravel(), weights, band


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
