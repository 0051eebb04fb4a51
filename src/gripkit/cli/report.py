"""``gripkit report``: one self-contained offline HTML report of the stored results of every stage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
    BoundariesOption,
    OutOption,
    PlanOption,
    RoadsOption,
    StaticTilesOption,
    TilesAttributionOption,
    check_tiles,
    split_list,
)
from gripkit.errors import InputError

ResultOption = Annotated[
    list[str] | None,
    typer.Option(
        "--result",
        metavar="KIND=ID",
        help="KIND=ID: show this stored result instead of the latest of its kind, e.g. hotspots=12 "
        "(repeatable; ids as listed in the report's Stored steps).",
    ),
]


def parse_result_ids(values: list[str] | None) -> dict[str, int]:
    """``["hotspots=12"]`` -> ``{"hotspots": 12}``.

    >>> parse_result_ids(["hotspots=12", "plan=3"])
    {'hotspots': 12, 'plan': 3}
    """
    out: dict[str, int] = {}
    for value in values or []:
        kind, sep, number = value.partition("=")
        if not sep or not number.strip().isdigit():
            raise InputError(
                f"'result_ids' entries must look like KIND=ID; received {value!r}. Pass e.g. hotspots=12."
            )
        out[kind.strip()] = int(number)
    return out


def _sources(text: str) -> tuple[str, ...] | None:
    """``--source`` as ReportOptions takes it: ``any`` None, ``all`` () (combined), else the names.

    >>> _sources("any"), _sources("all"), _sources("police, health")
    (None, (), ('police', 'health'))
    """
    chosen = split_list(text) or ["any"]
    return None if chosen == ["any"] else () if chosen == ["all"] else tuple(chosen)


@app.command("report")
def report_command(
    out: OutOption = Path("report.html"),
    workspace: WorkspaceOption = None,
    title: Annotated[str, typer.Option(help="Report heading.")] = "gripkit programme report",
    result_ids: ResultOption = None,
    boundaries: BoundariesOption = None,
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="Show results run on these record sources: any (the latest of each kind), all (all "
            "combined), or police, health, a partner, several comma-separated.",
        ),
    ] = "any",
    plan_id: PlanOption = None,
    roads: RoadsOption = None,
    tiles: StaticTilesOption = None,
    tiles_attribution: TilesAttributionOption = "",
    json_out: JsonOption = False,
) -> None:
    """Write the programme report of the stored results: hotspots, backtest, plan, dosage, power,
    evaluation, allocation, provenance. Stages not run yet are named with the command that runs them."""
    from gripkit.report.full import ReportOptions, build_report

    setup_logging(quiet=json_out)
    check_tiles(tiles, tiles_attribution)
    options = ReportOptions(
        title=title,
        result_ids=parse_result_ids(result_ids),
        boundaries=boundaries,
        sources=_sources(source),
        plan_id=plan_id,
        roads=roads,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
    )
    with open_workspace(workspace) as ws, progress_bar("report", enabled=not json_out) as update:
        report = build_report(ws, options, progress=update)
    written = report.write(out)
    if json_out:
        print_json({"out": str(written), **report.to_dict()})
        return
    missing = [sid for sid, status in report.sections.items() if status != "shown"]
    console.print(
        f"Wrote [bold]{written}[/] ({written.stat().st_size / 1e6:.1f} MB); open it in any browser."
        + (f" Not run yet: {', '.join(missing)}." if missing else "")
    )
