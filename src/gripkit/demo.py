"""The whole first pipeline on the bundled real Bedfordshire data: what ``gripkit demo`` runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from gripkit import columns as C
from gripkit import datasets
from gripkit.hotspots.find import HotspotResult, find_hotspots, write_layer
from gripkit.ingestion import IngestReport, ingest
from gripkit.progress import Progress, Steps
from gripkit.report import write_hotspot_page
from gripkit.report.full import write_report
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")
TOP_N = 50


@dataclass
class DemoResult:
    """What the demo wrote and computed."""

    out: Path
    files: dict[str, Path]
    ingest: IngestReport
    hotspots: HotspotResult


def run_demo(
    out: str | Path = "gripkit-demo",
    *,
    harm: str | Path | None = C.DEFAULT_HARM_TABLE,
    force: str | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Ingest the bundled 12 months of Bedfordshire street crime, find grid hotspots, write outputs.

    ``harm`` is the harm table weighing the crimes (``"none"`` counts them) and ``force`` keeps one
    force's crimes (the bundled data are Bedfordshire's). The ingest and the hotspots are stored in
    the demo's workspace, so the report renders them.

    Writes into ``out``: ``gripkit.duckdb`` (workspace), ``hotspots.parquet`` (GeoParquet) and
    ``hotspots.gpkg`` (every grid cell), ``top_hotspots.csv`` (the top 50 cells), ``index.html``
    (map, Lorenz curve, concentration figures) and ``report.html`` (the programme report, with the
    stages not run yet marked as such). Running it again reuses the ingested files.

    ``progress(done, total, name)`` (:data:`gripkit.progress.Progress`): one step per bundled file
    ingested, then 2 for the serious-violence hotspots (stored for the report's headline), 2 for the
    hotspots, 1 for the report and 1 for the layers and page.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "workspace": folder / "gripkit.duckdb",
        "geoparquet": folder / "hotspots.parquet",
        "geopackage": folder / "hotspots.gpkg",
        "top_csv": folder / "top_hotspots.csv",
        "page": folder / "index.html",
        "report": folder / "report.html",
    }
    paths = datasets.bedfordshire_street_files()
    steps = Steps(progress, len(paths) + 6)
    with Workspace(files["workspace"]) as ws:
        report = ingest(paths, ws, progress=steps.part(len(paths)))
        # serious violence first, stored for the report's headline; then every crime type for the map
        find_hotspots(
            ws, unit="grid", harm=harm, force=force, serious_violence=True,
            progress=steps.part(2, "serious-violence hotspots: "),
        )
        result = find_hotspots(ws, unit="grid", harm=harm, force=force, progress=steps.part(2, "hotspots: "))
        write_report(ws, files["report"], progress=steps.part(1, "report: "))
    write_layer(result.hotspots, files["geoparquet"])
    if files["geopackage"].exists():
        files["geopackage"].unlink()
    write_layer(result.hotspots, files["geopackage"])
    result.top(TOP_N).to_csv(files["top_csv"], index=False)
    meta = {
        "data": "police.uk street-level crime, Bedfordshire Police (bundled with gripkit)",
        "months": str(result.meta["months"]),
        "crimes": f"{result.meta['crimes']:,} ({result.meta['unassigned']:,} outside the grid)",
        "harm table": _harm_line(result.meta),
        "unit": f"{result.meta.get('cell_size_m', 0):g} m grid over the {result.meta.get('study_area', '')}",
        "workspace": str(files["workspace"]),
        "licence": datasets.ATTRIBUTION + " " + datasets.BOUNDARY_ATTRIBUTION,
    }
    write_hotspot_page(
        files["page"],
        result.hotspots,
        result.concentration,
        title="gripkit demo: harm hotspots in Bedfordshire",
        meta=meta,
    )
    steps.step("layers and page")
    return DemoResult(folder, files, report, result)


def _harm_line(meta: dict[str, object]) -> str:
    """``cchi (sha256 0123456789ab)``, or what counting crimes means when no table is used."""
    if meta.get("harm_table") in (None, "", "none"):
        return "none: every crime weighs 1"
    return f"{meta['harm_table']} (sha256 {str(meta.get('harm_sha256'))[:12]})"
