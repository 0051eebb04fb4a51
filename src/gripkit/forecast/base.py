"""Shared pieces of the forecasters: periods, event times, the scoring raster and its kernels.

Time is measured in days (float) since 1970-01-01. A crime with ``occurred_at`` uses that
date-time; a crime known only by its ``month`` (police.uk) is placed at the middle of the month,
or, for the self-exciting model, at a seeded uniform time within it (see :func:`event_days`).

The raster models (prospective hotspotting, SEPP) score the cells of a
:class:`~gripkit.units.GridUnits` grid: events are binned into the grid's cells and smoothed with a
kernel by FFT convolution (:class:`Raster`), so no loop runs over events or event pairs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.units.base import Units, check_crimes, crime_xy
from gripkit.units.grid import GridUnits

_EPOCH = pd.Timestamp("1970-01-01")
_PERIOD = re.compile(r"^\s*(\d+)\s*([MWD])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """A calendar length: ``n`` months (``M``), weeks (``W``) or days (``D``).

    Examples
    --------
    >>> p = Period.parse("12M")
    >>> p.n, p.unit, str(p)
    (12, 'M', '12M')
    >>> p.add(pd.Timestamp("2023-05-01"), -1)
    Timestamp('2022-05-01 00:00:00')
    >>> Period.parse("2W").add(pd.Timestamp("2023-05-01"), 1)
    Timestamp('2023-05-15 00:00:00')
    """

    n: int
    unit: str

    @classmethod
    def parse(cls, value: str | Period, name: str = "period") -> Period:
        """Parse ``"12M"``, ``"1W"`` or ``"7D"``; raise InputError otherwise."""
        if isinstance(value, Period):
            return value
        match = _PERIOD.match(str(value))
        if not match or int(match.group(1)) < 1:
            raise InputError(
                f"'{name}' must be a whole number of months, weeks or days such as 12M, 1W or 7D; "
                f"received {value!r}."
            )
        return cls(int(match.group(1)), match.group(2).upper())

    def add(self, when: pd.Timestamp, times: int = 1) -> pd.Timestamp:
        """Return ``when`` moved by ``times`` periods (negative moves back)."""
        k = self.n * times
        if self.unit == "M":
            return pd.Timestamp(when) + pd.DateOffset(months=k)
        return pd.Timestamp(when) + pd.Timedelta(days=k * (7 if self.unit == "W" else 1))

    @property
    def days(self) -> float:
        """Nominal length in days (a month counts 365.25 / 12)."""
        return self.n * {"M": 365.25 / 12, "W": 7.0, "D": 1.0}[self.unit]

    def __str__(self) -> str:
        return f"{self.n}{self.unit}"


def to_days(when: Any) -> float:
    """Days since 1970-01-01 of a date or date-time.

    >>> to_days("1970-01-02 12:00")
    1.5
    """
    return (pd.Timestamp(when) - _EPOCH) / pd.Timedelta(days=1)


def resolution(crimes: pd.DataFrame) -> str:
    """``"month"`` if any crime lacks ``occurred_at`` (police.uk), else ``"timestamp"``.

    >>> resolution(pd.DataFrame({"month": [pd.Timestamp("2023-05-01")]}))
    'month'
    """
    if col.OCCURRED_AT not in crimes.columns or crimes[col.OCCURRED_AT].isna().any():
        return "month"
    return "timestamp"


def event_days(crimes: pd.DataFrame, *, month_only: str = "middle", seed: int | None = None) -> np.ndarray:
    """Time of every crime in days since 1970 (float).

    Parameters
    ----------
    crimes : pandas.DataFrame
        With ``occurred_at`` (date-times, may be missing) and/or ``month``.
    month_only : {"middle", "uniform"}
        Where a month-only crime is placed: the middle of its month, or a uniform random time
        within it drawn with ``numpy.random.default_rng(seed)``.
    seed : int, optional
        Seed for ``month_only="uniform"``.

    Examples
    --------
    >>> frame = pd.DataFrame({"month": pd.to_datetime(["1970-01-01"]), "occurred_at": [pd.NaT]})
    >>> event_days(frame).tolist()  # middle of January: 31 / 2
    [15.5]
    """
    n = len(crimes)
    days = np.full(n, np.nan)
    if col.OCCURRED_AT in crimes.columns:
        stamps = pd.to_datetime(crimes[col.OCCURRED_AT])
        days = np.array(((stamps - _EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan))
    missing = np.isnan(days)
    if missing.any():
        if col.MONTH not in crimes.columns:
            raise InputError(
                "crimes need an 'occurred_at' or a 'month' column to be placed in time; received "
                f"columns {', '.join(map(str, crimes.columns))}. Load crimes with Workspace.crimes()."
            )
        months = pd.to_datetime(crimes[col.MONTH].to_numpy()[missing])
        start = ((months - _EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype=float)
        length = months.days_in_month.to_numpy(dtype=float)
        if month_only == "uniform":
            offset = np.random.default_rng(seed).uniform(0.0, 1.0, size=len(start)) * length
        else:
            offset = length / 2
        days[missing] = start + offset
    if np.isnan(days).any():
        raise InputError(
            f"{int(np.isnan(days).sum())} crime(s) have neither 'occurred_at' nor 'month'; received "
            "missing dates. Drop them before forecasting."
        )
    return days


@dataclass
class Events:
    """The fitted events: coordinates (metres), time (days since 1970) and weight (``w``)."""

    x: np.ndarray
    y: np.ndarray
    t: np.ndarray
    w: np.ndarray

    @classmethod
    def from_crimes(
        cls, crimes: pd.DataFrame, *, weights: str | None = None, month_only: str = "middle",
        seed: int | None = None,
    ) -> Events:
        """Events with finite coordinates from a crime frame (weights 1 when ``weights`` is None)."""
        frame = check_crimes(crimes, (col.X, col.Y))
        x, y = crime_xy(frame)
        t = event_days(frame, month_only=month_only, seed=seed)
        if weights is None:
            w = np.ones(len(frame))
        else:
            if weights not in frame.columns:
                raise InputError(
                    f"'weights' must name a column of crimes; received {weights!r}, and the columns are "
                    f"{', '.join(map(str, frame.columns))}. Apply a harm table first or pass weights=None."
                )
            w = pd.to_numeric(frame[weights]).to_numpy(dtype=float, na_value=np.nan)
            if not (np.isfinite(w) & (w >= 0)).all():
                raise InputError(f"'weights' column {weights!r} must hold finite values >= 0.")
        ok = np.isfinite(x) & np.isfinite(y)
        order = np.argsort(t[ok], kind="stable")
        return cls(x[ok][order], y[ok][order], t[ok][order], w[ok][order])

    def before(self, day: float) -> Events:
        """The events strictly before ``day``."""
        keep = self.t < day
        return Events(self.x[keep], self.y[keep], self.t[keep], self.w[keep])

    def __len__(self) -> int:
        return len(self.t)


class Raster:
    """The cells of a grid as a 2-D array, to bin events into and smooth by FFT convolution.

    Parameters
    ----------
    units : GridUnits
        The grid whose cells are scored; every cell of its extent is a raster cell, and
        :meth:`to_units` reads back the cells in ``units.frame`` order.

    Examples
    --------
    >>> grid = GridUnits(100, (0, 0, 299, 199))
    >>> r = Raster(grid)
    >>> r.shape
    (2, 3)
    >>> r.bin(np.array([50.0, 150.0, 160.0]), np.array([50.0, 50.0, 150.0])).tolist()
    [[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    """

    def __init__(self, units: Units) -> None:
        if not isinstance(units, GridUnits):
            raise InputError(
                f"this forecaster scores grid cells; received {type(units).__name__}. Build units with "
                "gripkit.units.GridUnits.from_crimes(crimes, cell_size=...) (CLI: --unit grid)."
            )
        self.units = units
        self.cell_size = float(units.cell_size)
        self.x0, self.y0 = (float(v) for v in units.origin)
        self.shape = (int(units.n_rows), int(units.n_cols))
        frame = units.frame
        lower = frame.geometry.bounds
        cols = np.rint((lower["minx"].to_numpy() - self.x0) / self.cell_size).astype(np.int64)
        rows = np.rint((lower["miny"].to_numpy() - self.y0) / self.cell_size).astype(np.int64)
        self.position = rows * self.shape[1] + cols
        self.unit_ids = frame[col.UNIT_ID].astype(object).to_numpy()

    def cells(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat raster index of each point, -1 outside the extent."""
        cols = np.floor((x - self.x0) / self.cell_size).astype(np.int64)
        rows = np.floor((y - self.y0) / self.cell_size).astype(np.int64)
        inside = (cols >= 0) & (cols < self.shape[1]) & (rows >= 0) & (rows < self.shape[0])
        return np.where(inside, rows * self.shape[1] + cols, -1)

    def bin(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        """Sum of weights (1 each by default) per cell; points outside the extent are dropped."""
        index = self.cells(x, y)
        keep = index >= 0
        weights = None if w is None else w[keep]
        flat = np.bincount(index[keep], weights=weights, minlength=self.shape[0] * self.shape[1])
        return flat.astype(float).reshape(self.shape)

    def to_units(self, values: np.ndarray, name: str = "score") -> pd.Series:
        """Read cell values back in ``units.frame`` order, as a Series indexed by ``unit_id``."""
        return pd.Series(values.ravel()[self.position], index=pd.Index(self.unit_ids, name=col.UNIT_ID),
                         name=name)


def smooth(raster: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve ``raster`` with an odd-sized ``kernel`` (same shape out, tiny FFT negatives clipped).

    >>> float(smooth(np.array([[0.0, 0, 0], [0, 1, 0], [0, 0, 0]]), np.ones((3, 3))).sum())
    9.0
    """
    from scipy.signal import fftconvolve  # scipy.signal imports scipy.stats (~1 s); only needed here

    if not raster.any():
        return np.zeros_like(raster)
    out = fftconvolve(raster, kernel, mode="same")
    return np.clip(out, 0.0, None)


def _offsets(radius_cells: int) -> np.ndarray:
    r = np.arange(-radius_cells, radius_cells + 1, dtype=float)
    return np.hypot(*np.meshgrid(r, r))


def bjp_kernel(band_cells: float) -> np.ndarray:
    """Bowers–Johnson–Pease space weights 1 / (1 + d), d = centre distance in cells, d <= band.

    >>> bjp_kernel(1).round(3).tolist()
    [[0.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 0.0]]
    """
    d = _offsets(math.floor(band_cells))
    return np.where(d <= band_cells, 1.0 / (1.0 + d), 0.0)


def gaussian_cell_kernel(sigma: float, cell_size: float, radius_sd: float = 4.0) -> np.ndarray:
    """Probability that an isotropic Gaussian step (sd ``sigma`` m) from a cell's centre lands in each cell.

    Exact per cell (differences of the normal CDF along each axis); rows and columns beyond
    ``radius_sd`` standard deviations are cut.

    >>> round(float(gaussian_cell_kernel(50, 10).sum()), 3)  # 4 sd cut keeps 99.99%
    1.0
    """
    radius = max(1, math.ceil(radius_sd * sigma / cell_size))
    edges = (np.arange(-radius, radius + 2) - 0.5) * cell_size / sigma
    mass = np.diff(special.ndtr(edges))
    return np.outer(mass, mass)
