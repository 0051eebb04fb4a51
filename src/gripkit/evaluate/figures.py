"""Figures and tables of an evaluation: forest plot, power curve, tables, an HTML section.

Examples
--------
>>> import pandas as pd
>>> curve = pd.DataFrame({"effect": [0.0, 0.4], "power": [0.05, 0.9], "mean_pct_change": [0, -40]})
>>> "<h2>" in html_section(power=PowerResult(curve, 0.35, {"n_areas": 21}))
True
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from gripkit.errors import InputError
from gripkit.evaluate.displacement import WDQResult
from gripkit.evaluate.effects import EffectResult
from gripkit.evaluate.inference import RandomisationResult
from gripkit.evaluate.power import PowerResult
from gripkit.figures import png_data_uri


def effects_table(results: Sequence[EffectResult]) -> pd.DataFrame:
    """One row per effect: ``label, outcome, model, pct_change, ci_low, ci_high, p_value, ...``."""
    rows = [r.to_dict() for r in results]
    frame = pd.DataFrame(rows)
    if "extra" in frame.columns:
        frame = frame.drop(columns=["extra"])
    return frame


def forest_plot(results: Sequence[EffectResult]) -> Figure:
    """Percentage change with its confidence interval, one row per effect."""
    if not results:
        raise InputError("forest_plot needs at least one EffectResult; received none.")
    fig = Figure(figsize=(7, 0.6 * len(results) + 1.4))
    ax = fig.subplots()
    for i, r in enumerate(results):
        ax.plot([r.ci_low, r.ci_high], [i, i], color="0.3", lw=2)
        ax.plot([r.pct_change], [i], "s", color="tab:blue", ms=8)
    ax.axvline(0, color="0.5", ls="--", lw=1)
    ax.set_yticks(range(len(results)))
    ax.set_yticklabels([f"{r.label}\n{r.outcome}, {r.model}" for r in results], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("% change on treated place-days (95% CI)")
    ax.set_title("Effect of treatment")
    fig.tight_layout()
    return fig


def power_curve_plot(result: PowerResult) -> Figure:
    """Power against the planted reduction, with the target power and the MDE marked."""
    curve = result.curve
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(curve["effect"] * 100, curve["power"], "o-", color="tab:blue")
    target = float(result.meta.get("target", 0.8))
    ax.axhline(target, color="0.5", ls="--", lw=1)
    if result.mde is not None:
        ax.axvline(result.mde * 100, color="tab:red", lw=1)
        ax.annotate(
            f"MDE {result.mde:.0%}",
            (result.mde * 100, 0.05),
            color="tab:red",
            xytext=(4, 0),
            textcoords="offset points",
        )
    p = result.meta
    ax.set_title(
        f"Power: {p.get('n_areas')} areas, {p.get('treated_per_day')}/day for {p.get('days')} days "
        f"({p.get('outcome', 'count')})",
        fontsize=9,
    )
    ax.set_xlabel("planted reduction (%)")
    ax.set_ylabel("power")
    ax.set_ylim(0, 1.02)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save a figure as PNG (matplotlib Agg; no pyplot state)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    return out


def _png_uri(fig: Figure) -> str:
    return png_data_uri(fig, dpi=100)


def html_section(
    *,
    effects: Sequence[EffectResult] = (),
    power: PowerResult | None = None,
    randomisation: RandomisationResult | Mapping[str, RandomisationResult] | None = None,
    displacement: WDQResult | None = None,
    notes: Sequence[str] = (),
) -> str:
    """A self-contained ``<section>`` (figures inlined as PNG data URIs) for the HTML report.

    ``randomisation`` is one result, or one per outcome (``EvaluationResult.randomisation``).
    """
    esc = html.escape
    parts = ['<section class="gripkit-evaluation">', "<h2>Evaluation</h2>"]
    if effects:
        parts.append("<ul>" + "".join(f"<li>{esc(r.summary())}</li>" for r in effects) + "</ul>")
        parts.append(f'<img alt="forest plot of effects" src="{_png_uri(forest_plot(list(effects)))}">')
    by_outcome = (
        {}
        if randomisation is None
        else dict(randomisation)
        if isinstance(randomisation, Mapping)
        else {"": randomisation}
    )
    for outcome, ri in by_outcome.items():
        parts.append(
            f"<p>Randomisation inference{' for ' + esc(outcome) if outcome else ''} ({esc(ri.scheme)}, "
            f"{len(ri.draws):,} re-draws, seed {ri.seed}): change {ri.pct_change:+.1f}%, "
            f"p = {ri.p_value:.4f}.</p>"
        )
    if displacement is not None:
        parts.append(f"<p>Displacement: {esc(displacement.interpretation)}</p>")
    if power is not None:
        mde = "not reached" if power.mde is None else f"{power.mde:.0%}"
        parts.append(f"<p>Minimum detectable reduction at 80% power: {mde}.</p>")
        parts.append(f'<img alt="power curve" src="{_png_uri(power_curve_plot(power))}">')
    parts += [f"<p class='note'>{esc(n)}</p>" for n in notes]
    parts.append("</section>")
    return "\n".join(parts)
