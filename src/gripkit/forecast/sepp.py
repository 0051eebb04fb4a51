"""Self-exciting point process (ETAS / SEPP, Mohler et al. 2011) fitted by expectation–maximisation.

The conditional intensity, per square metre per day, is (docs/domain.md, "Forecasting")

    λ(x, y, t) = μ f(x, y) + Σ_{t_i < t} θ ω e^{−ω (t − t_i)} g(x − x_i, y − y_i),

with ``g`` an isotropic Gaussian of standard deviation σ metres, μ the background rate (crimes
per day) and ``f`` the spatial background density: a Gaussian kernel density of the crimes,
each weighted by its probability of being background (as in Mohler et al.'s stochastic
declustering; here with a fixed bandwidth, on a raster, edge-corrected).

Vectorised over event pairs: every pair ``i → j`` with ``0 < t_j − t_i <= max_lag`` days and
distance ``<= max_distance`` metres is held in flat NumPy arrays (found by sorting events into
cells of ``max_distance``), and each EM iteration is a handful of array operations on them.
Memory is capped: about 20 bytes per pair during EM (float32), and more than ``max_pairs`` pairs
(default 3 million, ~60 MB; building them briefly takes about twice that) is an
:class:`~gripkit.errors.InputError` naming the fix.

police.uk gives the month only: month-only crimes are spread uniformly over their month with the
model's ``seed``, so the temporal part (ω) cannot resolve anything shorter than a month there.
Use timestamped data (e.g. the Chicago set) for ω in days.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.forecast.base import Period, Raster, gaussian_cell_kernel, smooth, to_days
from gripkit.forecast.models import Forecaster
from gripkit.units.base import Units
from gripkit.validate import fraction, positive


class SEPP(Forecaster):
    """ETAS-type self-exciting point process with a spatial background, fitted by EM.

    Parameters
    ----------
    background_bandwidth : float, default 500
        Standard deviation (metres) of the Gaussian kernel smoothing the background.
    max_lag : float, default 60
        Longest time (days) over which one crime can trigger another in the fit.
    max_distance : float, default 500
        Largest distance (metres) over which one crime can trigger another in the fit.
    theta, omega, sigma : float
        Starting values: offspring per crime, decay rate per day, spread in metres.
    n_iter : int, default 30
        Most EM iterations; stops earlier when every parameter changes by < ``tol`` (relative).
    tol : float, default 1e-4
    min_sigma : float, default 10
        Lower bound of σ in metres: police.uk snaps crimes to shared points, which would
        otherwise drive σ to 0.
    max_pairs : int, default 3_000_000
        Memory cap on candidate event pairs.
    seed : int, default 0
        Seeds the uniform placement of month-only crimes within their month.

    Attributes
    ----------
    mu_, theta_, omega_, sigma_ : float
        Fitted background rate (crimes per day), offspring per crime, decay per day, spread (m).
    n_iter_ : int
        EM iterations run.
    n_pairs_ : int
        Event pairs within the window.
    background_ : numpy.ndarray
        Probability that each fitted crime is background (``events_`` order).

    Examples
    --------
    >>> from gripkit.units import GridUnits
    >>> crimes = simulate_sepp(mu=2.0, theta=0.4, omega=0.5, sigma=50.0, days=200,
    ...                        bounds=(0, 0, 5000, 5000), seed=1)
    >>> model = SEPP(background_bandwidth=1500).fit(crimes)
    >>> 0 < model.theta_ < 1
    True
    >>> grid = GridUnits(250, (0, 0, 4999, 4999), crs="EPSG:26916")
    >>> model.predict(grid, at="1970-07-20", horizon="1W").size
    400
    """

    name = "etas"
    _month_only = "uniform"
    _params = (
        "background_bandwidth", "max_lag", "max_distance", "theta", "omega", "sigma", "n_iter",
        "tol", "min_sigma", "max_pairs", "seed",
    )

    def __init__(
        self,
        background_bandwidth: float = 500.0,
        *,
        max_lag: float = 60.0,
        max_distance: float = 500.0,
        theta: float = 0.3,
        omega: float = 0.1,
        sigma: float = 100.0,
        n_iter: int = 30,
        tol: float = 1e-4,
        min_sigma: float = 10.0,
        max_pairs: int = 3_000_000,
        seed: int = 0,
    ) -> None:
        self.background_bandwidth = positive("background_bandwidth", background_bandwidth, "metres", "500")
        self.max_lag = positive("max_lag", max_lag, "days", "60")
        self.max_distance = positive("max_distance", max_distance, "metres", "500")
        self.theta = fraction("theta", theta)
        self.omega = positive("omega", omega, "per day", "0.1")
        self.sigma = positive("sigma", sigma, "metres", "100")
        self.n_iter = int(positive("n_iter", n_iter, "", "30"))
        self.tol = positive("tol", tol, "", "1e-4")
        self.min_sigma = positive("min_sigma", min_sigma, "metres", "10")
        self.max_pairs = int(positive("max_pairs", max_pairs, "", "3000000"))
        self.seed = int(seed)

    # -- fitting ---------------------------------------------------------------------------
    def _fit(self) -> None:
        ev = self.events_
        t0, t1 = float(ev.t.min()), float(ev.t.max())
        span = max(t1 - t0, 1e-9)
        j, dt, d2 = self._pairs()
        self.n_pairs_ = len(j)
        n = len(ev)
        tau = np.minimum(t1 - ev.t, self.max_lag)  # how long each crime can trigger inside the window
        bg_grid = _BackgroundGrid(ev.x, ev.y, self.background_bandwidth)
        theta, omega, sigma = self.theta, self.omega, max(self.sigma, self.min_sigma)
        p_bg = np.full(n, 0.5)
        mu = p_bg.sum() / span
        r2 = self.max_distance**2
        work, scratch = np.empty_like(dt), np.empty_like(dt)
        step = 0
        while step < self.n_iter:
            step += 1
            # E-step: share of each crime's intensity due to the background and to each earlier crime
            # (in-place on two pair-sized buffers: p_pair ends up in ``work``).
            background = mu * bg_grid.density_at_events(p_bg)
            np.multiply(dt, -omega, out=work)
            np.multiply(d2, -0.5 / sigma**2, out=scratch)
            work += scratch
            np.exp(work, out=work)
            work *= theta * omega / (2 * math.pi * sigma**2)
            lam = background + np.bincount(j, weights=work, minlength=n)
            lam = np.where(lam > 0, lam, np.finfo(np.float32).tiny)
            np.take(lam, j, out=scratch)
            p_pair = np.divide(work, scratch, out=work)
            p_bg = background / lam
            # M-step (closed forms; θ and ω with the window's time and distance truncation).
            offspring = float(p_pair.sum(dtype=np.float64))
            space_mass = 1.0 - math.exp(-r2 / (2 * sigma**2))
            decay = np.exp(-omega * tau)
            new_theta = offspring / max(space_mass * (1.0 - decay).sum(), 1e-12)
            # weighted sums via multiply + sum (not BLAS dot, whose threads contend in a process pool)
            lag_sum = float(np.multiply(p_pair, dt, out=scratch).sum(dtype=np.float64))
            d2_sum = float(np.multiply(p_pair, d2, out=scratch).sum(dtype=np.float64))
            new_omega = offspring / max(lag_sum + new_theta * space_mass * float((tau * decay).sum()), 1e-12)
            new_sigma = max(math.sqrt(d2_sum / max(2 * offspring, 1e-12)), self.min_sigma)
            new_mu = p_bg.sum() / span
            old = np.array([theta, omega, sigma, mu])
            theta, omega, sigma, mu = new_theta, new_omega, new_sigma, new_mu
            if offspring <= 0 or np.all(np.abs(np.array([theta, omega, sigma, mu]) - old) <= self.tol * old):
                break
        self.theta_, self.omega_, self.sigma_, self.mu_ = float(theta), float(omega), float(sigma), float(mu)
        self.background_ = p_bg
        self.n_iter_ = step
        self.window_ = (t0, t1)

    def _pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair i -> j (t_i < t_j <= t_i + max_lag, distance <= max_distance), vectorised.

        Returns ``j`` (int32), the lag ``t_j - t_i`` (days) and squared distance (m²) as float32.

        Crimes are sorted by (cell of side max_distance, time); for each of the 9 neighbouring
        cells, ``searchsorted`` gives the block of earlier crimes within the lag of each crime.
        """
        ev, r, lag = self.events_, self.max_distance, self.max_lag
        cx, cy = np.floor(ev.x / r).astype(np.int64), np.floor(ev.y / r).astype(np.int64)
        cell = (cx - cx.min()) * (cy.max() - cy.min() + 3) + (cy - cy.min())
        cells, rank = np.unique(cell, return_inverse=True)
        width = float(ev.t.max() - ev.t.min()) + lag + 1.0
        rel = ev.t - ev.t.min()
        order = np.lexsort((rel, rank))
        keys = rank[order] * width + rel[order]
        ncol = cy.max() - cy.min() + 3
        blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        total = 0
        for ox in (-1, 0, 1):
            for oy in (-1, 0, 1):
                target = cell + ox * ncol + oy
                pos = np.clip(np.searchsorted(cells, target), 0, len(cells) - 1)
                found = cells[pos] == target
                base = pos * width
                lo = np.searchsorted(keys, base + rel - lag, side="left")
                hi = np.searchsorted(keys, base + rel, side="left")
                count = np.where(found, hi - lo, 0)
                total += int(count.sum())
                if total > self.max_pairs:
                    raise InputError(
                        f"the SEPP fit would hold more than {self.max_pairs:,} event pairs ({len(ev):,} "
                        f"crimes, max_lag {lag:g} days, max_distance {r:g} m). Select fewer crimes "
                        "(e.g. --serious-violence), shorten the training window, lower max_lag or "
                        "max_distance, or raise max_pairs if memory allows (~20 bytes per pair)."
                    )
                blocks.append((np.flatnonzero(count), lo[count > 0], count[count > 0]))
        parts_i, parts_j = [], []
        for targets, starts, counts in blocks:
            jj = np.repeat(targets, counts)
            first = np.repeat(starts - np.cumsum(counts) + counts, counts)
            parts_i.append(order[first + np.arange(len(jj))])
            parts_j.append(jj)
        i = np.concatenate(parts_i) if parts_i else np.empty(0, np.int64)
        j = np.concatenate(parts_j) if parts_j else np.empty(0, np.int64)
        d2 = (ev.x[j] - ev.x[i]) ** 2 + (ev.y[j] - ev.y[i]) ** 2
        keep = (d2 <= r * r) & (ev.t[i] < ev.t[j])
        i, j = i[keep], j[keep]
        return j.astype(np.int32), (ev.t[j] - ev.t[i]).astype(np.float32), d2[keep].astype(np.float32)

    # -- prediction ------------------------------------------------------------------------
    def _predict(self, units: Units, at: pd.Timestamp, horizon: Period) -> pd.Series:
        """Expected crimes per cell in [at, at + horizon): background + triggered by past crimes."""
        raster = Raster(units)
        start, end = to_days(at), to_days(horizon.add(at, 1))
        ev = self.events_
        past = ev.t < start
        # background: the background-weighted crimes smoothed on the grid, scaled to μ per day
        bg = smooth(raster.bin(ev.x, ev.y, self.background_),
                    gaussian_cell_kernel(self.background_bandwidth, raster.cell_size))
        total = bg.sum()
        expected = bg * (self.mu_ * (end - start) / total) if total > 0 else bg
        # triggering: each past crime's expected offspring in the period, spread by g over cells
        age = start - ev.t[past]
        mass = self.theta_ * (np.exp(-self.omega_ * age) - np.exp(-self.omega_ * (age + end - start)))
        spread = gaussian_cell_kernel(self.sigma_, raster.cell_size)
        expected = expected + smooth(raster.bin(ev.x[past], ev.y[past], mass), spread)
        return raster.to_units(expected)


#: Largest background raster the fit builds (cells about background_bandwidth / 2 on a side).
MAX_BACKGROUND_CELLS = 1_000_000


class _BackgroundGrid:
    """The background density f on a raster exactly covering the crimes' bounding box.

    Cells are about ``bandwidth / 2`` on a side (stretched so whole cells fit the box).
    ``density_at_events(p)`` smooths the crimes weighted by ``p`` with a Gaussian of sd
    ``bandwidth``, divides by the kernel mass inside the box (edge correction), normalises the
    result to integrate to 1 over the box, and reads the density (per m²) at each crime's cell.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, bandwidth: float) -> None:
        axes = []
        for values in (y, x):
            low, width = float(values.min()), max(float(np.ptp(values)), 1e-6)
            n = max(1, math.ceil(width / (bandwidth / 2)))
            size = width / n
            index = np.minimum(np.floor((values - low) / size).astype(np.int64), n - 1)
            radius = max(1, math.ceil(4 * bandwidth / size))
            mass = np.diff(special.ndtr((np.arange(-radius, radius + 2) - 0.5) * size / bandwidth))
            axes.append((n, size, index, mass))
        (ny, sy, rows, ky), (nx, sx, cols, kx) = axes
        if ny * nx > MAX_BACKGROUND_CELLS:
            raise InputError(
                f"the crimes span {np.ptp(x) / 1000:.0f} km x {np.ptp(y) / 1000:.0f} km: a background grid "
                f"of {bandwidth / 2:g} m cells would have {ny * nx:,} cells (over {MAX_BACKGROUND_CELLS:,}). "
                "Drop crimes far outside the study area, or pass a larger background_bandwidth."
            )
        self.shape, self.cell_area = (ny, nx), sx * sy
        self.index = rows * nx + cols
        self.kernel = np.outer(ky, kx)
        self.mask = smooth(np.ones(self.shape), self.kernel)

    def density_at_events(self, weights: np.ndarray) -> np.ndarray:
        flat = np.bincount(self.index, weights=weights, minlength=self.shape[0] * self.shape[1])
        dens = smooth(flat.reshape(self.shape), self.kernel) / np.maximum(self.mask, 1e-12)
        total = dens.sum() * self.cell_area
        return dens.ravel()[self.index] / total if total > 0 else np.zeros(len(self.index))


def simulate_sepp(
    mu: float,
    theta: float,
    omega: float,
    sigma: float,
    *,
    days: float,
    bounds: tuple[float, float, float, float],
    seed: int,
    start: str = "1970-01-01",
) -> pd.DataFrame:
    """Simulate the SEPP by branching: uniform background, Poisson(θ) offspring per crime.

    Background crimes arrive at rate ``mu`` per day, uniformly over ``bounds`` (metres). Each
    crime has Poisson(θ) offspring, delayed by Exponential(ω) days and displaced by
    N(0, σ²) in x and y; offspring after ``days`` are dropped, offspring outside ``bounds`` kept.
    Generations are drawn as whole arrays (no loop over events).

    Returns
    -------
    pandas.DataFrame
        Simulated (not real) crimes: ``x, y, occurred_at, month, generation``, sorted by time.

    Examples
    --------
    >>> frame = simulate_sepp(1.0, 0.5, 0.2, 100.0, days=100, bounds=(0, 0, 1000, 1000), seed=0)
    >>> list(frame.columns)
    ['x', 'y', 'occurred_at', 'month', 'generation']
    """
    if not 0 <= theta < 1:
        raise InputError(f"'theta' must be in [0, 1) for a stable process; received {theta!r}.")
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = bounds
    n = rng.poisson(mu * days)
    x, y = rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)
    t = rng.uniform(0.0, days, n)
    parts = [(x, y, t, np.zeros(n, dtype=np.int64))]
    generation = 0
    while len(t):
        generation += 1
        kids = rng.poisson(theta, len(t))
        px, py, pt = (np.repeat(a, kids) for a in (x, y, t))
        t = pt + rng.exponential(1.0 / omega, len(pt))
        x, y = px + rng.normal(0.0, sigma, len(pt)), py + rng.normal(0.0, sigma, len(pt))
        keep = t < days
        x, y, t = x[keep], y[keep], t[keep]
        parts.append((x, y, t, np.full(len(t), generation, dtype=np.int64)))
    xs, ys, ts, gs = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = np.argsort(ts, kind="stable")
    when = pd.Timestamp(start) + pd.to_timedelta(ts[order], unit="D")
    return pd.DataFrame(
        {col.X: xs[order], col.Y: ys[order], col.OCCURRED_AT: when,
         col.MONTH: when.to_period("M").to_timestamp(), "generation": gs[order]}
    )
