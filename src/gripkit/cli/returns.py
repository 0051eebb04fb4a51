"""``gripkit returns``: one month's Home Office return for the hotspots of a stored patrol plan.

Thin: parses the flags, calls :func:`gripkit.funding.returns.home_office_returns` once (stored in
the workspace), writes the CSV, prints the summary.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gripkit.cli.common import (
    JsonOption,
    WorkspaceOption,
    app,
    console,
    open_workspace,
    print_json,
    setup_logging,
)
from gripkit.cli.options import HARM_DEFAULT, AllowGapsOption, ForceOption, HarmOption, OutOption, PlanOption


@app.command("returns")
def returns_command(
    month: Annotated[str, typer.Option("--month", help="The month of the return, YYYY-MM.")],
    out: OutOption,
    plan_id: PlanOption = None,
    harm: HarmOption = HARM_DEFAULT,
    force: ForceOption = None,
    allow_gaps: AllowGapsOption = False,
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Home Office returns: patrols, patrol hours, serious violence, ASB and stop-and-search per hotspot.

    One row per area of the plan (its label beside its id) and a total row, for --month and the
    same month a year before (columns ending _prev_year); docs/funding.md defines every column.
    Both months must be held (street and stop-and-search files), or --allow-gaps leaves them blank.
    """
    from gripkit.funding.returns import home_office_returns

    setup_logging(quiet=json_out)
    with open_workspace(workspace) as ws:
        result = home_office_returns(
            ws, month=month, plan_id=plan_id, harm=harm, force=force, allow_gaps=allow_gaps
        )
    written = result.write_csv(out)
    if json_out:
        print_json({**result.to_dict(), "summary": result.summary(), "out": str(written)})
        return
    which = "the latest stored" if result.meta["plan_default"] else "as asked"
    areas = len(result.table) - 1
    console.print(f"plan {result.meta['plan_id']} ({which}); {areas} hotspots", highlight=False)
    console.print(result.summary(), highlight=False)
    console.print(f"wrote {written}", highlight=False)
