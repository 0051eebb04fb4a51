"""Kernel density on grid cells: binned, FFT-convolved, exact to a stated bound.

``kde(crimes, units)`` evaluates a kernel density estimate at the centre of every cell of a
:class:`~gripkit.units.GridUnits` and returns the grid's frame with ``density`` (weight per m²;
summed over cells times their area it gives back the total weight when the grid covers the points)
and ``density_share``. ``dual_kde`` divides two such surfaces (e.g. crimes / population).

Kernels
-------
``"quartic"`` (biweight; ArcGIS's Kernel Density and most crime-mapping tools)
    ``K(d) = 3 / (pi h^2) * (1 - d^2/h^2)^2`` for ``d < h``, else 0: ``h`` is the search radius.
``"gaussian"``
    ``K(d) = 1 / (2 pi h^2) * exp(-d^2 / (2 h^2))``: ``h`` is the standard deviation per axis
    (truncated at 6 h).

Bandwidth chosen when not given (announced on the ``gripkit`` logger and stored)
    quartic: ArcGIS's default search radius ``0.9 min(SD, sqrt(1/ln 2) Dm) n^(-0.2)`` (standard
    distance SD, median distance Dm from the mean centre, n the total weight);
    gaussian: Scott's rule with the pooled standard deviation ``sqrt((var_x + var_y)/2) n_eff^(-1/6)``
    (one isotropic bandwidth from both axes' variances, not an average of two bandwidths).

Accuracy (derivation in :mod:`gripkit.hotspots._binned_kde`): points are linearly binned onto a
lattice of ``d = cell_size / k`` (``k`` odd); everything else is exact (up to 6-sd truncation of
the Gaussian). Each cell's density is within ``binning_error_bound x K(0) x W`` of the exact kernel
sum at its centre, ``W`` the weight within reach and ``binning_error_bound = C (d/h)^2`` (C = 2
quartic, 1/4 gaussian). By default ``k`` is the smallest odd number making the bound <= 1%.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.hotspots import _binned_kde as core
from gripkit.progress import Progress, Steps
from gripkit.units.base import check_crimes, crime_xy
from gripkit.units.grid import GridUnits
from gripkit.validate import one_of, positive

logger = logging.getLogger("gripkit")

DENSITY = "density"
DENSITY_SHARE = "density_share"
NUMERATOR_DENSITY = "numerator_density"
DENOMINATOR_DENSITY = "denominator_density"
RATIO = "ratio"
#: Default floor of dual_kde: the ratio is NaN where the denominator density is below this share
#: of the denominator's peak density.
MIN_DENOMINATOR_SHARE = 0.01
#: What :func:`kde` reports to its ``progress`` callback, in order.
KDE_PHASES = ("binning points", "smoothing", "ranking")


def kde(
    crimes: pd.DataFrame,
    units: GridUnits | None = None,
    *,
    cell_size: float | None = None,
    bandwidth: float | None = None,
    kernel: str = "quartic",
    weights: str | None = None,
    area: Any = None,
    oversample: int | None = None,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Kernel density of crimes at the centre of every grid cell.

    Parameters
    ----------
    crimes : pandas.DataFrame
        Crimes with ``x``/``y`` in projected metres (the units' CRS). Rows without coordinates are
        skipped (counted in the record's ``n_missing_xy``). Not modified.
    units : GridUnits, optional
        Grid to evaluate on. If None, ``GridUnits.from_crimes(crimes, cell_size, area)``.
    cell_size : float, optional
        Cell side in metres when ``units`` is None (None: Chainey's rule, announced).
    bandwidth : float, optional
        Quartic search radius or Gaussian standard deviation, in metres. None: the rule in the
        module docstring, announced through ``logging.getLogger("gripkit")``.
    kernel : {"quartic", "gaussian"}, default "quartic"
    weights : str, optional
        Column of non-negative finite weights (e.g. ``"harm"``); None counts every crime once.
    area : shapely geometry, GeoSeries or GeoDataFrame, optional
        Study area passed to ``GridUnits.from_crimes`` when ``units`` is None.
    oversample : int, optional
        Odd binning refinement ``k`` (points are binned on a lattice of ``cell_size / k``). None
        chooses the smallest ``k`` whose ``binning_error_bound`` is at most 1% (module notes);
        1 bins on the cell centres themselves, like KDEpy's ``FFTKDE``.
    progress : callable, optional
        ``progress(done, 3, phase)`` (:data:`gripkit.progress.Progress`) after each of the phases
        ``binning points``, ``smoothing`` (the kernel) and ``ranking`` (the cells' shares).

    Returns
    -------
    geopandas.GeoDataFrame
        The units' frame (``unit_id, area_m2, geometry``) plus ``density`` (weight per m²) and
        ``density_share`` (density / sum of densities over the cells). The record of the run
        (``kernel, bandwidth_m, bandwidth_auto, bandwidth_rule, cell_size_m, weights, n_points,
        total_weight, n_missing_xy, n_outside_grid`` = points in no cell, ``n_beyond_reach`` =
        points farther than the kernel radius from every cell centre, ``oversample`` and
        ``binning_error_bound``) goes to the hotspot job's ``meta["method_params"]``; an
        automatic bandwidth is also logged.

    Examples
    --------
    >>> import pandas as pd
    >>> from gripkit.units import GridUnits
    >>> crimes = pd.DataFrame({"x": [150.0], "y": [150.0]})
    >>> grid = GridUnits(100, (0, 0, 299, 299))
    >>> out = kde(crimes, grid, bandwidth=200)
    >>> round(float(out["density"].max()) * 3.14159265 * 200**2 / 3, 6)  # peak = 3/(pi h^2)
    1.0
    """
    return _kde(
        crimes, units, cell_size=cell_size, bandwidth=bandwidth, kernel=kernel, weights=weights,
        area=area, oversample=oversample, progress=progress,
    )[0]


def _kde(
    crimes: pd.DataFrame,
    units: GridUnits | None = None,
    *,
    cell_size: float | None = None,
    bandwidth: float | None = None,
    kernel: str = "quartic",
    weights: str | None = None,
    area: Any = None,
    oversample: int | None = None,
    progress: Progress | None = None,
    geometry: bool = True,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """:func:`kde` and its record (see Returns there). ``geometry=False`` leaves out the cells'
    polygons (a plain DataFrame ``unit_id, area_m2, density, density_share``) for callers that join
    the density onto a table that has them: building 500k boxes costs ~160 MiB."""
    kernel = _check_kernel(kernel)
    units = _check_units(crimes, units, cell_size, area)
    steps = Steps(progress, len(KDE_PHASES))
    x, y, w, n_missing = _points(crimes, units, weights)
    steps.step(KDE_PHASES[0])
    return _evaluate(units, x, y, w, kernel, bandwidth, weights, n_missing, oversample, steps, geometry)


def dual_kde(
    numerator: pd.DataFrame,
    denominator: pd.DataFrame,
    units: GridUnits,
    *,
    bandwidth: float,
    kernel: str = "quartic",
    min_denominator: float | None = None,
    numerator_weights: str | None = None,
    denominator_weights: str | None = None,
    oversample: int | None = None,
) -> gpd.GeoDataFrame:
    """Ratio of two kernel densities on the same grid, e.g. crimes / population or this year / last.

    Both densities use the same kernel, bandwidth and grid, so the ratio is the kernel-weighted
    local rate (numerator weight per unit of denominator weight).

    Parameters
    ----------
    numerator, denominator : pandas.DataFrame
        Points with ``x``/``y`` in the units' CRS (metres).
    units : GridUnits
    bandwidth : float
        Quartic radius or Gaussian standard deviation in metres (required: both surfaces must share
        it, and a rule chosen from one set of points would not suit the other).
    kernel : {"quartic", "gaussian"}, default "quartic"
    min_denominator : float, optional
        Denominator density (weight per m²) below which the ratio is undefined (NaN). None: 1% of
        the denominator's peak density (:data:`MIN_DENOMINATOR_SHARE`), which keeps the ratio
        from exploding where there is almost no denominator (logged).
    numerator_weights, denominator_weights : str, optional
        Weight columns (e.g. ``"harm"`` and ``"population"``); None counts points.
    oversample : int, optional
        As in :func:`kde`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``unit_id, area_m2, geometry, numerator_density, denominator_density, ratio``.

    Examples
    --------
    >>> import pandas as pd
    >>> from gripkit.units import GridUnits
    >>> grid = GridUnits(100, (0, 0, 299, 299))
    >>> crimes = pd.DataFrame({"x": [150.0, 150.0], "y": [150.0, 150.0]})
    >>> people = pd.DataFrame({"x": [150.0], "y": [150.0], "population": [40.0]})
    >>> out = dual_kde(crimes, people, grid, bandwidth=300, denominator_weights="population")
    >>> float(out["ratio"].round(6).max())  # 2 crimes / 40 people, same kernel
    0.05
    """
    return _dual_kde(
        numerator, denominator, units, bandwidth=bandwidth, kernel=kernel,
        min_denominator=min_denominator, numerator_weights=numerator_weights,
        denominator_weights=denominator_weights, oversample=oversample,
    )[0]


def _dual_kde(
    numerator: pd.DataFrame,
    denominator: pd.DataFrame,
    units: GridUnits,
    *,
    bandwidth: float,
    kernel: str = "quartic",
    min_denominator: float | None = None,
    numerator_weights: str | None = None,
    denominator_weights: str | None = None,
    oversample: int | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`dual_kde` and its record: ``numerator`` and ``denominator`` (the two :func:`kde`
    records), ``dual_kde`` (``min_denominator``, its rule, ``n_undefined``) and ``units``."""
    kernel = _check_kernel(kernel)
    h = positive("bandwidth", bandwidth, unit="metres", example="250")
    units = _check_units(numerator, units, None, None)
    num_x, num_y, num_w, num_missing = _points(numerator, units, numerator_weights, "numerator")
    den_x, den_y, den_w, den_missing = _points(denominator, units, denominator_weights, "denominator")
    num, num_meta = _evaluate(
        units, num_x, num_y, num_w, kernel, h, numerator_weights, num_missing, oversample
    )
    den, den_meta = _evaluate(
        units, den_x, den_y, den_w, kernel, h, denominator_weights, den_missing, oversample
    )
    top = float(den[DENSITY].max())
    if min_denominator is None:
        floor, rule = MIN_DENOMINATOR_SHARE * top, f"{MIN_DENOMINATOR_SHARE:g} x peak denominator density"
    else:
        floor, rule = positive("min_denominator", min_denominator, "per m²", "1e-6"), "given"
    numer = num[DENSITY].to_numpy()
    denom = den[DENSITY].to_numpy()
    defined = denom >= floor
    ratio = np.full(len(denom), np.nan)
    ratio[defined] = numer[defined] / denom[defined]
    result = num[[col.UNIT_ID, col.AREA_M2, col.GEOMETRY]].copy()
    result[NUMERATOR_DENSITY] = numer
    result[DENOMINATOR_DENSITY] = denom
    result[RATIO] = ratio
    meta = {
        "numerator": num_meta,
        "denominator": den_meta,
        "dual_kde": {
            "min_denominator": floor,
            "min_denominator_rule": rule,
            "n_undefined": int((~defined).sum()),
        },
        "units": units.describe(),
    }
    if min_denominator is None:
        logger.info("dual KDE: ratio undefined where the denominator density < %g per m² (%s)", floor, rule)
    return result, meta


def _evaluate(
    units: GridUnits,
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    kernel: str,
    bandwidth: float | None,
    weights: str | None,
    n_missing: int,
    oversample: int | None,
    steps: Steps | None = None,
    geometry: bool = True,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Density at the units' cell centres, and the record of how it was computed (``geometry``:
    the units' frame, else a DataFrame without the polygons)."""
    h, auto, rule = _bandwidth(kernel, bandwidth, x, y, w)
    if geometry:
        frame = units.frame
    else:
        ids, area_m2 = units.ids_and_areas()
        frame = pd.DataFrame({col.UNIT_ID: ids, col.AREA_M2: area_m2})
    size = units.cell_size
    k = _oversample(oversample, kernel, h, size, units)
    extent, beyond = core.grid_density(
        x,
        y,
        w,
        origin=units.origin,
        shape=(units.n_rows, units.n_cols),
        cell_size=size,
        kernel=kernel,
        bandwidth=h,
        k=k,
    )
    if steps is not None:
        steps.step(KDE_PHASES[1])
    rows, cols = units._cell_positions()  # frame order
    density = extent[rows, cols]
    n_outside = _outside(x, y, units, cols, rows)
    total = float(density.sum())
    frame[DENSITY] = density
    frame[DENSITY_SHARE] = density / total if total > 0 else np.nan
    record = {
        "kernel": kernel,
        "bandwidth_m": h,
        "bandwidth_auto": auto,
        "bandwidth_rule": rule,
        "cell_size_m": size,
        "weights": weights,
        "n_points": len(x),
        "total_weight": float(w.sum()),
        "n_missing_xy": n_missing,
        "n_outside_grid": n_outside,
        "n_beyond_reach": beyond,
        "oversample": k,
        "binning_error_bound": core.binning_error_bound(kernel, h, size, k),
    }
    if steps is not None:
        steps.step(KDE_PHASES[2])
    return frame, record


def _bandwidth(
    kernel: str, bandwidth: float | None, x: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[float, bool, str]:
    """The bandwidth in metres, whether it was chosen automatically, and the rule used."""
    if bandwidth is not None:
        return positive("bandwidth", bandwidth, unit="metres", example="250"), False, "given"
    if kernel == "quartic":
        h, rule = core.arcgis_quartic(x, y, w), "ArcGIS default radius 0.9 min(SD, Dm/sqrt(ln 2)) n^-0.2"
    else:
        h, rule = core.scott_gaussian(x, y, w), "Scott's rule: pooled sd x n_eff^(-1/6)"
    if not (h > 0 and math.isfinite(h)):
        raise InputError(
            f"cannot choose a bandwidth from {len(x)} point(s) with no spread (all at one place or a "
            f"single weighted point; rule gave {h!r} m). "
            "Pass bandwidth explicitly, e.g. bandwidth=250."
        )
    logger.info(
        "KDE bandwidth %.0f m chosen for the %s kernel by %s; pass bandwidth= to override", h, kernel, rule
    )
    return h, True, rule


def _oversample(value: int | None, kernel: str, h: float, size: float, units: GridUnits) -> int:
    """The binning refinement k: checked if given, else chosen (a capped choice is logged)."""
    if value is None:
        k = core.oversampling(kernel, h, size, units.n_cols, units.n_rows)
        bound = core.binning_error_bound(kernel, h, size, k)
        if bound > core.BINNING_RTOL:
            logger.warning(
                "KDE binning error bound %.2g exceeds %g: a finer lattice than %g m would exceed %d "
                "nodes. Use larger cells or a smaller area for more accuracy.",
                bound, core.BINNING_RTOL, size / k, core.MAX_LATTICE,
            )  # fmt: skip
        return k
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1 or value % 2 == 0:
        raise InputError(
            f"'oversample' must be an odd whole number >= 1; received {value!r}. Pass 1 (bin on the "
            "cell centres), 3 or 5, or None to choose it from the bandwidth."
        )
    nodes = core.lattice_nodes(kernel, h, size, units.n_cols, units.n_rows, int(value))
    if nodes > 4 * core.MAX_LATTICE:
        raise InputError(
            f"'oversample' {value} would bin on {nodes:,} lattice nodes (more than "
            f"{4 * core.MAX_LATTICE:,}); received a grid of {units.n_cols} x {units.n_rows} cells. "
            "Pass a smaller oversample, or None to choose one that fits."
        )
    return int(value)


def _check_kernel(kernel: Any) -> str:
    return one_of("kernel", kernel, core.KERNELS)


def _check_units(crimes: Any, units: Any, cell_size: float | None, area: Any) -> GridUnits:
    """The grid to evaluate on: ``units`` checked, or one built from the crimes."""
    if units is None:
        return GridUnits.from_crimes(check_crimes(crimes, (col.X, col.Y)), cell_size, area)
    if not isinstance(units, GridUnits):
        raise InputError(
            f"'units' must be GridUnits for a kernel density (densities are read at cell centres); "
            f"received {type(units).__name__}. Pass GridUnits.from_crimes(crimes, cell_size=150)."
        )
    if cell_size is not None and not math.isclose(float(cell_size), units.cell_size):
        raise InputError(
            f"'cell_size' {cell_size!r} disagrees with the units' cell size {units.cell_size:g} m. "
            "Pass either units or cell_size, not both."
        )
    return units


def _points(
    crimes: pd.DataFrame, units: GridUnits, weights: str | None, what: str = "crimes"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Finite x, y (metres) and weights of the points, and how many rows lacked coordinates."""
    frame = check_crimes(crimes, (col.X, col.Y), what=what)
    x, y = crime_xy(frame, units.crs)
    if weights is None:
        w = np.ones(len(x))
    else:
        if not isinstance(weights, str) or weights not in frame.columns:
            raise InputError(
                f"'weights' must name a column of {what}; received {weights!r}, columns are "
                f"{', '.join(map(str, frame.columns))}. Pass e.g. weights='harm' or None to count."
            )
        w = pd.to_numeric(frame[weights], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y, w = x[ok], y[ok], w[ok]
    if len(x) == 0:
        raise InputError(
            f"{what} have no finite x/y coordinates among {len(ok)} rows; received only missing "
            "values. Drop or geocode points without a location first."
        )
    if ((np.abs(x) <= 180) & (np.abs(y) <= 90)).all():
        raise InputError(
            f"{what} x/y look like longitude/latitude degrees (all within ±180, ±90); received x in "
            f"[{x.min():g}, {x.max():g}]. Project to metres first, e.g. EPSG:27700 for England and Wales."
        )
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise InputError(
            f"weights column {weights!r} must hold finite values >= 0; received {int(bad.sum())} missing, "
            "negative or non-numeric value(s). Fill them (0 to ignore a point) first."
        )
    if not w.sum() > 0:
        raise InputError(
            f"weights column {weights!r} sums to 0 over the {len(w)} points; a density needs some weight. "
            "Choose other crimes or weights."
        )
    return x, y, w, int((~ok).sum())


def _outside(x: np.ndarray, y: np.ndarray, units: GridUnits, cols: np.ndarray, rows: np.ndarray) -> int:
    """Number of points in no kept cell (arithmetic twin of ``units.assign(...).isna().sum()``)."""
    kept = np.zeros((units.n_rows, units.n_cols), dtype=bool)
    kept[rows, cols] = True
    c = np.floor((x - units.origin[0]) / units.cell_size)
    r = np.floor((y - units.origin[1]) / units.cell_size)
    ok = (c >= 0) & (c < units.n_cols) & (r >= 0) & (r < units.n_rows)
    hit = kept[r[ok].astype(np.int64), c[ok].astype(np.int64)]
    return int(len(x) - np.count_nonzero(hit))
