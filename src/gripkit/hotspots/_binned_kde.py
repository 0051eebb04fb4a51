"""Numerics of :func:`gripkit.hotspots.kde`: kernels, bandwidth rules, linear binning, FFT convolution.

Everything here works on plain NumPy arrays in metres; validation and frames live in
:mod:`gripkit.hotspots.kde`.

Method
------
1. The grid's cell centres form a lattice of spacing ``s`` (the cell size). Points are *linearly
   binned* onto a finer lattice of spacing ``s / k`` (``k`` odd, the *oversampling factor*, so every
   cell centre is a lattice node), padded by the kernel radius plus one node on every side so that
   points outside the grid but within reach of a cell still contribute. Linear binning splits each
   point's weight between its four surrounding nodes in proportion to the bilinear weights (the
   "area rule" of Wand & Jones 1995, ch. 5 / KDEpy's ``linear_binning``).
2. The kernel is evaluated exactly at the lattice offsets ``(i s/k, j s/k)``, ``|i|, |j| <= R``.
3. The binned weights are convolved with the kernel by real FFTs (``scipy.fft``, circular
   convolution of a length large enough that nothing wraps onto the grid) and the result is read
   at the nodes that are cell centres.

The only approximation is the binning: the binned estimate equals the exact kernel sum with each
kernel replaced by its bilinear interpolant on the lattice (nodes ``d = s/k`` apart). The error of
tensor-product linear interpolation is at most ``d^2/8 (max|K_xx| + max|K_yy|)``, so every cell's
density is within ``C (d/h)^2 K(0) W`` of the exact kernel sum, ``W`` being the weight of the points
within ``h + d sqrt(2)`` (quartic) of the cell centre (all points for the Gaussian):

* quartic: ``|K_xx| <= 8 K(0)/h^2`` (reached at the rim of the support), so ``C = 2``;
* gaussian: ``|K_xx| <= K(0)/h^2`` (at the centre), so ``C = 1/4``.

``C (d/h)^2`` is reported as ``binning_error_bound``; :func:`oversampling` picks the smallest odd
``k`` that brings it to at most :data:`BINNING_RTOL` (1% of one point's peak contribution).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft

#: Kernels and their binning-error constant C (error per point <= C (s/k)^2 / h^2 x K(0)).
KERNELS: dict[str, float] = {"quartic": 2.0, "gaussian": 0.25}
#: Gaussian kernels are truncated at this many standard deviations (lost mass ~ exp(-18) = 1.5e-8).
GAUSS_TRUNCATE = 6.0
#: Largest binning_error_bound (share of one point's peak contribution) the automatic k accepts.
BINNING_RTOL = 1e-2
#: Largest padded fine lattice (nodes) the automatic oversampling may build.
MAX_LATTICE = 2**24


def kernel_radius(kernel: str, bandwidth: float) -> float:
    """Distance in metres beyond which a kernel contributes nothing (or is truncated)."""
    return bandwidth if kernel == "quartic" else GAUSS_TRUNCATE * bandwidth


def kernel_values(kernel: str, d2: np.ndarray, bandwidth: float) -> np.ndarray:
    """Kernel value per m² at squared distances ``d2`` (m²); each kernel integrates to 1.

    quartic: ``3/(pi h^2) (1 - d^2/h^2)^2`` for ``d < h``, else 0 (h = support radius);
    gaussian: ``1/(2 pi h^2) exp(-d^2 / (2 h^2))`` (h = standard deviation per axis).

    Examples
    --------
    >>> float(kernel_values("quartic", np.array([0.0]), 1.0)[0]) * np.pi  # 3/(pi h^2) at d = 0
    3.0
    """
    h2 = bandwidth * bandwidth
    if kernel == "quartic":
        inside = np.clip(1.0 - d2 / h2, 0.0, None)
        return 3.0 / (math.pi * h2) * inside * inside
    return np.exp(-0.5 * d2 / h2) / (2.0 * math.pi * h2)


def oversampling(kernel: str, bandwidth: float, cell_size: float, n_cols: int, n_rows: int) -> int:
    """Smallest odd ``k`` with ``C (cell_size/k)^2 / h^2 <= BINNING_RTOL``, capped by memory.

    Examples
    --------
    >>> oversampling("quartic", 1000.0, 50.0, 800, 1000)  # 2 (50/1000)^2 = 0.005 <= 0.01
    1
    >>> oversampling("quartic", 250.0, 50.0, 800, 1000)  # needs s/k <= 17.7 m -> k = 3
    3
    """
    need = cell_size * math.sqrt(KERNELS[kernel] / BINNING_RTOL) / bandwidth
    k = max(1, math.ceil(need - 1e-9))
    k += 1 - k % 2
    while k > 1 and lattice_nodes(kernel, bandwidth, cell_size, n_cols, n_rows, k) > MAX_LATTICE:
        k -= 2
    return k


def binning_error_bound(kernel: str, bandwidth: float, cell_size: float, k: int) -> float:
    """Binning error per unit weight, as a share of the kernel's peak: ``C (cell_size/k)^2 / h^2``."""
    return KERNELS[kernel] * (cell_size / k) ** 2 / bandwidth**2


def lattice_nodes(kernel: str, bandwidth: float, cell: float, n_cols: int, n_rows: int, k: int) -> int:
    """Nodes of the padded binning lattice (about; FFT lengths round it up a little)."""
    reach = math.ceil(kernel_radius(kernel, bandwidth) / (cell / k))
    return (n_cols * k + 4 * reach + 4) * (n_rows * k + 4 * reach + 4)


def grid_density(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    *,
    origin: tuple[float, float],
    shape: tuple[int, int],
    cell_size: float,
    kernel: str,
    bandwidth: float,
    k: int,
) -> tuple[np.ndarray, int]:
    """Density at every cell centre of a grid extent, and the number of points beyond reach.

    Parameters
    ----------
    x, y, w : numpy.ndarray
        Finite coordinates (metres) and non-negative weights of the points.
    origin : tuple of float
        Lower-left corner of the grid extent; cell ``(c, r)`` has its centre at
        ``origin + ((c + 0.5) s, (r + 0.5) s)``.
    shape : tuple of int
        ``(n_rows, n_cols)`` of the extent.
    cell_size, kernel, bandwidth, k
        Cell side (m), kernel name, bandwidth (m) and odd oversampling factor.

    Returns
    -------
    density : numpy.ndarray
        ``(n_rows, n_cols)`` density per m² (weight per m²).
    beyond : int
        Points farther than the kernel radius from every cell centre (they contribute nothing).
    """
    n_rows, n_cols = shape
    step = cell_size / k
    reach = math.ceil(kernel_radius(kernel, bandwidth) / step)
    pad = reach + 1
    nx, ny = n_cols * k + 2 * pad, n_rows * k + 2 * pad
    # Circular convolution of length L per axis: outputs needed at [pad, pad + n k), inputs lie in
    # [0, n k + 2 pad), so index differences span less than n k + pad and no kernel tap
    # (|offset| <= reach) wraps onto an output when L >= n k + pad + reach + 1 (< nx, ny).
    lx, ly = fft.next_fast_len(nx, real=True), fft.next_fast_len(ny, real=True)
    # fine node j sits at origin + (j - pad + 0.5) * step; cell c's centre is node pad + c k + (k-1)/2
    u = (x - origin[0]) / step - 0.5 + pad
    v = (y - origin[1]) / step - 0.5 + pad
    inside = (u >= 0) & (u < nx - 1) & (v >= 0) & (v < ny - 1)
    beyond = int(len(x) - np.count_nonzero(inside))
    u, v, w = u[inside], v[inside], w[inside]
    i0 = u.astype(np.int64)  # u >= 0, so truncation is floor
    j0 = v.astype(np.int64)
    t = u - i0
    s = v - j0
    flat = j0 * lx + i0
    wt = w * t
    w1t = w - wt
    size = lx * ly
    binned = np.bincount(flat, weights=w1t * (1.0 - s), minlength=size)
    binned += np.bincount(flat + 1, weights=wt * (1.0 - s), minlength=size)
    binned += np.bincount(flat + lx, weights=w1t * s, minlength=size)
    binned += np.bincount(flat + lx + 1, weights=wt * s, minlength=size)
    # At 50 m over a force area each of these arrays is ~66 MiB, and rfft2/irfft2 each allocate a
    # working copy of that size. So transform one axis at a time, the second in place, freeing each
    # array once used: the same 1-D passes and the same single 1/(ly lx) scaling as rfft2/irfft2
    # (pocketfft), bit for bit (tests/hotspots/test_binned_kde_memory.py).
    spectrum = fft.rfft(binned.reshape(ly, lx), axis=1, workers=-1)
    del binned, flat, i0, j0, t, s, wt, w1t
    spectrum = fft.fft(spectrum, axis=0, workers=-1, overwrite_x=True)
    spectrum *= _kernel_spectrum(kernel, bandwidth, step, reach, (ly, lx))
    spectrum = fft.ifft(spectrum, axis=0, workers=-1, overwrite_x=True, norm="forward")  # unscaled
    full = fft.irfft(spectrum, n=lx, axis=1, workers=-1, overwrite_x=True, norm="forward")
    del spectrum
    full *= np.float64(1 / np.longdouble(ly * lx))  # pocketfft's norm_fct: 1 / N in long double
    centre = pad + (k - 1) // 2
    return full[centre : pad + n_rows * k : k, centre : pad + n_cols * k : k], beyond


def _kernel_spectrum(
    kernel: str, bandwidth: float, step: float, reach: int, shape: tuple[int, int]
) -> np.ndarray:
    """``rfft2`` of the kernel sampled at offsets ``(i step, j step)``, ``|i|, |j| <= reach``, wrapped.

    The Gaussian is separable, so its 2-D transform is the outer product of two 1-D transforms.
    """
    ly, lx = shape
    offsets = np.arange(-reach, reach + 1, dtype=float) * step
    if kernel == "gaussian":
        g = np.exp(-0.5 * (offsets / bandwidth) ** 2) / (math.sqrt(2.0 * math.pi) * bandwidth)
        gy, gx = np.zeros(ly), np.zeros(lx)
        gy[np.arange(-reach, reach + 1) % ly] = g
        gx[np.arange(-reach, reach + 1) % lx] = g
        return fft.fft(gy, workers=-1)[:, None] * fft.rfft(gx, workers=-1)[None, :]
    # rfft2 is an rfft along x, then an fft along y (what scipy's rfft2 does). Only the kernel's
    # 2 reach + 1 rows are non-zero, and the rfft of a zero row is zero: transform those rows along
    # x, then the whole spectrum along y in place, with no full-size real array (~66 MiB at 50 m)
    d2 = offsets[:, None] ** 2 + offsets[None, :] ** 2
    rows = np.zeros((2 * reach + 1, lx))
    rows[:, np.arange(-reach, reach + 1) % lx] = kernel_values(kernel, d2, bandwidth)
    spectrum = np.zeros((ly, lx // 2 + 1), dtype=complex)
    spectrum[np.arange(-reach, reach + 1) % ly] = fft.rfft(rows, axis=1, workers=-1)
    return fft.fft(spectrum, axis=0, workers=-1, overwrite_x=True)


def scott_gaussian(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Scott's rule for an isotropic Gaussian: pooled standard deviation x n_eff^(-1/6).

    The pooled standard deviation is ``sqrt((var_x + var_y) / 2)`` with the weighted, bias-corrected
    variances ``sum w (x - mean)^2 / (V1 - V2/V1)`` (``V1 = sum w``, ``V2 = sum w^2``; what
    ``numpy.cov(..., aweights=w)`` and hence ``scipy.stats.gaussian_kde`` use), and
    ``n_eff = V1^2 / V2`` (Kish). When both axes have the same variance this equals the standard
    deviation of scipy's default ``'scott'`` kernel; in two dimensions Scott's and Silverman's
    factors coincide (``n^(-1/(d+4))``).

    Examples
    --------
    >>> xs = np.array([0.0, 2.0, 0.0, 2.0]); ys = np.array([0.0, 0.0, 2.0, 2.0])
    >>> round(scott_gaussian(xs, ys, np.ones(4)), 6)  # sqrt(4/3) x 4 ** (-1/6)
    0.916486
    """
    v1 = w.sum()
    v2 = w @ w
    mx, my = (w @ x) / v1, (w @ y) / v1
    with np.errstate(divide="ignore", invalid="ignore"):  # one point: NaN, reported by the caller
        var = (w @ ((x - mx) ** 2) + w @ ((y - my) ** 2)) / (2.0 * (v1 - v2 / v1))
        return float(np.sqrt(var) * (v1 * v1 / v2) ** (-1.0 / 6.0))


def arcgis_quartic(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """ArcGIS Kernel Density's default search radius (quartic support radius), in metres.

    ``0.9 * min(SD, sqrt(1/ln 2) * Dm) * n^(-0.2)`` where ``SD`` is the (weighted) standard
    distance from the (weighted) mean centre, ``Dm`` the (weighted) median distance from it and
    ``n`` the total weight (Esri, "How Kernel Density works", ArcGIS Pro documentation; a
    spatial form of Silverman's rule of thumb that is robust to outliers).

    Examples
    --------
    >>> xs = np.array([-1.0, 1.0, 0.0, 0.0]); ys = np.array([0.0, 0.0, -1.0, 1.0])
    >>> round(arcgis_quartic(xs, ys, np.ones(4)), 6)  # SD = Dm = 1: 0.9 * 1 * 4 ** -0.2
    0.682072
    """
    total = w.sum()
    mx, my = (w @ x) / total, (w @ y) / total
    dist = np.hypot(x - mx, y - my)
    sd = math.sqrt((w @ (dist * dist)) / total)
    order = np.argsort(dist, kind="stable")
    cum = np.cumsum(w[order])
    median = float(dist[order][np.searchsorted(cum, 0.5 * total)])
    return 0.9 * min(sd, math.sqrt(1.0 / math.log(2.0)) * median) * float(total) ** -0.2
