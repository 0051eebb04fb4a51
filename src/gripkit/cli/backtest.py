"""``gripkit backtest``: rolling-origin evaluation of forecasters on the workspace's crimes.

Thin: parses the flags, calls :func:`gripkit.backtest` (which selects the crimes, applies the harm
table, builds the grid, runs and stores the result), writes the table and plot, prints.
"""

from __future__ import annotations

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
    ForceOption,
    HarmOption,
    MonthsOption,
    SourceOption,
    sources_choice,
    split_list,
)
from gripkit.errors import InputError

if TYPE_CHECKING:
    from gripkit.forecast.report import BacktestResult


def parse_coverage(text: str) -> list[float]:
    """``"1,5"`` (percent) into ``[0.01, 0.05]``.

    >>> parse_coverage("1, 2.5,10")
    [0.01, 0.025, 0.1]
    """
    values = []
    for part in split_list(text) or []:
        try:
            number = float(part.rstrip("%"))
        except ValueError as exc:
            raise InputError(f"--flagged-area takes percentages such as 1,5; received {text!r}.") from exc
        if not 0 < number <= 100:
            raise InputError(
                f"--flagged-area values must be percentages in (0, 100]; received {part!r}. Pass e.g. 1,5."
            )
        values.append(round(number / 100, 10))
    if not values:
        raise InputError(f"--flagged-area takes percentages such as 1,5; received {text!r}.")
    return values


@app.command("backtest")
def backtest_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Results table: .csv or .parquet.")],
    models: Annotated[
        str, typer.Option(help="Comma-separated: naive, naiveK (mean of last K), kde, prospective, etas.")
    ] = "naive,prospective",
    train: Annotated[str, typer.Option(help="Training window, e.g. 12M (or 26W with timestamps).")] = "12M",
    horizon: Annotated[str, typer.Option(help="Forecast period, e.g. 1M (1W needs timestamps).")] = "1M",
    flagged_area: Annotated[str, typer.Option(
        help="Percent of area to flag, comma-separated (--coverage is the data coverage of gripkit status)."
    )] = "1,5",
    months: MonthsOption = None,
    workspace: WorkspaceOption = None,
    serious_violence: Annotated[bool, typer.Option(help="Only the serious-violence categories.")] = False,
    crime_types: Annotated[str | None, typer.Option(help="Comma-separated police.uk crime types.")] = None,
    force: ForceOption = None,
    source: SourceOption = "all",
    harm: HarmOption = HARM_DEFAULT,
    weights: Annotated[
        str,
        typer.Option(
            "--weights",
            help="What the models weigh each crime by: auto (harm whenever --harm is not none), harm, "
            "or crimes. etas always counts crimes.",
        ),
    ] = "auto",
    unit: Annotated[str, typer.Option(help="Spatial unit: grid (models score grid cells).")] = "grid",
    cell_size: Annotated[
        float | None, typer.Option(help="Grid cell size in metres [default: chosen from the area].")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="PAI-vs-coverage PNG [default: OUT with .png].")] = None,
    workers: Annotated[int | None, typer.Option(help="Processes [default: CPU count].")] = None,
    seed: Annotated[int, typer.Option(help="Seed for ETAS time placement and the bootstrap.")] = 0,
    allow_gaps: AllowGapsOption = False,
    json_out: JsonOption = False,
) -> None:
    """Rolling-origin backtest: fit on the window, predict the next period, score, slide.

    --months FROM..TO names the first and last forecast periods (either end may be left open;
    default: from the end of the first training window to the last month of data). The result is
    stored in the workspace (for `gripkit report` and the dashboard).
    """
    from gripkit.forecast.rolling import backtest

    setup_logging(quiet=json_out)
    covers = parse_coverage(flagged_area)
    with open_workspace(workspace) as ws, progress_bar("backtest", enabled=not json_out) as update:
        result = backtest(
            ws,
            models=split_list(models) or [],
            train=train,
            horizon=horizon,
            coverage=covers,
            months=months,
            weights=weights,
            harm=harm,
            crime_types=split_list(crime_types),
            serious_violence=serious_violence,
            force=force,
            sources=sources_choice(source),
            unit=unit,
            cell_size=cell_size,
            workers=workers,
            seed=seed,
            progress=update,
            allow_gaps=allow_gaps,
        )
    written = result.write(out)
    picture = result.plot(plot or out.with_suffix(".png"))
    if json_out:
        payload = {**result.to_dict(), "summary": result.summary(), "out": str(written), "plot": str(picture)}
        print_json(payload)
        return
    print_summary(result)
    console.print(result.summary(), highlight=False)
    console.print(f"Wrote {len(result.table):,} rows to [bold]{written}[/], the plot to [bold]{picture}[/]")


def print_summary(result: BacktestResult) -> None:
    """Mean metrics per model and coverage as a Rich table."""
    summary = result.means()
    table = Table(title=f"Backtest means over {result.meta.get('steps')} steps")
    for name in ("model", "coverage", "area", "hit rate", "PAI", "PEI", "RRI"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for _, row in summary.iterrows():
        table.add_row(
            str(row["model"]),
            f"{row['coverage']:.0%}",
            f"{row['area_share_mean']:.2%}",
            f"{row['hit_rate_mean']:.1%}",
            f"{row['pai_mean']:.2f}",
            f"{row['pei_mean']:.2f}",
            f"{row['rri_mean']:.2f}",
        )
    console.print(table)
