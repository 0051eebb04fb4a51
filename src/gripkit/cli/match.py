"""``gripkit match``: probable pairs of hospital ED and police records of one incident, to a CSV."""

from __future__ import annotations

from typing import Annotated

import typer

from gripkit.cli.common import JsonOption, WorkspaceOption, app, console, open_workspace, print_json
from gripkit.cli.options import ForceOption, MonthsOption, OutOption


@app.command("match")
def match_command(
    out: OutOption,
    workspace: WorkspaceOption = None,
    window_hours: Annotated[
        float, typer.Option("--max-hours", help="Most hours apart when both records have a time.")
    ] = 3.0,
    max_distance: Annotated[float, typer.Option("--max-distance", help="Most metres apart.")] = 250.0,
    ed_source: Annotated[str, typer.Option("--ed-source", help="Source of the ED records.")] = "health",
    months: MonthsOption = None,
    force: ForceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Match ED assault records to police violence records (same incident, probably): one pair per
    line with its score, best first. Nothing is deleted; pairs are written to --out, not stored.

    Rule (docs/ed.md): police violence or robbery, within --max-hours (the same month when the
    police record has no time, as police.uk's) and --max-distance; score = time closeness x
    distance closeness; one to one, best score first.
    """
    from gripkit.ingestion.matching import MatchRule, match_records
    from gripkit.months import parse_window
    from gripkit.output import write_table

    rule = MatchRule(window_hours=window_hours, max_distance_m=max_distance, ed_source=ed_source)
    with open_workspace(workspace, read_only=True) as ws:
        crimes = ws.crimes(months=parse_window(months), force=force, sources=[rule.police_source, ed_source])
    result = match_records(crimes, rule)
    written = write_table(result.pairs.drop(columns=["ed_index", "police_index"]), out)
    if json_out:
        print_json({**result.to_dict(), "out": str(written)})
        return
    console.print(result.summary(), highlight=False)
    console.print(f"Wrote {len(result.pairs):,} pairs to [bold]{written}[/]")
