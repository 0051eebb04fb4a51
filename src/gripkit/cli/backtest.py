"""``gripkit backtest``: rolling-origin evaluation of forecasters on the workspace's crimes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from gripkit import columns as C
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
from gripkit.cli.hotspots import split_list
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
            raise InputError(f"--coverage takes percentages such as 1,5; received {text!r}.") from exc
        if not 0 < number <= 100:
            raise InputError(
                f"--coverage values must be percentages in (0, 100]; received {part!r}. Pass e.g. 1,5."
            )
        values.append(round(number / 100, 10))
    if not values:
        raise InputError(f"--coverage takes percentages such as 1,5; received {text!r}.")
    return values


@app.command("backtest")
def backtest_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Results table: .csv or .parquet.")],
    models: Annotated[
        str, typer.Option(help="Comma-separated: naive, naiveK (mean of last K), kde, prospective, etas.")
    ] = "naive,prospective",
    train: Annotated[str, typer.Option(help="Training window, e.g. 12M (or 26W with timestamps).")] = "12M",
    horizon: Annotated[str, typer.Option(help="Forecast period, e.g. 1M (1W needs timestamps).")] = "1M",
    coverage: Annotated[str, typer.Option(help="Percent of area to flag, comma-separated.")] = "1,5",
    from_: Annotated[
        str | None, typer.Option("--from", help="First forecast period, e.g. 2022-05 [default: earliest].")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last forecast period start, e.g. 2024-04.")] = None,
    workspace: WorkspaceOption = None,
    serious_violence: Annotated[bool, typer.Option(help="Only the serious-violence categories.")] = False,
    crime_types: Annotated[str | None, typer.Option(help="Comma-separated police.uk crime types.")] = None,
    harm: Annotated[
        str | None, typer.Option(help="Harm table (cchi, ons_css, a CSV): weight models and harm hit rate.")
    ] = None,
    unit: Annotated[str, typer.Option(help="Spatial unit: grid (models score grid cells).")] = "grid",
    cell_size: Annotated[
        float | None, typer.Option(help="Grid cell size in metres [default: chosen from the area].")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="PAI-vs-coverage PNG [default: OUT with .png].")] = None,
    workers: Annotated[int | None, typer.Option(help="Processes [default: CPU count].")] = None,
    seed: Annotated[int, typer.Option(help="Seed for ETAS time placement and the bootstrap.")] = 0,
    json_out: JsonOption = False,
) -> None:
    """Rolling-origin backtest: fit on the window, predict the next period, score, slide."""
    from gripkit.forecast.rolling import backtest, grid_for
    from gripkit.harm import apply_harm, load_harm_table
    from gripkit.hotspots.find import select_crimes
    from gripkit.validate import one_of

    setup_logging(quiet=json_out)
    covers = parse_coverage(coverage)
    with open_workspace(workspace, read_only=True) as ws:
        crimes = select_crimes(ws, crime_types=split_list(crime_types), serious_violence=serious_violence)
    crimes = crimes[crimes[C.X].notna() & crimes[C.Y].notna()].reset_index(drop=True)
    if harm:
        table = load_harm_table(harm)
        crimes[C.HARM] = apply_harm(crimes, table)
    one_of("unit", unit, ("grid",))
    units = grid_for(crimes, cell_size)
    with progress_bar("backtest", enabled=not json_out) as update:
        result = backtest(
            crimes,
            units,
            models=split_list(models) or [],
            train=train,
            horizon=horizon,
            coverage=covers,
            start=_month_start(from_),
            end=_month_start(to),
            harm=C.HARM if harm else None,
            workers=workers,
            seed=seed,
            progress=update,
        )
    written = result.write(out)
    picture = result.plot(plot or out.with_suffix(".png"))
    verdict = result.verdict()
    with open_workspace(workspace) as ws:  # for the report and dashboard
        ws.record_result(
            "backtest",
            params=result.meta,
            payload={
                "verdict": verdict,
                "summary": result.summary().to_dict(orient="records"),
                "table": str(written),
            },
        )
    if json_out:
        print_json(
            {
                "out": str(written),
                "plot": str(picture),
                "verdict": verdict,
                "meta": result.meta,
                "summary": result.summary().to_dict(orient="records"),
            }
        )
        return
    print_summary(result)
    console.print(f"[bold]{verdict}[/]")
    console.print(f"Wrote {len(result.table):,} rows to [bold]{written}[/], the plot to [bold]{picture}[/]")


def _month_start(text: str | None) -> str | None:
    """``2023-05`` -> ``2023-05-01``; full dates pass through."""
    if text is None:
        return None
    return f"{text}-01" if len(text.strip()) == 7 else text.strip()


def print_summary(result: BacktestResult) -> None:
    """Mean metrics per model and coverage as a Rich table."""
    summary = result.summary()
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
