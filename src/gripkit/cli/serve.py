"""``gripkit serve``: the dashboard (FastAPI under uvicorn) over the workspace.

The address is announced once the socket is listening (not before), so a script can wait for it:
with ``--json`` the one JSON object on stdout is ``{"url": ..., "host": ..., "port": ..., ...}``,
printed when the server accepts connections; ``--port 0`` takes any free port and says which.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from gripkit.cli.common import (
    JsonOption,
    WorkspaceOption,
    app,
    console_err,
    open_workspace,
    print_json,
    setup_logging,
)

if TYPE_CHECKING:
    import socket


def listening_url(host: str, port: int) -> str:
    """``http://host:port/`` (IPv6 addresses in brackets).

    >>> listening_url("127.0.0.1", 8000), listening_url("::1", 8080)
    ('http://127.0.0.1:8000/', 'http://[::1]:8080/')
    """
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


@app.command("serve")
def serve_command(
    workspace: WorkspaceOption = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="TCP port (0: any free port, announced when listening).", min=0, max=65535)
    ] = 8000,
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark cookies Secure even without https (behind a TLS proxy).")
    ] = False,
    tiles: Annotated[
        str | None,
        typer.Option(help="Optional background tile URL, e.g. https://tile.example/{z}/{x}/{y}.png."),
    ] = None,
    tiles_attribution: Annotated[str, typer.Option(help="Attribution text of the tile layer.")] = "",
    json_out: JsonOption = False,
) -> None:
    """Serve the dashboard: hotspot map, patrols, dosage, evaluation; login required."""
    import uvicorn

    from gripkit.dashboard import create_app

    setup_logging(quiet=json_out)
    ws = open_workspace(workspace)
    row = ws.con.execute("SELECT count(*) FROM users").fetchone()
    users = int(row[0]) if row else 0
    if not users:
        console_err.print(
            "[yellow]No users yet.[/] Stop the server and run "
            "`gripkit users add NAME --role admin` to be able to log in."
        )
    dashboard = create_app(
        ws, secure_cookies=secure_cookies, tiles_url=tiles, tiles_attribution=tiles_attribution
    )

    def announce(bound_port: int) -> None:
        url = listening_url(host, bound_port)
        if json_out:
            print_json({"url": url, "host": host, "port": bound_port, "workspace": ws.path, "users": users})
        else:
            console_err.print(f"gripkit dashboard on {url} (workspace {ws.path}); Ctrl+C stops it")

    class AnnouncingServer(uvicorn.Server):
        """uvicorn's server, announcing its address once its sockets listen."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            servers: list[Any] = getattr(self, "servers", [])
            bound = [s.getsockname() for server in servers for s in (server.sockets or ())]
            announce(int(bound[0][1]) if bound else port)

    config = uvicorn.Config(
        dashboard,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=True,
        server_header=False,
        date_header=True,
    )
    AnnouncingServer(config).run()
