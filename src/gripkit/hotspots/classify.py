"""Emerging hot spot classification: Gi* per time slice + Mann–Kendall trend -> categories.

Follows ArcGIS Pro's *Emerging Hot Spot Analysis*: each unit
gets a Getis–Ord Gi* z-score and a hot/cold flag in every time slice; the Mann–Kendall test on
its series of z-scores says whether clustering intensifies or diminishes; the pattern of hot
slices and the trend give a category (rules in :func:`classify_trends`).

Three layers, each usable alone:

- :func:`mann_kendall` — vectorised Mann–Kendall trend test (one row per unit);
- :func:`classify_trends` — categories from z-scores and hot/cold masks;
- :func:`emerging` — crimes + units -> counts per slice -> Gi* per slice -> categories.

The workspace job (window, coverage check, month-shuffled null, stored result) is
:func:`gripkit.hotspots.emerging_job.emerging_hotspots`; the method is written up in
``docs/hotspots.md``.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import special

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.hotspots.count import count
from gripkit.hotspots.multiple import adjust_pvalues
from gripkit.progress import Progress, throttled
from gripkit.units.base import Units, check_crimes
from gripkit.validate import fraction, one_of

logger = logging.getLogger("gripkit")

#: Hot spot categories (ArcGIS names without "Hot Spot"); cold ones add the suffix " cold".
HOT_CATEGORIES: tuple[str, ...] = (
    "new",
    "consecutive",
    "intensifying",
    "persistent",
    "diminishing",
    "sporadic",
    "oscillating",
    "historical",
)
CATEGORIES: tuple[str, ...] = (*HOT_CATEGORIES, *(f"{c} cold" for c in HOT_CATEGORIES), "none")
#: Share of slices a unit must be hot in to be intensifying/persistent/diminishing/historical.
MOST = 0.9
#: ArcGIS needs at least 10 time slices; fewer are allowed here but logged.
MIN_SLICES_ADVISED = 10

PERIODS = ("D", "W", "M", "Q", "Y")
#: What the Mann–Kendall trend is tested on: the Gi* z-scores (ArcGIS) or the unit's share of the slice.
TRENDS = ("z", "share")


def mann_kendall(series: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mann–Kendall trend test of each row of ``series`` (units × time), vectorised.

    ``S = Σ_{i<j} sign(x_j − x_i)``; its variance under no trend, corrected for ties, is
    ``Var(S) = [n(n−1)(2n+5) − Σ_g t_g(t_g−1)(2t_g+5)] / 18`` (t_g the size of each group of
    tied values); ``z = (S − sign(S)) / sqrt(Var(S))`` (continuity correction; 0 when
    ``Var(S) = 0``, i.e. a constant row); two-sided ``p = 2 (1 − Φ(|z|))``; ``tau = S / (n(n−1)/2)``
    (Kendall's tau-a, as ArcGIS and pymannkendall report).

    Differences from ``scipy.stats.kendalltau(range(n), x)``: scipy reports tau-b, which equals
    tau-a only without ties; its asymptotic z is ``S / sqrt(Var(S))`` with the same tie-corrected
    variance but no continuity correction; and for small tie-free samples it uses the exact
    distribution. So the p-values agree only approximately.

    Parameters
    ----------
    series : numpy.ndarray
        Finite values, shape ``(units, T)`` (a 1-D array is one unit), ``T >= 2``.

    Returns
    -------
    tau, z, p : numpy.ndarray
        One value per unit.

    Examples
    --------
    >>> tau, z, p = mann_kendall(np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 3.0, 1.0]]))
    >>> tau.tolist()  # S = 6 and -5 of 4*3/2 = 6 pairs
    [1.0, -0.8333333333333334]
    >>> round(float(z[0]), 4)  # (6 - 1) / sqrt(4*3*13/18)
    1.6984
    """
    x = np.asarray(series, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] < 2:
        raise InputError(
            f"'series' must be a units × time array with at least 2 time steps; received shape "
            f"{np.shape(series)}. Pass one row per unit, one column per time slice."
        )
    if not np.isfinite(x).all():
        raise InputError(
            f"'series' must be finite; received {int((~np.isfinite(x)).sum())} NaN/inf value(s). "
            "Fill or drop them first (e.g. Gi* z of an empty slice: 0)."
        )
    n_units, n = x.shape
    s = np.zeros(n_units)
    for i in range(n - 1):  # loop over time (T), vectorised over units and later times
        s += np.sign(x[:, i + 1 :] - x[:, i : i + 1]).sum(axis=1)
    var = (n * (n - 1) * (2 * n + 5) - _tie_term(x)) / 18.0
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(var), 0.0)
    p = 2.0 * special.ndtr(-np.abs(z))  # the normal's survival function, as scipy.stats.norm.sf
    tau = s / (n * (n - 1) / 2.0)
    return tau, z, p


def _tie_term(x: np.ndarray) -> np.ndarray:
    """Σ_g t_g(t_g−1)(2t_g+5) over the groups of tied values of each row."""
    ordered = np.sort(x, axis=1)
    n_units, n = ordered.shape
    new_group = np.ones_like(ordered, dtype=bool)
    new_group[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    group = np.cumsum(new_group, axis=1) - 1 + (np.arange(n_units) * n)[:, None]
    t = np.bincount(group.ravel(), minlength=n_units * n).reshape(n_units, n).astype(float)
    return (t * (t - 1) * (2 * t + 5)).sum(axis=1)


def classify_trends(
    z: np.ndarray,
    hot: np.ndarray,
    *,
    cold: np.ndarray | None = None,
    alpha: float = 0.05,
    trend_correction: str = "fdr_bh",
    trend_series: np.ndarray | None = None,
) -> pd.DataFrame:
    """Emerging hot spot category of each unit from its Gi* z-scores and hot/cold slices.

    Notation per unit over ``T`` slices: ``n_hot`` = number of hot slices; *last* = the final
    slice; *most* = ``n_hot >= 0.9 T``; *trend up/down* = Mann–Kendall on the unit's z-scores
    (NaN z taken as 0) with the adjusted ``trend_q < alpha`` and ``trend_z > 0`` / ``< 0``. Rules, checked in
    this order (ArcGIS Pro "How Emerging Hot Spot Analysis works"):

    - **intensifying**: hot in the last slice, *most*, trend up;
    - **diminishing**: hot in the last slice, *most*, trend down;
    - **persistent**: hot in the last slice, *most*, no significant trend;
    - **historical**: not hot in the last slice, but *most* (ArcGIS: "the most recent time
      period is not hot, but at least ninety percent ... have been");
    - **new**: hot in the last slice and in no earlier slice;
    - **consecutive**: the hot slices form one uninterrupted run of >= 2 slices ending in the last
      slice (never hot before the run), and not *most*;
    - **oscillating**: hot in the last slice, not *most*, and cold in some earlier slice;
    - **sporadic**: hot in the last slice, not *most*, on and off before (i.e. not new or
      consecutive), and never cold;
    - the same eight rules on the cold mask (and on ``-z``) give ``"<name> cold"`` (e.g.
      ``"new cold"``, ``"intensifying cold"`` = getting colder) for units with no hot category;
    - **none**: everything else.

    Deviations/choices: ArcGIS does not say whether *new*/*consecutive* or *oscillating* wins for
    a unit that was cold before turning hot; here new/consecutive win. *Persistent* requires the
    last slice hot (otherwise it is historical), which makes the categories mutually
    exclusive. ArcGIS requires at least 10 slices; fewer are accepted with a log message.

    Parameters
    ----------
    z : numpy.ndarray
        Gi* z-scores, shape ``(units, T)``, ``T >= 2``.
    hot : numpy.ndarray of bool
        Significant hot spot (after the multiple-testing correction) per unit and slice.
    cold : numpy.ndarray of bool, optional
        Significant cold spot per unit and slice; None means no cold spots (then no
        *oscillating* or cold categories occur).
    alpha : float, default 0.05
        Significance level of the Mann–Kendall trend.
    trend_correction : {"fdr_bh", "holm", "bonferroni", "none"}, default "fdr_bh"
        Multiple-testing adjustment of the trend p-values over the units whose category
        depends on the trend (hot, or cold, in the last slice and in >= 90% of slices:
        :func:`trend_family`); *trend up/down* compares the adjusted ``trend_q`` with ``alpha``.
        ``trend_q`` is NaN for the other units (their trend decides nothing).
    trend_series : numpy.ndarray, optional
        What the Mann–Kendall test runs on, shaped like ``z``; default ``z`` itself (ArcGIS).
        :func:`emerging` passes each unit's share of the slice's crimes with ``trend="share"``.

    Returns
    -------
    pandas.DataFrame
        One row per unit (positional index): ``category`` (ordered categorical of
        :data:`CATEGORIES`), ``trend_tau``, ``trend_z``, ``trend_p``, ``trend_q``,
        ``n_hot_slices``, ``n_cold_slices``.

    Examples
    --------
    >>> z = np.array([[0.0] * 9 + [3.0], [3.0] * 10])
    >>> hot = z > 1.96
    >>> classify_trends(z, hot)["category"].tolist()
    ['new', 'persistent']
    """
    alpha = fraction("alpha", alpha)
    zz = np.asarray(z, dtype=float)
    hot_m = _mask("hot", hot, zz.shape)
    cold_m = np.zeros_like(hot_m) if cold is None else _mask("cold", cold, zz.shape)
    if zz.ndim != 2 or zz.shape[1] < 2:
        raise InputError(
            f"'z' must be a units × time array with at least 2 slices; received shape {zz.shape}."
        )
    if (hot_m & cold_m).any():
        raise InputError(
            f"a unit cannot be hot and cold in the same slice; received {int((hot_m & cold_m).sum())} "
            "such cell(s). Derive both masks from the same z-scores."
        )
    if zz.shape[1] < MIN_SLICES_ADVISED:
        logger.info(
            "emerging hot spots from %d time slices; ArcGIS requires at least %d",
            zz.shape[1],
            MIN_SLICES_ADVISED,
        )
    series = zz if trend_series is None else np.asarray(trend_series, dtype=float)
    if series.shape != zz.shape:
        raise InputError(f"'trend_series' must be shaped like z {zz.shape}; received shape {series.shape}.")
    tau, tz, tp = mann_kendall(np.nan_to_num(series, nan=0.0))
    tested = trend_family(hot_m) | trend_family(cold_m)
    tq = np.full(len(tp), np.nan)
    if tested.any():
        tq[tested] = adjust_pvalues(tp[tested], trend_correction)
    significant = tested & (np.nan_to_num(tq, nan=1.0) < alpha)
    up, down = significant & (tz > 0), significant & (tz < 0)
    labels = _patterns(hot_m, cold_m, up, down)
    cold_labels = _patterns(cold_m, hot_m, down, up)
    use_cold = (labels == "none") & (cold_labels != "none")
    labels[use_cold] = np.char.add(cold_labels[use_cold].astype(str), " cold").astype(object)
    return pd.DataFrame(
        {
            "category": pd.Categorical(labels, categories=list(CATEGORIES), ordered=True),
            "trend_tau": tau,
            "trend_z": tz,
            "trend_p": tp,
            "trend_q": tq,
            "n_hot_slices": hot_m.sum(axis=1).astype(np.int64),
            "n_cold_slices": cold_m.sum(axis=1).astype(np.int64),
        }
    )


def trend_family(on: np.ndarray) -> np.ndarray:
    """Units whose category depends on their trend: on in the last slice and in >= 90% of slices.

    Only these can be intensifying or diminishing (hot or cold), so only their Mann–Kendall
    p-values form the multiple-testing family. Testing every unit would put thousands of empty
    cells in it whose z-scores all move together (their Gi* z is ``−x̄ k / (S ...)``, the same
    function of each slice's mean and spread), so one common wobble rejects or accepts them all.
    """
    return on[:, -1] & (on.sum(axis=1) * 10 >= 9 * on.shape[1])  # >= 90%, exact integer arithmetic


def _mask(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value)
    if arr.shape != shape or arr.dtype != bool:
        raise InputError(
            f"'{name}' must be a boolean array shaped like z {shape}; received dtype {arr.dtype}, "
            f"shape {arr.shape}. Pass e.g. gi_q < 0.05 & gi_z > 0."
        )
    return arr


def _patterns(on: np.ndarray, opposite: np.ndarray, up: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Hot-spot rules of :func:`classify_trends` applied to the mask ``on``."""
    n = on.shape[1]
    n_on = on.sum(axis=1)
    last = on[:, -1]
    most = n_on * 10 >= 9 * n  # >= 90% of slices (as trend_family), in exact integer arithmetic
    # length of the run of "on" slices ending in the last slice
    off_idx = np.where(~on, np.arange(n), -1).max(axis=1)
    run = n - 1 - off_idx
    only_run = n_on == run  # never on before the final run
    earlier_opposite = opposite[:, :-1].any(axis=1)
    rules = [
        (last & most & up, "intensifying"),
        (last & most & down, "diminishing"),
        (last & most, "persistent"),
        (~last & most, "historical"),
        (last & only_run & (run == 1), "new"),
        (last & only_run & (run >= 2), "consecutive"),
        (last & earlier_opposite, "oscillating"),
        (last, "sporadic"),
    ]
    return np.select([r[0] for r in rules], [r[1] for r in rules], default="none").astype(object)


def emerging(
    crimes: pd.DataFrame,
    units: Units,
    *,
    period: str = "M",
    weights: str | None = None,
    alpha: float = 0.05,
    distance: float | None = None,
    correction: str = "fdr_bh",
    p_values: str = "permutation",
    time_step: int = 1,
    trend: str = "z",
) -> gpd.GeoDataFrame:
    """Emerging hot spot analysis: Gi* per time slice, Mann–Kendall trend, category per unit.

    Crimes are split into slices of ``period`` (every slice from the first to the last, empty
    ones included) by ``occurred_at`` when that column has no missing value, else by ``month``;
    each slice is counted with :func:`gripkit.hotspots.count` and tested with
    :func:`gripkit.hotspots.gistar.gistar`. A unit is *hot* in a slice where Gi* marks it hot,
    *cold* where ``gi_q < alpha`` and ``gi_z < 0``. A slice without crimes (or with the same
    value in every unit) has no defined Gi*: z = 0, neither hot nor cold. Categories:
    :func:`classify_trends`. The loop is over slices, not units.

    Parameters
    ----------
    crimes : pandas.DataFrame
        Canonical crime frame with ``x``/``y`` (or what ``units`` needs) and ``month`` or
        ``occurred_at``; ``harm`` when ``weights="harm"``. Not modified.
    units : gripkit.units.Units
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Slice length (pandas period alias). police.uk data only supports "M" and longer.
    weights : {None, "harm"}, default None
        What Gi* tests: None the number of crimes, ``"harm"`` their harm.
    alpha : float, default 0.05
        Significance level of Gi* (after correction) and of the trend.
    distance, correction, p_values
        Passed to :func:`~gripkit.hotspots.gistar.gistar` (neighbourhood band in metres;
        multiple-testing correction within each slice, also applied to the trend p-values of
        the units whose category depends on the trend; exact permutation p-values by default,
        ``"normal"`` selectable and recorded in the parameters).
    time_step : int, default 1
        Slices in each bin's space-time neighbourhood: the bin's own slice and the
        ``time_step − 1`` slices before it (fewer at the start of the series).
    trend : {"z", "share"}, default "z"
        What the Mann–Kendall test runs on: each unit's Gi* z-scores (ArcGIS), or its share of
        the slice's crimes (or harm), which a force-wide rise or fall leaves unchanged.

    Notes
    -----
    Space-time neighbourhood of the bin (unit i, slice t): the unit and its spatial neighbours
    (the Gi* neighbourhood) in slices ``t − time_step + 1 .. t``. The bin's value is the sum of
    its unit's crimes over those slices, and Gi* compares it with the same sums of every other
    unit (exact permutation null: those sums permuted over the units). ArcGIS's
    *Neighborhood Time Step* is "the number of time-step intervals to include in the analysis
    neighborhood"; ``time_step=1`` (the default) uses the bin's own slice only. With
    ``time_step > 1`` consecutive bins share crimes, so each unit's z-scores are autocorrelated
    and the Mann–Kendall test (which assumes independent slices) finds trends too easily: keep 1
    for the trend categories. Each slice is tested against its own units, so a force-wide change
    in the number of crimes moves every unit's slice alike and is not, by itself, a local hot spot.

    Returns
    -------
    geopandas.GeoDataFrame
        The :func:`~gripkit.hotspots.count` frame over the whole period plus ``category``,
        ``trend_z``, ``trend_p``, ``trend_q``, ``n_hot_slices``, ``n_cold_slices``. Every slice from the
        first to the last is tested, empty ones included, so ``n_hot_slices`` counts out of
        that many.

    Examples
    --------
    >>> from gripkit.units import GridUnits
    >>> crimes = pd.DataFrame({"x": [10.0, 20.0], "y": [10.0, 20.0],
    ...                        "month": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    >>> result = emerging(crimes, GridUnits(100, (0, 0, 299, 299)))  # doctest: +SKIP
    """
    return _emerging(
        crimes,
        units,
        period=period,
        weights=weights,
        alpha=alpha,
        distance=distance,
        correction=correction,
        p_values=p_values,
        time_step=time_step,
        trend=trend,
    )[0]


def _emerging(
    crimes: pd.DataFrame,
    units: Units,
    *,
    period: str = "M",
    weights: str | None = None,
    alpha: float = 0.05,
    distance: float | None = None,
    correction: str = "fdr_bh",
    p_values: str = "permutation",
    window: tuple[Any, Any] | None = None,
    time_step: int = 1,
    trend: str = "z",
    progress: Progress | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`emerging` and its parameters: ``slices`` (period labels), ``period``, ``weights``, ``alpha``.

    ``window`` (first, last) sets the slices (every period from first to last, crimes outside
    it dropped) instead of the crimes' own first and last periods. ``progress(done, slices, label)``
    (:data:`gripkit.progress.Progress`) is called after each slice (at most about 100 times).
    """
    from gripkit.hotspots.gistar import gistar  # lazy: built in parallel

    one_of("period", period, PERIODS)
    if weights is not None:
        one_of("weights", weights, (col.HARM,))
    value = col.CRIMES if weights is None else weights
    alpha = fraction("alpha", alpha)
    steps = _time_step(time_step)
    one_of("trend", trend, TRENDS)
    frame = check_crimes(crimes, ())
    slices = _slices(frame, period)
    if window is not None:
        start, end = (pd.Period(w, freq=period) for w in window)
        inside = np.asarray((slices >= start) & (slices <= end))
        frame, slices = frame[inside], slices[inside]
        labels = pd.period_range(start, end, freq=period)
    else:
        labels = pd.period_range(slices.min(), slices.max(), freq=period)
    total = count(frame, units)
    ids = total[col.UNIT_ID].astype(object)
    z = np.zeros((len(total), len(labels)))
    hot = np.zeros(z.shape, dtype=bool)
    cold = np.zeros(z.shape, dtype=bool)
    share = np.zeros(z.shape)
    codes = pd.Categorical(slices, categories=labels).codes
    update = throttled(progress, len(labels))
    for k in range(len(labels)):
        if update is not None and k:
            update(k, len(labels), str(labels[k]))  # k slices done, working on slice k
        inside = (codes >= 0) & (codes <= k) & (codes > k - steps)
        if not inside.any():
            continue  # no crimes in the bin's slices: z = 0, neither hot nor cold
        part = count(frame[inside], units)
        own = part.set_index(col.UNIT_ID)[value].reindex(pd.Index(ids)).to_numpy(dtype=float, na_value=0.0)
        share[:, k] = own / own.sum() if own.sum() > 0 else 0.0
        if part[value].nunique() < 2:
            continue  # Gi* undefined for a constant slice
        gi = gistar(
            part,
            units,
            weights=weights,
            alpha=alpha,
            distance=distance,
            correction=correction,
            p_values=p_values,
            null_runs=0,
        )
        gi = gi.set_index(col.UNIT_ID)
        gi = gi.reindex(pd.Index(ids, dtype=gi.index.dtype))
        z[:, k] = gi["gi_z"].to_numpy(dtype=float, na_value=np.nan)
        hot[:, k] = gi["hot"].fillna(False).to_numpy(dtype=bool)
        sig = gi["gi_q"].to_numpy(dtype=float, na_value=np.nan) < alpha
        cold[:, k] = sig & (z[:, k] < 0)
    if update is not None:
        update(len(labels), len(labels), "trends")
    trends = classify_trends(
        z,
        hot,
        cold=cold,
        alpha=alpha,
        trend_correction=correction,
        trend_series=share if trend == "share" else None,
    )
    result = total.copy()
    for name in ("category", "trend_z", "trend_p", "trend_q", "n_hot_slices", "n_cold_slices"):
        result[name] = trends[name].to_numpy()
    result["category"] = pd.Categorical(result["category"], categories=list(CATEGORIES), ordered=True)
    meta = {
        "slices": [str(p) for p in labels],
        "period": period,
        "weights": weights,
        "alpha": alpha,
        "correction": correction,
        "p_values": p_values,
        "time_step": steps,
        "trend": trend,
    }
    return result, meta


def _time_step(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(
            f"'time_step' must be a whole number of slices >= 1; received {value!r}. Pass 1 (the "
            "bin's own slice) or e.g. 2 (the slice and the one before)."
        )
    return int(value)


def slice_source(frame: pd.DataFrame) -> str | None:
    """The column crimes are sliced by: ``occurred_at`` if complete, else ``month`` if complete."""
    for name in (col.OCCURRED_AT, col.MONTH):
        if name in frame.columns and frame[name].notna().all():
            return name
    return None


def _slices(frame: pd.DataFrame, period: str) -> pd.PeriodIndex:
    """The time slice of each crime: ``occurred_at`` if complete, else ``month``."""
    source = slice_source(frame)
    if source == col.MONTH and period in ("D", "W"):
        raise InputError(
            f"period {period!r} needs offence dates, but crimes have only 'month' (police.uk "
            "publishes the month only). Use period='M', 'Q' or 'Y', or force data with occurred_at."
        )
    if source is None:
        raise InputError(
            "crimes need a complete 'occurred_at' or 'month' column to be split into time slices; "
            f"received columns {', '.join(map(str, frame.columns))} (or with missing values)."
        )
    return pd.PeriodIndex(pd.to_datetime(frame[source]), freq=period)
