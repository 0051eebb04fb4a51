"""``gripkit ingest``: police.uk folders/zips/CSVs, a force's own CSV with a column mapping, or hospital
ED assault records (``--format ed``, Cardiff Model; see :mod:`gripkit.ingestion.ed`)."""

from __future__ import annotations

import logging
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
    progress_bar,
    setup_logging,
)
from gripkit.errors import InputError

if TYPE_CHECKING:
    from gripkit.ingestion import ColumnMapping, IngestReport


@app.command("ingest")
def ingest_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Files, month folders or zip archives (any mix), applied in this order."),
    ],
    workspace: WorkspaceOption = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="police.uk (default), csv (a force's own) or ed (hospital ED "
            "assault records, Cardiff Model).",
        ),
    ] = "police.uk",
    map_file: Annotated[
        Path | None, typer.Option("--map", help="TOML column mapping for --format csv or ed.")
    ] = None,
    postcodes: Annotated[
        Path | None,
        typer.Option(
            help="--format ed: OS Code-Point Open (codepo_gb.zip or a CSV) placing rows located by postcode "
            "[default: none; such rows are quarantined]."
        ),
    ] = None,
    gazetteer: Annotated[
        Path | None,
        typer.Option(
            help="--format ed: CSV name,x,y (EPSG:27700) placing rows located by a place name "
            "[default: none; such rows are quarantined]."
        ),
    ] = None,
    col: Annotated[
        list[str] | None, typer.Option("--col", help="target=SourceColumn (repeatable) for --format csv.")
    ] = None,
    force: Annotated[str | None, typer.Option(help="Force area of a force CSV (checks coordinates).")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of x/y in a force CSV [default EPSG:27700].")] = None,
    date_format: Annotated[str | None, typer.Option(help="strftime format of the date column.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes parsing and checking (0: threads) [default: CPU count for inputs of "
            "32 MB or more on Linux (512 MB elsewhere), else threads]."
        ),
    ] = None,
    rehash: Annotated[
        bool,
        typer.Option(
            "--rehash",
            help="Read and hash every file, even those unchanged (same size and time) since ingested.",
        ),
    ] = False,
    batch_rows: Annotated[
        int,
        typer.Option(
            "--batch-rows", min=1, help="Rows per transaction: each batch of files is committed whole."
        ),
    ] = 60_000,
    accept_shrink: Annotated[
        bool,
        typer.Option(
            "--accept-shrink",
            help="Apply corrected files that drop more than 20% of a month's rows "
            "(held back by default, also those held back before).",
        ),
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Ingest crime files into the workspace; every row is loaded or quarantined with a reason.

    Running it again on the same files changes nothing. A corrected file (same force, month and
    kind) replaces the active version unless it drops more than 20% of its rows; see every version
    with `gripkit sources`.
    """
    from gripkit.ingestion import ingest

    setup_logging(quiet=json_out)
    mapping: ColumnMapping | None
    if format.lower() == "ed":
        mapping = _ed_mapping(map_file, col or [], force, crs, date_format, postcodes, gazetteer)
    elif postcodes or gazetteer:
        raise InputError("--postcodes/--gazetteer place hospital ED records; add --format ed --map ed.toml.")
    else:
        mapping = _mapping(format, map_file, col or [], force, crs, date_format)
    with open_workspace(workspace) as ws, progress_bar("ingesting", enabled=not json_out) as update:
        report = ingest(
            paths,
            ws,
            mapping=mapping,
            progress=update,
            workers=workers,
            rehash=rehash,
            batch_rows=batch_rows,
            accept_shrink=accept_shrink,
        )
        path = ws.path
    if json_out:
        print_json(report.to_dict())
    else:
        _print_report(report, path)
    # 2: every file rejected; 3: some files rejected, the rest loaded (docs/cli.md, "Exit codes")
    raise typer.Exit(report.exit_code or (3 if report.rejected_files else 0))


def _mapping(
    format: str,
    map_file: Path | None,
    cols: list[str],
    force: str | None,
    crs: str | None,
    date_format: str | None,
) -> ColumnMapping | None:
    from gripkit.ingestion import ColumnMapping

    fmt = format.lower().replace("_", ".")
    if fmt in ("police.uk", "policeuk"):
        if map_file or cols:
            raise InputError("--map/--col describe a force's own CSV; add --format csv.")
        return None
    if fmt != "csv":
        raise InputError(f"--format must be police.uk, csv or ed; received {format!r}.")
    if map_file is None and not cols:
        raise InputError(
            "--format csv needs --map mapping.toml or --col target=Source pairs "
            "(see `gripkit ingest --help`)."
        )
    options = {k: v for k, v in (("force", force), ("crs", crs), ("date_format", date_format)) if v}
    if map_file is not None:
        base = ColumnMapping.from_toml(map_file)
        extra = ColumnMapping.from_pairs(cols, **options).columns if cols else {}
        return ColumnMapping(
            columns={**base.columns, **extra},
            crime_types=base.crime_types,
            crs=options.get("crs", base.crs),
            date_format=options.get("date_format", base.date_format),
            force=options.get("force", base.force),
        )
    return ColumnMapping.from_pairs(cols, **options)


def _ed_mapping(
    map_file: Path | None,
    cols: list[str],
    force: str | None,
    crs: str | None,
    date_format: str | None,
    postcodes: Path | None,
    gazetteer: Path | None,
) -> ColumnMapping:
    from gripkit.ingestion.ed import EdMapping

    if map_file is None:
        raise InputError("--format ed needs --map ed.toml naming the file's columns (see docs/ed.md).")
    options = {
        "force": force,
        "crs": crs,
        "date_format": date_format,
        "postcodes": str(postcodes) if postcodes else None,
        "gazetteer": str(gazetteer) if gazetteer else None,
    }
    mapping = EdMapping.from_toml(map_file, **options)
    if cols:
        extra = dict(c.partition("=")[::2] for c in cols)
        mapping = EdMapping(**{**mapping.__dict__, "columns": {**mapping.columns, **extra}})
    if mapping.postcodes is None and "postcode" in mapping.columns:
        logging.getLogger("gripkit").warning(
            "no --postcodes file: rows located by postcode are quarantined (no_postcode_file). "
            "Pass OS Code-Point Open (codepo_gb.zip) with --postcodes."
        )
    return mapping


def _print_report(report: IngestReport, path: str) -> None:
    from gripkit.ingestion import REASONS
    from gripkit.ingestion.ed import ED_REASONS

    d = report.to_dict()
    table = Table(title=f"Ingested into {path}", show_header=True)
    table.add_column("rows")
    table.add_column("read", justify="right")
    table.add_column("loaded", justify="right")
    table.add_column("quarantined", justify="right")
    for label, tally in (
        ("crime records", report.crimes),
        ("outcomes", report.outcomes),
        ("stop and search", report.stop_and_search),
    ):
        if tally.files:
            table.add_row(
                f"{label} ({tally.files} files)",
                f"{tally.read:,}",
                f"{tally.loaded:,}",
                f"{tally.quarantined:,}",
            )
    console.print(table)
    for reason, n in d["by_reason"].items():
        console.print(f"  quarantined {n:,}: {reason} ({REASONS.get(reason) or ED_REASONS.get(reason, '')})")
    for item in report.skipped_files[:5]:
        console.print(f"  skipped {item['path']}: {item['reason']}")
    if len(report.skipped_files) > 5:
        console.print(f"  ... and {len(report.skipped_files) - 5} more files already ingested")
    for item in report.replaced_files:
        console.print(f"  {item['path']} replaced {item['replaces']}")
    for row in report.loaded_files:
        if row["status"] == "superseded":
            console.print(f"  {row['path']} superseded by a later file of this run (kept, inactive)")
    for held in report.held_files:
        console.print(
            f"  [yellow]held back[/] {held['path']}: {held['rows']:,} rows where the active version has "
            f"{held['active_rows']:,}; not applied. Pass --accept-shrink to apply it, or "
            f"`gripkit sources restore {held['source_id']}`.",
            highlight=False,
        )
    for item in report.rejected_files:
        console.print(f"  [red]rejected[/] {item['reason']}", highlight=False)
    console.print(
        f"{d['files']} files in {d['seconds']:.2f} s. See quarantined rows with `gripkit quarantine`."
    )
