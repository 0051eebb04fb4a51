"""The FastAPI application: login wall, security headers, error pages, routers, docs behind login.

Example
-------
>>> from gripkit.dashboard import create_app
>>> app = create_app(":memory:")
>>> "/api/hotspots" in app.openapi()["paths"]
True
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gripkit.dashboard.data import shown
from gripkit.dashboard.pages import STATIC, render
from gripkit.dashboard.routes_api import CACHEABLE, GEOJSON
from gripkit.dashboard.state import (
    ANALYST,
    ANYONE,
    SESSION_COOKIE,
    Busy,
    DashboardState,
    Settings,
    body_response,
    require,
)
from gripkit.dashboard.tiles import tile_layer
from gripkit.errors import GripkitError, InputError
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit.dashboard")
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = ("/login", "/favicon.ico")
#: pages the login middleware may answer from memory (rendered for the same session today)
PAGES = ("/", "/officer")
#: longest query string accepted (bytes); the map's longest real query is under 1 KB
MAX_QUERY_BYTES = 4096
#: what looks like a file path in a message (two or more segments after a slash or a drive)
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\\/\s'\",;:()]+){2,}[\\/]?")
_CSP = (
    "default-src 'self'; img-src 'self' data: {tiles}; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'{docs}; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def _wants_json(path: str) -> bool:
    return path.startswith("/api/") or path in ("/openapi.json", "/docs", "/redoc")


class LoginWall:
    """ASGI middleware: attaches the session, refuses everything but /login and /static without one.

    Pages redirect (303) to ``/login?next=...``; the API, ``/docs`` and ``/openapi.json`` answer 401.
    Every response gets security headers (CSP, no framing, no sniffing, same-origin referrer).
    The CSP's ``img-src`` adds the checked tile layer's hosts (:mod:`gripkit.dashboard.tiles`).
    """

    def __init__(self, app: ASGIApp, state: DashboardState) -> None:
        self.app = app
        self.state = state
        host = state.tiles.csp_sources if state.tiles else ""
        self.csp = _CSP.format(tiles=host, docs="").encode()
        self.csp_docs = _CSP.format(tiles=host, docs=" 'unsafe-inline'").encode()
        self.rendering: dict[tuple[str, bytes, str], asyncio.Future[None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        token = _cookie(scope, SESSION_COOKIE)
        session = None
        if token:
            session = self.state.cached_session(token)
            if session is None:
                session = await run_in_threadpool(self.state.session, token)
        scope.setdefault("state", {})["session"] = session
        scope["state"]["session_token"] = token if session else None
        csp = self.csp_docs if path == "/docs" else self.csp

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", csp),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if not path.startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES:
            too_long = _error(
                Request(scope), 414, f"the query string is longer than {MAX_QUERY_BYTES} bytes; shorten it"
            )
            await too_long(scope, receive, send_with_headers)
            return
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
        if session is None and not public:
            response: Response
            if _wants_json(path):
                response = JSONResponse(
                    {"detail": "login required"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Cookie realm="gripkit"'},
                )
            else:
                target = path + (
                    ("?" + scope["query_string"].decode("latin-1")) if scope.get("query_string") else ""
                )
                response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            await response(scope, receive, send_with_headers)
            return
        if (
            session is not None
            and path in CACHEABLE
            and scope["method"] == "GET"
            and session.user.role in ANALYST
        ):
            bodies = self.state.cached_response(path, scope.get("query_string", b""))
            if bodies is not None:  # fast path: the same map again, without routing and validation
                await body_response(bodies, GEOJSON, scope)(scope, receive, send_with_headers)
                return
        rendering: asyncio.Future[None] | None = None
        if session is not None and path in PAGES and scope["method"] == "GET":
            key = (path, scope.get("query_string", b""), scope["state"]["session_token"])
            if key in self.rendering:  # the same page is being rendered: wait for it
                await asyncio.shield(self.rendering[key])
            page = self.state.cached_page(*key)
            if page is not None:  # fast path: the page this session saw a moment ago
                await HTMLResponse(page)(scope, receive, send_with_headers)
                return
            rendering = self.rendering.setdefault(key, asyncio.get_running_loop().create_future())
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_with_headers(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception:
            # answered here, not re-raised: the client gets a plain error page and no traceback,
            # and the server keeps the connection orderly; the details go to the log
            log.exception("unhandled error on %s %s", scope.get("method"), path)
            if not started:
                crash = _error(Request(scope), 500, "internal error; the details are in the server log")
                await crash(scope, receive, send_with_headers)
        finally:
            if rendering is not None and not rendering.done():
                rendering.set_result(None)
                self.rendering.pop(key, None)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return v
    return None


def scrub(message: str) -> str:
    """A message fit for a web client: no server file paths (each becomes ``<server path>``).

    >>> scrub("no crimes in workspace /srv/gripkit/w.duckdb match the selection")
    'no crimes in workspace <server path> match the selection'
    """
    return _PATH.sub("<server path>", message)


def _error(request: Request, status: int, message: str) -> Response:
    message = scrub(message)
    if _wants_json(request.url.path):
        return JSONResponse({"detail": message}, status_code=status)
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such page"
        response = _error(request, exc.status_code, detail)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return _error(request, 422, validation_message(exc.errors()))

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> Response:
        response = _error(request, 503, f"busy: {exc}")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(GripkitError)
    async def gripkit_error(request: Request, exc: GripkitError) -> Response:
        return _error(request, 409, str(exc))


def validation_message(errors: Any) -> str:
    """One sentence per refused parameter: its name, what it must be, what was received.

    >>> validation_message([{"loc": ("query", "limit"), "msg": "Input should be a valid integer",
    ...                      "input": "nan"}])
    "'limit' is invalid (input should be a valid integer); received 'nan'."
    """
    parts = []
    for error in list(errors)[:5]:
        name = str(error.get("loc", ("?",))[-1])
        why = str(error.get("msg", "invalid")).split(",")[0]
        received = f"; received {shown(error['input'])}" if "input" in error else ""
        parts.append(f"'{name}' is invalid ({why[:1].lower()}{why[1:]}){received}.")
    return " ".join(parts) or "invalid request parameters."


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: DashboardState = app.state.dashboard
    state.start_closer()
    state.start_workers()
    yield
    state.close()


def create_app(
    workspace: str | Path | Workspace,
    *,
    settings: Settings | None = None,
    **options: Any,
) -> FastAPI:
    """Build the dashboard app over a workspace (path, ``":memory:"`` or an open Workspace).

    ``options`` are :class:`~gripkit.dashboard.state.Settings` fields (``secure_cookies``,
    ``tiles_url``, ``login_per_user``...); no basemap unless ``tiles_url`` is given (a bad one is
    an :class:`~gripkit.errors.InputError`). The app uses the workspace for its lifetime; while
    it is served it closes the file when idle and reopens it on the next request.
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    conf = settings or Settings(workspace=Path(ws.path), **options)
    try:
        layer = tile_layer(
            conf.tiles_url,
            conf.tiles_attribution,
            attribution_url=conf.tiles_attribution_url,
            subdomains=conf.tiles_subdomains,
        )
    except InputError:
        if ws is not workspace:
            ws.close()
        raise
    state = DashboardState(conf, ws, tiles=layer)
    state.throttle = type(state.throttle)(conf.login_per_user, conf.login_per_client, conf.login_window_s)
    app = FastAPI(
        title="gripkit dashboard",
        description="Hotspots, patrols, dosage, evaluation. Every route needs a logged-in session.",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        debug=False,
        lifespan=_lifespan,
    )
    app.state.dashboard = state
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    from gripkit.dashboard import (
        routes_api,
        routes_auth,
        routes_officer,
        routes_pages,
        routes_publish,
        routes_users,
    )

    for module in (routes_auth, routes_pages, routes_officer, routes_users, routes_publish, routes_api):
        app.include_router(module.router)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require(*ANYONE))])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(require(*ANYONE))])
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="gripkit API",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    _install_error_pages(app)
    app.add_middleware(LoginWall, state=state)

    return app
