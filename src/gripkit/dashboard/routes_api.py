"""The JSON API under ``/api/`` (documented at ``/docs``, which also needs a login)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gripkit.dashboard import auth, data
from gripkit.dashboard.routes_officer import own_patrol
from gripkit.dashboard.routes_pages import HotspotFilters, hotspot_detail, owner
from gripkit.dashboard.state import (
    ANALYST,
    ANYONE,
    DashboardState,
    body_response,
    checked_form,
    get_state,
    known_query,
    require,
)

router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(known_query)])
Analyst = Annotated[auth.Session, Depends(require(*ANALYST))]
Anyone = Annotated[auth.Session, Depends(require(*ANYONE))]
State = Annotated[DashboardState, Depends(get_state)]
GEOJSON = "application/geo+json"
#: GET routes whose analyst responses the login middleware may answer from memory
CACHEABLE = ("/api/hotspots",)


@router.get("/me")
async def me(session: Anyone) -> dict[str, Any]:
    """The logged-in user and role."""
    return {"username": session.user.username, "role": session.user.role}


@router.get("/hotspots", response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
async def hotspots(request: Request, query: HotspotFilters, state: State, session: Analyst) -> Response:
    """Hotspots as GeoJSON (WGS84), highest harm first, computed for the filters and cached.

    Filters: ``unit`` (grid, hex, lsoa), ``method`` (count, gistar, kde), ``crime_type``
    (repeatable), ``month_from`` and ``month_to`` (YYYY-MM, inclusive), ``harm`` (the name of a
    harm table: cchi, ons_css, none; never a path), ``weights`` (auto: Gi*/KDE weigh by harm
    when a harm table is in use; harm; crimes),
    ``limit``. The filters make one :class:`gripkit.HotspotRequest`, as ``gripkit hotspots`` does.
    Only units with crimes are returned. The collection's ``meta`` member records the parameters
    chosen, ``meta["request"]`` the request and its weights decision. A new query is computed
    once; while the server computes too many (or this session already has one going) the answer
    is 503 with ``Retry-After``.
    """
    body = state.cached_geojson(query)
    if body is None:
        if not await run_in_threadpool(state.has_crimes):
            raise HTTPException(status_code=404, detail="not run yet: the workspace holds no crimes")
        result = await run_in_threadpool(state.hotspots, query, owner(request))
        body = json.dumps(data.hotspots_geojson(result, query), separators=(",", ":")).encode()
        state.store_geojson(query, body)
    bodies = state.remember_response(request.url.path, request.scope.get("query_string", b""), body)
    return body_response(bodies, GEOJSON, request.scope)


@router.get("/hotspots/{unit_id}")
async def hotspot(
    request: Request, unit_id: str, query: HotspotFilters, state: State, session: Analyst
) -> dict[str, Any]:
    """One unit: rank, harm, monthly trend, crime-type profile, hour × weekday counts (or null)."""
    if not await run_in_threadpool(state.has_crimes):
        raise HTTPException(status_code=404, detail="not run yet: the workspace holds no crimes")
    try:
        return await hotspot_detail(request, state, query, unit_id)
    except KeyError:
        raise HTTPException(status_code=404, detail=f"no unit {data.shown(unit_id)} in this result") from None


@router.get("/filters")
async def filters(state: State, session: Analyst) -> dict[str, Any]:
    """Crime types, months, units and methods available for the hotspot filters."""
    return await run_in_threadpool(state.options)


@router.get("/patrols")
async def patrols(state: State, session: Anyone) -> list[dict[str, Any]]:
    """Assigned patrols: an officer gets only their own; analysts and admins get all."""
    who = session.user.username if session.user.role == "officer" else None
    return await run_in_threadpool(state.patrols, who)


@router.get("/patrols/{patrol_id}")
async def patrol(patrol_id: int, state: State, session: Anyone) -> dict[str, Any]:
    """One patrol (an officer may read only their own: 403 otherwise)."""
    if session.user.role == "officer":
        return await run_in_threadpool(own_patrol, state, session, patrol_id)
    found = await run_in_threadpool(state.patrol, patrol_id)
    if found is None:
        raise HTTPException(status_code=404, detail="no such patrol")
    return found


@router.post("/patrols/{patrol_id}/visit/{action}")
async def visit(
    patrol_id: int,
    action: str,
    state: State,
    session: Anyone,
    form: Annotated[dict[str, str], Depends(checked_form)],
) -> dict[str, Any]:
    """Start or stop a visit on one's own patrol; send the CSRF token as ``X-CSRF-Token`` or a form field."""
    if action not in ("start", "stop"):
        raise HTTPException(status_code=404, detail="action must be start or stop")
    await run_in_threadpool(own_patrol, state, session, patrol_id)
    fn = data.start_visit if action == "start" else data.stop_visit
    visit_id = await run_in_threadpool(state.change, lambda ws: fn(ws, patrol_id, session.user.username))
    return {"patrol_id": patrol_id, "action": action, "visit_id": visit_id}


@router.get("/results/{kind}")
async def result(kind: str, state: State, session: Analyst) -> dict[str, Any]:
    """The latest stored result of a stage by its kind: hotspots, backtest, plan, compliance, power,
    evaluation or allocation (404 for any other kind); ``status`` is ``"not run yet"`` until stored."""
    if kind not in data.RESULT_KINDS:
        raise HTTPException(status_code=404, detail=data.result_kinds_message(kind[:40]))
    found = await run_in_threadpool(state.db, lambda ws: data.latest_result(ws, kind))
    if found is None:
        return {"kind": kind, "status": "not run yet"}
    return {
        "kind": found.kind,
        "status": "ok",
        "result_id": found.result_id,
        "created_at": str(found.created_at),
        "summary": found.summary,
        "params": found.meta,
        "payload": found.payload,
        "tables": list(found.table_names),
    }
