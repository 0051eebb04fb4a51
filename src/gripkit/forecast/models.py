"""Forecasters: ``fit(crimes)`` on a training window, ``predict(units, at=...)`` a score per unit.

Each model is scikit-learn style: parameters are declared and validated in ``__init__``,
:meth:`Forecaster.get_params` returns them, fitted state lives in attributes ending in ``_``, and
every score is a :class:`pandas.Series` indexed by ``unit_id`` in ``units.frame`` order (higher =
more crime expected in ``[at, at + horizon)``).

========================  ===============================================================
model                     score of a unit
========================  ===============================================================
:class:`Naive`            crimes in the last ``k`` periods before ``at``, averaged
:class:`RetrospectiveKDE` quartic kernel density of every training crime before ``at``
:class:`ProspectiveHotspot` Σ 1/(1+d) × 1/(1+t) over recent nearby crimes (Bowers et al. 2004)
:class:`~gripkit.forecast.sepp.SEPP` expected crimes of a fitted self-exciting point process
========================  ===============================================================
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.forecast.base import Events, Period, Raster, bjp_kernel, smooth, to_days
from gripkit.units.base import UNIT_ID_DTYPE, Units
from gripkit.validate import positive

logger = logging.getLogger("gripkit")


class Forecaster:
    """Base class: parameter handling and the fit/predict contract.

    Subclasses list their parameters in ``_params`` and implement :meth:`_fit` and
    :meth:`_predict`.
    """

    name: str = "forecaster"
    _params: tuple[str, ...] = ()
    #: How month-only crimes are placed in time ("middle" or "uniform", see ``event_days``).
    _month_only: str = "middle"

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, JSON-safe, to record with every result.

        >>> ProspectiveHotspot(weights="harm").get_params()
        {'distance_band': 400.0, 'time_band': 8.0, 'weights': 'harm'}
        >>> Naive(k=3).get_params()
        {'k': 3, 'weights': None}
        """
        return {name: getattr(self, name) for name in self._params}

    def fit(self, crimes: pd.DataFrame) -> Forecaster:
        """Learn from ``crimes`` (canonical crime frame with ``x``, ``y`` and ``month``/``occurred_at``).

        Returns the fitted model itself; the caller's frame is not modified.
        """
        weights = getattr(self, "weights", None)
        self.events_ = Events.from_crimes(
            crimes, weights=weights, month_only=self._month_only, seed=getattr(self, "seed", None)
        )
        if len(self.events_) == 0:
            raise InputError(
                f"{type(self).__name__}.fit received {len(crimes)} crimes but none with coordinates. "
                "Drop or geocode crimes without x/y first."
            )
        self._fit()
        return self

    def predict(self, units: Units, *, at: Any, horizon: str | Period = "1M") -> pd.Series:
        """Score every unit for the period ``[at, at + horizon)``.

        Parameters
        ----------
        units : Units
            The units to score (grid cells for the raster models).
        at : date-like
            Start of the forecast period; only crimes before ``at`` are used.
        horizon : str or Period, default "1M"
            Length of the forecast period (``1M``, ``1W``, ``7D``).

        Returns
        -------
        pandas.Series
            ``score`` per ``unit_id``, in ``units.frame`` order.
        """
        if not hasattr(self, "events_"):
            raise InputError(f"{type(self).__name__} is not fitted; call .fit(crimes) before .predict.")
        start = pd.Timestamp(at)
        period = Period.parse(horizon, "horizon")
        return self._predict(units, start, period).rename("score")

    def _fit(self) -> None:
        """Model-specific fitting on :attr:`events_` (nothing by default)."""

    def _predict(self, units: Units, at: pd.Timestamp, horizon: Period) -> pd.Series:
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class Naive(Forecaster):
    """Last period's crimes (``k=1``), or the mean of the last ``k`` periods, per unit.

    Parameters
    ----------
    k : int, default 1
        Number of periods (each ``horizon`` long) before ``at`` to average.
    weights : str, optional
        Column of per-crime weights (e.g. ``"harm"``); None counts crimes.

    Examples
    --------
    >>> from gripkit.units import GridUnits
    >>> crimes = pd.DataFrame({"x": [50.0, 50.0, 150.0], "y": [50.0, 50.0, 50.0],
    ...                        "month": pd.to_datetime(["2023-04-01", "2023-05-01", "2023-05-01"])})
    >>> Naive().fit(crimes).predict(GridUnits(100, (0, 0, 199, 99)), at="2023-06-01").tolist()
    [1.0, 1.0]
    >>> Naive(k=2).fit(crimes).predict(GridUnits(100, (0, 0, 199, 99)), at="2023-06-01").tolist()
    [1.0, 0.5]
    """

    name = "naive"
    _params = ("k", "weights")

    def __init__(self, k: int = 1, *, weights: str | None = None) -> None:
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"'k' must be a whole number of periods >= 1; received {k!r}. Pass e.g. 3.")
        self.k = int(k)
        self.weights = weights
        self.name = "naive" if self.k == 1 else f"naive{self.k}"

    def _predict(self, units: Units, at: pd.Timestamp, horizon: Period) -> pd.Series:
        start, end = to_days(horizon.add(at, -self.k)), to_days(at)
        ev = self.events_
        keep = (ev.t >= start) & (ev.t < end)
        frame = pd.DataFrame({col.X: ev.x[keep], col.Y: ev.y[keep]})
        ids = pd.Series(pd.array([], dtype=UNIT_ID_DTYPE)) if frame.empty else units.assign(frame)
        totals = pd.Series(ev.w[keep], index=ids.to_numpy(dtype=object)).groupby(level=0).sum()
        table = units.frame[col.UNIT_ID].astype(object)
        score = totals.reindex(table.to_numpy()).fillna(0.0).to_numpy(dtype=float) / self.k
        return pd.Series(score, index=pd.Index(table.to_numpy(), name=col.UNIT_ID))


class RetrospectiveKDE(Forecaster):
    """Kernel density of every training crime before ``at`` (quartic kernel), per grid cell.

    Delegates to :func:`gripkit.hotspots.kde.kde` (Chainey's retrospective hotspot map): the
    density at each cell centre, binned and FFT-convolved to within its stated 1% error bound.

    Parameters
    ----------
    bandwidth : float, optional
        Kernel radius in metres; None uses 5 cell sizes (announced and stored as
        ``bandwidth_``).
    weights : str, optional
        Column of per-crime weights (e.g. ``"harm"``); None counts crimes.

    Examples
    --------
    >>> from gripkit.units import GridUnits
    >>> crimes = pd.DataFrame({"x": [500_150.0], "y": [200_150.0], "month": pd.to_datetime(["2023-05-01"])})
    >>> grid = GridUnits(100, (500_000, 200_000, 500_299, 200_299))
    >>> RetrospectiveKDE(bandwidth=150).fit(crimes).predict(grid, at="2023-06-01").idxmax()  # centre cell
    'g5001_2001'
    """

    name = "kde"
    _params = ("bandwidth", "weights")

    def __init__(self, bandwidth: float | None = None, *, weights: str | None = None) -> None:
        self.bandwidth = None if bandwidth is None else positive("bandwidth", bandwidth, "metres", "400")
        self.weights = weights

    def _predict(self, units: Units, at: pd.Timestamp, horizon: Period) -> pd.Series:
        from gripkit.hotspots.kde import kde

        raster = Raster(units)  # checks these are grid cells
        self.bandwidth_ = self.bandwidth or 5 * raster.cell_size
        if self.bandwidth is None:
            logger.debug("KDE bandwidth %g m chosen as 5 cell sizes", self.bandwidth_)
        ev = self.events_.before(to_days(at))
        if not len(ev):
            return raster.to_units(np.zeros(raster.shape))
        points = pd.DataFrame({col.X: ev.x, col.Y: ev.y, "w": ev.w})
        density = kde(points, units, bandwidth=self.bandwidth_, kernel="quartic", weights="w")  # type: ignore[arg-type]
        return pd.Series(density["density"].to_numpy(dtype=float),
                         index=pd.Index(density[col.UNIT_ID].astype(object).to_numpy(), name=col.UNIT_ID))


class ProspectiveHotspot(Forecaster):
    """Prospective hotspotting (Bowers, Johnson & Pease 2004): recent nearby crimes weigh most.

    Each crime ``t`` whole weeks before ``at`` (``t <= time_band`` weeks) and ``d`` cells from a
    cell (centre to centre, ``d <= distance_band`` metres / cell size) adds
    ``1/(1+d) × 1/(1+t)`` to it (docs/domain.md, "Forecasting"). Computed as one convolution of the
    time-weighted event raster with the ``1/(1+d)`` space kernel: the sum over time slices of
    each slice's convolution, since convolution is linear.

    Parameters
    ----------
    distance_band : float, default 400
        Metres; Bowers et al. used 400 m with 50 m cells.
    time_band : float, default 8
        Weeks (Bowers et al.: two months). police.uk crimes sit at the middle of their month,
        so a monthly forecast uses the last two months.
    weights : str, optional
        Column of per-crime weights (e.g. ``"harm"``); None counts crimes.

    Examples
    --------
    >>> from gripkit.units import GridUnits
    >>> crimes = pd.DataFrame({"x": [50.0], "y": [50.0],
    ...                        "occurred_at": pd.to_datetime(["2023-05-24 10:00"])})
    >>> grid = GridUnits(100, (0, 0, 199, 99))
    >>> # 7.6 days before: t = 1 week; own cell d = 0 -> 1 x 1/2, next cell d = 1 -> 1/2 x 1/2
    >>> ProspectiveHotspot(distance_band=100).fit(crimes).predict(grid, at="2023-06-01").tolist()
    [0.5, 0.25]
    """

    name = "prospective"
    _params = ("distance_band", "time_band", "weights")

    def __init__(
        self, distance_band: float = 400.0, time_band: float = 8.0, *, weights: str | None = None
    ) -> None:
        self.distance_band = positive("distance_band", distance_band, "metres", "400")
        self.time_band = positive("time_band", time_band, "weeks", "8")
        self.weights = weights

    def _predict(self, units: Units, at: pd.Timestamp, horizon: Period) -> pd.Series:
        raster = Raster(units)
        ev = self.events_.before(to_days(at))
        weeks = np.floor((to_days(at) - ev.t) / 7.0)
        recent = weeks <= self.time_band
        weighted = raster.bin(ev.x[recent], ev.y[recent], ev.w[recent] / (1.0 + weeks[recent]))
        kernel = bjp_kernel(self.distance_band / raster.cell_size)
        return raster.to_units(smooth(weighted, kernel))
