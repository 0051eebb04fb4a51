"""``gripkit plan``: choose patrol areas under a budget, or draw an Op Rowan-style experiment."""

from __future__ import annotations

import logging
import secrets
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
from gripkit.errors import InputError

log = logging.getLogger("gripkit")


def _ids(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@app.command("plan")
def plan_command(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Plan CSV: one row per area-day (date, area_id, treated).")
    ],
    workspace: WorkspaceOption = None,
    experiment: Annotated[bool, typer.Option(help="Randomise place-days (Op Rowan design).")] = False,
    areas: Annotated[int, typer.Option(help="Number of areas (top LSOAs by serious-violence harm).")] = 21,
    areas_file: Annotated[Path | None, typer.Option(help="Candidate areas from the hotspot step.")] = None,
    treated_per_day: Annotated[int, typer.Option(help="Experiment: areas treated each day.")] = 7,
    days: Annotated[int, typer.Option(help="Days in the plan.")] = 90,
    seed: Annotated[int | None, typer.Option(help="Random seed [default: drawn and reported].")] = None,
    start: Annotated[
        str | None, typer.Option(help="First day YYYY-MM-DD [default: after the last month].")
    ] = None,
    window: Annotated[str, typer.Option(help="Local visit window.")] = "14:00-24:00",
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
    schedule: Annotated[Path | None, typer.Option(help="Write the visit schedule CSV here.")] = None,
    ics: Annotated[Path | None, typer.Option(help="Write the schedule as iCalendar (.ics) here.")] = None,
    briefing: Annotated[Path | None, typer.Option(help="Write a printable HTML briefing here.")] = None,
    briefing_day: Annotated[
        str | None, typer.Option(help="Day of the briefing [default: first day].")
    ] = None,
    store: Annotated[bool, typer.Option(help="Store the plan in the workspace.")] = True,
    json_out: JsonOption = False,
) -> None:
    """Plan patrols: an experiment (--experiment) or areas chosen under a budget (--budget-hours)."""
    from gripkit.patrol import (
        briefing_html,
        choose_areas,
        default_areas,
        default_start,
        experiment_design,
        read_areas,
        save_plan,
        schedule_csv,
        schedule_ics,
        schedule_visits,
    )
    from gripkit.patrol.experiment import parse_date

    setup_logging(quiet=json_out)
    if not experiment and budget_hours is None:
        raise InputError(
            "choose a mode; received neither --experiment nor --budget-hours. Pass --experiment for a "
            "randomised design, or --budget-hours 20 to choose areas under a budget."
        )
    if seed is None:
        seed = secrets.randbelow(2**31)
        log.info("seed %d drawn at random; pass --seed %d to re-derive this plan", seed, seed)
    with open_workspace(workspace) as ws:
        candidates = read_areas(areas_file, n=areas) if areas_file else default_areas(ws, areas)
        first = parse_date("start", start) if start else default_start(ws)
        summary: dict[str, Any]
        if experiment:
            design = experiment_design(
                candidates, treated_per_day=treated_per_day, days=days, seed=seed, start=first, visits=visits
            )
            assignments, params = design.assignments, dict(design.params)
            summary = {
                "treated_place_days": int(assignments["treated"].sum()),
                "place_days": len(assignments),
                "treated_days_per_area": sorted({int(v) for v in design.treated_days()}),
            }
            design.to_csv(out)
        else:
            assert budget_hours is not None
            choice = choose_areas(
                candidates,
                officer_hours=budget_hours,
                per=per,
                officers_per_patrol=officers,
                visit_minutes=visit_minutes,
                max_visits=max_visits,
                window=window,
                travel_minutes=travel_minutes,
                max_areas=max_areas,
                include=_ids(include),
                exclude=_ids(exclude),
            )
            assignments, params, summary = (
                choice.assignments(first, days),
                dict(choice.params),
                choice.summary(),
            )
            _write_plan_csv(assignments, out)
        params.update(window=window, visit_minutes=visit_minutes, officers=officers, seed=seed)
        timetable = schedule_visits(
            assignments, window=window, visit_minutes=visit_minutes, officers=officers, seed=seed
        )
        plan_id = None
        if store:
            plan_id = save_plan(
                ws,
                kind="experiment" if experiment else "budget",
                seed=seed,
                params=params,
                areas=candidates,
                assignments=assignments,
                schedule=timetable,
                summary=summary,
            )
    written = {"plan": str(out)}
    if schedule:
        schedule_csv(timetable, schedule)
        written["schedule"] = str(schedule)
    if ics:
        schedule_ics(timetable, candidates, ics, plan_id=plan_id or "plan")
        written["ics"] = str(ics)
    if briefing:
        briefing_html(timetable, candidates, briefing, day=briefing_day)
        written["briefing"] = str(briefing)
    payload = {
        "plan_id": plan_id,
        "seed": seed,
        "start": first.isoformat(),
        "days": days,
        "areas": len(candidates),
        "visits": len(timetable),
        "summary": summary,
        "written": written,
    }
    if json_out:
        print_json(payload)
        return
    _print(payload)


def _write_plan_csv(assignments: Any, out: Path) -> None:
    frame = assignments.copy()
    frame["date"] = [d.isoformat() for d in frame["date"]]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))


def _print(payload: dict[str, Any]) -> None:
    table = Table(title=f"Patrol plan {payload['plan_id'] or '(not stored)'} — seed {payload['seed']}")
    table.add_column("item")
    table.add_column("value", justify="right")
    table.add_row("first day", payload["start"])
    table.add_row("days", str(payload["days"]))
    table.add_row("areas", str(payload["areas"]))
    table.add_row("planned visits", f"{payload['visits']:,}")
    for key, value in payload["summary"].items():
        table.add_row(key.replace("_", " "), f"{value:,.4g}" if isinstance(value, float) else str(value))
    console.print(table)
    for kind, path in payload["written"].items():
        console.print(f"Wrote {kind} to [bold]{path}[/]")
