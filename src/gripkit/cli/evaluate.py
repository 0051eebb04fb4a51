"""``gripkit power`` and ``gripkit evaluate``: design power, and effects of a patrol experiment."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from gripkit.cli.common import (
    JsonOption,
    WorkspaceOption,
    app,
    console,
    open_workspace,
    print_json,
    setup_logging,
)
from gripkit.errors import InputError
from gripkit.workspace import default_path

if TYPE_CHECKING:
    import pandas as pd

    from gripkit.evaluate import EffectResult
    from gripkit.evaluate.power import PowerResult


def _curve_table(result: PowerResult, title: str) -> Table:
    table = Table(title=title)
    for name in ("reduction", "power", "mean estimate"):
        table.add_column(name, justify="right")
    for row in result.curve.itertuples(index=False):
        table.add_row(f"{row.effect:.0%}", f"{row.power:.2f}", f"{row.mean_pct_change:+.1f}%")
    return table


@app.command("power")
def power_command(
    areas: Annotated[int, typer.Option(help="Areas in the experiment (Op Rowan: 21).")] = 21,
    treated_per_day: Annotated[int, typer.Option(help="Areas treated each day (Op Rowan: 7).")] = 7,
    days: Annotated[int, typer.Option(help="Days of the experiment (Op Rowan: 90).")] = 90,
    effect: Annotated[float, typer.Option(help="Reduction to report power for (0.44 = -44%).")] = 0.44,
    rate: Annotated[
        float | None, typer.Option(help="Crimes per area per day; with --alpha, skips the workspace.")
    ] = None,
    alpha: Annotated[float | None, typer.Option(help="Daily negative-binomial dispersion.")] = None,
    months: Annotated[int, typer.Option(help="Months of history to estimate rates from.")] = 12,
    harm: Annotated[str, typer.Option(help="Harm table ranking the areas.")] = "cchi",
    sims: Annotated[int, typer.Option(help="Simulated trials per effect size.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the design and simulations.")] = 0,
    plot: Annotated[Path | None, typer.Option(help="Write the power curve PNG here.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the power curve table (.csv/.parquet).")] = None,
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Power and minimum detectable effect of a place-day design, by simulation."""
    import numpy as np

    from gripkit.evaluate import simulate_power
    from gripkit.evaluate.figures import power_curve_plot, save_figure
    from gripkit.evaluate.rowan import LIMITATIONS, op_rowan_power
    from gripkit.output import write_table

    setup_logging(quiet=json_out)
    payload: dict[str, Any]
    if rate is not None or alpha is not None:
        if rate is None or alpha is None:
            raise InputError("pass both --rate and --alpha, or neither (estimate them from the workspace).")
        main = simulate_power(
            [rate] * areas,
            alpha,
            days=days,
            treated_per_day=treated_per_day,
            effects=sorted({*np.round(np.arange(0, 0.61, 0.05), 2), effect}),
            sims=sims,
            seed=seed,
        )
        payload = {
            "source": "given rate and alpha",
            "mde": main.mde,
            "power_at_effect": main.power_at(effect),
        }
        title = f"Power, rate {rate:g}/area/day, alpha {alpha:g}"
    else:
        with open_workspace(workspace) as ws:
            rowan = op_rowan_power(
                ws,
                n_areas=areas,
                treated_per_day=treated_per_day,
                days=days,
                effect=effect,
                months=months,
                harm=harm,
                sims=sims,
                seed=seed,
            )
        main = rowan.power["harm_independent"]
        summary = rowan.table()
        payload = {
            "source": f"workspace, {rowan.meta['months']}",
            "areas": rowan.areas["area_id"].tolist(),
            "alpha_monthly": rowan.dispersion.alpha_period,
            "table": summary.to_dict(orient="records"),
            "mde": main.mde,
            "power_at_effect": main.power_at(effect),
            "limitations": list(LIMITATIONS),
        }
        title = "Power for harm (day shocks independent: conservative)"
        if not json_out:
            console.print(
                f"{areas} areas with most serious-violence harm, {rowan.meta['months']}; "
                f"monthly NB alpha {rowan.dispersion.alpha_period:.4f}"
            )
            sheet = Table(title=f"Power at {effect:.0%} and MDE (80% power)")
            for name in summary.columns:
                sheet.add_column(name, justify="right")
            for row in summary.itertuples(index=False):
                sheet.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
            console.print(sheet)
    if plot is not None:
        payload["plot"] = str(save_figure(power_curve_plot(main), plot))
    if out is not None:
        payload["out"] = str(write_table(main.curve, out))
    if json_out:
        payload["curve"] = main.curve.to_dict(orient="records")
        print_json(payload)
        return
    console.print(_curve_table(main, title))
    mde = "not reached in 0-60%" if main.mde is None else f"{main.mde:.1%}"
    console.print(f"MDE at 80% power: [bold]{mde}[/]; power at {effect:.0%}: {main.power_at(effect):.2f}")


def _read(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise InputError(f"place-day file not found: {path}. Pass a CSV or Parquet of place-days.")
    return pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)


@app.command("evaluate")
def evaluate_command(
    place_days: Annotated[
        Path, typer.Argument(help="CSV/Parquet: area_id, date, treated, count[, harm, dosage].")
    ],
    outcomes: Annotated[str, typer.Option(help="Comma-separated outcome columns.")] = "count",
    models: Annotated[str, typer.Option(help="Comma-separated models: poisson, nb.")] = "poisson,nb",
    time_effects: Annotated[bool, typer.Option(help="One effect per date.")] = True,
    ri_draws: Annotated[int, typer.Option(help="Randomisation-inference re-draws (0 = skip).")] = 999,
    design_id: Annotated[int | None, typer.Option(help="Stored design (result_id) to re-draw.")] = None,
    did_start: Annotated[str | None, typer.Option(help="Difference-in-differences: roll-out date.")] = None,
    group: Annotated[str, typer.Option(help="DiD: column flagging roll-out areas.")] = "group",
    seed: Annotated[int, typer.Option(help="Seed of the randomisation inference.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Effects table (.csv/.parquet).")] = None,
    forest: Annotated[Path | None, typer.Option(help="Forest plot PNG.")] = None,
    html: Annotated[Path | None, typer.Option(help="HTML section for the report.")] = None,
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Effects of treatment on counts/harm (% change, 95% CI), randomisation p-value, dosage."""
    import numpy as np

    from gripkit.evaluate import (
        difference_in_differences,
        dosage_response,
        estimate_effect,
        load_design,
        randomisation_inference,
    )
    from gripkit.evaluate.figures import effects_table, forest_plot, html_section, save_figure
    from gripkit.output import write_table

    setup_logging(quiet=json_out)
    frame = _read(place_days)
    results: list[EffectResult] = []
    ri = None
    for outcome in [o.strip() for o in outcomes.split(",") if o.strip()]:
        whole = outcome in frame.columns and np.allclose(frame[outcome].fillna(0) % 1, 0)
        for model in [m.strip() for m in models.split(",") if m.strip()]:
            if model == "nb" and (not whole or outcome == "harm"):
                continue  # NB models counts; harm (weighted) is analysed with robust Poisson
            if did_start:
                results.append(
                    difference_in_differences(
                        frame, group=group, start=did_start, outcome=outcome, model=model
                    )
                )
            else:
                results.append(
                    estimate_effect(frame, outcome=outcome, model=model, time_effects=time_effects)
                )
        if not did_start and ri_draws:
            design = None
            if design_id is not None:
                with open_workspace(workspace, read_only=True) as ws:
                    design = load_design(ws, design_id)
            ri = randomisation_inference(frame, design, outcome=outcome, draws=ri_draws, seed=seed)
            results[-1].ri_p_value = ri.p_value
        if "dosage" in frame.columns and not did_start:
            results.append(dosage_response(frame, outcome=outcome))
    table = effects_table(results)
    if workspace is not None or default_path().exists():  # for the report and dashboard
        with open_workspace(workspace) as ws:
            ws.record_result(
                "evaluation",
                params={"place_days": str(place_days)},
                payload={"effects": [r.to_dict() for r in results]},
            )
    if out is not None:
        write_table(table, out)
    if forest is not None:
        save_figure(forest_plot(results), forest)
    if html is not None:
        html.write_text(html_section(effects=results, randomisation=ri), encoding="utf-8")
    if json_out:
        print_json({"effects": [r.to_dict() for r in results]})
        return
    for result in results:
        console.print(result.summary(), highlight=False)
