"""``gripkit power`` and ``gripkit evaluate``: design power, and effects of a patrol experiment.

Both are thin: parse, call one library job (:func:`gripkit.evaluate.rowan.op_rowan_power` or
:func:`gripkit.evaluate.power.simulate_power`; :func:`gripkit.evaluate.experiment.evaluate_experiment`,
or :func:`gripkit.evaluate.from_plan.evaluate_plan` with ``--plan``), print its summary and tables,
or its ``to_dict()`` with ``--json``. The jobs store their results in the workspace when they are
given one.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from gripkit.cli.common import (
    JsonOption,
    WorkspaceOption,
    app,
    console,
    open_workspace,
    print_json,
    progress_bar,
    setup_logging,
)
from gripkit.cli.options import (
    HARM_DEFAULT,
    AllowGapsOption,
    AlphaOption,
    BoundariesOption,
    ForceOption,
    HarmOption,
    OptionalOutOption,
    PlanOption,
    SourceOption,
    sources_choice,
    split_list,
)
from gripkit.errors import InputError
from gripkit.workspace import default_path

if TYPE_CHECKING:
    import pandas as pd

    from gripkit.evaluate.effects import EffectResult
    from gripkit.evaluate.power import PowerResult


def _frame_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    for name in frame.columns:
        table.add_column(str(name), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*["" if v is None else f"{v:.3g}" if isinstance(v, float) else str(v) for v in row])
    return table


def _curve_table(result: PowerResult, title: str) -> Table:
    table = Table(title=title)
    for name in ("reduction", "power", "mean estimate"):
        table.add_column(name, justify="right")
    for row in result.curve.itertuples(index=False):
        table.add_row(f"{row.effect:.0%}", f"{row.power:.2f}", f"{row.mean_pct_change:+.1f}%")
    return table


def _effects_table(effects: list[EffectResult]) -> Table:
    table = Table(title="Effects on treated place-days (RI: randomisation inference)")
    for name in ("outcome", "model", "effect", "change", "95% CI", "p", "RI p"):
        table.add_column(name, justify="left" if name in ("outcome", "model", "effect") else "right")
    for e in effects:
        ri = "-" if e.ri_p_value is None else f"{e.ri_p_value:.3f}"
        table.add_row(
            e.outcome,
            e.model,
            e.label,
            f"{e.pct_change:+.1f}%",
            f"{e.ci_low:+.0f}% to {e.ci_high:+.0f}%",
            f"{e.p_value:.3f}",
            ri,
        )
    return table


def _keep() -> bool:
    """Results are stored when a workspace is named or the default workspace file exists."""
    return default_path().exists()


@app.command("power")
def power_command(
    areas: Annotated[int, typer.Option(help="Areas in the experiment (Op Rowan: 21).")] = 21,
    treated_per_day: Annotated[int, typer.Option(help="Areas treated each day (Op Rowan: 7).")] = 7,
    days: Annotated[int, typer.Option(help="Days of the experiment (Op Rowan: 90).")] = 90,
    effect: Annotated[float, typer.Option(help="Reduction to report power for (0.44 = -44%).")] = 0.44,
    rate: Annotated[
        float | None,
        typer.Option(help="Crimes per area per day; with --dispersion, no crimes are read."),
    ] = None,
    dispersion: Annotated[
        float | None, typer.Option(help="Daily negative-binomial dispersion (with --rate).")
    ] = None,
    last: Annotated[
        int, typer.Option("--last", help="Trailing window: the last N months of data.", min=1)
    ] = 12,
    harm: HarmOption = HARM_DEFAULT,
    force: ForceOption = None,
    boundaries: BoundariesOption = None,
    alpha: AlphaOption = 0.05,
    sims: Annotated[int, typer.Option(help="Simulated trials per effect size.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the design and simulations.")] = 0,
    plot: Annotated[Path | None, typer.Option(help="Write the power curve PNG here.")] = None,
    allow_gaps: AllowGapsOption = False,
    out: OptionalOutOption = None,
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Power and minimum detectable effect of a place-day design, by simulation.

    Without --rate/--dispersion: the Op Rowan shape on the workspace's crimes (the AREAS LSOAs with
    most serious-violence harm over the last N months, their rates and dispersion).
    """
    from gripkit.evaluate.figures import power_curve_plot, save_figure
    from gripkit.evaluate.power import DEFAULT_EFFECTS, simulate_power
    from gripkit.evaluate.rowan import op_rowan_power
    from gripkit.output import write_table

    setup_logging(quiet=json_out)
    bounds = None
    if rate is not None or dispersion is not None:
        if rate is None or dispersion is None:
            raise InputError(
                "pass both 'rate' and 'dispersion', or neither (estimate them from the workspace)."
            )
        with contextlib.ExitStack() as stack:
            keep = workspace is not None or _keep()
            ws = stack.enter_context(open_workspace(workspace)) if keep else None
            update = stack.enter_context(progress_bar("power simulations", enabled=not json_out))
            main = simulate_power(
                [rate] * areas,
                dispersion,
                days=days,
                treated_per_day=treated_per_day,
                effects=DEFAULT_EFFECTS,
                effect=effect,
                sims=sims,
                seed=seed,
                significance=alpha,
                workspace=ws,
                progress=update,
            )
        title = f"Power, rate {rate:g}/area/day, daily dispersion {dispersion:g}"
    else:
        bar = progress_bar("power simulations", enabled=not json_out)
        with open_workspace(workspace) as ws, bar as update:
            rowan = op_rowan_power(
                ws,
                n_areas=areas,
                treated_per_day=treated_per_day,
                days=days,
                effect=effect,
                last=last,
                harm=harm,
                force=force,
                boundaries=boundaries,
                sims=sims,
                seed=seed,
                significance=alpha,
                allow_gaps=allow_gaps,
                progress=update,
            )
        main, bounds = rowan.main, rowan.table()
        title = "Power for harm (day shocks independent: conservative)"
    if plot is not None:
        save_figure(power_curve_plot(main), plot)
    if out is not None:
        write_table(main.curve, out)
    if json_out:
        print_json(main.to_dict())
        return
    console.print(main.summary(), highlight=False)
    if bounds is not None:
        console.print(_frame_table(bounds, f"Power at {effect:.0%} and MDE (80% power)"))
    console.print(_curve_table(main, title))


@app.command("evaluate")
def evaluate_command(
    place_days: Annotated[
        Path | None,
        typer.Argument(help="CSV/Parquet: area_id, date, treated, count[, harm, dosage]; none: a plan's."),
    ] = None,
    plan: PlanOption = None,
    to: Annotated[
        str | None, typer.Option("--to", help="With --plan: last day judged, YYYY-MM-DD [default: today].")
    ] = None,
    outcomes: Annotated[
        str | None,
        typer.Option(help="Comma-separated outcome columns [default: count; count,harm with --plan]."),
    ] = None,
    models: Annotated[str, typer.Option(help="Comma-separated models: poisson, nb.")] = "poisson,nb",
    time_effects: Annotated[bool, typer.Option(help="One effect per date.")] = True,
    ri_draws: Annotated[int, typer.Option(help="Randomisation-inference re-draws (0 = skip).")] = 999,
    design: Annotated[
        int | None, typer.Option("--design", "--design-id", help="Stored design (result_id) to re-draw.")
    ] = None,
    did_start: Annotated[str | None, typer.Option(help="Difference-in-differences: roll-out date.")] = None,
    group: Annotated[str, typer.Option(help="DiD: column flagging roll-out areas.")] = "group",
    crime_types: Annotated[
        str | None, typer.Option(help="With a plan: only these comma-separated police.uk crime types.")
    ] = None,
    force: ForceOption = None,
    source: SourceOption = "all",
    harm_table: HarmOption = HARM_DEFAULT,  # not `harm`: the outcome named 'harm' must stay 'harm' in errors
    seed: Annotated[int, typer.Option(help="Seed of the randomisation inference.")] = 0,
    out: OptionalOutOption = None,
    forest: Annotated[Path | None, typer.Option(help="Forest plot PNG.")] = None,
    html: Annotated[Path | None, typer.Option(help="HTML section for the report.")] = None,
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Effects of treatment on counts/harm (% change, 95% CI), randomisation p-value, dosage.

    Without PLACE_DAYS: the stored experiment plan (--plan, default the latest) evaluated to --to
    from the workspace's timestamped records (police.uk months cannot give days), re-drawn with the
    plan's own randomiser. With PLACE_DAYS and --plan: that table, re-drawn with the plan's design.
    """
    from gripkit.evaluate.experiment import evaluate_experiment
    from gripkit.evaluate.figures import forest_plot, html_section, save_figure
    from gripkit.evaluate.from_plan import evaluate_plan
    from gripkit.output import write_table

    setup_logging(quiet=json_out)
    by_plan = place_days is None or plan is not None  # no table: the stored plan (default the latest)
    if by_plan and (design is not None or did_start is not None):
        raise InputError(
            "a stored plan is the design that was randomised; received --design/--did-start with it "
            "(or without PLACE_DAYS). Drop them, or pass PLACE_DAYS without --plan."
        )
    if to is not None and not by_plan:
        raise InputError(
            f"--to judges a plan to a day; received --to {to} without --plan. Add --plan PLAN_ID."
        )
    keep = workspace is not None or _keep()  # stored for the report and dashboard
    with contextlib.ExitStack() as stack:
        needs = keep or design is not None or by_plan
        ws = stack.enter_context(open_workspace(workspace)) if needs else None
        if by_plan:
            assert ws is not None
            update = stack.enter_context(progress_bar("evaluate", enabled=not json_out))
            result = evaluate_plan(
                ws, plan, to=to, place_days=place_days, outcomes=outcomes or "count,harm", models=models,
                time_effects=time_effects, ri_draws=ri_draws, seed=seed, harm=harm_table,
                crime_types=split_list(crime_types), force=force, sources=sources_choice(source),
                store=keep, progress=update,
            )
        else:
            assert place_days is not None
            update = stack.enter_context(progress_bar("evaluate", enabled=not json_out))
            result = evaluate_experiment(
                ws,
                place_days,
                outcomes=outcomes or "count",
                models=models,
                time_effects=time_effects,
                ri_draws=ri_draws,
                design=design,
                did_start=did_start,
                group=group,
                seed=seed,
                store=keep,
                progress=update,
            )
    if out is not None:
        write_table(result.table(), out)
    if forest is not None:
        save_figure(forest_plot(result.effects), forest)
    if html is not None:
        section = html_section(
            effects=result.effects, randomisation=result.randomisation, notes=result.meta["notes"]
        )
        html.write_text(section, encoding="utf-8")
    if json_out:
        print_json({**result.to_dict(), "summary": result.summary()})
        return
    console.print(result.summary(), highlight=False)
    console.print(_effects_table(result.effects))
