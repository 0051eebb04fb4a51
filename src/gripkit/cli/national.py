"""``gripkit national``: ingest many forces, then the national table, map and allocation.

Thin: parses the flags, calls :func:`gripkit.run_national` (which ingests, computes or reuses each
force's row, writes the files and stores the run), prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from gripkit.cli.options import (
    HARM_DEFAULT,
    AllowGapsOption,
    BoundariesOption,
    ExcludeForceOption,
    HarmOption,
    LastOption,
)


def _fmt(value: object, spec: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return format(value, spec)


@app.command("national")
def national_command(
    paths: Annotated[list[Path], typer.Argument(help="police.uk bulk zips, month folders or files.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder for national.csv/.parquet and the map.")
    ],
    pot: Annotated[float | None, typer.Option(help="Pounds to split across forces, e.g. 4000000.")] = None,
    last: LastOption = 12,
    harm: HarmOption = HARM_DEFAULT,
    cell_size: Annotated[float | None, typer.Option(help="Grid cell side, metres (default: auto).")] = None,
    areas: Annotated[int, typer.Option(help="Most proposed patrol areas per force.")] = 20,
    boundaries: BoundariesOption = None,
    workers: Annotated[int | None, typer.Option(
        help="Processes for the ingest and the per-force work [default: CPUs, for large inputs].")] = None,
    batch_rows: Annotated[int, typer.Option(help="Rows per ingest transaction.")] = 500_000,
    exclude_forces: ExcludeForceOption = None,
    allow_gaps: AllowGapsOption = False,
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Every force at once: serious-violence harm, trend, hotspots, concentration, patrol areas.

    --last N is each force's trailing window (its last N months; the trend compares them with the N
    before). Each force must hold every month of its window (a missing month would count as no
    crime): otherwise the command refuses, naming the force; --exclude-force FORCE leaves a force out
    (listed, £0), --allow-gaps proceeds with the gaps flagged. The run is stored in the workspace
    (for `gripkit report` and the dashboard).
    """
    from gripkit.national import NationalParams, run_national

    setup_logging(quiet=json_out)
    params = NationalParams(last=12 if last is None else last, harm=harm, cell_size=cell_size, n_areas=areas,
                            boundaries=boundaries)
    with open_workspace(workspace) as ws, progress_bar("national", enabled=not json_out) as update:
        result = run_national(paths, ws, out, params=params, pot=pot, workers=workers, progress=update,
                              batch_rows=batch_rows, allow_gaps=allow_gaps,
                              exclude_forces=tuple(exclude_forces or ()))
    if json_out:
        print_json({**result.to_dict(), "summary": result.summary()})
        return
    table = Table(title=f"National serious violence ({params.harm}, last {params.last} months per force)")
    cols = ["force", "sv harm", "trend", "top 5% grid", "top 5% LSOA", "areas", "LSOA", "reused"]
    if pot is not None:
        cols.insert(6, "allocation")
    for name in cols:
        table.add_column(name, justify="left" if name in ("force", "LSOA") else "right")
    for row in result.table.to_dict(orient="records"):
        cells = [
            str(row[C.FORCE]), _fmt(row["sv_harm"], ",.0f"), _fmt(row["trend"], ".2f"),
            _fmt(row["grid_top5_share"], ".1%"), _fmt(row["lsoa_top5_share"], ".1%"),
            _fmt(row["patrol_areas"], ".0f"), _fmt(row["lsoa_polygons"], "s"),
            "yes" if row["reused"] else "no",
        ]
        if pot is not None:
            cells.insert(6, "£" + _fmt(row.get("allocation"), ",.2f"))
        table.add_row(*cells)
    console.print(table)
    console.print(
        f"recomputed {len(result.recomputed)} force(s): {', '.join(result.recomputed) or 'none'}; "
        f"reused {len(result.reused)}: {', '.join(result.reused) or 'none'}"
    )
    console.print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))
    for kind, path in result.outputs.items():
        console.print(f"{kind}: {path}")
    console.print(result.summary(), highlight=False)
