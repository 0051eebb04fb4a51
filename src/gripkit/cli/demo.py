"""``gripkit demo``: the whole pipeline on bundled real Bedfordshire data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gripkit.cli.common import JsonOption, app, console, print_json, progress_bar, setup_logging
from gripkit.cli.options import HARM_DEFAULT, ForceOption, HarmOption

DemoOutOption = Annotated[
    Path, typer.Option("--out", "-o", help="Folder for the demo's outputs (workspace, layers, pages).")
]


@app.command("demo")
def demo_command(
    out: DemoOutOption = Path("gripkit-demo"),
    harm: HarmOption = HARM_DEFAULT,
    force: ForceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Ingest 12 months of Bedfordshire street crime (bundled), find harm hotspots, write a page."""
    from gripkit.cli.hotspots import print_summary
    from gripkit.demo import run_demo

    setup_logging(quiet=json_out)
    with progress_bar("demo (bundled Bedfordshire data)", enabled=not json_out) as update:
        result = run_demo(out, harm=harm, force=force, progress=update)
    d = result.ingest.to_dict()
    if json_out:
        print_json(
            {
                "out": str(result.out),
                "files": {label: str(path) for label, path in result.files.items()},
                "ingest": d,
                "hotspots": result.hotspots.to_dict(),
                "summary": result.hotspots.summary(),
            }
        )
        return
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
