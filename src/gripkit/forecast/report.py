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
from scipy import stats

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



def adjusted_lag1(rho: float, n: int) -> float:
    """Lag-1 autocorrelation used to widen the verdict interval: the sample value plus Kendall's
    (1954) bias correction ``(1 + 3 rho) / n`` (the sample value is biased low in short series),
    clipped to [0, 0.95]; 0 when undefined.

    >>> adjusted_lag1(0.25, 4)
    0.6875
    """
    if np.isnan(rho):
        return 0.0
    return float(min(max(rho + (1 + 3 * rho) / n, 0.0), 0.95))


def ratio_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Relative gain ``mean(a) / mean(b) - 1`` of paired per-step values with a t interval whose
    variance is widened for lag-1 autocorrelation.

    Delta method: the gain's error is that of the mean of ``d = a - R b`` (``R`` the ratio of
    means) over ``mean(b)``; its variance ``s_d^2 / n`` is multiplied by ``(1 + r) / (1 - r)``,
    the AR(1) long-run variance factor, with ``r`` from :func:`adjusted_lag1`, and the quantile is
    Student's t with ``n - 1`` degrees of freedom. Coverage measured on AR(1) series is in
    docs/forecast.md (95-96% without autocorrelation; about 91% of a nominal 95% at rho 0.4).

    Hand check: R = 6 / 5, d = (1.2, -1.2), s_d = 1.697, se = 1.697 / sqrt(2) / 5 = 0.24, r undefined
    (0), t(0.975, 1) = 12.706: 0.2 +- 3.049.

    >>> out = ratio_interval(np.array([6.0, 6.0]), np.array([4.0, 6.0]))
    >>> [round(out[k], 3) for k in ("gain", "low", "high")]
    [0.2, -2.849, 3.249]
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = len(a)
    ratio = a.mean() / b.mean()
    d = a - ratio * b
    rho = lag1_autocorrelation(d)
    used = adjusted_lag1(rho, n)
    out = {"gain": float(ratio - 1.0), "low": float("nan"), "high": float("nan"),
           "lag1_autocorrelation": rho, "lag1_used": used}
    if n > 1:
        se = d.std(ddof=1) / np.sqrt(n) * np.sqrt((1 + used) / (1 - used)) / abs(b.mean())
        half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se
        out["low"], out["high"] = float(ratio - 1.0 - half), float(ratio - 1.0 + half)
    return out


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
        Seed kept in the provenance (the verdict's interval makes no random draws).

    Examples
    --------
    >>> table = pd.DataFrame({"model": ["naive", "naive", "kde", "kde"], "step": [0, 1, 0, 1],
    ...                       "coverage": 0.05, "area_share": 0.05, "hit_rate": [0.2, 0.3, 0.3, 0.3],
    ...                       "pai": [4.0, 6.0, 6.0, 6.0], "pei": 0.5, "rri": 1.0, "harm_hit_rate": 0.2})
    >>> BacktestResult(table, {}).means()["pai_mean"].tolist()
    [6.0, 5.0]
    >>> two = BacktestResult(table, {"steps": 2, "horizon": "1M"})
    >>> print(two.summary())  # doctest: +NORMALIZE_WHITESPACE
    2 forecast periods of 1M: kde beats naive by 20% in mean PAI at 5% coverage (2 steps; 95%
    interval -285% to 325%). Best model kde: mean hit rate 30.0% and PAI 6.00 at 5% coverage. The
    interval is a t interval widened for lag-1 autocorrelation of the PAI differences (undefined;
    0.00 after bias correction).
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
             "interval": self.interval(), "models": self.means().to_dict(orient="records")}
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
        how = self.interval()
        flags = ""
        if how["steps"] > 1:
            rho = how["lag1_autocorrelation"]
            said = "undefined" if rho is None else f"{rho:.2f}"
            flags += (f" The interval is a t interval widened for lag-1 autocorrelation of the PAI "
                      f"differences ({said}; {how['lag1_used']:.2f} after bias correction).")
            if rho is not None and rho > 0.2:
                flags += (" With autocorrelated steps it is optimistic: about 91% coverage of a "
                          "nominal 95% at lag-1 autocorrelation 0.4 (12-36 steps, docs/forecast.md).")
        flags += "".join(f" Caution: {flag}." for flag in self.flags())
        if meta.get("coverage_note"):
            flags += f" {meta['coverage_note']}"
        return f"{text}: {self.verdict()}. Best model {best}: mean hit rate {figures} coverage.{flags}"

    def interval(self, coverage: float = 0.05) -> dict[str, Any]:
        """How the verdict's interval was made: ``method``, ``steps``, the lag-1 autocorrelation of the
        linearised paired PAI differences of the verdict's two models (:func:`ratio_interval`) and
        the bias-corrected value used to widen it, at the coverage nearest ``coverage``."""
        cover = self._nearest(coverage)
        at = self.table[np.isclose(self.table["coverage"], cover)]
        wide = at.pivot_table(index="step", columns="model", values="pai").dropna()
        pair = self._pair(cover)
        rho, used = float("nan"), 0.0
        if pair is not None:
            out = ratio_interval(wide[pair[0]].to_numpy(), wide[pair[1]].to_numpy())
            rho, used = out["lag1_autocorrelation"], out["lag1_used"]
        return {"method": "t interval, variance widened by (1 + r) / (1 - r) for lag-1 autocorrelation r",
                "steps": len(wide), "lag1_autocorrelation": None if np.isnan(rho) else round(rho, 4),
                "lag1_used": round(used, 4)}

    def _pair(self, cover: float, baseline: str = "naive") -> tuple[str, str] | None:
        """The verdict's (model, baseline) at ``cover``: the best against ``baseline`` (or the last),
        or ``baseline`` against the next best when it leads; None with one model."""
        at = self.table[np.isclose(self.table["coverage"], cover)]
        models = list(at.groupby("model")["pai"].mean().sort_values(ascending=False).index)
        base = baseline if baseline in models else models[-1]
        if models[0] != base:
            return models[0], base
        rest = [m for m in models if m != base]
        return (base, rest[0]) if rest else None

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

    def compare(self, model: str, baseline: str, coverage: float) -> tuple[float, float, float, int]:
        """Relative gain in mean PAI of ``model`` over ``baseline`` at ``coverage``, with a 95% interval.

        The interval is :func:`ratio_interval` over the paired steps (a t interval widened for the
        steps' lag-1 autocorrelation; no random draws).

        Returns
        -------
        tuple
            ``(gain, low, high, steps)``, gains as fractions (0.12 = 12% higher mean PAI).
        """
        at = self.table[np.isclose(self.table["coverage"], coverage)]
        wide = at.pivot_table(index="step", columns="model", values="pai").dropna()
        out = ratio_interval(wide[model].to_numpy(), wide[baseline].to_numpy())
        return out["gain"], out["low"], out["high"], len(wide)

    def verdict(self, coverage: float = 0.05, baseline: str = "naive") -> str:
        """One line: the best model at ``coverage`` (nearest asked) against the baseline.

        >>> table = pd.DataFrame({"model": ["naive", "kde"] * 3, "step": [0, 0, 1, 1, 2, 2],
        ...                       "coverage": 0.05, "pai": [4.0, 5.0, 4.0, 5.0, 4.0, 5.0]})
        >>> BacktestResult(table, {}).verdict()
        'kde beats naive by 25% in mean PAI at 5% coverage (3 steps; 95% interval 25% to 25%)'
        """
        cover = self._nearest(coverage)
        at = self.table[np.isclose(self.table["coverage"], cover)]
        means = at.groupby("model")["pai"].mean().sort_values(ascending=False)
        label = _percent(cover)
        pair = self._pair(cover, baseline)
        if pair is None:
            only = str(means.index[0])
            return f"only {only} was run: mean PAI {means[only]:.2f} at {label} coverage"
        best, base = pair
        if best == (baseline if baseline in means.index else means.index[-1]):
            gain, low, high, n = self.compare(best, base, cover)
            return (f"no model beats {best} at {label} coverage: it leads the next best, {base}, by "
                    f"{gain:.0%} in mean PAI ({n} steps; 95% interval {low:.0%} to {high:.0%})")
        gain, low, high, n = self.compare(best, base, cover)
        return (f"{best} beats {base} by {gain:.0%} in mean PAI at {label} coverage "
                f"({n} steps; 95% interval {low:.0%} to {high:.0%})")

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
