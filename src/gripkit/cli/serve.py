"""``gripkit serve``: the dashboard (FastAPI under uvicorn) over the workspace."""

from __future__ import annotations

from typing import Annotated

import typer

from gripkit.cli.common import WorkspaceOption, app, console_err, open_workspace, setup_logging


@app.command("serve")
def serve_command(
    workspace: WorkspaceOption = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark cookies Secure even without https (behind a TLS proxy).")
    ] = False,
    tiles: Annotated[
        str | None,
        typer.Option(help="Optional background tile URL, e.g. https://tile.example/{z}/{x}/{y}.png."),
    ] = None,
    tiles_attribution: Annotated[str, typer.Option(help="Attribution text of the tile layer.")] = "",
) -> None:
    """Serve the dashboard: hotspot map, patrols, dosage, evaluation; login required."""
    import uvicorn

    from gripkit.dashboard import create_app

    setup_logging()
    ws = open_workspace(workspace)
    users = ws.con.execute("SELECT count(*) FROM users").fetchone()
    if not users or not users[0]:
        console_err.print(
            "[yellow]No users yet.[/] Stop the server and run "
            "`gripkit users add NAME --role admin` to be able to log in."
        )
    dashboard = create_app(
        ws, secure_cookies=secure_cookies, tiles_url=tiles, tiles_attribution=tiles_attribution
    )
    console_err.print(f"gripkit dashboard on http://{host}:{port}/ (workspace {ws.path}); Ctrl+C stops it")
    uvicorn.run(
        dashboard,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=True,
        server_header=False,
        date_header=True,
    )
