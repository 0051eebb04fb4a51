"""``gripkit emerging``: emerging hot spot categories, with a month-shuffled null's counts beside them."""

from __future__ import annotations

from typing import Annotated, Any

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
    ExcludeForceOption,
    ForceOption,
    HarmOption,
    LastOption,
    MonthsOption,
    OptionalOutOption,
    SeedOption,
)
from gripkit.errors import InputError
from gripkit.months import parse_window


@app.command("emerging")
def emerging_command(
    out: OptionalOutOption = None,
    workspace: WorkspaceOption = None,
    unit: Annotated[str, typer.Option(help="Spatial unit: grid, hex (H3), lsoa or segment.")] = "grid",
    cell_size: Annotated[
        float | None, typer.Option(help="Grid cell size in metres [default: chosen].")
    ] = None,
    months: MonthsOption = None,
    last: LastOption = None,
    force: ForceOption = None,
    harm: HarmOption = HARM_DEFAULT,
    weights: Annotated[
        str, typer.Option("--weights", help="What Gi* tests per slice: crimes (counts) or harm.")
    ] = "crimes",
    serious_violence: Annotated[bool, typer.Option(help="Only the serious-violence categories.")] = False,
    alpha: AlphaOption = 0.05,
    p_values: Annotated[
        str,
        typer.Option(help="Gi* p-values: permutation (exact) or normal (approximation, anti-conservative)."),
    ] = "permutation",
    time_step: Annotated[
        int, typer.Option(help="Slices in each bin's neighbourhood: its own and the N-1 before.", min=1)
    ] = 1,
    trend: Annotated[
        str, typer.Option(help="Trend tested: z (Gi* z-scores, as ArcGIS) or share (of the slice's crimes).")
    ] = "z",
    null_runs: Annotated[
        int, typer.Option(help="Month-shuffled null runs printed beside the real counts.", min=0)
    ] = 2,
    seed: SeedOption = 0,
    allow_gaps: AllowGapsOption = False,
    exclude_forces: ExcludeForceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Emerging hot spots: exact-permutation Gi* per month, Mann-Kendall trends (BH over the units
    the trend decides), ArcGIS-style categories, and what a month-shuffled null gives in each
    category. Refuses a window a force does not fully hold (--allow-gaps proceeds, flagged). The
    result is stored in the workspace (kind emerging)."""
    from gripkit.hotspots.emerging_job import emerging_hotspots
    from gripkit.months import trailing_window

    setup_logging(quiet=json_out)
    if months and last:
        raise InputError(
            f"--months and --last both give the window; received --months {months} and --last {last}. "
            "Pass one of them."
        )
    if weights not in ("crimes", "harm"):
        raise InputError(f"--weights must be crimes or harm; received {weights!r}.")
    with open_workspace(workspace) as ws, progress_bar("emerging hot spots", enabled=not json_out) as update:
        window: tuple[Any, Any] | None = (
            trailing_window(ws, last, force=force) if last else parse_window(months)
        )
        result = emerging_hotspots(
            ws,
            months=window,
            unit=unit,
            cell_size=cell_size,
            harm=harm,
            weights=None if weights == "crimes" else "harm",
            force=force,
            serious_violence=serious_violence,
            alpha=alpha,
            p_values=p_values,
            time_step=time_step,
            trend=trend,
            null_runs=null_runs,
            seed=seed,
            allow_gaps=allow_gaps,
            exclude_forces=tuple(exclude_forces or ()),
            progress=update,
        )
    written = None
    if out is not None:
        from gripkit.output import write_table

        written = write_table(result.units, out, layer="emerging")
    if json_out:
        print_json(
            {**result.to_dict(), "result_id": result.meta.get("result_id"), "out": written and str(written)}
        )
        return
    console.print(result.summary())
    runs = len(result.null_runs)
    table = Table(title=f"Emerging hot spot categories: real vs {runs} month-shuffled null run(s)")
    for name in ("category", "units", "null mean", "null range"):
        table.add_column(name, justify="left" if name == "category" else "right")
    for row in result.counts().itertuples():
        spread = f"{row.null_min:,}-{row.null_max:,}" if runs else "-"
        mean = f"{row.null_mean:,.1f}" if runs else "-"
        table.add_row(str(row.category), f"{row.units:,}", mean, spread)
    console.print(table)
    console.print(f"Stored as result {result.meta.get('result_id')} (kind emerging).")
    if written:
        console.print(f"Wrote {len(result.units):,} units to [bold]{written}[/]")
