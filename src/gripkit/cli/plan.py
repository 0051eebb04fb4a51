"""``gripkit plan``: choose patrol areas under a budget, or draw an Op Rowan-style experiment.

Thin: parse the flags, call :func:`gripkit.patrol.job.plan_patrols` (which stores the plan and its
result in the workspace), write the files asked for, print the summary (or ``--json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
from gripkit.cli.options import (
    HARM_DEFAULT,
    AllowGapsOption,
    BoundariesOption,
    ForceOption,
    HarmOption,
    LastOption,
    MonthsOption,
    OptionalOutOption,
    RoadsOption,
    SeedOption,
    SourceOption,
    sources_choice,
)
from gripkit.errors import InputError

plan_app = typer.Typer(
    help="Plan patrols: an experiment (--experiment) or areas chosen under a budget (--budget-hours).",
    invoke_without_command=True,
)
app.add_typer(plan_app, name="plan")


@plan_app.callback()
def plan_command(
    ctx: typer.Context,
    out: OptionalOutOption = None,
    workspace: WorkspaceOption = None,
    experiment: Annotated[bool, typer.Option(help="Randomise place-days (Op Rowan design).")] = False,
    areas: Annotated[int, typer.Option(help="Number of areas (top LSOAs by serious-violence harm).")] = 21,
    areas_file: Annotated[Path | None, typer.Option(help="Candidate areas from the hotspot step.")] = None,
    boundaries: BoundariesOption = None,
    treated_per_day: Annotated[int, typer.Option(help="Experiment: areas treated each day.")] = 7,
    days: Annotated[int, typer.Option(help="Days in the plan.")] = 90,
    seed: SeedOption = None,
    start: Annotated[
        str | None, typer.Option(help="First day YYYY-MM-DD [default: after the last month].")
    ] = None,
    window: Annotated[
        str,
        typer.Option(
            help="Local visit window(s): 14:00-24:00; 20:00-03:00 (crosses midnight, belongs to the day it "
            "starts); per weekday 'Fri-Sat 20:00-03:00,Sun-Thu 18:00-24:00'; or auto (from the offence "
            "times in the areas; 'auto Fri-Sat,Sun-Thu' for weekday groups)."
        ),
    ] = "14:00-24:00",
    window_hours: Annotated[
        int, typer.Option(help="--window auto: hours of each derived window.", min=1, max=24)
    ] = 6,
    visit_minutes: Annotated[int, typer.Option(help="Minutes per visit (Koper curve).")] = 15,
    officers: Annotated[int, typer.Option(help="Officers per patrol.")] = 2,
    visits: Annotated[int, typer.Option(help="Experiment: visits per treated area-day.")] = 1,
    budget_hours: Annotated[float | None, typer.Option(help="Budget mode: officer-hours per --per.")] = None,
    per: Annotated[str, typer.Option(help="Budget period: day or week.")] = "day",
    max_visits: Annotated[int, typer.Option(help="Budget mode: most visits per area per day.")] = 1,
    max_areas: Annotated[
        int | None, typer.Option(help="Budget mode: choose at most this many areas.")
    ] = None,
    travel_minutes: Annotated[
        float | None, typer.Option(help="Walking minutes per visit [default: from distances].")
    ] = None,
    include: Annotated[
        str | None, typer.Option(help="Budget mode: comma-separated areas that must be chosen.")
    ] = None,
    exclude: Annotated[
        str | None, typer.Option(help="Budget mode: comma-separated areas never chosen.")
    ] = None,
    weights: Annotated[str, typer.Option(help="Column of --areas-file weighing the areas.")] = "harm",
    harm: HarmOption = HARM_DEFAULT,
    force: ForceOption = None,
    source: SourceOption = "all",
    months: MonthsOption = None,
    last: LastOption = None,
    allow_gaps: AllowGapsOption = False,
    teams: Annotated[
        int | None, typer.Option(help="Patrol teams [default: the fewest the schedule needs].", min=1)
    ] = None,
    team_speed: Annotated[float, typer.Option(help="km/h between area centroids (walking 4).")] = 4.0,
    max_area_km2: Annotated[
        float | None,
        typer.Option(help="Largest area (km²) a foot patrol covers [default: 1]; larger: --large-areas."),
    ] = None,
    large_areas: Annotated[
        str, typer.Option(help="Areas over --max-area-km2: flag (keep, warn) or cells (hottest grid cell).")
    ] = "flag",
    schedule: Annotated[Path | None, typer.Option(help="Write the visit schedule CSV here.")] = None,
    ics: Annotated[Path | None, typer.Option(help="Write the schedule as iCalendar (.ics) here.")] = None,
    briefing: Annotated[
        Path | None, typer.Option(help="Write the printable briefing here (.pdf: PDF, else HTML).")
    ] = None,
    briefing_day: Annotated[
        str | None, typer.Option(help="Day of the briefing [default: first day].")
    ] = None,
    roads: RoadsOption = None,
    officer_url: Annotated[
        str, typer.Option(help="Dashboard address the briefing's QR codes link to (<url>/officer).")
    ] = "http://127.0.0.1:8000",  # gripkit.patrol.briefing.DEFAULT_OFFICER_URL (not imported: startup time)
    store: Annotated[bool, typer.Option(help="Store the plan in the workspace.")] = True,
    json_out: JsonOption = False,
) -> None:
    """Plan patrols: an experiment (--experiment) or areas chosen under a budget (--budget-hours).

    The areas (top LSOAs by serious-violence harm) are chosen over --months FROM..TO or the --last N
    months (default: every month held, announced). Every force read must hold every month of that
    window; --allow-gaps proceeds with the gaps flagged.
    """
    if ctx.invoked_subcommand is not None:
        return  # `gripkit plan publish ...` and other subcommands take their own options
    from gripkit.months import parse_window, trailing_window
    from gripkit.patrol.job import plan_patrols

    setup_logging(quiet=json_out)
    if out is None:
        raise InputError(
            "--out is missing: where to write the plan's areas. Pass e.g. -o plan.csv (or .parquet, .gpkg)."
        )
    if not experiment and budget_hours is None:
        raise InputError(
            "choose a mode; received neither --experiment nor --budget-hours. Pass --experiment for a "
            "randomised design, or --budget-hours 20 to choose areas under a budget."
        )
    if months and last:
        raise InputError(
            f"--months and --last both give the area window; received --months {months} and --last {last}. "
            "Pass one of them."
        )
    with open_workspace(workspace) as ws:
        area_window = trailing_window(ws, last, force=force) if last else parse_window(months)
        result = plan_patrols(
            ws,
            mode="experiment" if experiment else "budget",
            areas=areas,
            areas_file=areas_file,
            boundaries=boundaries,
            treated_per_day=treated_per_day,
            days=days,
            seed=seed,
            start=start,
            window=window,
            window_hours=window_hours,
            visit_minutes=visit_minutes,
            officers=officers,
            visits=visits,
            budget_hours=budget_hours,
            per=per,
            max_visits=max_visits,
            max_areas=max_areas,
            travel_minutes=travel_minutes,
            include=include or (),
            exclude=exclude or (),
            weights=weights,
            harm=harm,
            force=force,
            months=area_window,
            allow_gaps=allow_gaps,
            teams=teams,
            team_speed_kmh=team_speed,
            large_areas=large_areas,
            sources=sources_choice(source),
            **({"max_area_km2": max_area_km2} if max_area_km2 is not None else {}),
            store=store,
        )
    written = {"plan": str(result.write_csv(out))}
    if schedule:
        written["schedule"] = str(result.write_schedule(schedule))
    if ics:
        written["ics"] = str(result.write_ics(ics))
    if briefing:
        written["briefing"] = str(
            result.write_briefing(briefing, day=briefing_day, roads=roads, officer_url=officer_url)
        )
    if json_out:
        print_json({**result.to_dict(), "summary": result.summary(), "written": written})
        return
    _print(result.to_dict(), result.summary(), written)


def _print(payload: dict[str, Any], summary: str, written: dict[str, str]) -> None:
    table = Table(title=f"Patrol plan {payload['plan_id'] or '(not stored)'} — seed {payload['seed']}")
    table.add_column("item")
    table.add_column("value", justify="right")
    table.add_row("first day", str(payload["start"]))
    table.add_row("days", str(payload["days"]))
    table.add_row("areas", str(payload["areas"]))
    table.add_row("planned visits", f"{payload['visits']:,}")
    for key, value in payload["figures"].items():
        table.add_row(key.replace("_", " "), f"{value:,.4g}" if isinstance(value, float) else str(value))
    console.print(table)
    console.print(summary)
    for kind, path in written.items():
        console.print(f"Wrote {kind} to [bold]{path}[/]")
