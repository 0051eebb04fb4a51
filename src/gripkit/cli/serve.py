"""``gripkit serve``: the dashboard (FastAPI under uvicorn) over the workspace.

The address is announced once the socket is listening (not before), so a script can wait for it:
with ``--json`` the one JSON object on stdout is ``{"url": ..., "host": ..., "port": ..., ...}``,
printed when the server accepts connections; ``--port 0`` takes any free port and says which.

The map's basemap is OpenStreetMap's standard tiles unless ``--tiles`` names another tile server
or ``none`` (air-gapped use); the start-up lines say which hosts browsers will fetch tiles from.

Client addresses (the login limit counts attempts per address) are the TCP peer's: the
``X-Forwarded-For`` and ``X-Forwarded-Proto`` headers are believed only from the proxies named
with ``--trusted-proxy`` (none by default), so a client cannot pick its own address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
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
from gripkit.cli.options import BoundariesOption
from gripkit.dashboard.tiles import OSM_URL, TileLayer, tile_layer
from gripkit.errors import InputError

if TYPE_CHECKING:
    import socket

    import uvicorn


def listening_url(host: str, port: int) -> str:
    """``http://host:port/`` (IPv6 addresses in brackets).

    >>> listening_url("127.0.0.1", 8000), listening_url("::1", 8080)
    ('http://127.0.0.1:8000/', 'http://[::1]:8080/')
    """
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def trusted_proxies(values: Sequence[str] | None) -> list[str]:
    """The proxy addresses or networks to believe ``X-Forwarded-*`` headers from, checked.

    >>> trusted_proxies(["127.0.0.1", " 10.0.0.0/8 ", "::1"])
    ['127.0.0.1', '10.0.0.0/8', '::1']
    >>> trusted_proxies(None)
    []
    """
    found = []
    for raw in values or ():
        text = str(raw).strip()
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise InputError(
                f"'trusted_proxy' must be an IP address or network of your reverse proxy; received "
                f"{text[:60]!r}. Pass e.g. 127.0.0.1 or 10.0.0.0/24 (never *: anyone could then "
                "choose their own address)."
            ) from None
        found.append(text)
    return found


def basemap_notice(layer: TileLayer | None) -> str:
    """The line ``gripkit serve`` prints about the map's background layer.

    >>> print(basemap_notice(None))
    Basemap: none (--tiles none); the browser fetches nothing from other sites.
    >>> print(basemap_notice(tile_layer(OSM_URL)))  # doctest: +NORMALIZE_WHITESPACE
    Basemap: OpenStreetMap's standard tiles; browsers fetch them from https://tile.openstreetmap.org
    (its tile usage policy applies). --tiles URL for another server, --tiles none for no basemap.
    """
    if layer is None:
        return "Basemap: none (--tiles none); the browser fetches nothing from other sites."
    name = "OpenStreetMap's standard tiles" if layer.url == OSM_URL else f"tiles {layer.url}"
    return (
        f"Basemap: {name}; browsers fetch them from {' '.join(layer.origins)} (its tile usage policy "
        "applies). --tiles URL for another server, --tiles none for no basemap."
    )


def server_config(
    dashboard: Any, *, host: str, port: int, trusted_proxy: Sequence[str] | None = None
) -> uvicorn.Config:
    """uvicorn's configuration of the dashboard server.

    Forwarded headers are read only when ``trusted_proxy`` names proxies, and then only from
    them (uvicorn's ``forwarded_allow_ips``; the ``FORWARDED_ALLOW_IPS`` environment variable is
    not consulted).
    """
    import uvicorn

    proxies = trusted_proxies(trusted_proxy)
    return uvicorn.Config(
        dashboard,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies,
        server_header=False,
        date_header=True,
    )


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
        str,
        typer.Option(
            help="Basemap tile URL template ({z}/{x}/{y}, optional {s}); default OpenStreetMap's "
            "standard tiles (their tile usage policy applies); 'none': no basemap, no outside requests."
        ),
    ] = OSM_URL,
    tiles_attribution: Annotated[
        str, typer.Option(help="Attribution of the tile layer, plain text (OpenStreetMap's by default).")
    ] = "",
    tiles_attribution_url: Annotated[
        str, typer.Option(help="Page the attribution links to (the provider's copyright page).")
    ] = "",
    tiles_subdomains: Annotated[
        str, typer.Option(help="Subdomains that {s} in --tiles stands for, comma-separated.")
    ] = "a,b,c",
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            help="Address or network of a reverse proxy whose X-Forwarded-For/-Proto to believe "
            "(repeatable; default none: the client address is the TCP peer's)."
        ),
    ] = None,
    boundaries: BoundariesOption = None,
    json_out: JsonOption = False,
) -> None:
    """Serve the dashboard: hotspot map, patrols, dosage, evaluation; login required."""
    import uvicorn

    from gripkit.dashboard import create_app

    setup_logging(quiet=json_out)
    proxies = trusted_proxies(trusted_proxy)
    layer = tile_layer(
        tiles, tiles_attribution, attribution_url=tiles_attribution_url, subdomains=tiles_subdomains
    )
    ws = open_workspace(workspace)
    row = ws.con.execute("SELECT count(*) FROM users").fetchone()
    users = int(row[0]) if row else 0
    if not users:
        console_err.print(
            "[yellow]No users yet.[/] Stop the server and run "
            "`gripkit users add NAME --role admin` to be able to log in."
        )
    dashboard = create_app(
        ws,
        secure_cookies=secure_cookies,
        tiles_url=layer.url if layer else None,
        tiles_attribution=layer.attribution if layer else "",
        tiles_attribution_url=layer.attribution_url if layer else "",
        tiles_subdomains=",".join(layer.subdomains) if layer else "",
        boundaries=boundaries,
    )

    def announce(bound_port: int) -> None:
        url = listening_url(host, bound_port)
        if json_out:
            print_json(
                {
                    "url": url,
                    "host": host,
                    "port": bound_port,
                    "workspace": ws.path,
                    "users": users,
                    "trusted_proxies": proxies,
                    "tiles": layer.url if layer else None,
                    "tiles_hosts": list(layer.origins) if layer else [],
                }
            )
        else:
            console_err.print(f"gripkit dashboard on {url} (workspace {ws.path}); Ctrl+C stops it")
            console_err.print(basemap_notice(layer), highlight=False, markup=False)

    class AnnouncingServer(uvicorn.Server):
        """uvicorn's server, announcing its address once its sockets listen."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            servers: list[Any] = getattr(self, "servers", [])
            bound = [s.getsockname() for server in servers for s in (server.sockets or ())]
            announce(int(bound[0][1]) if bound else port)

    config = server_config(dashboard, host=host, port=port, trusted_proxy=proxies)
    AnnouncingServer(config).run()
