"""``gripkit sources``: every version of every ingested file, and ``restore`` to make one active again."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from gripkit.cli.common import JsonOption, WorkspaceOption, app, console, open_workspace, print_json

sources_app = typer.Typer(
    help="File versions: list every version of every (force, month, kind) file, or restore one.",
    invoke_without_command=True,
)
app.add_typer(sources_app, name="sources")


def _rows(workspace: Any) -> list[dict[str, Any]]:
    from gripkit.ingestion.versions import STATUS_LABELS, versions
    from gripkit.results import to_jsonable

    frame = versions(workspace)
    frame["status"] = frame["status"].map(lambda s: STATUS_LABELS.get(s, s))
    rows = to_jsonable(frame)
    assert isinstance(rows, list)
    for row in rows:
        if row["month"]:
            row["month"] = row["month"][:7]
    return rows


def _list(workspace: WorkspaceOption, json_out: bool) -> None:
    with open_workspace(workspace, read_only=True) as ws:
        rows = _rows(ws)
        path = ws.path
    if json_out:
        print_json({"workspace": path, "versions": rows, "total": len(rows)})
        return
    table = Table(title=f"{len(rows):,} file versions in {path}")
    for name, justify in (("id", "right"), ("force", "left"), ("month", "left"), ("kind", "left"),
                          ("rows", "right"), ("sha256", "left"), ("status", "left"), ("ingested", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        style = {"held back": "yellow", "superseded": "dim"}.get(row["status"])
        table.add_row(
            str(row["source_id"]), row["force"] or "", row["month"] or "", row["kind"] or "",
            f"{row['rows_read']:,}", (row["sha256"] or "")[:12], row["status"],
            (row["ingested_at"] or "")[:19].replace("T", " "), style=style,
        )
    console.print(table)
    if any(r["status"] != "active" for r in rows):
        console.print("Make a version active again with `gripkit sources restore ID`.")


@sources_app.callback()
def sources_command(
    ctx: typer.Context, workspace: WorkspaceOption = None, json_out: JsonOption = False
) -> None:
    """Every version of every file ingested (id, force, month, kind, rows, hash, status, when)."""
    if ctx.invoked_subcommand is None:
        _list(workspace, json_out)


@sources_app.command("list")
def list_command(workspace: WorkspaceOption = None, json_out: JsonOption = False) -> None:
    """Every version of every file ingested: active, superseded or held back (as `gripkit sources`)."""
    _list(workspace, json_out)


@sources_app.command("restore")
def restore_command(
    source_id: Annotated[int, typer.Argument(help="The version's id (first column of `gripkit sources`).")],
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Make an earlier (superseded or held-back) version of a file active again, in one transaction."""
    from gripkit.ingestion.versions import restore

    with open_workspace(workspace) as ws:
        restored = restore(ws, source_id)
    if json_out:
        print_json(restored.to_dict())
        return
    console.print(restored.summary())
