"""``gripkit hotspots``: counts and harm per grid cell or LSOA, ranked, with concentration."""

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
    setup_logging,
)
from gripkit.errors import InputError
from gripkit.hotspots.find import HotspotResult, find_hotspots, write_layer


def parse_months(text: str | None) -> tuple[str | None, str | None] | None:
    """``2023-05..2024-04``, ``2023-05..`` or ``..2024-04`` (or one month) into a (first, last) pair."""
    if not text:
        return None
    first, sep, last = text.partition("..")
    if not sep:
        return (first.strip(), first.strip())
    return (first.strip() or None, last.strip() or None)


def split_list(text: str | None) -> list[str] | None:
    """Comma-separated values, stripped; None when empty."""
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


@app.command("hotspots")
def hotspots_command(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output layer: .parquet, .gpkg, .geojson or .csv.")
    ],
    workspace: WorkspaceOption = None,
    unit: Annotated[str, typer.Option(help="Spatial unit: grid or lsoa.")] = "grid",
    cell_size: Annotated[
        float | None, typer.Option(help="Grid cell size in metres [default: chosen from the area].")
    ] = None,
    crime_types: Annotated[str | None, typer.Option(help="Comma-separated police.uk crime types.")] = None,
    serious_violence: Annotated[bool, typer.Option(help="Only the serious-violence categories.")] = False,
    sv_table: Annotated[
        Path | None, typer.Option(help="CSV crime_type,serious_violence [default: police.uk proxy].")
    ] = None,
    months: Annotated[str | None, typer.Option(help="FROM..TO, e.g. 2023-05..2024-04.")] = None,
    harm: Annotated[str, typer.Option(help="Harm table: cchi, ons_css, a CSV path, or none.")] = "cchi",
    boundaries: Annotated[Path | None, typer.Option(help="LSOA boundary file for --unit lsoa.")] = None,
    top: Annotated[int, typer.Option(help="Rows of the top-hotspots table to print.")] = 10,
    json_out: JsonOption = False,
) -> None:
    """Find hotspots: crimes and harm per unit, ranked, with the concentration of harm."""
    setup_logging(quiet=json_out)
    if top < 0:
        raise InputError(f"--top must be >= 0; received {top}.")
    with open_workspace(workspace) as ws:
        result = find_hotspots(
            ws,
            unit=unit,
            cell_size=cell_size,
            crime_types=split_list(crime_types),
            serious_violence=serious_violence,
            sv_table=sv_table,
            months=parse_months(months),
            harm=harm,
            boundaries=boundaries,
        )
    written = write_layer(result.hotspots, out)
    if json_out:
        print_json(
            {
                "out": str(written),
                "units": len(result.hotspots),
                "meta": result.meta,
                "concentration": result.concentration.to_dict(lorenz_points=101),
            }
        )
        return
    print_summary(result, top)
    console.print(f"Wrote {len(result.hotspots):,} units to [bold]{written}[/]")


def print_summary(result: HotspotResult, top: int) -> None:
    """Concentration figures and the top hotspots as Rich tables."""
    conc = result.concentration
    table = Table(
        title=f"Concentration of harm ({result.meta.get('harm_table')}) over {conc.n_units:,} units"
    )
    table.add_column("top")
    table.add_column("of units", justify="right")
    table.add_column("of area", justify="right")
    for k in conc.tops:
        table.add_row(f"{k:.0%}", f"{conc.top_unit_share[k]:.1%}", f"{conc.top_area_share[k]:.1%}")
    console.print(table)
    corrected = "n/a" if conc.gini_corrected is None else f"{conc.gini_corrected:.3f}"
    console.print(f"Gini {conc.gini:.3f} (small-sample corrected {corrected})")
    if top:
        head = result.top(top)
        listing = Table(title=f"Top {len(head)} hotspots")
        for name in ("harm_rank", "unit_id", "crimes", "harm", "share_of_harm"):
            listing.add_column(name, justify="right" if name != "unit_id" else "left")
        for _, row in head.iterrows():
            listing.add_row(
                str(row["harm_rank"]),
                str(row["unit_id"]),
                f"{row['crimes']:,}",
                f"{row['harm']:,.1f}",
                f"{row['share_of_harm']:.2%}",
            )
        console.print(listing)
