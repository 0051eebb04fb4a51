"""Analyst pages: hotspot map and detail, the selection audit, plan and calendar, dosage, evaluation,
allocation."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gripkit import columns as C
from gripkit.dashboard import auth, data, visits
from gripkit.dashboard.pages import render
from gripkit.dashboard.state import (
    ANALYST,
    ANYONE,
    DashboardState,
    checked_form,
    get_state,
    known_query,
    require,
)
from gripkit.errors import InputError
from gripkit.report import inputs

router = APIRouter(include_in_schema=False)
Analyst = Annotated[auth.Session, Depends(require(*ANALYST))]
State = Annotated[DashboardState, Depends(get_state)]


def query_from(
    unit: str = "grid",
    method: str = "count",
    crime_type: list[str] | None = None,
    month_from: str | None = None,
    month_to: str | None = None,
    harm: str = C.DEFAULT_HARM_TABLE,
    limit: int = data.DEFAULT_LIMIT,
    weights: str = "auto",
    boundaries: str | None = None,
) -> data.HotspotQuery:
    """Build a :class:`~gripkit.dashboard.data.HotspotQuery` from query-string filters (400 if invalid)."""
    return data.HotspotQuery(
        unit=unit,
        method=method,
        crime_types=tuple(t for t in (crime_type or []) if t),
        month_from=month_from or None,
        month_to=month_to or None,
        harm=harm,
        weights=weights,
        limit=limit,
        boundaries=boundaries,
    )


#: the map's single-valued filters (``crime_type`` may repeat)
SCALAR_FILTERS = ("unit", "method", "month_from", "month_to", "harm", "limit", "weights")


async def hotspot_query(
    request: Request,
    unit: Annotated[str, Query(description="grid or lsoa")] = "grid",
    method: Annotated[str, Query(description="hotspot method, e.g. count")] = "count",
    crime_type: Annotated[
        list[str] | None, Query(description="police.uk crime type; repeat for several")
    ] = None,
    month_from: Annotated[str | None, Query(description="first month, YYYY-MM")] = None,
    month_to: Annotated[str | None, Query(description="last month, YYYY-MM")] = None,
    harm: Annotated[
        str, Query(description="harm table by name (cchi, ons_css or none); never a file path")
    ] = C.DEFAULT_HARM_TABLE,
    limit: Annotated[
        int, Query(description="at most this many units (highest harm first)")
    ] = data.DEFAULT_LIMIT,
    weights: Annotated[
        str, Query(description="Gi*/KDE weights: auto (harm when a harm table is in use), harm or crimes")
    ] = "auto",
) -> data.HotspotQuery:
    """FastAPI dependency: the map filters of a request (each single-valued filter at most once)."""
    for name in SCALAR_FILTERS:
        times = len(request.query_params.getlist(name))
        if times > 1:
            raise InputError(f"'{name}' may be given once; received it {times} times. Give one value.")
    given = request.app.state.dashboard.settings.boundaries  # `gripkit serve --boundaries`
    boundaries = str(given) if given else None
    return query_from(unit, method, crime_type, month_from, month_to, harm, limit, weights, boundaries)


HotspotFilters = Annotated[data.HotspotQuery, Depends(hotspot_query)]


def owner(request: Request) -> str:
    """Who a computation is counted against: the request's session token."""
    return str(getattr(request.state, "session_token", None) or "")


async def hotspot_detail(
    request: Request, state: DashboardState, query: data.HotspotQuery, unit_id: str
) -> dict[str, Any]:
    """One unit's detail (:func:`~gripkit.dashboard.data.unit_detail`); KeyError if not in the map.

    The crimes are read holding the workspace; the units are built without it, under the
    computation limits (:meth:`DashboardState.computed`).
    """
    if len(unit_id) > MAX_UNIT_ID:
        raise KeyError(unit_id)
    who = owner(request)
    result = await run_in_threadpool(state.hotspots, query, who)
    if not (result.hotspots[C.UNIT_ID].astype(str) == unit_id).any():
        raise KeyError(unit_id)

    def detail() -> dict[str, Any]:
        crimes = state.db(lambda ws: data.map_crimes(ws, query))
        return data.unit_detail(crimes, result, query, unit_id)

    return await run_in_threadpool(state.computed, ("detail", *query.key, unit_id), who, detail)


#: longest unit id a detail page looks up (longer ones are "no such unit")
MAX_UNIT_ID = 100


@router.get("/", dependencies=[Depends(known_query)])  # its query goes on to /api/hotspots
def map_page(
    request: Request,
    state: State,
    query: HotspotFilters,
    session: Annotated[auth.Session, Depends(require(*ANYONE))],
) -> Response:
    """Hotspot map with filters (crime types, months, unit, method)."""
    if session.user.role == "officer":
        return RedirectResponse("/officer", status_code=303)
    options = state.options()
    page = render(
        request,
        "map.html",
        {
            "query": query,
            "options": options,
            "has_crimes": bool(options["months"]),
            "api_query": request.url.query,
            "tiles": state.tiles,
        },
    )
    return state.remember_page(request, page)


@router.get("/hotspots/{unit_id}", dependencies=[Depends(known_query)])
async def hotspot_page(
    request: Request, unit_id: str, state: State, query: HotspotFilters, session: Analyst
) -> Response:
    """One hotspot: rank, monthly trend, crime-type profile, hour × weekday (when times exist)."""
    if not await run_in_threadpool(state.has_crimes):
        return render(request, "notrun.html", {"title": "Hotspot", "what": "ingest"})
    try:
        detail = await hotspot_detail(request, state, query, unit_id)
    except KeyError:
        raise HTTPException(status_code=404, detail="no such unit") from None
    peak = max([t["crimes"] for t in detail["trend"]] or [1]) or 1
    hours_peak = max((max(r) for r in detail["hour_weekday"]), default=1) if detail["hour_weekday"] else 1
    return render(
        request,
        "hotspot.html",
        {
            "d": detail,
            "query": query,
            "peak": peak,
            "hours_peak": hours_peak or 1,
            "api_query": request.url.query,
            "days": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
        },
    )


@router.get("/plan")
def plan_page(request: Request, state: State, session: Analyst, plan_id: int | None = None) -> Response:
    """A stored patrol plan (the latest, or ``?plan_id=N`` from the picker): its summary, compliance
    to date and published assignments; the publish and assign forms."""
    plan = state.db(lambda ws: inputs.latest_plan(ws, plan_id))
    plans = state.db(visits.plans)
    shown = plan["plan_id"] if plan else None
    summaries = state.db(lambda ws: visits.plan_results(ws, shown)) if shown is not None else {}
    # the shown plan's published patrols, and patrols typed in before a plan was required
    assigned = [p for p in state.patrols() if shown is None or p.get("plan_id") in (shown, None)]
    officers = [u.username for u in state.db(auth.list_users) if u.role == "officer"]
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in sorted(assigned, key=lambda p: (p["date"], p["start_time"] or "")):
        by_day[p["date"]].append(p)
    return render(
        request,
        "plan.html",
        {
            "plan": plan,
            "asked": plan_id,
            "summaries": summaries,
            "by_day": dict(by_day),
            "officers": officers,
            "plans": plans,
            "today": date.today().isoformat(),
            "error": request.query_params.get("error", "")[:300],
            "done": request.query_params.get("done", "")[:300],
        },
    )


@router.post("/plan/assign")
async def assign(
    request: Request, state: State, session: Analyst, form: Annotated[dict[str, str], Depends(checked_form)]
) -> Response:
    """Assign a patrol to an officer (CSRF-checked form): one of a chosen plan's areas, today or later."""
    try:
        text = form.get("minutes") or "15"
        if not (text.isascii() and text.isdigit() and len(text) < 6):
            raise InputError(f"'minutes' must be a whole number from 1 to 1440; received {data.shown(text)}.")
        minutes = int(text)
        area_id = form.get("area_id", "").strip()

        def assign(ws: Any) -> int:
            plan = form.get("plan_id", "")
            plan_id, day = visits.check_manual(ws, plan, area_id, form.get("date", ""), date.today())
            return data.assign_patrol(
                ws,
                officer=form.get("officer", ""),
                area_id=area_id,
                day=day,
                start_time=form.get("start_time") or None,
                minutes=minutes,
                created_by=session.user.username,
                plan_id=plan_id,
                note=form.get("note") or None,
            )

        await run_in_threadpool(state.change, assign)
    except (InputError, ValueError) as exc:
        from urllib.parse import quote

        return RedirectResponse(f"/plan?error={quote(str(exc))}", status_code=303)
    return RedirectResponse("/plan", status_code=303)


@router.get("/dosage")
def dosage_page(request: Request, state: State, session: Analyst) -> Response:
    """Visits recorded by officers against their planned minutes; GPS dosage when that stage has run."""
    visits = state.db(inputs.officer_visits)
    gps = state.db(lambda ws: inputs.table_frame(ws, "visits", "ORDER BY start_utc DESC LIMIT 200"))
    stored = state.db(lambda ws: data.latest_result(ws, "compliance"))
    rows = visits.to_dict("records") if not visits.empty else []
    done = [
        r for r in rows if r.get("minutes_on_site") == r.get("minutes_on_site") and r.get("minutes_on_site")
    ]
    planned = sum(float(r.get("planned_minutes") or 0) for r in done)
    on_site = sum(float(r["minutes_on_site"]) for r in done)
    return render(
        request,
        "dosage.html",
        {
            "visits": rows,
            "gps": gps.to_dict("records") if not gps.empty else [],
            "stored": stored,
            "compliance": (on_site / planned) if planned else None,
            "on_site": on_site,
            "planned": planned,
        },
    )


def _result_page(request: Request, state: DashboardState, title: str, kind: str, stage: str) -> Response:
    found = state.db(lambda ws: data.latest_result(ws, kind))
    return render(request, "result.html", {"title": title, "result": found, "stage": stage})


@router.get("/evaluation")
def evaluation_page(request: Request, state: State, session: Analyst) -> Response:
    """The latest evaluation result (evaluate stage), or "not run yet"."""
    return _result_page(request, state, "Evaluation", "evaluation", "gripkit evaluate")


@router.get("/allocation")
def allocation_page(request: Request, state: State, session: Analyst) -> Response:
    """The latest funding allocation (allocate stage), or "not run yet"."""
    return _result_page(request, state, "Funding allocation", "allocation", "gripkit allocate")


@router.get("/audit")
def audit_page(request: Request, state: State, session: Analyst) -> Response:
    """The latest audit of the hotspot selection (``gripkit audit``), or "not run yet"."""
    from gripkit.audit.view import audit_view  # deferred: the audit package is read only here

    found = state.db(lambda ws: ws.latest_result("audit"))
    view = audit_view(found.payload, found.meta) if found is not None else None
    return render(request, "audit.html", {"result": found, "a": view})
