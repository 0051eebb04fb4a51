"""``gripkit report``: one self-contained offline HTML report of the whole programme."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gripkit.cli.common import WorkspaceOption, app, console, open_workspace, setup_logging
from gripkit.cli.hotspots import parse_months, split_list


@app.command("report")
def report_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("report.html"),
    workspace: WorkspaceOption = None,
    title: Annotated[str, typer.Option(help="Report heading.")] = "gripkit programme report",
    unit: Annotated[
        str | None, typer.Option(help="Hotspot unit: grid or lsoa [default: latest run's].")
    ] = None,
    crime_types: Annotated[str | None, typer.Option(help="Comma-separated police.uk crime types.")] = None,
    months: Annotated[str | None, typer.Option(help="FROM..TO, e.g. 2023-05..2024-04.")] = None,
    harm: Annotated[str | None, typer.Option(help="Harm table: cchi, ons_css, a CSV, or none.")] = None,
) -> None:
    """Write the programme report: map, concentration, top hotspots, plan, evaluation, provenance."""
    from gripkit.report.full import ReportOptions, write_report

    setup_logging()
    options = ReportOptions(
        title=title, unit=unit, crime_types=split_list(crime_types), months=parse_months(months), harm=harm
    )
    with open_workspace(workspace, read_only=False) as ws:
        written = write_report(ws, out, options)
    console.print(
        f"Wrote [bold]{written}[/] ({written.stat().st_size / 1e6:.1f} MB); open it in any browser."
    )
