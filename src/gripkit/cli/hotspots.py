"""``gripkit hotspots``: counts, Gi*, KDE or network KDE per grid cell, hexagon, LSOA or street segment."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from gripkit.cli.options import (
    HARM_DEFAULT,
    AlphaOption,
    BoundariesOption,
    ForceOption,
    HarmOption,
    LastOption,
    MonthsOption,
    OutOption,
    RoadsOption,
    SourceOption,
    StaticTilesOption,
    TilesAttributionOption,
    check_tiles,
    sources_choice,
    split_list,
)
from gripkit.errors import InputError
from gripkit.months import parse_window

if TYPE_CHECKING:
    from gripkit.hotspots.find import HotspotResult


def parse_months(text: str | None) -> tuple[str | None, str | None] | None:
    """``FROM..TO`` into ``(first, last)`` (:func:`gripkit.months.parse_window`; other commands use it)."""
    return parse_window(text)


def parse_bounds(text: str | None) -> tuple[float, float, float, float] | None:
    """``xmin,ymin,xmax,ymax`` in metres (EPSG:27700)."""
    if not text:
        return None
    parts = split_list(text) or []
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4 or values[0] >= values[2] or values[1] >= values[3]:
        raise InputError(f"--bounds takes xmin,ymin,xmax,ymax in metres; received {text!r}.")
    return values


WeightsOption = Annotated[
    str,
    typer.Option(
        "--weights",
        help="What Gi*/KDE weigh each crime by: auto (harm whenever --harm is not none), harm, or crimes.",
    ),
]


@app.command("hotspots")
def hotspots_command(
    out: OutOption,
    workspace: WorkspaceOption = None,
    unit: Annotated[str, typer.Option(help="Spatial unit: grid, hex (H3), lsoa or segment.")] = "grid",
    method: Annotated[str, typer.Option(help="count, gistar, kde (grid) or netkde (segment).")] = "count",
    cell_size: Annotated[
        float | None, typer.Option(help="Grid cell size in metres [default: chosen].")
    ] = None,
    resolution: Annotated[int | None, typer.Option(help="H3 resolution [default: chosen].")] = None,
    boundaries: BoundariesOption = None,
    network: Annotated[Path | None, typer.Option(help="Road network file for --unit segment.")] = None,
    road_classes: Annotated[
        str | None, typer.Option(help="Road classes to keep, comma-separated, or all.")
    ] = None,
    max_length: Annotated[float | None, typer.Option(help="Cap segment length (m).")] = None,
    snap: Annotated[float, typer.Option(help="Snapping tolerance to segments (m).")] = 50.0,
    bounds: Annotated[
        str | None, typer.Option(help="Study area xmin,ymin,xmax,ymax (m) if the force is unknown.")
    ] = None,
    crime_types: Annotated[str | None, typer.Option(help="Comma-separated police.uk crime types.")] = None,
    serious_violence: Annotated[bool, typer.Option(help="Only the serious-violence categories.")] = False,
    sv_table: Annotated[Path | None, typer.Option(help="CSV crime_type,serious_violence.")] = None,
    months: MonthsOption = None,
    last: LastOption = None,
    force: ForceOption = None,
    source: SourceOption = "all",
    harm: HarmOption = HARM_DEFAULT,
    focus: Annotated[
        str | None,
        typer.Option(
            "--focus",
            help="Select on sv (serious violence), asb (anti-social behaviour) or both; with asb, ASB "
            "weighs --asb-floor.",
        ),
    ] = None,
    asb_floor: Annotated[
        str | None,
        typer.Option(
            "--asb-floor",
            help="Harm of one ASB incident (the CCHI gives 0): a number, or lowest (the table's lowest "
            "non-zero category weight) [default: lowest with --focus asb/both, else the table's].",
        ),
    ] = None,
    weights: WeightsOption = "auto",
    distance: Annotated[float | None, typer.Option(help="Gi* distance band (m).")] = None,
    correction: Annotated[
        str, typer.Option(help="Gi* correction: fdr_bh, holm, bonferroni, none.")
    ] = "fdr_bh",
    alpha: AlphaOption = 0.05,
    p_values: Annotated[
        str,
        typer.Option(
            "--p-values",
            help="Gi* p-values: permutation (exact, values permuted over the units) or normal "
            "(normal approximation; flags chance on sparse counts).",
        ),
    ] = "permutation",
    bandwidth: Annotated[float | None, typer.Option(help="KDE bandwidth (m) [default: chosen].")] = None,
    kernel: Annotated[str, typer.Option(help="KDE kernel: quartic or gaussian.")] = "quartic",
    html: Annotated[Path | None, typer.Option(help="Also write an HTML page with the map.")] = None,
    share: Annotated[
        bool,
        typer.Option(
            "--share",
            help="For sharing with partners: counts of 1-4 shown as <5 in the file, page and tables "
            "(and what would reveal them blanked; docs/ed.md).",
        ),
    ] = False,
    top: Annotated[int, typer.Option(help="Rows of the top-hotspots table to print.")] = 10,
    roads: RoadsOption = None,
    tiles: StaticTilesOption = None,
    tiles_attribution: TilesAttributionOption = "",
    json_out: JsonOption = False,
) -> None:
    """Find hotspots: crimes and harm per unit, a hotspot statistic, and the concentration of harm.

    Rankings use the --harm table (CCHI by default). Gi* and KDE weigh crimes by that harm unless
    --harm none or --weights crimes (the rule of gripkit.HotspotRequest). The result is stored in
    the workspace for `gripkit report` and the dashboard.
    """
    import pyarrow as pa

    from gripkit.hotspots.find import find_hotspots, write_layer
    from gripkit.hotspots.request import HotspotRequest

    # Arrow's default pool (mimalloc) keeps freed pages for reuse: on the 50 m Bedfordshire grid
    # (~500k cells) the process peaked 80-100 MiB higher with it than with the system allocator
    # (docs/report.md, benchmarks/kde_memory.py); results are the same either way
    pa.set_memory_pool(pa.system_memory_pool())
    from gripkit.hotspots.sharing import shared_layer
    from gripkit.months import trailing_window
    from gripkit.results import to_jsonable

    setup_logging(quiet=json_out)
    if top < 0:
        raise InputError(f"--top must be >= 0; received {top}.")
    if (roads is not None or tiles) and html is None:
        raise InputError(
            f"--roads and --tiles draw on the --html page's maps; received "
            f"{'--roads' if roads is not None else '--tiles'} without --html. Add --html hotspots.html."
        )
    check_tiles(tiles, tiles_attribution)
    if months and last:
        raise InputError(
            f"--months and --last both give the window; received --months {months} and --last {last}. "
            "Pass one of them."
        )
    classes = road_classes if road_classes in (None, "all") else tuple(split_list(road_classes) or ())
    types = tuple(split_list(crime_types) or ()) or None
    if focus is not None:
        types, serious_violence, asb_floor = _focus(focus, types, serious_violence, sv_table, asb_floor)
    with open_workspace(workspace) as ws:
        window: tuple[Any, Any] | None = (
            trailing_window(ws, last, force=force) if last else parse_window(months)
        )
        request = HotspotRequest(
            unit=unit,
            cell_size=cell_size,
            resolution=resolution,
            boundaries=str(boundaries) if boundaries else None,
            network=str(network) if network else None,
            road_classes=classes,
            max_length=max_length,
            snap=snap,
            bounds=parse_bounds(bounds),
            method=method,
            distance=distance,
            correction=correction,
            alpha=alpha,
            p_values=p_values,
            bandwidth=bandwidth,
            kernel=kernel,
            crime_types=types,
            serious_violence=serious_violence,
            sv_table=str(sv_table) if sv_table else None,
            months=window,
            force=force,
            sources=sources_choice(source),
            harm=harm,
            weights=weights,
            asb_floor=asb_floor,
        )
        if request.sources is None and not json_out:  # announced once the request is known to be valid
            present = ws.record_sources()
            console.print(
                f"records of all sources combined ({', '.join(present) or 'none'}); --source to choose",
                highlight=False,
            )
        with progress_bar(f"hotspots ({method})", enabled=not json_out) as update:
            result = find_hotspots(ws, request, progress=update)
    layer = shared_layer(result.hotspots) if share else result.hotspots
    written = write_layer(layer, out)
    page = (
        write_page(result, html, share=share, roads=roads, tiles=tiles, tiles_attribution=tiles_attribution)
        if html
        else None
    )
    if json_out:
        meta = result.meta
        shared = {"top": to_jsonable(shared_layer(result.top(20))), "shared": True} if share else {}
        print_json(
            {
                **result.to_dict(),
                **shared,
                "crimes": meta["crimes"],
                "assigned": meta["assigned"],
                "beyond_tolerance": meta["unassigned"],
                "null_hot_mean": meta.get("method_params", {}).get("null_hot_mean"),
                "out": str(written),
                "html": page and str(page),
            }
        )
        return
    print_summary(result, top, share=share)
    console.print(
        f"Wrote {len(result.hotspots):,} units to [bold]{written}[/]" + (f" and {page}" if page else "")
    )


def _focus(
    focus: str,
    types: tuple[str, ...] | None,
    serious_violence: bool,
    sv_table: Path | None,
    floor: str | None,
) -> tuple[tuple[str, ...], bool, str | None]:
    """The crime types, serious-violence flag and ASB floor of ``--focus`` (gripkit.harm.asb)."""
    from gripkit.harm.asb import LOWEST, focus_types

    if types or serious_violence:
        raise InputError(
            f"--focus chooses the crime types; received --focus {focus} with "
            f"{'--crime-types' if types else '--serious-violence'}. Pass one of them."
        )
    chosen = tuple(focus_types(focus, sv_table))
    if focus != "sv" and floor is None:
        floor = LOWEST
        logging.getLogger("gripkit").info(
            "hotspots: anti-social behaviour weighs the table's lowest non-zero category weight per "
            "incident (--asb-floor lowest; docs/harm.md)"
        )
    return chosen, False, floor


def write_page(
    result: HotspotResult,
    path: Path,
    *,
    share: bool = False,
    roads: Path | None = None,
    tiles: str | None = None,
    tiles_attribution: str = "",
) -> Path:
    """The hotspot page (map, Lorenz curve, concentration, top units, parameters); roads and tiles under
    its maps when given."""
    from gripkit.hotspots.find import describe_method
    from gripkit.report import write_hotspot_page

    meta = {k: v for k, v in result.meta.items() if k not in ("crime_types", "last_assignment")}
    return write_hotspot_page(
        path,
        result.hotspots,
        result.concentration,
        title=f"gripkit hotspots: {describe_method(result.meta)} on {result.meta['unit']} units",
        meta=meta,
        share=share,
        roads=roads,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
    )


def print_summary(result: HotspotResult, top: int, *, share: bool = False) -> None:
    """Concentration figures and the top hotspots as Rich tables."""
    conc = result.concentration
    meta = result.meta
    console.print(
        f"{meta['crimes']:,} crimes: {meta['assigned']:,} in {len(result.hotspots):,} {meta['unit']} "
        f"units, {meta['unassigned']:,} outside them ({meta.get('study_area', 'units')})."
    )
    table = Table(title=f"Concentration of harm ({meta.get('harm_table')}) over {conc.n_units:,} units")
    table.add_column("top")
    table.add_column("of units", justify="right")
    table.add_column("of area", justify="right")
    for k in conc.tops:
        table.add_row(
            f"{k:.0%}", f"{conc.top_unit_share[k]:.1%}", f"{conc.top_area_share.get(k, float('nan')):.1%}"
        )
    console.print(table)
    corrected = "n/a" if conc.gini_corrected is None else f"{conc.gini_corrected:.3f}"
    console.print(f"Gini {conc.gini:.3f} (generalised for sparse data {corrected}): {conc.gini_sentence()}")
    console.print(result.summary())
    if top:
        head = result.top(top)
        if share:
            from gripkit.hotspots.sharing import shared_layer

            head = shared_layer(head)
        note = " (counts of 1-4 shown as <5)" if share else ""
        listing = Table(title=f"Top {len(head)} hotspots{note}")
        for name in ("harm_rank", "unit_id", "label", "crimes", "harm", "share_of_harm"):
            listing.add_column(name, justify="left" if name in ("unit_id", "label") else "right")
        for _, row in head.iterrows():
            label = row.get("label")
            listing.add_row(
                str(row["harm_rank"]),
                str(row["unit_id"]),
                label if isinstance(label, str) else "",
                _number(row["crimes"], "{:,}"),
                _number(row["harm"], "{:,.1f}"),
                _number(row["share_of_harm"], "{:.2%}"),
            )
        console.print(listing)


def _number(value: Any, spec: str) -> str:
    """``value`` formatted by ``spec``; text (a suppressed ``<5``) as is, blank for None."""
    if value is None or isinstance(value, str):
        return value or ""
    return spec.format(value)
