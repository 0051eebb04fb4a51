"""``gripkit allocate``: split a funding pot across forces or areas by serious-violence harm."""

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
    force: Annotated[str | None, typer.Option(help="Only this force (with --by area).")] = None,
    harm: Annotated[str, typer.Option(help="Harm table: cchi, ons_css or a CSV path.")] = "cchi",
    months: Annotated[int, typer.Option(help="Window: the last N months of data.")] = 12,
    basis: Annotated[
        str, typer.Option(help="level, or trend (level x growth on the window before).")
    ] = "level",
    floor: Annotated[float, typer.Option(help="Minimum per recipient, pounds.")] = 0.0,
    cap: Annotated[float | None, typer.Option(help="Maximum per recipient, pounds.")] = None,
    need: Annotated[Path | None, typer.Option(help="CSV name,weight multiplying each score.")] = None,
    boundaries: Annotated[Path | None, typer.Option(help="LSOA file with lad11nm for --by area.")] = None,
    sensitivity_harm: Annotated[
        str | None, typer.Option(help="Alternative harm table for the sensitivity table.")
    ] = None,
    sensitivity_months: Annotated[int, typer.Option(help="Alternative window (months).")] = 6,
    out: Annotated[Path | None, typer.Option(help="Allocation table (.csv/.parquet).")] = None,
    sensitivity_out: Annotated[Path | None, typer.Option(help="Sensitivity table (.csv/.parquet).")] = None,
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Split a pot by serious-violence harm: floors, caps, need, and a sensitivity table."""
    from gripkit.funding import allocate, sensitivity
    from gripkit.output import write_table

    setup_logging(quiet=json_out)
    with open_workspace(workspace, read_only=True) as ws:
        result = allocate(
            ws,
            pot=pot,
            by=by,
            basis=basis,
            harm=harm,
            months=months,
            force=force,
            floor=floor,
            cap=cap,
            need=_need(need),
            boundaries=boundaries,
        )
        other = sensitivity_harm or ("ons_css" if harm == "cchi" else "cchi")
        alternatives: dict[str, dict[str, object]] = {other: {"harm": other}}
        if sensitivity_months != months:
            alternatives[f"{sensitivity_months}m"] = {"months": sensitivity_months}
        moved = sensitivity(ws, result, alternatives)
    with open_workspace(workspace) as ws:  # for the report and dashboard
        ws.record_result(
            "allocation",
            params=result.meta,
            payload={
                "allocation": result.table.to_dict(orient="records"),
                "sensitivity": moved.to_dict(orient="records"),
            },
        )
    if out is not None:
        write_table(result.table, out)
    if sensitivity_out is not None:
        write_table(moved, sensitivity_out)
    if json_out:
        print_json(
            {
                "allocation": result.table.to_dict(orient="records"),
                "sensitivity": moved.to_dict(orient="records"),
                "meta": result.meta,
            }
        )
        return
    key = result.table.columns[0]
    table = Table(title=f"£{pot:,.2f} by {by}, {result.meta.get('window')} ({result.meta.get('harm_table')})")
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
    sheet = Table(title="Sensitivity: share under other settings (percentage points of change)")
    for name in moved.columns:
        sheet.add_column(name, justify="right")
    for row in moved.itertuples(index=False):
        sheet.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row])
    console.print(sheet)
    console.print(f"Total £{result.table['allocation'].sum():,.2f}")
