"""``gripkit demo``: the whole pipeline on bundled real Bedfordshire data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gripkit.cli.common import app, console, progress_bar, setup_logging
from gripkit.cli.hotspots import print_summary


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's outputs.")] = Path(
        "gripkit-demo"
    ),
) -> None:
    """Ingest 12 months of Bedfordshire street crime (bundled), find harm hotspots, write a page."""
    from gripkit.demo import run_demo

    setup_logging()
    with progress_bar("ingesting bundled Bedfordshire data") as update:
        result = run_demo(out, progress=update)
    d = result.ingest.to_dict()
    console.print(
        f"Ingested {d['read']:,} rows: {d['loaded']:,} loaded, {d['quarantined']:,} quarantined "
        f"{d['by_reason']}"
        + (f"; {len(d['skipped_files'])} files already there" if d["skipped_files"] else "")
    )
    print_summary(result.hotspots, top=5)
    for label, path in result.files.items():
        console.print(f"  {label:<11} {path}")
    console.print(
        f"[bold green]Done.[/] Open [bold]{result.files['page']}[/] in a browser; "
        f"load {result.files['geopackage']} in QGIS."
    )
