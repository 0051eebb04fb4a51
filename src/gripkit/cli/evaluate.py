"""``gripkit power`` and ``gripkit evaluate``: design power, and effects of a patrol experiment."""

from __future__ import annotations

import contextlib
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
from gripkit.cli.options import HARM_DEFAULT, ForceOption, HarmOption, OptionalOutOption
from gripkit.errors import InputError
from gripkit.workspace import default_path

if TYPE_CHECKING:

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
    dispersion: Annotated[
        float | None, typer.Option(help="Daily negative-binomial dispersion (with --rate).")
    ] = None,
    last: Annotated[
        int, typer.Option("--last", help="Trailing window: the last N months of data.", min=1)
    ] = 12,
    harm: HarmOption = HARM_DEFAULT,
    force: ForceOption = None,
    sims: Annotated[int, typer.Option(help="Simulated trials per effect size.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the design and simulations.")] = 0,
    plot: Annotated[Path | None, typer.Option(help="Write the power curve PNG here.")] = None,
    out: OptionalOutOption = None,
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
    if rate is not None or dispersion is not None:
        if rate is None or dispersion is None:
            raise InputError(
                "pass both --rate and --dispersion, or neither (estimate them from the workspace)."
            )
        main = simulate_power(
            [rate] * areas,
            dispersion,
            days=days,
            treated_per_day=treated_per_day,
            effects=sorted({*np.round(np.arange(0, 0.61, 0.05), 2), effect}),
            sims=sims,
            seed=seed,
        )
        payload = {
            "source": "given rate and dispersion",
            "mde": main.mde,
            "power_at_effect": main.power_at(effect),
        }
        title = f"Power, rate {rate:g}/area/day, dispersion {dispersion:g}"
    else:
        with open_workspace(workspace) as ws:
            rowan = op_rowan_power(
                ws,
                n_areas=areas,
                treated_per_day=treated_per_day,
                days=days,
                effect=effect,
                last=last,
                harm=harm,
                force=force,
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
    out: OptionalOutOption = None,
    forest: Annotated[Path | None, typer.Option(help="Forest plot PNG.")] = None,
    html: Annotated[Path | None, typer.Option(help="HTML section for the report.")] = None,
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Effects of treatment on counts/harm (% change, 95% CI), randomisation p-value, dosage."""
    from gripkit.evaluate.experiment import evaluate_experiment
    from gripkit.evaluate.figures import forest_plot, html_section, save_figure
    from gripkit.output import write_table

    setup_logging(quiet=json_out)
    keep = workspace is not None or default_path().exists()  # stored for the report and dashboard
    with contextlib.ExitStack() as stack:
        ws = stack.enter_context(open_workspace(workspace)) if keep or design_id is not None else None
        result = evaluate_experiment(
            ws,
            place_days,
            outcomes=outcomes,
            models=models,
            time_effects=time_effects,
            ri_draws=ri_draws,
            design=design_id,
            did_start=did_start,
            group=group,
            seed=seed,
            store=keep,
        )
    if out is not None:
        write_table(result.table(), out)
    if forest is not None:
        save_figure(forest_plot(result.effects), forest)
    if html is not None:
        first = next(iter(result.randomisation.values()), None)
        html.write_text(html_section(effects=result.effects, randomisation=first), encoding="utf-8")
    if json_out:
        print_json(result.to_dict())
        return
    for effect in result.effects:
        console.print(effect.summary(), highlight=False)
    for note in result.meta["notes"]:
        console.print(f"note: {note}", highlight=False)
