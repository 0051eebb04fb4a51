"""``gripkit gps``: ingest GPS pings, turn them into visits, and check compliance with a plan.

Thin: each command parses its flags, calls one library job (:func:`gripkit.dosage.ingest_gps`,
:func:`gripkit.dosage.plan_visits`, :func:`gripkit.dosage.compliance`; they store what they
measure), writes the file asked for and prints (``--json``: one JSON object).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from gripkit.cli.options import OptionalOutOption, PlanOption
from gripkit.errors import InputError

# Same value as gripkit.patrol.schedule.LONDON (tests check), written out here because the --tz
# default is needed when this module is imported and gripkit.patrol takes ~1 s to import.
LONDON = "Europe/London"

gps_app = typer.Typer(
    help="GPS dosage: ingest pings, visits to patrol areas, compliance with the plan.", no_args_is_help=True
)
app.add_typer(gps_app, name="gps")


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(
                f"{what} must look like KEY=VALUE; received {item!r}. Pass e.g. officer_id=Radio."
            )
        out[key.strip()] = value.strip()
    return out


def _roster(text: str | None) -> list[str] | None:
    if not text:
        return None
    path = Path(text)
    if path.is_file():
        import pandas as pd

        frame = pd.read_csv(path, dtype=str)
        return frame.iloc[:, 0].dropna().str.strip().tolist()
    return [part.strip() for part in text.split(",") if part.strip()]


def _source_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@gps_app.command("ingest")
def gps_ingest(
    paths: Annotated[list[Path], typer.Argument(help="GPS files (.csv or .gpx).")],
    workspace: WorkspaceOption = None,
    roster: Annotated[
        str | None, typer.Option(help="Officer roster: a CSV (first column) or comma-separated ids.")
    ] = None,
    tz: Annotated[str, typer.Option(help="Zone of timestamps without an offset.")] = LONDON,
    columns: Annotated[
        list[str] | None, typer.Option("--col", help="target=SourceColumn (repeatable), as gripkit ingest.")
    ] = None,
    clock_offsets: Annotated[
        list[str] | None, typer.Option("--clock-offset", help="Device clock ahead: OFFICER=SECONDS.")
    ] = None,
    max_speed_kmh: Annotated[
        float, typer.Option("--max-speed", help="km/h above which a ping is a GPS jump.")
    ] = 100.0,
    area_buffer_m: Annotated[
        float, typer.Option("--area-buffer", help="Metres around the force area still accepted.")
    ] = 500.0,
    check_area: Annotated[bool, typer.Option(help="Quarantine pings outside the force area.")] = True,
    json_out: JsonOption = False,
) -> None:
    """Ingest GPS pings; every row is stored or quarantined with a reason."""
    from gripkit.dosage import ingest_gps

    setup_logging(quiet=json_out)
    offsets = {k: float(v) for k, v in _pairs(clock_offsets, "--clock-offset").items()}
    with open_workspace(workspace) as ws, progress_bar("GPS ingest", enabled=not json_out) as update:
        report = ingest_gps(
            paths,
            ws,
            mapping=_pairs(columns, "--col"),
            tz=tz,
            officers=_roster(roster),
            area="auto" if check_area else None,
            area_buffer_m=area_buffer_m,
            max_speed_kmh=max_speed_kmh,
            clock_offsets=offsets,
            progress=update,
        )
    if json_out:
        print_json(report.to_dict())
        return
    console.print(f"read {report.read:,} pings: loaded {report.loaded:,}, quarantined {report.quarantined:,}")
    for reason, count in sorted(report.by_reason.items()):
        console.print(f"  quarantined {count:,}: {reason}")
    for path in report.skipped_files:
        console.print(f"  skipped {path} (already ingested)")


BufferOption = Annotated[float, typer.Option("--buffer", help="Metres around each area counted as inside.")]
GapOption = Annotated[
    float, typer.Option("--gap", help="Minutes between pings that still make one visit.")
]
SourcesOption = Annotated[
    str, typer.Option("--sources", help="Visits from: gps, officer (recorded on the dashboard), or both.")
]


@gps_app.command("visits")
def gps_visits(
    workspace: WorkspaceOption = None,
    plan_id: PlanOption = None,
    buffer_m: BufferOption = 25.0,
    gap_minutes: GapOption = 5.0,
    sources: SourcesOption = "gps,officer",
    out: OptionalOutOption = None,
    json_out: JsonOption = False,
) -> None:
    """Visits to the plan's areas from the stored pings (stored in the workspace) and officers' records."""
    from gripkit.dosage import plan_visits, with_local_times
    from gripkit.output import write_table

    setup_logging(quiet=json_out)
    with open_workspace(workspace) as ws:
        found = plan_visits(
            ws, plan_id=plan_id, buffer_m=buffer_m, gap_minutes=gap_minutes, sources=_source_list(sources)
        )
    visits = found.patrol
    if out:
        write_table(with_local_times(visits), out)
    payload = {
        "plan_id": found.plan.plan_id,
        "officer_visits": len(found.officer_level),
        "patrol_visits": len(visits),
        "minutes": float(visits["dwell_minutes"].sum()) if len(visits) else 0.0,
        **found.counts,
        "out": str(out) if out else None,
    }
    if json_out:
        print_json(payload)
        return
    console.print(
        f"plan {found.plan.plan_id}: {len(visits):,} patrol visits ({len(found.officer_level):,} officer "
        f"visits), {payload['minutes']:,.0f} minutes on site"
    )


@gps_app.command("compliance")
def gps_compliance(
    workspace: WorkspaceOption = None,
    plan_id: PlanOption = None,
    buffer_m: BufferOption = 25.0,
    gap_minutes: GapOption = 5.0,
    tolerance_minutes: Annotated[
        float, typer.Option("--tolerance", help="Minutes from the planned start that count as on time.")
    ] = 30.0,
    min_dwell_minutes: Annotated[
        float, typer.Option("--min-dwell", help="Shortest visit (minutes) that counts as delivered.")
    ] = 10.0,
    sources: SourcesOption = "gps,officer",
    to: Annotated[
        str | None, typer.Option("--to", help="Judge the plan to this day (YYYY-MM-DD) [default: today].")
    ] = None,
    out: OptionalOutOption = None,
    json_out: JsonOption = False,
) -> None:
    """Planned against delivered visits, per area-day, area and officer (stored in the workspace).

    Compliance to date: planned visits after --to (default today) are not judged yet."""
    from gripkit.dosage import compliance
    from gripkit.output import write_table

    setup_logging(quiet=json_out)
    with open_workspace(workspace) as ws:
        result = compliance(
            ws,
            plan_id=plan_id,
            to=to,
            buffer_m=buffer_m,
            gap_minutes=gap_minutes,
            tolerance_minutes=tolerance_minutes,
            min_dwell_minutes=min_dwell_minutes,
            sources=_source_list(sources),
        )
    if out:
        write_table(result.by_area_day, out)
    if json_out:
        print_json({**result.to_dict(), "summary": result.summary(), "out": str(out) if out else None})
        return
    table = Table(title=f"Compliance with plan {result.meta['plan_id']}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.figures.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
            table.add_row(key.replace("_", " "), value)
            continue
        table.add_row(key.replace("_", " "), "n/a" if value is None else f"{value:,.3g}")
    console.print(table)
    console.print(result.summary())
