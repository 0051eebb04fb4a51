"""``gripkit info``, ``status`` and ``quarantine``: look inside the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gripkit.cli.common import JsonOption, WorkspaceOption, app, console, open_workspace, print_json


@app.command("info")
def info_command(
    workspace: WorkspaceOption = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind, e.g. hotspots.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Newest results to list (0: all).", min=0)] = 20,
    json_out: JsonOption = False,
) -> None:
    """The stored results: kind, id, time and summary of each, newest first."""
    from gripkit.results import check_kind, to_jsonable

    if kind is not None:
        check_kind(kind)
    with open_workspace(workspace, read_only=True) as ws:
        log = ws.results_log()
        path = ws.path
    if kind is not None:
        log = log[log["kind"] == kind]
    log = log.iloc[::-1]
    total = len(log)
    if limit:
        log = log.head(limit)
    columns = ["result_id", "kind", "created_at", "harm_table", "summary"]
    rows: list[dict[str, Any]] = to_jsonable(log[columns].to_dict(orient="records"))
    if json_out:
        print_json({"workspace": path, "total": total, "results": rows})
        return
    if not rows:
        console.print(
            f"No stored results{f' of kind {kind}' if kind else ''} in {path}. "
            "Run `gripkit hotspots -o hotspots.gpkg` (or any pipeline step) to make one."
        )
        return
    shown = f", the newest {len(rows)}" if total > len(rows) else ""
    table = Table(title=f"{total:,} stored result(s) in {path}{shown}")
    for name in ("id", "kind", "time", "summary"):
        table.add_column(name, overflow="fold", justify="right" if name == "id" else "left")
    for row in rows:
        when = str(row["created_at"] or "")[:19].replace("T", " ")
        table.add_row(str(row["result_id"]), row["kind"], when, row["summary"] or "")
    console.print(table)


def _coverage_rows(frame: Any) -> list[dict[str, Any]]:
    """Per force and source: months held and missing as runs, rows loaded and quarantined."""
    from gripkit.coverage import month_runs

    rows = []
    for force, part in frame.groupby("force", sort=True):
        held = sorted(set(part.loc[~part["gap"], "month"]))
        gaps = sorted(set(part.loc[part["gap"], "month"]) - set(held))
        sources = sorted({str(s) for s in part["source"].dropna()})
        rows.append({
            "force": force, "source": ", ".join(sources), "months_held": len(held),
            "held": month_runs(held), "missing": month_runs(gaps) if gaps else "",
            "rows_loaded": int(part["rows_loaded"].sum()),
            "rows_quarantined": int(part["rows_quarantined"].sum()),
        })
    return rows


def _print_coverage(frame: Any, json_out: bool, path: str) -> None:
    from gripkit.results import to_jsonable

    rows = _coverage_rows(frame)
    if json_out:
        months = to_jsonable(frame.to_dict(orient="records"))
        print_json({"workspace": path, "forces": rows, "months": months})
        return
    table = Table(title=f"Coverage of {path} (street crimes, per force)")
    for name in ("force", "source", "held", "missing", "loaded", "quarantined"):
        right = name in ("loaded", "quarantined")
        table.add_column(name, overflow="fold", justify="right" if right else "left")
    for r in rows:
        held = f"{r['held']} ({r['months_held']} months)"
        table.add_row(r["force"], r["source"], held, r["missing"] or "-", f"{r['rows_loaded']:,}",
                      f"{r['rows_quarantined']:,}")
    console.print(table)


@app.command("status")
def status_command(
    workspace: WorkspaceOption = None,
    coverage: Annotated[
        bool,
        typer.Option("--coverage", help="Per force: months held and missing, rows loaded and quarantined."),
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Row counts, sources and quarantine reasons of the workspace (--coverage: per force x month)."""
    from gripkit.ingestion import REASONS

    if coverage:
        from gripkit.coverage import coverage_table

        with open_workspace(workspace) as ws:
            frame, path = coverage_table(ws), ws.path
        _print_coverage(frame, json_out, path)
        return
    with open_workspace(workspace) as ws:
        counts = ws.counts()
        reasons = dict(
            ws.con.execute("SELECT reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 2 DESC").fetchall()
        )
        span = ws.con.execute("SELECT min(month), max(month) FROM crimes").fetchone()
        path = ws.path
    months = [str(span[0]), str(span[1])] if span and span[0] else None
    payload = {
        "workspace": path,
        **counts,
        "quarantine_by_reason": reasons,
        "months": months,
    }
    if json_out:
        print_json(payload)
        return
    table = Table(title=f"Workspace {path}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    if months:
        console.print(f"crimes from {months[0]} to {months[1]}")
    for reason, n in reasons.items():
        console.print(f"  quarantined {n:,}: {reason} ({REASONS.get(reason, '')})")


@app.command("quarantine")
def quarantine_command(
    workspace: WorkspaceOption = None,
    reason: Annotated[str | None, typer.Option(help="Only this reason.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write all matching rows to this CSV.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to print (or to put in the JSON).")] = 10,
    json_out: JsonOption = False,
) -> None:
    """Show (or export) quarantined rows with their source file, line, raw text and reason."""
    sql = (
        "SELECT s.path, q.source_row, q.reason, q.detail, q.raw FROM quarantine q "
        "JOIN sources s USING (source_id)"
        + (" WHERE q.reason = ?" if reason else "")
        + " ORDER BY s.source_id, q.source_row"
    )
    with open_workspace(workspace) as ws:
        frame = ws.con.execute(sql, [reason] if reason else []).df()
    if out is not None:
        frame.to_csv(out, index=False)
        if json_out:
            print_json({"rows": len(frame), "reason": reason, "out": str(out)})
        else:
            console.print(f"Wrote {len(frame):,} quarantined rows to {out}")
        return
    if json_out:
        head = frame.head(limit).to_dict(orient="records")
        print_json({"rows": len(frame), "reason": reason, "head": head})
        return
    table = Table(title=f"{len(frame):,} quarantined rows" + (f" ({reason})" if reason else ""))
    for name in ("path", "source_row", "reason", "raw"):
        table.add_column(name, overflow="fold")
    for _, row in frame.head(limit).iterrows():
        table.add_row(
            Path(str(row["path"]).split("!")[-1]).name,
            str(row["source_row"]),
            row["reason"],
            row["raw"][:120],
        )
    console.print(table)
