"""``gripkit gps``: ingest GPS pings, turn them into visits, and check compliance with a plan."""

from __future__ import annotations

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
    setup_logging,
)
from gripkit.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

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


@gps_app.command("ingest")
def gps_ingest(
    paths: Annotated[list[Path], typer.Argument(help="GPS files (.csv or .gpx).")],
    workspace: WorkspaceOption = None,
    officers: Annotated[
        str | None, typer.Option(help="Roster: a CSV (first column) or comma-separated ids.")
    ] = None,
    tz: Annotated[str, typer.Option(help="Zone of timestamps without an offset.")] = LONDON,
    map_: Annotated[list[str] | None, typer.Option("--map", help="Column mapping FIELD=HEADER.")] = None,
    clock_offset: Annotated[
        list[str] | None, typer.Option(help="Device clock ahead: OFFICER=SECONDS.")
    ] = None,
    max_speed: Annotated[float, typer.Option(help="km/h above which a ping is a GPS jump.")] = 100.0,
    area_buffer: Annotated[float, typer.Option(help="Metres around the force area still accepted.")] = 500.0,
    check_area: Annotated[bool, typer.Option(help="Quarantine pings outside the force area.")] = True,
    json_out: JsonOption = False,
) -> None:
    """Ingest GPS pings; every row is stored or quarantined with a reason."""
    from gripkit.dosage import ingest_gps

    setup_logging(quiet=json_out)
    offsets = {k: float(v) for k, v in _pairs(clock_offset, "--clock-offset").items()}
    with open_workspace(workspace) as ws:
        report = ingest_gps(
            paths,
            ws,
            mapping=_pairs(map_, "--map"),
            tz=tz,
            officers=_roster(officers),
            area="auto" if check_area else None,
            area_buffer_m=area_buffer,
            max_speed_kmh=max_speed,
            clock_offsets=offsets,
        )
    if json_out:
        print_json(report.to_dict())
        return
    console.print(f"read {report.read:,} pings: loaded {report.loaded:,}, quarantined {report.quarantined:,}")
    for reason, count in sorted(report.by_reason.items()):
        console.print(f"  quarantined {count:,}: {reason}")
    for path in report.skipped_files:
        console.print(f"  skipped {path} (already ingested)")


@gps_app.command("visits")
def gps_visits(
    workspace: WorkspaceOption = None,
    plan: Annotated[int | None, typer.Option(help="Plan id [default: the latest].")] = None,
    buffer: Annotated[float, typer.Option(help="Metres around each area counted as inside.")] = 25.0,
    gap: Annotated[float, typer.Option(help="Minutes between pings that still make one visit.")] = 5.0,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write patrol visits CSV here.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Visits to the plan's areas from the stored pings (stored in the workspace)."""
    from gripkit.dosage import officer_visits, patrol_visits, workspace_pings
    from gripkit.patrol import load_plan

    setup_logging(quiet=json_out)
    with open_workspace(workspace) as ws:
        stored = load_plan(ws, plan)
        per_officer = officer_visits(workspace_pings(ws), stored.areas, buffer_m=buffer, gap_minutes=gap)
        with ws.transaction() as con:
            con.execute("DELETE FROM visits WHERE plan_id = ?", [stored.plan_id])
            con.register("_v", per_officer)
            con.execute(
                "INSERT INTO visits SELECT ?, area_id, officer_id, start_utc, end_utc, dwell_minutes, "
                "pings FROM _v",
                [stored.plan_id],
            )
            con.unregister("_v")
    visits = patrol_visits(per_officer, gap_minutes=gap)
    if out:
        _local(visits).to_csv(out, index=False, lineterminator="\n")
    payload = {
        "plan_id": stored.plan_id,
        "officer_visits": len(per_officer),
        "patrol_visits": len(visits),
        "minutes": float(visits["dwell_minutes"].sum()) if len(visits) else 0.0,
        "out": str(out) if out else None,
    }
    if json_out:
        print_json(payload)
        return
    console.print(
        f"plan {stored.plan_id}: {len(visits):,} patrol visits ({len(per_officer):,} officer visits), "
        f"{payload['minutes']:,.0f} minutes on site"
    )


@gps_app.command("compliance")
def gps_compliance(
    workspace: WorkspaceOption = None,
    plan: Annotated[int | None, typer.Option(help="Plan id [default: the latest].")] = None,
    buffer: Annotated[float, typer.Option(help="Metres around each area counted as inside.")] = 25.0,
    gap: Annotated[float, typer.Option(help="Minutes between pings that still make one visit.")] = 5.0,
    tolerance: Annotated[
        float, typer.Option(help="Minutes from the planned start that count as on time.")
    ] = 30.0,
    min_dwell: Annotated[
        float, typer.Option(help="Shortest visit (minutes) that counts as delivered.")
    ] = 10.0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write per area-day compliance CSV.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Planned against delivered visits, per area-day, area and officer."""
    from gripkit.dosage import compliance, officer_visits, patrol_visits, workspace_pings
    from gripkit.patrol import load_plan

    setup_logging(quiet=json_out)
    with open_workspace(workspace, read_only=False) as ws:
        stored = load_plan(ws, plan)
        visits = patrol_visits(
            officer_visits(workspace_pings(ws), stored.areas, buffer_m=buffer, gap_minutes=gap),
            gap_minutes=gap,
        )
    result = compliance(
        stored.schedule, visits, stored.assignments, tolerance_minutes=tolerance, min_dwell_minutes=min_dwell
    )
    if out:
        result.by_area_day.to_csv(out, index=False, lineterminator="\n")
    if json_out:
        print_json(
            {"plan_id": stored.plan_id, **result.summary, "by_officer": result.by_officer.to_dict("records")}
        )
        return
    table = Table(title=f"Compliance with plan {stored.plan_id}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.summary.items():
        table.add_row(key.replace("_", " "), "n/a" if value is None else f"{value:,.3g}")
    console.print(table)


def _local(visits: pd.DataFrame) -> pd.DataFrame:
    """Visits with Europe/London start/end columns for people to read."""
    import pandas as pd

    out = visits.copy()
    for name in ("start", "end"):
        utc = pd.to_datetime(out[f"{name}_utc"]).dt.tz_localize("UTC")
        out[f"{name}_local"] = utc.dt.tz_convert(LONDON).dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    return out
