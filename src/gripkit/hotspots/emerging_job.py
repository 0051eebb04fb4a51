"""The emerging hot spot job: a workspace's crimes -> categories, a month-shuffled null, stored.

:func:`emerging_hotspots` reads the crimes of a window, checks that every force read holds every
month of it (:func:`gripkit.coverage.check_window`: a missing month would read as "no crime" and
make cells "new" or "historical"), runs :func:`gripkit.hotspots.classify.emerging`, runs the same
analysis on ``null_runs`` month-shuffled copies of the crimes (:func:`month_shuffled_counts`) and
returns an :class:`EmergingResult`, stored in the workspace as kind ``"emerging"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.hotspots.classify import CATEGORIES, _emerging, slice_source
from gripkit.progress import Progress, Steps
from gripkit.results import ResultMixin, to_jsonable

if TYPE_CHECKING:
    from gripkit.units.base import Units
    from gripkit.workspace import Workspace

#: Categories that need a significant Mann–Kendall trend (the trend tests' output).
TRENDING: tuple[str, ...] = ("intensifying", "diminishing", "intensifying cold", "diminishing cold")


def month_shuffled_counts(
    crimes: pd.DataFrame,
    units: Units,
    *,
    runs: int = 2,
    seed: int | None = 0,
    progress: Progress | None = None,
    **kwargs: Any,
) -> list[dict[str, int]]:
    """Category counts of :func:`~gripkit.hotspots.classify.emerging` on ``runs`` month-shuffled copies.

    The null: each crime keeps its place (and harm) but the months (or ``occurred_at``) are
    permuted among the crimes (``numpy.random.default_rng(seed)``), so every unit's total and
    every month's total stay the same while any change of a place over time is destroyed. What
    remains in a category is what stable places give by chance: trending categories should be
    empty in at least 95% of runs (5% trend tests); persistent and sporadic hot spots remain,
    since a place with a steady high rate is hot in most months and crosses the line at random
    in others. ``kwargs`` go to ``emerging``. Returns one ``category -> units`` dict per run.
    ``progress(done, total, name)``: the slices of every run, ``total`` = runs x slices.
    """
    rng = np.random.default_rng(seed)
    source = slice_source(crimes) or col.MONTH
    out = []
    for i in range(runs):
        shuffled = crimes.assign(**{source: rng.permutation(crimes[source].to_numpy())})
        result, _ = _emerging(shuffled, units, progress=_run_part(progress, i, runs), **kwargs)
        real = result["category"].astype(str).value_counts()
        out.append({c: int(real.get(c, 0)) for c in CATEGORIES})
    return out


@dataclass
class EmergingResult(ResultMixin):
    """Emerging hot spot categories per unit, with the month-shuffled null's counts beside them.

    Attributes
    ----------
    units
        The layer of :func:`~gripkit.hotspots.classify.emerging` (one row per unit).
    null_runs
        Category counts of each month-shuffled run (:func:`month_shuffled_counts`).
    meta
        Provenance: unit, cell size, window, data coverage, harm table and SHA-256, weights,
        slices, alpha, correction, p-values, time step, null runs and seed.
    """

    kind: ClassVar[str] = "emerging"
    units: gpd.GeoDataFrame
    null_runs: list[dict[str, int]]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def null_counts(self) -> dict[str, float]:
        """Mean count per category over the null runs (empty without runs)."""
        if not self.null_runs:
            return {}
        return {c: float(np.mean([run.get(c, 0) for run in self.null_runs])) for c in CATEGORIES}

    def counts(self) -> pd.DataFrame:
        """``category``, ``units`` (real), ``null_mean``, ``null_min``, ``null_max`` for every category."""
        real = self.units["category"].astype(str).value_counts()
        runs = [[run.get(c, 0) for run in self.null_runs] for c in CATEGORIES]
        return pd.DataFrame(
            {
                "category": list(CATEGORIES),
                "units": [int(real.get(c, 0)) for c in CATEGORIES],
                "null_mean": [float(np.mean(r)) if r else float("nan") for r in runs],
                "null_min": [min(r) if r else None for r in runs],
                "null_max": [max(r) if r else None for r in runs],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        trending = [sum(run.get(c, 0) for c in TRENDING) for run in self.null_runs]
        out = to_jsonable(
            {
                "meta": self.meta,
                "counts": self.counts().to_dict(orient="records"),
                "null": {
                    "runs": len(self.null_runs),
                    "seed": self.meta.get("seed"),
                    "counts": self.null_runs,
                    "trending_per_run": trending,
                },
            }
        )
        assert isinstance(out, dict)
        return out

    def summary(self) -> str:
        table = self.counts()
        has_null = bool(self.null_runs)
        shown = table[(table["units"] > 0) | (table["null_mean"].fillna(0) > 0)]
        parts = [
            f"{r.category} {r.units:,}" + (f" (null {r.null_mean:.1f})" if has_null else "")
            for r in shown.itertuples()
            if r.category != "none"
        ]
        meta = self.meta
        window = meta.get("window", {})
        null = (
            f"; null = mean of {len(self.null_runs)} month-shuffled runs (seed {meta.get('seed')}): "
            "categories the null fills as much as the data are what stable places give by chance"
            if has_null
            else "; no month-shuffled null was run"
        )
        text = (
            f"Emerging hot spots over {len(meta.get('slices', []))} slices ({window.get('first')} to "
            f"{window.get('last')}) on {len(self.units):,} {meta.get('unit')} units: "
            + (", ".join(parts) or "no categories")
            + null
            + "."
        )
        note = meta.get("coverage_note")
        return f"{text} {note}" if note else text

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"emerging": self.units, "counts": self.counts()}


def _run_part(progress: Progress | None, run: int, runs: int) -> Progress | None:
    """Run ``run``'s slices (``done`` of ``n``) as steps ``run x n + done`` of ``runs x n``."""
    if progress is None:
        return None
    target = progress

    def update(done: int, total: int, name: str) -> None:
        target(run * total + done, runs * total, f"shuffle {run + 1} of {runs}: {name}")

    return update


def emerging_hotspots(
    ws: Workspace,
    *,
    months: tuple[Any, Any] | None = None,
    unit: str = "grid",
    cell_size: float | None = None,
    harm: str | None = col.DEFAULT_HARM_TABLE,
    weights: str | None = None,
    force: str | None = None,
    crime_types: list[str] | None = None,
    serious_violence: bool = False,
    alpha: float = 0.05,
    p_values: str = "permutation",
    time_step: int = 1,
    trend: str = "z",
    null_runs: int = 2,
    seed: int | None = 0,
    allow_gaps: bool = False,
    exclude_forces: tuple[str, ...] | list[str] = (),
    store: bool = True,
    progress: Progress | None = None,
) -> EmergingResult:
    """Emerging hot spots of a workspace's crimes, with a month-shuffled null beside them.

    Parameters
    ----------
    ws
        The workspace.
    months
        ``(first, last)`` months (either may be None: the data's own first/last month); every
        month from first to last is a slice, empty ones included.
    unit, cell_size
        The spatial units (:class:`gripkit.units.build.UnitSpec`); the grid cell size is chosen
        and announced when not given.
    harm, weights
        The harm table applied to the crimes; ``weights`` None counts crimes, ``"harm"`` tests harm.
    force, crime_types, serious_violence
        The crime selection (:func:`gripkit.hotspots.find.select_crimes`).
    alpha, p_values, time_step, trend
        Passed to :func:`~gripkit.hotspots.classify.emerging` (``p_values="normal"`` for the
        normal approximation, labelled as such in ``meta``).
    null_runs, seed
        Month-shuffled runs (:func:`month_shuffled_counts`) and their seed (None: drawn and recorded).
    allow_gaps
        Every force read must hold every month of the window (:func:`gripkit.coverage.check_window`):
        a missing month refuses with an InputError naming the force, its months and the window,
        unless ``allow_gaps``, which goes on with the gaps in ``meta["data_coverage"]`` and the summary.
    exclude_forces
        Forces left out (their crimes are not read; named in ``meta``).
    store
        Store the result in the workspace (kind ``"emerging"``).
    progress
        ``progress(done, total, name)`` (:data:`gripkit.progress.Progress`): the monthly Gi* slices
        of the data, then of each month-shuffled run; ``total`` = (1 + ``null_runs``) x months.
    """
    from gripkit.coverage import check_window, excluded_forces
    from gripkit.harm import apply_harm, load_harm_table
    from gripkit.hotspots.find import select_crimes
    from gripkit.hotspots.gistar import P_VALUE_LABELS, check_runs
    from gripkit.units.build import UnitSpec, build_units

    runs = check_runs(null_runs)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    table = load_harm_table(harm)
    crimes = select_crimes(
        ws, crime_types=crime_types, serious_violence=serious_violence, months=months, force=force
    )
    excluded = excluded_forces(ws, exclude_forces, param="exclude_forces")
    if excluded:
        crimes = crimes[~crimes[col.FORCE].isin(excluded)]
        if crimes.empty:
            raise InputError(
                f"'exclude_forces' leaves no crimes: every crime selected is in {', '.join(excluded)}. "
                "Exclude fewer forces."
            )
    asked = months or (None, None)
    first, last = (
        f"{pd.Timestamp(given if given is not None else seen):%Y-%m}"
        for given, seen in zip(asked, (crimes[col.MONTH].min(), crimes[col.MONTH].max()), strict=True)
    )
    coverage = check_window(
        ws,
        first,
        last,
        forces=[force] if force else None,
        allow_gaps=allow_gaps,
        what="emerging hot spots",
        exclude=excluded,
        exclude_param="exclude_forces",
    )
    crimes = crimes.assign(**{col.HARM: apply_harm(crimes, table)})
    units, meta = build_units(crimes, UnitSpec(kind=unit, cell_size=cell_size))
    options: dict[str, Any] = {
        "weights": weights,
        "alpha": alpha,
        "p_values": p_values,
        "time_step": time_step,
        "trend": trend,
        "window": (first, last),
    }
    n_slices = len(pd.period_range(first, last, freq="M"))  # _emerging's slices: every month of the window
    steps = Steps(progress, (1 + runs) * n_slices)
    result, record = _emerging(crimes, units, progress=steps.part(n_slices, "data: "), **options)
    null = month_shuffled_counts(
        crimes, units, runs=runs, seed=seed, progress=steps.part(runs * n_slices), **options
    )
    meta.update(
        record,
        p_value_method=P_VALUE_LABELS.get(p_values, p_values),
        window={"first": first, "last": last},
        data_coverage=coverage.to_dict(),
        harm_table=table.name if table else "none",
        harm_sha256=table.sha256 if table else None,
        crimes=len(crimes),
        force=force,
        exclude_forces=list(excluded),
        serious_violence=serious_violence,
        crime_types=crime_types,
        null_runs=runs,
        seed=seed,
    )
    if coverage.note():
        meta["coverage_note"] = coverage.note()
    out = EmergingResult(result, null, meta)
    if store:
        ws.save_result(out)
    return out
