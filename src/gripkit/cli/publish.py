"""``gripkit plan publish``: give a stored plan's visits to officers, team by team (a roster CSV).

Thin: parse the flags, call :func:`gripkit.patrol.publish.publish`, print its summary (or ``--json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gripkit.cli.common import JsonOption, WorkspaceOption, console, open_workspace, print_json, setup_logging
from gripkit.cli.plan import plan_app


@plan_app.command("publish")
def publish_command(
    plan_id: Annotated[int, typer.Argument(help="The stored plan's id (`gripkit plan --json` prints it).")],
    roster: Annotated[
        str, typer.Option(help="CSV with columns officer,team,role: one row per officer (dashboard user).")
    ],
    date_from: Annotated[
        str | None, typer.Option("--from", help="First day YYYY-MM-DD [default: the plan's first].")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last day YYYY-MM-DD [default: the plan's last].")
    ] = None,
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Publish plan PLAN_ID to officers: each planned visit of team T goes to team T's officers.

    Officers see them on the dashboard's phone page. Publishing the same range again replaces what
    was published there (patrols with a recorded visit are kept).
    """
    from gripkit.patrol.publish import publish

    setup_logging(quiet=json_out)
    with open_workspace(workspace) as ws:
        result = publish(ws, plan_id, Path(roster), start=date_from, end=date_to, created_by="cli")
    if json_out:
        print_json({**result.to_dict(), "summary": result.summary()})
        return
    table = Table(title=f"Plan {result.plan_id} published, {result.start} to {result.end}")
    for name in ("team", "officers", "visits", "assignments"):
        table.add_column(name, justify="left" if name == "officers" else "right")
    for team, row in sorted(result.teams.items()):
        table.add_row(str(team), ", ".join(row["officers"]), f"{row['visits']:,}", f"{row['assignments']:,}")
    console.print(table)
    console.print(result.summary())
