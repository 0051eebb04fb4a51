"""Rolling-origin backtest: fit on the window, predict the next period, score, slide.

For each forecast period ``[origin, origin + horizon)`` (origins every ``horizon`` from
``start`` to ``end``) every model is fitted on the crimes of ``[origin − train, origin)``,
scores the units, and is measured at each coverage by :func:`gripkit.forecast.metrics.score`.
Steps × models run on a standard-library process pool when there is more than one worker.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gripkit import columns as col
from gripkit import datasets
from gripkit.errors import InputError
from gripkit.forecast import metrics
from gripkit.forecast.base import Period, event_days, resolution, to_days
from gripkit.forecast.models import Forecaster, Naive, ProspectiveHotspot, RetrospectiveKDE
from gripkit.forecast.report import BacktestResult
from gripkit.forecast.sepp import SEPP
from gripkit.units.base import Units, check_crimes
from gripkit.units.grid import GridUnits
from gripkit.validate import fraction

logger = logging.getLogger("gripkit")
Progress = Callable[[int, int, str], None]
MODEL_NAMES = ("naive", "naiveK (e.g. naive3: mean of last 3 periods)", "kde", "prospective", "etas")


def make_model(name: str, *, weight: str | None = None, seed: int = 0) -> Forecaster:
    """Build a forecaster from its CLI name.

    ``naive`` (last period), ``naiveK`` (mean of the last K periods), ``kde``, ``prospective``,
    ``etas`` (alias ``sepp``). ``weight`` (e.g. ``"harm"``) weights the crimes of every model but
    ``etas``, which models counts.

    >>> make_model("naive3")
    Naive(k=3, weight=None)
    """
    key = name.strip().lower()
    match = re.fullmatch(r"naive(\d*)", key)
    if match:
        return Naive(int(match.group(1) or 1), weight=weight)
    if key == "kde":
        return RetrospectiveKDE(weight=weight)
    if key == "prospective":
        return ProspectiveHotspot(weight=weight)
    if key in ("etas", "sepp"):
        return SEPP(seed=seed)
    raise InputError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}.")


@dataclass(frozen=True)
class Step:
    """One forecast period and its training window."""

    index: int
    origin: pd.Timestamp
    train_start: pd.Timestamp
    end: pd.Timestamp


def plan_steps(
    crimes: pd.DataFrame,
    train: str | Period,
    horizon: str | Period,
    start: Any = None,
    end: Any = None,
) -> list[Step]:
    """The rolling origins: forecast periods starting from ``start`` to ``end`` (inclusive).

    Raises InputError when the horizon or window is finer than the data (weekly on monthly
    police.uk data), when a training window starts before the data, or when no period fits.

    Examples
    --------
    >>> crimes = pd.DataFrame({"month": pd.date_range("2022-01-01", periods=15, freq="MS")})
    >>> [f"{s.origin:%Y-%m}" for s in plan_steps(crimes, "12M", "1M")]
    ['2023-01', '2023-02', '2023-03']
    """
    train_p, horizon_p = Period.parse(train, "train"), Period.parse(horizon, "horizon")
    monthly = resolution(crimes) == "month"
    for name, period in (("horizon", horizon_p), ("train", train_p)):
        if monthly and period.unit != "M":
            raise InputError(
                f"'{name}' {period} is finer than the data: these crimes carry only a month (police.uk), "
                f"so weekly or daily periods cannot be scored. Pass --{name} in months (e.g. 1M), or use "
                "data with occurred_at date-times."
            )
    if monthly:
        months = pd.to_datetime(crimes[col.MONTH])
        first, stop = months.min(), months.max() + pd.DateOffset(months=1)
    else:
        stamps = pd.to_datetime(crimes[col.OCCURRED_AT])
        first, stop = stamps.min().normalize(), stamps.max().normalize() + pd.Timedelta(days=1)
    earliest = train_p.add(first, 1)
    origin = earliest if start is None else pd.Timestamp(start)
    if origin < earliest:
        raise InputError(
            f"the {train_p} training window before {origin:%Y-%m-%d} starts at "
            f"{train_p.add(origin, -1):%Y-%m-%d}, "
            f"before the data's first date {first:%Y-%m-%d}. Pass --from {earliest:%Y-%m-%d} or later, or a "
            "shorter --train."
        )
    last = stop if end is None else min(pd.Timestamp(end), stop)
    steps: list[Step] = []
    while horizon_p.add(origin, 1) <= stop and origin <= last:
        steps.append(Step(len(steps), origin, train_p.add(origin, -1), horizon_p.add(origin, 1)))
        origin = horizon_p.add(origin, 1)
    if not steps:
        raise InputError(
            f"no forecast period fits: the data run {first:%Y-%m-%d} to {stop:%Y-%m-%d} (exclusive), a "
            f"{train_p} training window plus a {horizon_p} horizon needs data up to "
            f"{horizon_p.add(earliest, 1):%Y-%m-%d}, and --from/--to ask for {start} to {end}. Use a shorter "
            "--train or --horizon, or ingest more months."
        )
    return steps


def grid_for(crimes: pd.DataFrame, cell_size: float | None = None) -> GridUnits:
    """Grid over the crimes' (most common) police force area when known, else their extent.

    The cell size, when not given, follows Chainey's rule (announced by ``GridUnits``).

    >>> crimes = pd.DataFrame({"x": [0.0, 1000.0], "y": [0.0, 1000.0]})
    >>> grid_for(crimes, 500).n_cols
    3
    """
    forces = crimes[col.FORCE].dropna() if col.FORCE in crimes.columns else pd.Series(dtype=object)
    area = datasets.force_area(str(forces.mode().iloc[0])) if len(forces) else None
    if area is not None:
        logger.info("grid covers the %s force area (bundled boundary)", forces.mode().iloc[0])
    return GridUnits.from_crimes(crimes, cell_size=cell_size, area=area)


# State each worker process holds (set once by _init), so tasks only carry indices.
_STATE: dict[str, Any] = {}


def _init(state: dict[str, Any]) -> None:
    _STATE.clear()
    _STATE.update(state)


def _run(task: tuple[int, int]) -> list[dict[str, Any]]:
    """Fit model ``m`` for step ``s`` and score it at every coverage."""
    s, m = task
    st = _STATE
    step: Step = st["steps"][s]
    model: Forecaster = st["models"][m]
    t, unit = st["t"], st["unit"]
    days = [to_days(v) for v in (step.train_start, step.origin, step.end)]
    train = st["crimes"].iloc[np.flatnonzero((t >= days[0]) & (t < days[1]) & (unit >= 0))]
    began = time.perf_counter()
    scores = model.fit(train).predict(st["units"], at=step.origin, horizon=st["horizon"]).to_numpy()
    elapsed = time.perf_counter() - began
    n_units = len(st["areas"])
    test = (t >= days[1]) & (t < days[2]) & (unit >= 0)
    before = (t >= to_days(st["horizon"].add(step.origin, -1))) & (t < days[1]) & (unit >= 0)
    counts = np.bincount(unit[test], minlength=n_units).astype(float)
    harm = np.bincount(unit[test], weights=st["harm"][test], minlength=n_units)
    previous = np.bincount(unit[before], minlength=n_units).astype(float)
    rows = []
    for cover in st["coverage"]:
        row = metrics.score(scores, st["areas"], counts, cover, counts_before=previous, harm=harm)
        rows.append({"model": st["names"][m], "step": step.index, "origin": step.origin,
                     "train_start": step.train_start, **row, "fit_seconds": elapsed})
    return rows


def backtest(
    crimes: pd.DataFrame,
    units: Units,
    *,
    models: Sequence[str | Forecaster] = ("naive", "prospective"),
    train: str | Period = "12M",
    horizon: str | Period = "1M",
    coverage: Sequence[float] = (0.01, 0.05),
    start: Any = None,
    end: Any = None,
    harm: str | None = None,
    workers: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation of forecasters on the same units and periods.

    Parameters
    ----------
    crimes : pandas.DataFrame
        Canonical crimes with ``x``/``y`` in the units' CRS and ``month`` and/or ``occurred_at``.
        Crimes in no unit (outside the study area) are neither fitted nor scored.
    units : Units
        Units scored and flagged (grid cells for kde, prospective and etas).
    models : sequence of str or Forecaster
        Names for :func:`make_model` or ready-made forecasters.
    train, horizon : str or Period
        Training window and forecast period, e.g. ``"12M"`` and ``"1M"`` (``"1W"`` needs timestamps).
    coverage : sequence of float
        Fractions of the area to flag, e.g. ``(0.01, 0.05)``.
    start, end : date-like, optional
        First and last forecast period start; default from the end of the first training window
        to the last whole period of data.
    harm : str, optional
        Column of harm weights: weights the models (but etas) and gives ``harm_hit_rate``.
    workers : int, optional
        Processes (default: the CPU count; 1 runs in this process).
    seed : int, default 0
        Seed for the stochastic parts (etas' placement of month-only crimes; the verdict's bootstrap).
    progress : callable, optional
        Called as ``progress(done, total, name)`` after each model × step.

    Returns
    -------
    BacktestResult
        ``.table``: one row per model × step × coverage (``model, step, origin, train_start,
        coverage, area_share, units_flagged, crimes, hits, hit_rate, pai, pei, rri,
        harm_hit_rate, fit_seconds``); ``.summary()``, ``.verdict()``, ``.plot()``.

    Examples
    --------
    >>> from gripkit.units import GridUnits
    >>> rng = np.random.default_rng(0)
    >>> crimes = pd.DataFrame({"x": rng.uniform(0, 1000, 300), "y": rng.uniform(0, 1000, 300),
    ...     "month": pd.to_datetime(rng.choice(pd.date_range("2022-01-01", periods=6, freq="MS"), 300))})
    >>> result = backtest(crimes, GridUnits(100, (0, 0, 999, 999)), train="3M", coverage=[0.1], workers=1)
    >>> result.table[["model", "step", "coverage"]].drop_duplicates().shape[0]
    6
    """
    frame = check_crimes(crimes, (col.X, col.Y))
    covers = [fraction("coverage", c) for c in coverage]
    if not covers:
        raise InputError("'coverage' is empty; pass at least one fraction such as 0.05.")
    horizon_p = Period.parse(horizon, "horizon")
    steps = plan_steps(frame, train, horizon_p, start, end)
    built = [make_model(m, weight=harm, seed=seed) if isinstance(m, str) else m for m in models]
    if not built:
        raise InputError("'models' is empty; pass e.g. naive,prospective.")
    names = [m.name for m in built]
    if len(set(names)) != len(names):
        raise InputError(f"models must differ; received {names}.")
    t = event_days(frame)
    ids = units.assign(frame).to_numpy(dtype=object)
    table = units.frame
    position = pd.Series(np.arange(len(table)), index=table[col.UNIT_ID].astype(object).to_numpy())
    unit = position.reindex(ids).fillna(-1).to_numpy(dtype=np.int64)
    _check_windows(t[unit >= 0], steps)
    harm_values = np.ones(len(frame)) if harm is None else frame[harm].to_numpy(dtype=float)
    state = {"crimes": frame, "units": units, "steps": steps, "models": built, "names": names,
             "t": t, "unit": unit, "areas": table[col.AREA_M2].to_numpy(dtype=float), "harm": harm_values,
             "coverage": covers, "horizon": horizon_p}
    tasks = [(s, m) for s in range(len(steps)) for m in range(len(built))]
    n_workers = min(workers or os.cpu_count() or 1, len(tasks))
    rows: list[dict[str, Any]] = []
    began = time.perf_counter()
    if n_workers <= 1:
        _init(state)
        for done, task in enumerate(tasks, 1):
            rows += _run(task)
            if progress:
                progress(done, len(tasks), names[task[1]])
    else:
        with ProcessPoolExecutor(n_workers, initializer=_init, initargs=(state,)) as pool:
            for done, (task, out) in enumerate(zip(tasks, pool.map(_run, tasks), strict=True), 1):
                rows += out
                if progress:
                    progress(done, len(tasks), names[task[1]])
    logger.info("backtest: %d steps x %d models in %.1f s on %d process(es)",
                len(steps), len(built), time.perf_counter() - began, n_workers)
    meta = {"train": str(Period.parse(train, "train")), "horizon": str(horizon_p), "steps": len(steps),
            "models": {m.name: m.get_params() for m in built}, "units": units.describe(),
            "resolution": resolution(frame), "harm": harm, "seed": seed, "workers": n_workers}
    return BacktestResult(pd.DataFrame(rows), meta, seed=seed)


def _check_windows(t: np.ndarray, steps: list[Step]) -> None:
    """Raise InputError naming the first empty training window or forecast period."""
    for step in steps:
        days = [to_days(v) for v in (step.train_start, step.origin, step.end)]
        for lo, hi, what in ((days[0], days[1], "training window"), (days[1], days[2], "forecast period")):
            if not ((t >= lo) & (t < hi)).any():
                first = step.train_start if what == "training window" else step.origin
                last = step.origin if what == "training window" else step.end
                raise InputError(
                    f"the {what} {first:%Y-%m-%d} to {last:%Y-%m-%d} (step {step.index}) holds no crimes. "
                    "Check for missing months in the data, or move --from/--to to a period with data."
                )
