"""``gripkit fetch``: one force's police.uk files, from the bulk archives and then the API."""

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
from gripkit.cli.options import LastOption, MonthsOption
from gripkit.errors import InputError
from gripkit.months import parse_window

_ALL_KINDS = "street,outcomes,stop-and-search"


@app.command("fetch")
def fetch_command(
    force: Annotated[str, typer.Option("--force", help="Force, e.g. \"West Midlands\" or west-midlands.")],
    months: MonthsOption = None,
    last: LastOption = None,
    kinds: Annotated[str, typer.Option(
        "--kinds", help="Comma-separated: street, outcomes, stop-and-search.")] = _ALL_KINDS,
    into: Annotated[Path, typer.Option(
        "--into", help="Folder receiving the YYYY-MM/ files.")] = Path("police-uk"),
    ingest: Annotated[bool, typer.Option(
        "--ingest", help="Ingest new or corrected files as they arrive.")] = False,
    workspace: WorkspaceOption = None,
    base_url: Annotated[str, typer.Option("--base-url", help="Server or mirror.")] = "https://data.police.uk",
    proxy: Annotated[str | None, typer.Option("--proxy", help="Proxy URL [default: HTTPS_PROXY].")] = None,
    boundary: Annotated[Path | None, typer.Option(
        "--boundary", help="Force polygons (police_force column) for months only the API has.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Download police.uk files for one force in the police.uk layout; with --ingest, ingest them.

    Months up to the newest archive come from /data/archive/YYYY-MM.zip (resumable, verified),
    newer months from the API (rate-limited to 15 requests in any second). A second run downloads
    nothing. Months the force did not publish are listed with the source's own date list.
    """
    from gripkit.fetch import fetch

    setup_logging(quiet=json_out)
    if months and last:
        raise InputError(f"--months and --last both give the window; received --months {months} and --last "
                         f"{last}. Pass one of them.")
    if workspace is not None and not ingest:
        raise InputError("-w/--workspace is where --ingest stores the files; pass --ingest too, "
                         "or leave -w out.")
    window = parse_window(months) if months else None
    kind_list = [k.strip() for k in kinds.split(",") if k.strip()]
    with progress_bar("fetch", enabled=not json_out) as update:
        if ingest:
            with open_workspace(workspace) as ws:
                result = fetch(force, months=window, last=last, kinds=kind_list, into=into, base_url=base_url,
                               proxy=proxy, boundary=boundary, workspace=ws, progress=update)
        else:
            result = fetch(force, months=window, last=last, kinds=kind_list, into=into, base_url=base_url,
                           proxy=proxy, boundary=boundary, progress=update)
    if json_out:
        print_json(result.to_dict())
        return
    console.print(result.summary())
    if result.missing:
        table = Table("month", "kind", "why missing", title="Missing")
        for row in result.missing:
            table.add_row(row["month"], row["kind"], row["reason"])
        console.print(table)
