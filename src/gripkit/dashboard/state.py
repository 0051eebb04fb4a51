"""The dashboard's shared state: one workspace connection behind a lock, caches, the login throttle.

DuckDB allows one writing process per file, so the server keeps one connection open and
serialises every use of it with :attr:`DashboardState.lock`. Sessions are cached briefly in memory
so the map API does not queue behind the database, and computed hotspot maps are cached by query.
"""

from __future__ import annotations

import gzip
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.responses import Response

from gripkit.dashboard import auth
from gripkit.dashboard.data import HotspotQuery, compute_hotspots
from gripkit.hotspots.find import HotspotResult
from gripkit.workspace import Workspace

T = TypeVar("T")
SESSION_COOKIE = "gripkit_session"
LOGIN_CSRF_COOKIE = "gripkit_login_csrf"
SESSION_CACHE_SECONDS = 30.0
RESULT_CACHE_SIZE = 16


@dataclass
class Settings:
    """Server options: workspace path, cookie security, optional tile layer, login limits."""

    workspace: Path
    secure_cookies: bool = False
    tiles_url: str | None = None
    tiles_attribution: str = ""
    login_per_user: int = 5
    login_per_client: int = 30
    login_window_s: float = 900.0
    session_hours: float = auth.SESSION_HOURS


@dataclass
class DashboardState:
    """Everything request handlers share; built once by :func:`gripkit.dashboard.create_app`."""

    settings: Settings
    ws: Workspace
    lock: threading.RLock = field(default_factory=threading.RLock)
    throttle: auth.LoginThrottle = field(default_factory=auth.LoginThrottle)
    _sessions: dict[str, tuple[float, auth.Session]] = field(default_factory=dict)
    _results: OrderedDict[tuple[Any, ...], HotspotResult] = field(default_factory=OrderedDict)
    _geojson: OrderedDict[tuple[Any, ...], bytes] = field(default_factory=OrderedDict)
    _responses: dict[tuple[str, bytes], tuple[bytes, bytes]] = field(default_factory=dict)

    def db(self, fn: Callable[[Workspace], T]) -> T:
        """Run ``fn(ws)`` holding the workspace lock; then let in a process waiting for the file
        (an ingest, a report: :meth:`~gripkit.workspace.Workspace.yield_to_waiting`)."""
        with self.lock:
            try:
                return fn(self.ws)
            finally:
                self._yield_to_waiting()

    def _yield_to_waiting(self) -> None:
        """Let a waiting process have the file; it may change it, so forget computed maps."""
        if self.ws.yield_to_waiting():
            self._results.clear()
            self._geojson.clear()
            self._responses.clear()

    # -- sessions ---------------------------------------------------------------------------
    def session(self, token: str | None) -> auth.Session | None:
        """The live session of a cookie token (cached for a few seconds), or None."""
        if not token or len(token) > 200:
            return None
        now = time.monotonic()
        cached = self._sessions.get(token)
        if cached and now - cached[0] < SESSION_CACHE_SECONDS:
            return cached[1]
        found = self.db(lambda ws: auth.lookup_session(ws, token))
        if found is None:
            self._sessions.pop(token, None)
        else:
            if len(self._sessions) > 10_000:
                self._sessions.clear()
            self._sessions[token] = (now, found)
        return found

    def cached_session(self, token: str) -> auth.Session | None:
        """The session of a token if cached within the last few seconds (no database access)."""
        cached = self._sessions.get(token)
        if cached and time.monotonic() - cached[0] < SESSION_CACHE_SECONDS:
            return cached[1]
        return None

    def forget_sessions(self, token: str | None = None) -> None:
        """Drop one cached session (logout) or all of them (user changes)."""
        if token is None:
            self._sessions.clear()
        else:
            self._sessions.pop(token, None)

    # -- hotspot results --------------------------------------------------------------------
    def cached_geojson(self, query: HotspotQuery) -> bytes | None:
        """The GeoJSON bytes of a query already served, or None."""
        return self._geojson.get((*query.key, query.limit))

    def hotspots(self, query: HotspotQuery) -> HotspotResult:
        """The hotspot result of a query, computed once and kept in a small LRU cache."""
        with self.lock:
            if query.key in self._results:
                self._results.move_to_end(query.key)
                return self._results[query.key]
            result = compute_hotspots(self.ws, query)
            self._results[query.key] = result
            while len(self._results) > RESULT_CACHE_SIZE:
                self._results.popitem(last=False)
            self._yield_to_waiting()
            return result

    def cached_response(self, path: str, query_string: bytes) -> tuple[bytes, bytes] | None:
        """The body already served for exactly this analyst GET (path and raw query string), or None.

        The workspace changes under a running server only after it let another process in
        (:meth:`db`), which clears this cache. Returns the plain and gzipped bodies.
        """
        return self._responses.get((path, query_string))

    def remember_response(self, path: str, query_string: bytes, body: bytes) -> tuple[bytes, bytes]:
        """Keep the body (and its gzip) of an analyst GET for :meth:`cached_response` (256 at most)."""
        key = (path, query_string)
        if key not in self._responses:
            if len(self._responses) >= 256:
                self._responses.clear()
            self._responses[key] = (body, gzip.compress(body, compresslevel=6, mtime=0))
        return self._responses[key]

    def store_geojson(self, query: HotspotQuery, body: bytes) -> None:
        """Keep a query's GeoJSON bytes for the next identical request."""
        with self.lock:
            self._geojson[(*query.key, query.limit)] = body
            while len(self._geojson) > RESULT_CACHE_SIZE * 4:
                self._geojson.popitem(last=False)


async def get_state(request: Request) -> DashboardState:
    """The app's :class:`DashboardState` (FastAPI dependency)."""
    state: DashboardState = request.app.state.dashboard
    return state


def current_session(request: Request) -> auth.Session:
    """The request's session, set by the login middleware (401 if somehow absent)."""
    session = getattr(request.state, "session", None)
    if session is None:
        raise HTTPException(status_code=401, detail="login required")
    return session


def require(*roles: str) -> Callable[[Request], Awaitable[auth.Session]]:
    """A dependency admitting only sessions whose user has one of ``roles`` (403 otherwise)."""

    async def check(request: Request) -> auth.Session:
        session = current_session(request)
        if session.user.role not in roles:
            raise HTTPException(status_code=403, detail="your role may not open this page")
        return session

    return check


ANALYST = ("admin", "analyst")
ADMIN = ("admin",)
ANYONE = auth.ROLES


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form after checking its ``csrf_token`` against the session's (403 if forged)."""
    session = current_session(request)
    form = await request.form()
    sent = str(form.get("csrf_token") or request.headers.get("x-csrf-token") or "")
    if not sent or not hmac.compare_digest(sent, session.csrf_token):
        raise HTTPException(
            status_code=403, detail="invalid or missing CSRF token; reload the page and retry"
        )
    return {k: str(v) for k, v in form.items()}


def accepts_gzip(scope: Any) -> bool:
    """Whether the request's Accept-Encoding admits gzip."""
    for key, value in scope.get("headers", []):
        if key == b"accept-encoding":
            return b"gzip" in value
    return False


def body_response(bodies: tuple[bytes, bytes], media_type: str, scope: Any) -> Response:
    """A response with the gzipped body when the client accepts it, else the plain one."""
    if accepts_gzip(scope):
        return Response(
            bodies[1], media_type=media_type, headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        )
    return Response(bodies[0], media_type=media_type, headers={"Vary": "Accept-Encoding"})
