"""The officer's phone page: their own patrols only, and start/stop of a visit."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gripkit.dashboard import auth, data, visits
from gripkit.dashboard.pages import render
from gripkit.dashboard.state import ANYONE, DashboardState, checked_form, get_state, require

router = APIRouter(include_in_schema=False)
Anyone = Annotated[auth.Session, Depends(require(*ANYONE))]
State = Annotated[DashboardState, Depends(get_state)]
Form = Annotated[dict[str, str], Depends(checked_form)]


def own_patrol(state: DashboardState, session: auth.Session, patrol_id: int) -> dict[str, Any]:
    """The patrol if it is assigned to the session's user; 404 if unknown, 403 if someone else's."""
    found = state.patrol(patrol_id)
    if found is None:
        raise HTTPException(status_code=404, detail="no such patrol")
    if found["officer"] != session.user.username:
        raise HTTPException(status_code=403, detail="this patrol is assigned to another officer")
    return found


@router.get("/officer")
def officer_page(request: Request, state: State, session: Anyone) -> Response:
    """The logged-in officer's patrols today and the next days (published visits with their team),
    with visit buttons; a count of later ones; the last 20 earlier ones."""
    me = session.user.username
    mine = state.patrols(me)
    day = date.today()
    last = day + timedelta(days=visits.DEFAULT_DAYS - 1)
    today = day.isoformat()
    upcoming = state.db(lambda ws: visits.officer_visits(ws, me, day, last))
    later = sum(1 for p in mine if p["date"] > last.isoformat())
    past = [p for p in mine if p["date"] < today][:20]
    context = {"upcoming": upcoming, "later": later, "past": past, "today": today, "me": me}
    page = render(request, "officer.html", context)
    return state.remember_page(request, page)


@router.get("/officer/patrols/{patrol_id}")
def patrol_page(request: Request, patrol_id: int, state: State, session: Anyone) -> Response:
    """One of the officer's own patrols."""
    found = own_patrol(state, session, patrol_id)
    return render(request, "patrol.html", {"p": found})


@router.post("/officer/patrols/{patrol_id}/start")
async def start(patrol_id: int, state: State, session: Anyone, form: Form) -> Response:
    """Record arrival in the patrol area now (CSRF-checked)."""
    await run_in_threadpool(own_patrol, state, session, patrol_id)
    await run_in_threadpool(state.change, lambda ws: data.start_visit(ws, patrol_id, session.user.username))
    return RedirectResponse(f"/officer/patrols/{patrol_id}", status_code=303)


@router.post("/officer/patrols/{patrol_id}/stop")
async def stop(patrol_id: int, state: State, session: Anyone, form: Form) -> Response:
    """Record leaving the patrol area now (CSRF-checked)."""
    await run_in_threadpool(own_patrol, state, session, patrol_id)
    await run_in_threadpool(state.change, lambda ws: data.stop_visit(ws, patrol_id, session.user.username))
    return RedirectResponse(f"/officer/patrols/{patrol_id}", status_code=303)
