"""Rolling-origin backtest: fit on the window, predict the next period, score, slide.

For each forecast period ``[origin, origin + horizon)`` (origins every ``horizon`` over
``months``, the first and last forecast periods) every model is fitted on the crimes of
``[origin − train, origin)``, scores the units, and is measured at each coverage by
:func:`gripkit.forecast.metrics.score`. Steps × models run on a standard-library process pool
when there is more than one worker.

:func:`backtest` is the job: given a workspace it selects the crimes (the filters of
``gripkit hotspots``), applies the harm table, builds the grid (:func:`grid_for`), runs, and stores
the :class:`~gripkit.forecast.report.BacktestResult` (kind ``"backtest"``) for the report and the
dashboard; given a crime frame and units it runs on those.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
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
from gripkit.harm import HarmTable, apply_harm, load_harm_table
from gripkit.hotspots.combined import ED_ONLY, VIOLENCE, combine_sources
from gripkit.hotspots.find import select_crimes
from gripkit.months import parse_window
from gripkit.progress import Progress
from gripkit.units.base import Units, check_crimes
from gripkit.units.grid import GridUnits
from gripkit.validate import fraction, one_of
from gripkit.workspace import Workspace

logger = logging.getLogger("gripkit")
MODEL_NAMES = ("naive", "naiveK (e.g. naive3: mean of last 3 periods)", "kde", "prospective", "etas")
#: ``weights="auto"``: weigh the models by harm when a harm table is applied, else count crimes.
AUTO = "auto"


def make_model(name: str, *, weights: str | None = None, seed: int = 0) -> Forecaster:
    """Build a forecaster from its name.

    ``naive`` (last period), ``naiveK`` (mean of the last K periods), ``kde``, ``prospective``,
    ``etas`` (alias ``sepp``). ``weights`` (a column, e.g. ``"harm"``) weights the crimes of every
    model but ``etas``, which models counts.

    >>> make_model("naive3")
    Naive(k=3, weights=None)
    >>> make_model("prospective", weights="harm").get_params()["weights"]
    'harm'
    """
    key = name.strip().lower()
    match = re.fullmatch(r"naive(\d*)", key)
    if match:
        return Naive(int(match.group(1) or 1), weights=weights)
    if key == "kde":
        return RetrospectiveKDE(weights=weights)
    if key == "prospective":
        return ProspectiveHotspot(weights=weights)
    if key in ("etas", "sepp"):
        return SEPP(seed=seed)
    raise InputError(f"'models' names unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}.")


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
                f"so weekly or daily periods cannot be scored. Pass '{name}' in months (e.g. {name}='1M'), "
                "or use data with occurred_at date-times."
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
            f"before the data's first date {first:%Y-%m-%d}. Start 'months' at {earliest:%Y-%m} or later, "
            "or pass a shorter 'train'."
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
            f"{horizon_p.add(earliest, 1):%Y-%m-%d}, and 'months' asks for {start or 'the first'} to "
            f"{end or 'the last'}. Use a shorter 'train' or 'horizon', or ingest more months."
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


def select_backtest_crimes(
    ws: Workspace,
    *,
    crime_types: Sequence[str] | None = None,
    serious_violence: bool = False,
    force: str | None = None,
    sv_table: str | Path | None = None,
    harm: str | Path | None = col.DEFAULT_HARM_TABLE,
    sources: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, HarmTable | None]:
    """The crimes a backtest runs on, with their ``harm``, and the harm table applied.

    The filters of ``gripkit hotspots`` (:func:`gripkit.hotspots.find.select_crimes`, ``sources``
    the record sources, None all combined; police and ED records together count a matched pair once,
    :func:`gripkit.hotspots.combined.combine_sources`, recorded in ``attrs["matching"]``); crimes
    without coordinates are dropped (no unit can score them). ``harm`` is a table name, a CSV path,
    or ``"none"`` (every crime weighs 1). All months are read: the first forecast period needs the
    training window before it.

    >>> from gripkit import datasets
    >>> from gripkit.ingestion import ingest
    >>> ws = Workspace(":memory:")
    >>> _ = ingest(datasets.bedfordshire_street_files()[:1], ws, store=False)
    >>> crimes, table = select_backtest_crimes(ws, crime_types=["Robbery"])
    >>> table.name, sorted(crimes["harm"].unique().tolist()), bool(crimes["x"].notna().all())
    ('cchi', [365.0], True)
    """
    crimes = select_crimes(
        ws, crime_types=list(crime_types) if crime_types else None, serious_violence=serious_violence,
        force=force, sv_table=sv_table, sources=tuple(sources) if sources else None,
    )
    crimes, matching = combine_sources(crimes)  # a police-ED pair counted once, as in gripkit hotspots
    crimes = crimes.drop(columns=[c for c in (ED_ONLY, VIOLENCE) if c in crimes.columns])
    crimes = crimes[crimes[col.X].notna() & crimes[col.Y].notna()].reset_index(drop=True)
    table = load_harm_table(harm)
    crimes[col.HARM] = apply_harm(crimes, table)
    if matching:
        crimes.attrs["matching"] = matching
    return crimes, table


def forecast_window(months: Any) -> tuple[str | None, str | None]:
    """``months`` (``"FROM..TO"``, one month, or a ``(first, last)`` pair) as the first and last
    forecast-period starts: ``"2023-05"`` -> ``"2023-05-01"``; dates and date-times pass through.

    >>> forecast_window("2022-05..2024-04")
    ('2022-05-01', '2024-04-01')
    >>> forecast_window(("2019-03-04", None))
    ('2019-03-04', None)
    >>> forecast_window(None)
    (None, None)
    """
    if months is None or months == "":
        return None, None
    pair = parse_window(months) if isinstance(months, str) else months
    try:
        first, last = pair  # type: ignore[misc]
    except (TypeError, ValueError):
        raise InputError(
            f"'months' must be 'FROM..TO' or a (first, last) pair of forecast periods; received {months!r}. "
            "Pass e.g. '2022-05..2024-04'."
        ) from None

    def start(value: Any) -> str | None:
        if value is None or value == "":
            return None
        text = value.isoformat() if hasattr(value, "isoformat") else str(value).strip()
        return f"{text}-01" if len(text) == 7 else text

    return start(first), start(last)


def backtest(
    data: Workspace | pd.DataFrame,
    units: Units | None = None,
    *,
    models: Sequence[str | Forecaster] = ("naive", "prospective"),
    train: str | Period = "12M",
    horizon: str | Period = "1M",
    coverage: Sequence[float] = (0.01, 0.05),
    months: str | tuple[Any, Any] | None = None,
    weights: str | None = AUTO,
    harm: str | Path | None = col.DEFAULT_HARM_TABLE,
    crime_types: Sequence[str] | None = None,
    serious_violence: bool = False,
    force: str | None = None,
    sv_table: str | Path | None = None,
    unit: str = "grid",
    cell_size: float | None = None,
    workers: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    store: bool = True,
    allow_gaps: bool = False,
    sources: Sequence[str] | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation of forecasters on the same units and periods.

    Parameters
    ----------
    data : Workspace or pandas.DataFrame
        A workspace: its crimes are selected (``crime_types``, ``serious_violence``, ``force``),
        weighed by the ``harm`` table, scored on a grid (:func:`grid_for`) and the result stored.
        Or a canonical crime frame with ``x``/``y`` in the units' CRS and ``month`` and/or
        ``occurred_at`` (crimes in no unit are neither fitted nor scored).
    units : Units, optional
        Units scored and flagged (grid cells for kde, prospective and etas); default
        :func:`grid_for` the crimes with ``cell_size``.
    models : sequence of str or Forecaster
        Names for :func:`make_model` or ready-made forecasters.
    train, horizon : str or Period
        Training window and forecast period, e.g. ``"12M"`` and ``"1M"`` (``"1W"`` needs timestamps).
    coverage : sequence of float
        Fractions of the area to flag, e.g. ``(0.01, 0.05)``.
    months : str or (first, last), optional
        The first and last forecast periods, ``"2022-05..2024-04"`` (either end may be open; dates
        such as ``("2019-03-04", None)`` for weekly periods); default from the end of the first
        training window to the last whole period of data.
    weights : str or None, default "auto"
        Column weighting the crimes of every model but etas (e.g. ``"harm"``); None (or
        ``"crimes"``) counts crimes;
        ``"auto"`` weighs by harm when a harm table is applied to a workspace's crimes (as
        ``gripkit.HotspotRequest`` decides for Gi* and KDE), else counts.
    harm : str, path or None, default "cchi"
        Workspace only: the harm table applied to the crimes (``"none"``: each crime weighs 1).
        ``harm_hit_rate`` is the share of the test period's ``harm`` column in flagged units (of the
        ``weights`` column for a frame without one; each crime 1 when neither).
    crime_types, serious_violence, force, sv_table, sources
        Workspace only: the crime selection of :func:`gripkit.hotspots.find.select_crimes`
        (``sources``: record sources such as ``("police",)`` or ``("health",)``; None: all combined).
    unit : {"grid"}
        The unit kind (the raster models score grid cells).
    cell_size : float, optional
        Grid cell size in metres when ``units`` is not given (default: Chainey's rule, announced).
    workers : int, optional
        Processes (default: the CPU count; 1 runs in this process).
    seed : int, default 0
        Seed for the stochastic parts (etas' placement of month-only crimes; the verdict's bootstrap).
    progress : callable, optional
        Called as ``progress(done, total, name)`` after each model × step.
    store : bool, default True
        With a workspace: store the result (:meth:`~gripkit.workspace.Workspace.save_result`).
    allow_gaps : bool, default False
        With a workspace, every force read (``force``, else every force it holds) must hold every
        month from the first training month to the last forecast period
        (:func:`gripkit.coverage.check_window`): a missing month refuses (InputError naming the
        force, its months and the window) unless ``allow_gaps``, which goes on and records the gap
        in ``meta["data_coverage"]`` and the summary.

    Returns
    -------
    BacktestResult
        ``.table``: one row per model × step × coverage (``model, step, origin, train_start,
        coverage, area_share, units_flagged, crimes, hits, hit_rate, pai, pei, rri,
        harm_hit_rate, fit_seconds``); ``.summary()``, ``.means()``, ``.verdict()``, ``.plot()``.

    Examples
    --------
    >>> from gripkit.units import GridUnits
    >>> rng = np.random.default_rng(0)
    >>> crimes = pd.DataFrame({"x": rng.uniform(0, 1000, 300), "y": rng.uniform(0, 1000, 300),
    ...     "month": pd.to_datetime(rng.choice(pd.date_range("2022-01-01", periods=6, freq="MS"), 300))})
    >>> result = backtest(crimes, GridUnits(100, (0, 0, 999, 999)), train="3M", coverage=[0.1], workers=1)
    >>> result.table[["model", "step", "coverage"]].drop_duplicates().shape[0]
    6
    >>> result.meta["months"]
    {'first': '2022-04', 'last': '2022-06'}
    """
    one_of("unit", unit, ("grid",))
    if weights is not None and not isinstance(weights, str):
        raise InputError(f"'weights' must be a column name, 'auto', 'crimes' or None; received {weights!r}.")
    weights = None if weights == col.CRIMES else weights
    first, last = forecast_window(months)
    selection: dict[str, Any] = {}
    table: HarmTable | None = None
    if isinstance(data, Workspace):
        frame, table = select_backtest_crimes(
            data, crime_types=crime_types, serious_violence=serious_violence, force=force,
            sv_table=sv_table, harm=harm, sources=sources,
        )
        selection = {"crime_types": list(crime_types) if crime_types else None,
                     "serious_violence": serious_violence, "force": force, "workspace": data.path,
                     "sources": list(sources) if sources else None}
        if frame.attrs.get("matching"):
            found = frame.attrs["matching"]
            selection["matching"] = {"dropped": found["dropped"], "summary": found["summary"]}
        used = (col.HARM if table is not None else None) if weights == AUTO else weights
    else:
        given = {"crime_types": crime_types, "serious_violence": serious_violence, "force": force,
                 "sv_table": sv_table, "sources": sources}
        passed = [name for name, value in given.items() if value]
        if passed:
            raise InputError(
                f"{', '.join(repr(p) for p in passed)} select a workspace's crimes; received a crime frame. "
                "Filter the frame first, or pass the workspace."
            )
        frame = check_crimes(data, (col.X, col.Y))
        used = None if weights == AUTO else weights
    coverage_check = None
    if isinstance(data, Workspace):  # every force read must hold every month the backtest uses
        coverage_check = _check_coverage(data, frame, train, horizon, first, last, force, allow_gaps)
    grid = units if units is not None else grid_for(frame, cell_size)
    result = run_backtest(
        frame, grid, models=models, train=train, horizon=horizon, coverage=coverage, start=first,
        end=last, weights=used, workers=workers, seed=seed, progress=progress,
    )
    result.meta.update(
        selection,
        harm_table=table.name if table is not None else None,
        harm_sha256=table.sha256 if table is not None else None,
    )
    if coverage_check is not None:
        result.meta["data_coverage"] = coverage_check.to_dict()
        if coverage_check.note():
            result.meta["coverage_note"] = coverage_check.note()
    if isinstance(data, Workspace) and store:
        data.save_result(result)
    return result


def _check_coverage(ws: Workspace, frame: pd.DataFrame, train: str | Period, horizon: str | Period,
                    first: Any, last: Any, force: str | None, allow_gaps: bool) -> Any:
    """The coverage check of the months the backtest reads (first training month .. last period)."""
    from gripkit.coverage import check_window

    steps = plan_steps(frame, train, horizon, first, last)
    start = steps[0].train_start
    end = steps[-1].end - pd.Timedelta(days=1)  # ``end`` is exclusive
    return check_window(ws, start.date(), end.date(), forces=[force] if force else None,
                        allow_gaps=allow_gaps, what="the backtest", window_param="months")


def run_backtest(
    crimes: pd.DataFrame,
    units: Units,
    *,
    models: Sequence[str | Forecaster],
    train: str | Period,
    horizon: str | Period,
    coverage: Sequence[float],
    start: Any,
    end: Any,
    weights: str | None,
    workers: int | None,
    seed: int,
    progress: Progress | None,
) -> BacktestResult:
    """The rolling-origin loop of :func:`backtest` on a crime frame and units (nothing stored)."""
    frame = check_crimes(crimes, (col.X, col.Y))
    covers = [fraction("coverage", c) for c in coverage]
    if not covers:
        raise InputError("'coverage' is empty; pass at least one fraction such as 0.05.")
    horizon_p = Period.parse(horizon, "horizon")
    steps = plan_steps(frame, train, horizon_p, start, end)
    built = [make_model(m, weights=weights, seed=seed) if isinstance(m, str) else m for m in models]
    if not built:
        raise InputError("'models' is empty; pass e.g. models=['naive', 'prospective'].")
    names = [m.name for m in built]
    if len(set(names)) != len(names):
        raise InputError(f"'models' must differ; received {names}.")
    t = event_days(frame)
    ids = units.assign(frame).to_numpy(dtype=object)
    table = units.frame
    position = pd.Series(np.arange(len(table)), index=table[col.UNIT_ID].astype(object).to_numpy())
    unit = position.reindex(ids).fillna(-1).to_numpy(dtype=np.int64)
    _check_windows(t[unit >= 0], steps)
    state = {"crimes": frame, "units": units, "steps": steps, "models": built, "names": names,
             "t": t, "unit": unit, "areas": table[col.AREA_M2].to_numpy(dtype=float),
             "harm": _harm_values(frame, weights), "coverage": covers, "horizon": horizon_p}
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
    monthly = resolution(frame) == "month"
    stamp = "%Y-%m" if monthly and horizon_p.unit == "M" else "%Y-%m-%d"
    described = units.describe()
    meta = {"models": {m.name: m.get_params() for m in built}, "train": str(Period.parse(train, "train")),
            "horizon": str(horizon_p), "coverage": covers, "steps": len(steps),
            "months": {"first": f"{steps[0].origin:{stamp}}", "last": f"{steps[-1].origin:{stamp}}"},
            "resolution": resolution(frame), "weights": weights, "crimes": len(frame),
            "cell_size_m": described.get("cell_size_m"), "units": described, "seed": seed,
            "workers": n_workers}
    return BacktestResult(pd.DataFrame(rows), meta, seed=seed)


def _harm_values(frame: pd.DataFrame, weights: str | None) -> np.ndarray:
    """Per-crime harm for ``harm_hit_rate``: the ``harm`` column, else ``weights``, else 1 each."""
    source = col.HARM if col.HARM in frame.columns else weights
    if source is None:
        return np.ones(len(frame))
    return pd.to_numeric(frame[source]).to_numpy(dtype=float)


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
                    "Check for missing months in the data, or move 'months' to a period with data."
                )
