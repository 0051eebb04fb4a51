"""What a backtest hands back: the tidy table, its means, a verdict line, a summary and a PAI plot.

:class:`BacktestResult` follows the result protocol (:mod:`gripkit.results`): ``kind`` "backtest",
``meta`` (models, windows, coverage, steps, months, harm table, cell size, seed), ``to_dict()``,
``summary()`` (one paragraph) and ``tables()`` (the per-step table), so a backtest run from Python
reaches the report and the dashboard as one run from the CLI does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from gripkit.output import write_table
from gripkit.results import ResultMixin, to_jsonable

METRICS = ("area_share", "hit_rate", "pai", "pei", "rri", "harm_hit_rate")
#: Columns of the per-step table (what the CLI writes and the workspace stores), in order.
OUTPUT_COLUMNS = (
    "model", "step", "origin", "train_start", "coverage", "area_share", "units_flagged", "crimes",
    "hits", "hit_rate", "pai", "pei", "rri", "harm_hit_rate", "fit_seconds",
)


def _percent(cover: float) -> str:
    """``0.05`` -> ``"5%"``, ``0.025`` -> ``"2.5%"``."""
    return f"{cover:.0%}" if cover * 100 == round(cover * 100) else f"{cover:.1%}"


def block_length(n: int) -> int:
    """Moving-block length for ``n`` steps: ``round(n ** (1/3))``, at least 1 (Hall, Horowitz & Jing 1995).

    >>> [block_length(n) for n in (1, 3, 8, 27, 36)]
    [1, 1, 2, 3, 3]
    """
    return max(1, round(n ** (1 / 3)))


def block_indices(rng: np.random.Generator, n: int, length: int, n_boot: int) -> np.ndarray:
    """``(n_boot, n)`` step indices of a moving-block bootstrap (Kunsch 1989): blocks of ``length``
    consecutive steps with uniform starts, concatenated and cut to ``n``. ``length=1`` is the
    i.i.d. bootstrap (the same draws as ``rng.integers(0, n, (n_boot, n))``).

    >>> block_indices(np.random.default_rng(0), 5, 2, 1).shape
    (1, 5)
    """
    length = min(max(1, length), n)
    blocks = -(-n // length)
    starts = rng.integers(0, n - length + 1, size=(n_boot, blocks))
    return (starts[:, :, None] + np.arange(length)).reshape(n_boot, -1)[:, :n]


def lag1_autocorrelation(values: np.ndarray) -> float:
    """Lag-1 sample autocorrelation (NaN for fewer than 3 values or a constant series).

    >>> lag1_autocorrelation(np.array([1.0, 2.0, 3.0, 4.0]))
    0.25
    """
    x = np.asarray(values, dtype=float)
    if len(x) < 3:
        return float("nan")
    d = x - x.mean()
    den = float(d @ d)
    return float(d[1:] @ d[:-1]) / den if den > 0 else float("nan")


@dataclass
class BacktestResult(ResultMixin):
    """Rolling-origin results: ``table`` (one row per model × step × coverage) and ``meta``.

    Attributes
    ----------
    table
        Columns :data:`OUTPUT_COLUMNS`.
    meta
        Provenance: ``models`` (name -> parameters), ``train``, ``horizon``, ``coverage``, ``steps``,
        ``months`` (``{"first", "last"}`` forecast periods), ``resolution``, ``weights``,
        ``harm_table``/``harm_sha256`` (None when crimes were counted), ``cell_size_m``, ``units``,
        ``crimes``, the crime selection (``crime_types``, ``serious_violence``, ``force``), ``seed``
        and ``workers``.
    seed
        Seed of the verdict's bootstrap.

    Examples
    --------
    >>> table = pd.DataFrame({"model": ["naive", "naive", "kde", "kde"], "step": [0, 1, 0, 1],
    ...                       "coverage": 0.05, "area_share": 0.05, "hit_rate": [0.2, 0.3, 0.3, 0.3],
    ...                       "pai": [4.0, 6.0, 6.0, 6.0], "pei": 0.5, "rri": 1.0, "harm_hit_rate": 0.2})
    >>> BacktestResult(table, {}).means()["pai_mean"].tolist()
    [6.0, 5.0]
    >>> print(BacktestResult(table, {"steps": 2, "horizon": "1M"}).summary())
    2 forecast periods of 1M: kde beats naive by 20% in mean PAI at 5% coverage (2 steps; 95% bootstrap
    interval 0% to 50%). Best model kde: mean hit rate 30.0% and PAI 6.00 at 5% coverage. The
    interval resamples blocks of 1 consecutive steps (lag-1 autocorrelation of the PAI differences
    undefined).
    """

    kind: ClassVar[str] = "backtest"
    table: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def means(self) -> pd.DataFrame:
        """Mean (and standard deviation) of each metric per model and coverage, over steps."""
        grouped = self.table.groupby(["model", "coverage"], sort=False)
        present = [m for m in METRICS if m in self.table.columns]
        out = grouped[present].agg(["mean", "std"])
        out.columns = ["_".join(map(str, pair)) for pair in out.columns.to_flat_index()]
        out.insert(0, "steps", grouped.size())
        return out.reset_index().sort_values(["coverage", "pai_mean"], ascending=[True, False],
                                             ignore_index=True)

    def best_model(self, coverage: float = 0.05) -> str:
        """The model with the highest mean PAI at the coverage nearest ``coverage``."""
        cover = self._nearest(coverage)
        at = self.table[np.isclose(self.table["coverage"], cover)]
        return str(at.groupby("model")["pai"].mean().sort_values(ascending=False).index[0])

    def _nearest(self, coverage: float) -> float:
        covers = np.unique(self.table["coverage"].to_numpy(dtype=float))
        return float(covers[np.argmin(np.abs(covers - coverage))])

    def to_dict(self) -> dict[str, Any]:
        """``meta``, the verdict line and the per-model means (one record per model × coverage)."""
        out = to_jsonable(
            {"meta": self.meta, "verdict": self.verdict(), "flags": self.flags(),
             "bootstrap": self.bootstrap(), "models": self.means().to_dict(orient="records")}
        )
        assert isinstance(out, dict)
        return out

    def summary(self) -> str:
        """One paragraph: the periods and crimes, the verdict, then the best model's mean hit rate
        and PAI at each coverage."""
        meta = self.meta
        steps = meta.get("steps", int(self.table["step"].nunique()))
        text = f"{steps} forecast periods of {meta.get('horizon', '?')}"
        months = meta.get("months") or {}
        if months.get("first") and months.get("last"):
            text += f" from {months['first']} to {months['last']}"
        if meta.get("train"):
            text += f", each fitted on the {meta['train']} before"
        if meta.get("crimes") is not None:
            text += f"; {int(meta['crimes']):,} crimes"
            if meta.get("cell_size_m"):
                text += f" on {float(meta['cell_size_m']):g} m grid cells"
            if meta.get("harm_table"):
                weighed = "models weighted by" if meta.get("weights") else "harm hit rates from"
                text += f", {weighed} {meta['harm_table']} harm"
        best = self.best_model()
        means = self.means()
        rows = means[means["model"] == best].sort_values("coverage")
        at = [
            f"{hit:.1%} and PAI {pai:.2f} at {_percent(cover)}"
            for hit, pai, cover in zip(rows["hit_rate_mean"].to_numpy(dtype=float),
                                       rows["pai_mean"].to_numpy(dtype=float),
                                       rows["coverage"].to_numpy(dtype=float), strict=True)
        ]
        figures = ", ".join(at[:-1]) + (" and " if len(at) > 1 else "") + at[-1]
        boot = self.bootstrap()
        flags = ""
        if boot["steps"] > 1:
            rho = boot["lag1_autocorrelation"]
            said = "undefined" if rho is None else f"{rho:.2f}"
            flags += (f" The interval resamples blocks of {boot['block_length']} consecutive steps "
                      f"(lag-1 autocorrelation of the PAI differences {said}).")
        flags += "".join(f" Caution: {flag}." for flag in self.flags())
        if meta.get("coverage_note"):
            flags += f" {meta['coverage_note']}"
        return f"{text}: {self.verdict()}. Best model {best}: mean hit rate {figures} coverage.{flags}"

    def bootstrap(self, coverage: float = 0.05) -> dict[str, Any]:
        """The verdict's bootstrap: ``steps``, ``block_length`` and the lag-1 autocorrelation of the
        paired PAI differences (best model minus the next) at the coverage nearest ``coverage``."""
        at = self.table[np.isclose(self.table["coverage"], self._nearest(coverage))]
        wide = at.pivot_table(index="step", columns="model", values="pai").dropna()
        order = wide.mean().sort_values(ascending=False).index
        n = len(wide)
        rho = lag1_autocorrelation(wide[order[0]] - wide[order[1]]) if len(order) > 1 else float("nan")
        return {"steps": n, "block_length": block_length(n),
                "lag1_autocorrelation": None if np.isnan(rho) else round(rho, 4)}

    def flags(self, coverage: float = 0.05) -> list[str]:
        """Plain-language warnings about a degenerate backtest (empty when none applies).

        One step (no interval can be given), a step with no test crimes, and models tied at every
        step at the coverage nearest ``coverage`` (a zero-width interval).

        >>> table = pd.DataFrame({"model": ["naive", "kde"], "step": [0, 0], "coverage": 0.05,
        ...                       "pai": [4.0, 5.0], "crimes": [3.0, 3.0]})
        >>> BacktestResult(table, {}).flags()
        ['1 step: no interval can be given']
        """
        out: list[str] = []
        steps = int(self.table["step"].nunique())
        if steps == 1:
            out.append("1 step: no interval can be given")
        if "crimes" in self.table.columns:
            empty = sorted(int(s) for s in self.table.loc[self.table["crimes"] <= 0, "step"].unique())
            if empty:
                listed = ", ".join(map(str, empty))
                out.append(f"no test crimes in step(s) {listed}: their metrics are undefined")
        at = self.table[np.isclose(self.table["coverage"], self._nearest(coverage))]
        wide = at.pivot_table(index="step", columns="model", values="pai").dropna()
        if steps > 1 and wide.shape[1] > 1 and bool((wide.nunique(axis=1) == 1).all()):
            out.append("models tied at every step: the interval has zero width")
        if {"pei", "hit_rate"} <= set(at.columns):
            pair = at[["pei", "hit_rate"]].dropna()
            if len(pair) and bool(np.isclose(pair["pei"], pair["hit_rate"]).all()):
                out.append(
                    f"PEI equals the hit rate at {_percent(self._nearest(coverage))} coverage in every step: "
                    "PEI = hits / the most any units of the same area could hold, and the flagged area "
                    "could hold every test crime (they fall in fewer units than are flagged), so PEI "
                    "adds nothing to the hit rate here"
                )
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """The per-step table (columns :data:`OUTPUT_COLUMNS`) under ``"backtest"``."""
        return {"backtest": self.table[[c for c in OUTPUT_COLUMNS if c in self.table.columns]]}

    def compare(
        self, model: str, baseline: str, coverage: float, *, n_boot: int = 2000
    ) -> tuple[float, float, float, int]:
        """Relative gain in mean PAI of ``model`` over ``baseline`` at ``coverage``, with a 95% interval.

        The interval is a percentile moving-block bootstrap over steps (paired; blocks of
        :func:`block_length` steps keep the steps' autocorrelation; ``seed`` fixes it).

        Returns
        -------
        tuple
            ``(gain, low, high, steps)``, gains as fractions (0.12 = 12% higher mean PAI).
        """
        at = self.table[np.isclose(self.table["coverage"], coverage)]
        wide = at.pivot_table(index="step", columns="model", values="pai").dropna()
        a, b = wide[model].to_numpy(), wide[baseline].to_numpy()
        gain = a.mean() / b.mean() - 1.0
        rng = np.random.default_rng(self.seed)
        pick = block_indices(rng, len(a), block_length(len(a)), n_boot)
        boot = a[pick].mean(axis=1) / np.maximum(b[pick].mean(axis=1), 1e-300) - 1.0
        low, high = np.percentile(boot, [2.5, 97.5])
        return float(gain), float(low), float(high), len(a)

    def verdict(self, coverage: float = 0.05, baseline: str = "naive") -> str:
        """One line: the best model at ``coverage`` (nearest asked) against the baseline.

        >>> table = pd.DataFrame({"model": ["naive", "kde"] * 3, "step": [0, 0, 1, 1, 2, 2],
        ...                       "coverage": 0.05, "pai": [4.0, 5.0, 4.0, 5.0, 4.0, 5.0]})
        >>> BacktestResult(table, {}).verdict()
        'kde beats naive by 25% in mean PAI at 5% coverage (3 steps; 95% bootstrap interval 25% to 25%)'
        """
        cover = self._nearest(coverage)
        at = self.table[np.isclose(self.table["coverage"], cover)]
        means = at.groupby("model")["pai"].mean().sort_values(ascending=False)
        models = list(means.index)
        base = baseline if baseline in models else models[-1]
        best = models[0]
        label = _percent(cover)
        if best == base:
            rest = [m for m in models if m != base]
            if not rest:
                return f"only {base} was run: mean PAI {means[base]:.2f} at {label} coverage"
            gain, low, high, n = self.compare(base, rest[0], cover)
            return (f"no model beats {base} at {label} coverage: it leads the next best, {rest[0]}, by "
                    f"{gain:.0%} in mean PAI ({n} steps; 95% bootstrap interval {low:.0%} to {high:.0%})")
        gain, low, high, n = self.compare(best, base, cover)
        return (f"{best} beats {base} by {gain:.0%} in mean PAI at {label} coverage "
                f"({n} steps; 95% bootstrap interval {low:.0%} to {high:.0%})")

    def plot(self, path: str | Path) -> Path:
        """Write a PNG of mean PAI against coverage per model, with ±1.96 standard errors."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        stats = self.table.groupby(["model", "coverage"])["pai"].agg(["mean", "std", "count"]).reset_index()
        fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
        for name, rows in stats.groupby("model", sort=False):
            se = rows["std"].fillna(0.0) / np.sqrt(rows["count"])
            ax.errorbar(rows["coverage"] * 100, rows["mean"], yerr=1.96 * se, marker="o", capsize=3,
                        label=str(name))
        steps = self.meta.get("steps", self.table["step"].nunique())
        ax.set(xlabel="area flagged (%)", ylabel="PAI (hit rate / area share)",
               title=f"Backtest: mean PAI over {steps} steps (horizon {self.meta.get('horizon', '?')})")
        ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        ax.legend(frameon=False)
        fig.tight_layout()
        fig.savefig(out)
        plt.close(fig)
        return out

    def write(self, path: str | Path) -> Path:
        """Write the per-step table as ``.csv`` or ``.parquet`` (by extension)."""
        return write_table(self.tables()["backtest"], path)
