"""Emerging hot spot classification: Gi* per time slice + Mann–Kendall trend -> categories.

Follows ArcGIS Pro's *Emerging Hot Spot Analysis*: each unit
gets a Getis–Ord Gi* z-score and a hot/cold flag in every time slice; the Mann–Kendall test on
its series of z-scores says whether clustering intensifies or diminishes; the pattern of hot
slices and the trend give a category (rules in :func:`classify_trends`).

Three layers, each usable alone:

- :func:`mann_kendall` — vectorised Mann–Kendall trend test (one row per unit);
- :func:`classify_trends` — categories from z-scores and hot/cold masks;
- :func:`emerging` — crimes + units -> counts per slice -> Gi* per slice -> categories.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import special

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.hotspots.count import count
from gripkit.hotspots.multiple import adjust_pvalues
from gripkit.results import ResultMixin, to_jsonable
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
) -> pd.DataFrame:
    """Emerging hot spot category of each unit from its Gi* z-scores and hot/cold slices.

    Notation per unit over ``T`` slices: ``n_hot`` = number of hot slices; *last* = the final
    slice; *most* = ``n_hot >= 0.9 T``; *trend up/down* = Mann–Kendall on the unit's z-scores
    (NaN z taken as 0) with ``trend_p < alpha`` and ``trend_z > 0`` / ``< 0``. Rules, checked in
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
        Multiple-testing adjustment of the trend p-values over all units (one trend test per
        unit); *trend up/down* compares the adjusted ``trend_q`` with ``alpha``.

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
            zz.shape[1], MIN_SLICES_ADVISED,
        )
    tau, tz, tp = mann_kendall(np.nan_to_num(zz, nan=0.0))
    tq = adjust_pvalues(tp, trend_correction)
    up, down = (tq < alpha) & (tz > 0), (tq < alpha) & (tz < 0)
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
    most = n_on * 10 >= 9 * n  # >= 90% of slices, in exact integer arithmetic
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
        multiple-testing correction within each slice, also applied to the trend p-values over
        the units; exact permutation p-values by default).

    Notes
    -----
    Space-time neighbourhood: ArcGIS's *neighbourhood time step* of 1, i.e. each bin's
    neighbourhood is its unit and the unit's spatial neighbours in the same slice, and each
    slice is tested against its own values (the slice's values permuted over the units). Slices
    are not pooled, so a force-wide rise or fall in crime is not read as a local trend.

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
        crimes, units, period=period, weights=weights, alpha=alpha, distance=distance,
        correction=correction, p_values=p_values,
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
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`emerging` and its parameters: ``slices`` (period labels), ``period``, ``weights``, ``alpha``."""
    from gripkit.hotspots.gistar import gistar  # lazy: built in parallel

    one_of("period", period, PERIODS)
    if weights is not None:
        one_of("weights", weights, (col.HARM,))
    value = col.CRIMES if weights is None else weights
    alpha = fraction("alpha", alpha)
    frame = check_crimes(crimes, ())
    slices = _slices(frame, period)
    labels = pd.period_range(slices.min(), slices.max(), freq=period)
    total = count(frame, units)
    ids = total[col.UNIT_ID].astype(object)
    z = np.zeros((len(total), len(labels)))
    hot = np.zeros(z.shape, dtype=bool)
    cold = np.zeros(z.shape, dtype=bool)
    codes = pd.Categorical(slices, categories=labels).codes
    for k in np.unique(codes[codes >= 0]):
        part = count(frame[codes == k], units)
        if part[value].nunique() < 2:
            continue  # Gi* undefined for a constant slice
        gi = gistar(
            part, units, weights=weights, alpha=alpha, distance=distance, correction=correction,
            p_values=p_values, null_runs=0,
        )
        gi = gi.set_index(col.UNIT_ID)
        gi = gi.reindex(pd.Index(ids, dtype=gi.index.dtype))
        z[:, k] = gi["gi_z"].to_numpy(dtype=float, na_value=np.nan)
        hot[:, k] = gi["hot"].fillna(False).to_numpy(dtype=bool)
        sig = gi["gi_q"].to_numpy(dtype=float, na_value=np.nan) < alpha
        cold[:, k] = sig & (z[:, k] < 0)
    trends = classify_trends(z, hot, cold=cold, alpha=alpha, trend_correction=correction)
    result = total.copy()
    for name in ("category", "trend_z", "trend_p", "trend_q", "n_hot_slices", "n_cold_slices"):
        result[name] = trends[name].to_numpy()
    result["category"] = pd.Categorical(result["category"], categories=list(CATEGORIES), ordered=True)
    meta = {
        "slices": [str(p) for p in labels], "period": period, "weights": weights, "alpha": alpha,
        "correction": correction, "p_values": p_values, "time_step": 1,
    }
    return result, meta


def month_shuffled_counts(
    crimes: pd.DataFrame,
    units: Units,
    *,
    runs: int = 2,
    seed: int | None = 0,
    **kwargs: Any,
) -> dict[str, float]:
    """Mean category counts of :func:`emerging` on ``runs`` month-shuffled copies of ``crimes``.

    The null: each crime keeps its place (and harm) but the months are permuted among the crimes
    (``numpy.random.default_rng(seed)``), so every unit's total and every month's total stay the
    same while any change of a place over time is destroyed. Categories that need a change over
    time (new, consecutive, intensifying, diminishing, oscillating, historical, sporadic) should
    be near zero under it; persistent hot spots, being stable, legitimately remain.
    ``kwargs`` go to :func:`emerging`.
    """
    rng = np.random.default_rng(seed)
    totals: Counter[str] = Counter()
    source = col.OCCURRED_AT if col.OCCURRED_AT in crimes.columns and crimes[col.OCCURRED_AT].notna().all() \
        else col.MONTH
    for _ in range(runs):
        shuffled = crimes.assign(**{source: rng.permutation(crimes[source].to_numpy())})
        result, _ = _emerging(shuffled, units, **kwargs)
        totals.update(result["category"].astype(str).value_counts().to_dict())
    return {c: totals.get(c, 0) / runs for c in CATEGORIES} if runs else {}


def _slices(frame: pd.DataFrame, period: str) -> pd.PeriodIndex:
    """The time slice of each crime: ``occurred_at`` if complete, else ``month``."""
    source = None
    if col.OCCURRED_AT in frame.columns and frame[col.OCCURRED_AT].notna().all():
        source = col.OCCURRED_AT
    elif col.MONTH in frame.columns and frame[col.MONTH].notna().all():
        source = col.MONTH
        if period in ("D", "W"):
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


@dataclass
class EmergingResult(ResultMixin):
    """Emerging hot spot categories per unit, with the month-shuffled null's counts beside them.

    Attributes
    ----------
    units
        The layer of :func:`emerging` (one row per unit).
    null_counts
        Mean count per category over the month-shuffled runs (:func:`month_shuffled_counts`).
    meta
        Provenance: unit, cell size, window, harm table and SHA-256, weights, slices, alpha,
        correction, p-values, time step, null runs and seed.
    """

    kind: ClassVar[str] = "emerging"
    units: gpd.GeoDataFrame
    null_counts: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> pd.DataFrame:
        """``category``, ``units`` (real), ``null_mean`` (month-shuffled), for every category."""
        real = self.units["category"].astype(str).value_counts()
        return pd.DataFrame(
            {
                "category": list(CATEGORIES),
                "units": [int(real.get(c, 0)) for c in CATEGORIES],
                "null_mean": [float(self.null_counts.get(c, float("nan"))) for c in CATEGORIES],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        out = to_jsonable({"meta": self.meta, "counts": self.counts().to_dict(orient="records")})
        assert isinstance(out, dict)
        return out

    def summary(self) -> str:
        table = self.counts()
        shown = table[(table["units"] > 0) | (table["null_mean"] > 0)]
        parts = [f"{r.category} {r.units:,} (null {r.null_mean:.1f})" for r in shown.itertuples()
                 if r.category != "none"]
        meta = self.meta
        return (
            f"Emerging hot spots over {len(meta.get('slices', []))} monthly slices "
            f"({meta.get('window', {}).get('first')} to {meta.get('window', {}).get('last')}) on "
            f"{len(self.units):,} {meta.get('unit')} units: " + (", ".join(parts) or "no categories")
            + f"; null = mean of {meta.get('null_runs')} month-shuffled runs."
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"emerging": self.units, "counts": self.counts()}


def emerging_hotspots(
    ws: Any,
    *,
    months: tuple[str | None, str | None] | None = None,
    unit: str = "grid",
    cell_size: float | None = None,
    harm: str | None = col.DEFAULT_HARM_TABLE,
    weights: str | None = None,
    force: str | None = None,
    crime_types: list[str] | None = None,
    serious_violence: bool = False,
    alpha: float = 0.05,
    null_runs: int = 2,
    seed: int | None = 0,
) -> EmergingResult:
    """The emerging hot spot job: crimes from the workspace -> units -> :func:`emerging` + null.

    The window is checked for missing months with :func:`gripkit.coverage.check_window` (a gap is
    an InputError). ``weights`` None counts crimes, ``"harm"`` weighs them by the ``harm`` table.
    Not stored in the workspace (no registered result kind yet).
    """
    from gripkit.coverage import check_window
    from gripkit.harm import apply_harm, load_harm_table
    from gripkit.hotspots.find import select_crimes
    from gripkit.hotspots.gistar import check_runs
    from gripkit.units.build import UnitSpec, build_units

    runs = check_runs(null_runs)
    table = load_harm_table(harm)
    crimes = select_crimes(
        ws, crime_types=crime_types, serious_violence=serious_violence, months=months, force=force
    )
    first, last = (f"{pd.Timestamp(m):%Y-%m}" for m in (crimes[col.MONTH].min(), crimes[col.MONTH].max()))
    check_window(ws, first, last, forces=[force] if force else None, what="emerging hot spots")
    crimes = crimes.assign(**{col.HARM: apply_harm(crimes, table)})
    units, meta = build_units(crimes, UnitSpec(kind=unit, cell_size=cell_size))
    options: dict[str, Any] = {"weights": weights, "alpha": alpha}
    result, record = _emerging(crimes, units, **options)
    null = month_shuffled_counts(crimes, units, runs=runs, seed=seed, **options)
    meta.update(
        record,
        window={"first": first, "last": last},
        harm_table=table.name if table else "none",
        harm_sha256=table.sha256 if table else None,
        crimes=len(crimes),
        force=force,
        null_runs=runs,
        seed=seed,
    )
    return EmergingResult(result, null, meta)
