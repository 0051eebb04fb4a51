"""``gripkit allocate``: split a funding pot across forces or areas by serious-violence harm.

Thin: parses the flags, calls :func:`gripkit.allocate` once (the allocation and its sensitivity
table, stored in the workspace), writes the tables asked for, prints.
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
    setup_logging,
)
from gripkit.cli.options import (
    HARM_DEFAULT,
    AllowGapsOption,
    BoundariesOption,
    ExcludeForceOption,
    ForceOption,
    HarmOption,
    LastOption,
    OptionalOutOption,
)
from gripkit.errors import InputError

if TYPE_CHECKING:
    import pandas as pd


def _need(path: Path | None) -> pd.Series | None:
    if path is None:
        return None
    import pandas as pd

    if not path.is_file():
        raise InputError(f"need file not found: {path}. Pass a CSV with columns name,weight.")
    frame = pd.read_csv(path)
    if list(frame.columns[:2]) != ["name", "weight"]:
        raise InputError(
            f"need file {path} must start with columns name,weight; received {', '.join(frame.columns)}."
        )
    return pd.Series(frame["weight"].to_numpy(float), index=frame["name"].astype(str))


@app.command("allocate")
def allocate_command(
    pot: Annotated[float, typer.Option(help="Pounds to split, e.g. 4000000.")],
    by: Annotated[
        str, typer.Option(help="force (police.uk 'Falls within') or area (local authority).")
    ] = "force",
    force: ForceOption = None,
    harm: HarmOption = HARM_DEFAULT,
    last: LastOption = 12,
    basis: Annotated[
        str, typer.Option(help="level, or trend (level x growth on the window before).")
    ] = "level",
    floor: Annotated[float, typer.Option(help="Minimum per recipient, pounds.")] = 0.0,
    cap: Annotated[float | None, typer.Option(help="Maximum per recipient, pounds.")] = None,
    need: Annotated[Path | None, typer.Option(help="CSV name,weight multiplying each score.")] = None,
    boundaries: BoundariesOption = None,
    sensitivity_harm: Annotated[
        str | None,
        typer.Option(help="Alternative harm table for the sensitivity table [default: ons_css, or cchi]."),
    ] = None,
    sensitivity_last: Annotated[
        int, typer.Option(help="Alternative trailing window for the sensitivity table (months).", min=1)
    ] = 6,
    out: OptionalOutOption = None,
    sensitivity_out: Annotated[Path | None, typer.Option(help="Sensitivity table (.csv/.parquet).")] = None,
    exclude_forces: ExcludeForceOption = None,
    allow_gaps: AllowGapsOption = False,
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Split a pot by serious-violence harm: floors, caps, need, and a sensitivity table.

    --last N is the trailing window (the last N months of data). Every force must hold every month
    of it (a missing month would count as no crime): otherwise the command refuses, naming the
    force; --exclude-force FORCE leaves a force out (listed with £0), --allow-gaps proceeds with the gaps
    flagged. The allocation and its sensitivity table are stored in the workspace (for `gripkit
    report` and the dashboard).
    """
    from gripkit.funding import allocate
    from gripkit.output import write_table

    setup_logging(quiet=json_out)
    window = 12 if last is None else last
    other = sensitivity_harm or ("ons_css" if harm == "cchi" else "cchi")
    alternatives: dict[str, dict[str, object]] = {other: {"harm": other}}
    if sensitivity_last != window:
        alternatives[f"{sensitivity_last}m"] = {"last": sensitivity_last}
    with open_workspace(workspace) as ws:
        result = allocate(
            ws,
            pot=pot,
            by=by,
            basis=basis,
            harm=harm,
            last=window,
            force=force,
            floor=floor,
            cap=cap,
            need=_need(need),
            boundaries=boundaries,
            sensitivity=alternatives,
            allow_gaps=allow_gaps,
            exclude_forces=tuple(exclude_forces or ()),
        )
    moved = result.sensitivity
    if out is not None:
        write_table(result.table, out)
    if sensitivity_out is not None and moved is not None:
        write_table(moved, sensitivity_out)
    if json_out:
        print_json({**result.to_dict(), "summary": result.summary()})
        return
    key = result.key
    title = f"£{pot:,.2f} by {by}, {result.meta.get('months')} ({result.meta.get('harm_table') or 'counts'})"
    table = Table(title=title)
    for name in (key, "harm", "share", "allocation", "reason"):
        table.add_column(name, justify="left" if name in (key, "reason") else "right")
    for row in result.table.itertuples(index=False):
        table.add_row(
            str(getattr(row, key)),
            f"{row.harm:,.1f}",
            f"{row.share:.2%}",
            f"£{row.allocation:,.2f}",
            str(row.reason),
        )
    console.print(table)
    if moved is not None:
        sheet = Table(title="Sensitivity: share under other settings (percentage points of change)")
        for name in moved.columns:
            sheet.add_column(name, justify="right")
        for values in moved.itertuples(index=False):
            sheet.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in values])
        console.print(sheet)
    console.print(result.summary(), highlight=False)
