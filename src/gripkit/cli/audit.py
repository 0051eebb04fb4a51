"""``gripkit audit``: what the hotspot selection rests on, a feedback simulation, who lives there and
who is stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from gripkit.cli.options import HARM_DEFAULT, ForceOption, HarmOption, SeedOption


@app.command("audit")
def audit_command(
    workspace: WorkspaceOption = None,
    unit: Annotated[str, typer.Option(help="Spatial unit (lsoa: residents are counted per LSOA).")] = "lsoa",
    areas: Annotated[int, typer.Option(help="Areas the selection chooses (Operation Rowan: 21).")] = 21,
    force: ForceOption = None,
    harm: HarmOption = HARM_DEFAULT,
    proactive: Annotated[
        list[str] | None,
        typer.Option(
            help="A crime type counted as proactively found (repeat) [default: Drugs, Possession of weapons]."
        ),
    ] = None,
    rounds: Annotated[int, typer.Option(help="Simulated select-patrol-record rounds.")] = 10,
    uplift: Annotated[
        float, typer.Option(help="Detection uplift of proactive types in patrolled areas (0.5 = +50%).")
    ] = 0.5,
    reactive_uplift: Annotated[
        float, typer.Option(help="Detection uplift of the other (victim-reported) types.")
    ] = 0.0,
    effect: Annotated[float, typer.Option(help="Share of true harm patrols prevent (0 to <1).")] = 0.0,
    null_draws: Annotated[int, typer.Option(help="Poisson re-draws behind the null band.")] = 200,
    population: Annotated[
        Path | None, typer.Option(help="2011 census LSOA file [default: bundled Bedfordshire rows].")
    ] = None,
    suppress_below: Annotated[int, typer.Option(help="Stop-search counts below this are shown as <N.")] = 10,
    seed: SeedOption = None,
    json_out: JsonOption = False,
) -> None:
    """Audit the hotspot selection: reactive vs proactive harm, a seeded feedback simulation, residents
    and stop and search in and outside the chosen areas. Reports only; nothing here chooses areas."""
    from gripkit.audit import audit_hotspots

    setup_logging(quiet=json_out)
    with open_workspace(workspace) as ws, progress_bar("audit", enabled=not json_out) as update:
        result = audit_hotspots(
            ws,
            unit=unit,
            areas=areas,
            harm=harm,
            force=force,
            proactive=proactive,
            rounds=rounds,
            uplift=uplift,
            reactive_uplift=reactive_uplift,
            effect=effect,
            null_draws=null_draws,
            seed=seed,
            population=population,
            suppress_below=suppress_below,
            progress=update,
        )
    if json_out:
        print_json(result.to_dict())
        return
    console.print(result.summary())
    table = Table(title="Feedback simulation: recorded harm per round")
    for name in ("round", "Gini", "top share", "turnover", "Gini, no uplift"):
        table.add_column(name, justify="right")
    for row, flat in zip(result.feedback["rounds"], result.feedback["no_uplift"], strict=True):
        table.add_row(
            str(row["round"]),
            f"{row['gini']:.3f}",
            f"{100 * row['top_share']:.1f}%",
            f"{100 * row['turnover']:.0f}%",
            f"{flat['gini']:.3f}",
        )
    console.print(table)
