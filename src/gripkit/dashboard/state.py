"""The dashboard's shared state: one workspace connection behind a lock, caches, the login throttle.

DuckDB allows one writing process per file, so the server keeps one connection and serialises
every use of it with :attr:`DashboardState.lock` -- only for the queries themselves: maps are
computed and pages rendered outside the lock. The connection is closed after
:data:`IDLE_CLOSE_S` seconds without use (and at once when another process waits for the file),
so ``gripkit status`` or ``gripkit report`` get in while the server runs; the next request
reopens it and keeps the caches when the workspace did not change meanwhile (a fingerprint of
its crimes, results and patrols).

What the pages read is kept in memory: the filter options, the patrols; computed hotspot maps
are cached by normalised query. Map computations are bounded (:class:`Busy`, answered 503 with
Retry-After): :data:`COMPUTE_SLOTS` at a time, :data:`COMPUTE_QUEUE` more waiting, one per
session; identical queries share one computation.

A map's Gi*/KDE computation runs in a worker process (:func:`map_pool`, ``Settings.map_workers``,
1 by default), not in the server: it would hold the GIL and stall every page for its duration.
The server reads the map's crimes under the workspace lock (a DuckDB file admits one read-write
process, so the worker cannot open it while the server has it) and hands the frame to the worker;
the request's thread waits for the worker's answer without holding the GIL. Workers are spawned
(never forked from the multi-threaded server) once per server process and reused.
"""

from __future__ import annotations

import atexit
import gzip
import hmac
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.responses import Response

from gripkit import locking, workers
from gripkit.dashboard import auth, data
from gripkit.dashboard.data import HotspotQuery
from gripkit.dashboard.tiles import TileLayer
from gripkit.errors import GripkitError, InputError, WorkerError, WorkspaceError
from gripkit.hotspots.find import HotspotResult
from gripkit.workspace import Workspace

T = TypeVar("T")
SESSION_COOKIE = "gripkit_session"
LOGIN_CSRF_COOKIE = "gripkit_login_csrf"
SESSION_CACHE_SECONDS = 30.0
RESULT_CACHE_SIZE = 16
#: seconds without a database use after which the server closes the workspace file
IDLE_CLOSE_S = 5.0
#: how often the closer looks for idleness and for processes waiting for the file (seconds)
IDLE_POLL_S = 0.1
#: seconds a reopening server waits for a command holding the file before answering "busy"
REOPEN_WAIT_S = 10.0
#: map computations running at once (the server has few cores; the rest serve pages)
COMPUTE_SLOTS = 1
#: map computations allowed to wait for a slot; beyond that requests are answered "busy"
COMPUTE_QUEUE = 3
#: map computations one session may have running or waiting
PER_SESSION = 1
#: rendered pages kept (per session, path and query string)
PAGE_CACHE_SIZE = 2048
#: the Retry-After of a "busy" answer (seconds)
RETRY_AFTER_S = 2
#: worker processes computing maps (0: compute in the server's own threads)
MAP_WORKERS = 1
log = logging.getLogger("gripkit.dashboard")
_pools: dict[int, ProcessPoolExecutor] = {}
_pools_lock = threading.Lock()


def _warm() -> None:
    """Worker initializer: import the hotspot stack before the first map is asked for."""
    import gripkit.dashboard.data  # noqa: F401


def map_pool(processes: int) -> ProcessPoolExecutor:
    """The process-wide pool of ``processes`` spawned map workers, started on first use and
    shared by every app in this process (tests build many); shut down at interpreter exit."""
    with _pools_lock:
        pool = _pools.get(processes)
        if pool is None:
            pool = workers.process_pool(processes, _warm, start_method="spawn")
            _pools[processes] = pool
        return pool


def start_map_pool(processes: int) -> None:
    """Start the workers now (server start), so the first map does not wait for their imports."""
    if processes > 0:
        map_pool(processes).submit(int).result()


def _drop_pool(processes: int, pool: ProcessPoolExecutor) -> None:
    """Forget a broken pool (a worker died) so the next map starts a fresh one."""
    with _pools_lock:
        if _pools.get(processes) is pool:
            del _pools[processes]
    pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def _shutdown_pools() -> None:
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


class Busy(GripkitError):
    """The server declines a computation now (answered 503 with ``Retry-After``)."""

    def __init__(self, message: str, retry_after: int = RETRY_AFTER_S) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Settings:
    """Server options: workspace path, cookie security, optional tile layer, login limits.

    ``tiles_*`` describe the map's background layer (checked by :func:`~gripkit.dashboard.tiles.tile_layer`;
    ``tiles_url`` None: no basemap)."""

    workspace: Path
    secure_cookies: bool = False
    tiles_url: str | None = None
    tiles_attribution: str = ""
    tiles_attribution_url: str = ""
    tiles_subdomains: str = "a,b,c"
    login_per_user: int = 5
    login_per_client: int = 30
    login_window_s: float = 900.0
    session_hours: float = auth.SESSION_HOURS
    map_workers: int = MAP_WORKERS
    boundaries: Path | None = None  # LSOA polygon file of the map's LSOA layer (None: bundled)


@dataclass
class DashboardState:
    """Everything request handlers share; built once by :func:`gripkit.dashboard.create_app`."""

    settings: Settings
    ws: Workspace
    tiles: TileLayer | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    throttle: auth.LoginThrottle = field(default_factory=auth.LoginThrottle)
    _sessions: dict[str, tuple[float, auth.Session, Any]] = field(default_factory=dict)
    _results: OrderedDict[tuple[Any, ...], HotspotResult] = field(default_factory=OrderedDict)
    _geojson: OrderedDict[tuple[Any, ...], bytes] = field(default_factory=OrderedDict)
    _responses: dict[tuple[str, bytes], tuple[bytes, bytes]] = field(default_factory=dict)
    _options: dict[str, Any] | None = None
    _patrols: dict[str | None, list[dict[str, Any]]] = field(default_factory=dict)
    _fingerprint: tuple[Any, ...] | None = None
    _checked: Any = None  # the connection the fingerprint was last checked on
    _last_use: float = field(default_factory=time.monotonic)
    _generation: int = 0
    _mutex: threading.Lock = field(default_factory=threading.Lock)
    _gate: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(COMPUTE_SLOTS))
    _computing: dict[tuple[Any, ...], Future[Any]] = field(default_factory=dict)
    _owners: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _on_disk: tuple[Any, ...] | None = None
    _pages: dict[tuple[str, bytes, str, str], bytes] = field(default_factory=dict)

    def db(self, fn: Callable[[Workspace], T]) -> T:
        """Run ``fn(ws)`` holding the workspace lock (reopening the file if it was closed); then
        let in a process waiting for the file (:meth:`~gripkit.workspace.Workspace.yield_to_waiting`).

        Keep ``fn`` to queries: compute and render after it returns.
        """
        with self.lock:
            try:
                self._reopen()
                return fn(self.ws)
            finally:
                self._last_use = time.monotonic()
                if self.ws.path != ":memory:" and locking.waiting(self.ws.path):
                    self._close(hand_over=True)

    def change(self, fn: Callable[[Workspace], T]) -> T:
        """:meth:`db` for a write to patrols or visits: forgets the cached patrols and pages."""
        try:
            return self.db(fn)
        finally:
            self._patrols.clear()
            self._pages.clear()

    def _close(self, *, hand_over: bool) -> None:
        """Close the file (the lock held), noting its state on disk; then, if ``hand_over``, wait
        for the waiting processes to get in (:func:`gripkit.locking.hand_over`)."""
        if self.ws._con is None:
            return
        self.ws._con.close()
        self.ws._con = None
        # a process let in may write before we look: then compare the contents on reopening
        self._on_disk = None if hand_over else _file_state(self.ws.path)
        if hand_over:
            log.info("workspace %s: letting a waiting process in", self.ws.path)
            locking.hand_over(self.ws.path)

    def _reopen(self) -> None:
        """After the file was closed (idle, or handed to another process): reopen it and forget
        what was cached if the workspace changed meanwhile. Busy if a command keeps it too long."""
        if self.ws.path == ":memory:" or (self.ws._con is not None and self.ws._con is self._checked):
            return
        untouched = self._on_disk is not None and self._on_disk == _file_state(self.ws.path)
        self.ws.wait = min(self.ws.wait, REOPEN_WAIT_S)
        try:
            con = self.ws.con
        except WorkspaceError:
            raise Busy(
                "the workspace is in use by a gripkit command (an ingest or a report); "
                f"retry in a few seconds (waited {self.ws.wait:.0f} s)",
                retry_after=5,
            ) from None
        if untouched:  # no other process wrote the file while it was closed
            self._checked = con
            return
        found = _fingerprint(con)
        if self._fingerprint is not None and found != self._fingerprint:
            log.info("the workspace changed while the dashboard had it closed; forgetting its caches")
            self.invalidate()
        self._fingerprint, self._checked = found, con

    def invalidate(self) -> None:
        """Forget everything read or computed from the workspace."""
        with self._mutex:
            self._generation += 1
            self._options = None
            self._patrols.clear()
            self._results.clear()
            self._geojson.clear()
            self._responses.clear()
            self._pages.clear()

    def release_if_idle(self) -> bool:
        """Close the file if it is unused for :data:`IDLE_CLOSE_S` or another process waits for it
        (never blocks: skipped while a request holds the lock). True if it closed it."""
        if self.ws.path == ":memory:" or self.ws._con is None:
            return False
        if not self.lock.acquire(blocking=False):
            return False
        try:
            if self.ws._con is None:
                return False
            wanted = locking.waiting(self.ws.path)
            if not wanted and time.monotonic() - self._last_use < IDLE_CLOSE_S:
                return False
            self._close(hand_over=wanted)
            return True
        finally:
            self.lock.release()

    def start_closer(self) -> None:
        """Start the background thread of :meth:`release_if_idle` (file workspaces only)."""
        if self.ws.path == ":memory:":
            return

        def loop() -> None:
            while not self._stop.wait(IDLE_POLL_S):
                try:
                    self.release_if_idle()
                except Exception:  # keep closing on later rounds; the details go to the log
                    log.exception("closing the idle workspace failed")

        threading.Thread(target=loop, name="gripkit-idle-close", daemon=True).start()

    def start_workers(self) -> None:
        """Start the map workers in the background (their imports take seconds when spawned)."""

        def warm() -> None:
            try:
                start_map_pool(self.settings.map_workers)
            except Exception:  # the first map will try again; the details go to the log
                log.exception("starting the map worker failed")

        threading.Thread(target=warm, name="gripkit-map-workers", daemon=True).start()

    def close(self) -> None:
        """Stop the closer thread and close the workspace (server shutdown)."""
        self._stop.set()
        with self.lock:
            self.ws.close()

    # -- what pages read ---------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        """The map's filter options (:func:`~gripkit.dashboard.data.filter_options`), read once."""
        found = self._options
        if found is None:
            generation = self._generation
            found = self.db(data.filter_options)
            if generation == self._generation:
                self._options = found
        return found

    def has_crimes(self) -> bool:
        """Whether the workspace holds crimes (from the cached filter options)."""
        return bool(self.options()["months"])

    def patrols(self, officer: str | None = None) -> list[dict[str, Any]]:
        """Assigned patrols (:func:`~gripkit.dashboard.data.patrols`), cached until one changes."""
        found = self._patrols.get(officer)
        if found is None:
            generation = self._generation
            found = self.db(lambda ws: data.patrols(ws, officer))
            if generation == self._generation:
                self._patrols[officer] = found
        return found

    def cached_page(self, path: str, query_string: bytes, token: str) -> bytes | None:
        """The HTML already rendered today for this session, path and query string, or None.

        Pages show the session's own CSRF token, so they are kept per session; a patrol change
        through the dashboard and any change seen on reopening the file forget them.
        """
        return self._pages.get((path, query_string, token, date.today().isoformat()))

    def remember_page(self, request: Request, response: Response) -> Response:
        """Keep a rendered 200 page for :meth:`cached_page` (at most :data:`PAGE_CACHE_SIZE`)."""
        token = getattr(request.state, "session_token", None)
        if response.status_code == 200 and token:
            if len(self._pages) >= PAGE_CACHE_SIZE:
                self._pages.clear()
            key = (request.url.path, request.scope.get("query_string", b""), token)
            self._pages[(*key, date.today().isoformat())] = bytes(response.body)
        return response

    def patrol(self, patrol_id: int) -> dict[str, Any] | None:
        """One patrol by id from :meth:`patrols`, or None."""
        return next((p for p in self.patrols() if p["patrol_id"] == patrol_id), None)

    # -- sessions ---------------------------------------------------------------------------
    def session(self, token: str | None) -> auth.Session | None:
        """The live session of a cookie token (cached while the file stays open), or None."""
        if not token or len(token) > 200:
            return None
        cached = self.cached_session(token)
        if cached is not None:
            return cached

        def lookup(ws: Workspace) -> auth.Session | None:
            found = auth.lookup_session(ws, token)
            # cached under the lock, before any user change can run, with the connection read on
            if found is None:
                self._sessions.pop(token, None)
            else:
                if len(self._sessions) > 10_000:
                    self._sessions.clear()
                self._sessions[token] = (time.monotonic(), found, ws.con)
            return found

        return self.db(lookup)

    def cached_session(self, token: str) -> auth.Session | None:
        """The session of a token if cached within the last few seconds (no database access).

        Only while the connection it was read on is still open: another process (``gripkit users
        remove``) can change users only once this server closed the file (DuckDB lets one process
        write), and this server's own user changes call :meth:`forget_sessions`.
        """
        cached = self._sessions.get(token)
        if (
            cached
            and cached[2] is self.ws._con
            and time.monotonic() - cached[0] < SESSION_CACHE_SECONDS
            and cached[1].expires_at > auth.utc_now()
        ):
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

    def hotspots(self, query: HotspotQuery, owner: str = "") -> HotspotResult:
        """The hotspot result of a query, computed once (outside the workspace lock) and kept in a
        small LRU cache. ``owner`` (the session) may have :data:`PER_SESSION` computations going."""
        with self._mutex:
            if query.key in self._results:
                self._results.move_to_end(query.key)
                return self._results[query.key]

        def compute() -> HotspotResult:
            crimes = self.db(lambda ws: data.map_crimes(ws, query))
            processes = self.settings.map_workers
            if processes <= 0:
                return data.hotspots_of(crimes, query)
            pool = map_pool(processes)
            try:
                with workers.worker_deaths("computing a map"):
                    found: HotspotResult = pool.submit(data.hotspots_of, crimes, query).result()
            except GripkitError as exc:
                if isinstance(exc, WorkerError):
                    _drop_pool(processes, pool)
                raise
            return found

        result: HotspotResult = self.computed(("map", *query.key), owner, compute)
        with self._mutex:
            self._results[query.key] = result
            while len(self._results) > RESULT_CACHE_SIZE:
                self._results.popitem(last=False)
        return result

    def computed(self, key: tuple[Any, ...], owner: str, fn: Callable[[], T]) -> T:
        """``fn()`` under the computation limits; a request for a ``key`` being computed waits for
        that computation instead. :class:`Busy` when the session or the server has too many."""
        with self._mutex:
            pending = self._computing.get(key)
            mine = pending is None
            if pending is None:
                if self._owners.get(owner, 0) >= PER_SESSION:
                    raise Busy(
                        "your previous map is still being computed; this one was not started. "
                        "Retry when it is done"
                    )
                if len(self._computing) >= COMPUTE_SLOTS + COMPUTE_QUEUE:
                    raise Busy(
                        f"the server is computing {len(self._computing)} other maps; retry in a few seconds"
                    )
                pending = Future()
                self._computing[key] = pending
                self._owners[owner] = self._owners.get(owner, 0) + 1
        if not mine:
            value: T = pending.result()
            return value
        try:
            with self._gate:
                value = fn()
            pending.set_result(value)
            return value
        except BaseException as exc:
            pending.set_exception(exc)
            raise
        finally:
            with self._mutex:
                del self._computing[key]
                self._owners[owner] -= 1
                if not self._owners[owner]:
                    del self._owners[owner]

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
        with self._mutex:
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


_DECLARED: dict[int, frozenset[str]] = {}


def _query_names(dependant: Any) -> list[str]:
    """The query parameters a FastAPI dependant and its sub-dependencies declare."""
    names = [p.alias for p in dependant.query_params]
    for sub in dependant.dependencies:
        names += _query_names(sub)
    return names


async def known_query(request: Request) -> None:
    """Refuse query parameters the route does not declare (400), naming the ones it takes.

    A misspelt filter (``crime-type=`` for ``crime_type=``) would otherwise be ignored and the
    answer cover everything, with nothing to tell the analyst.
    """
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    declared = _DECLARED.get(id(route))
    if declared is None:
        declared = _DECLARED[id(route)] = frozenset(_query_names(dependant))
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        names = ", ".join(data.shown(n, 40) for n in unknown[:3])
        takes = f"it takes {', '.join(sorted(declared))}" if declared else "it takes none"
        raise InputError(
            f"unknown query parameter {names} for {getattr(route, 'path', '')}; {takes}. Check the spelling."
        )


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


def _file_state(path: str) -> tuple[Any, ...]:
    """Size and modification time of the database file and its write-ahead log (None if absent)."""
    found: list[Any] = []
    for name in (path, f"{path}.wal"):
        try:
            stat = Path(name).stat()
            found.append((stat.st_size, stat.st_mtime_ns))
        except FileNotFoundError:
            found.append(None)
    return tuple(found)


def _fingerprint(con: Any) -> tuple[Any, ...]:
    """What tells whether another process changed the workspace: crimes, results, patrols, visits."""
    row = con.execute(
        "SELECT (SELECT count(*) FROM crimes), (SELECT coalesce(max(source_id), 0) FROM crimes), "
        "(SELECT coalesce(max(result_id), 0) FROM results), (SELECT count(*) FROM results), "
        "(SELECT count(*) FROM officer_patrols), (SELECT coalesce(max(patrol_id), 0) FROM officer_patrols), "
        "(SELECT count(*) FROM officer_visits), "
        "(SELECT count(*) FROM officer_visits WHERE stopped_at IS NULL)"
    ).fetchone()
    return tuple(row or ())


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
