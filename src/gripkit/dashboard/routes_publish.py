"""Publishing a plan from the plan page (analysts, admins) and ``/api/me/visits`` (any logged-in user).

The publish form posts the plan, the whole plan or a date range, and a roster: an uploaded CSV
(``officer,team,role``) or a team picked for each officer; it calls
:func:`gripkit.patrol.publish.publish`, as ``gripkit plan publish`` does.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from gripkit.dashboard import auth, visits
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
from gripkit.patrol.publish import publish, read_roster

router = APIRouter()
Analyst = Annotated[auth.Session, Depends(require(*ANALYST))]
Anyone = Annotated[auth.Session, Depends(require(*ANYONE))]
State = Annotated[DashboardState, Depends(get_state)]
Form = Annotated[dict[str, str], Depends(checked_form)]
#: largest roster upload read (bytes); a roster of 10,000 officers is under 300 KB
MAX_ROSTER_BYTES = 1_000_000
#: form fields naming an officer's team when the roster is picked on the page
TEAM_FIELD = "team_"


@router.post("/plan/publish", include_in_schema=False)
async def publish_form(request: Request, state: State, session: Analyst, form: Form) -> Response:
    """Publish a plan to officers (CSRF-checked form); back to the plan page with the summary or error."""
    try:
        roster = await _roster(request, form)
        plan_text = form.get("plan_id", "").strip()
        if not (plan_text.isascii() and plan_text.isdigit() and len(plan_text) < 10):
            raise InputError(f"'plan' must be a plan id; received {plan_text[:20]!r}. Choose a listed plan.")
        whole = form.get("range", "whole") != "dates"
        start = None if whole else visits.parse_day("from", form.get("from"))
        end = None if whole else visits.parse_day("to", form.get("to"))
        result = await run_in_threadpool(
            state.change,
            lambda ws: publish(
                ws, int(plan_text), roster, start=start, end=end, created_by=session.user.username
            ),
        )
    except InputError as exc:
        return RedirectResponse(f"/plan?error={quote(str(exc)[:300])}", status_code=303)
    return RedirectResponse(f"/plan?done={quote(result.summary()[:300])}", status_code=303)


async def _roster(request: Request, form: dict[str, str]) -> pd.DataFrame:
    """The uploaded roster CSV if one was sent, else the teams picked for each officer."""
    upload = (await request.form()).get("roster")  # parsed once by checked_form; Starlette keeps it
    if isinstance(upload, UploadFile) and upload.filename:
        body = await upload.read(MAX_ROSTER_BYTES + 1)
        if len(body) > MAX_ROSTER_BYTES:
            raise InputError(f"the roster file is over {MAX_ROSTER_BYTES // 1000} KB; upload a smaller CSV.")
        if body.strip():
            return read_roster(io.BytesIO(body))
    picked = [
        {"officer": officer, "team": value.strip(), "role": form.get(f"role_{officer}", "")}
        for officer, value in ((k[len(TEAM_FIELD) :], v) for k, v in form.items() if k.startswith(TEAM_FIELD))
        if value.strip()
    ]
    if not picked:
        raise InputError(
            "no roster: upload a CSV with columns officer,team,role, or pick a team for at least one officer."
        )
    return read_roster(pd.DataFrame(picked))


@router.get("/api/me/visits", tags=["api"], dependencies=[Depends(known_query)])
async def my_visits(
    state: State,
    session: Anyone,
    first: Annotated[str | None, Query(alias="from", description="first day YYYY-MM-DD [today]")] = None,
    last: Annotated[str | None, Query(alias="to", description="last day YYYY-MM-DD [from + 6 days]")] = None,
) -> list[dict[str, Any]]:
    """The logged-in officer's visits from ``from`` to ``to`` (inclusive, at most 92 days), soonest
    first: ``plan_id``, ``area_id``, ``label``, ``start`` and ``end`` (ISO, Europe/London), ``team``,
    ``team_officers``, ``patrol_id`` (for start/stop) and ``open_visit``. An officer sees the visits
    published to them, which are their team's; never another team's. Bad dates: 400."""
    lo, hi = visits.day_range(first, last, date.today())
    return await run_in_threadpool(
        state.db, lambda ws: visits.officer_visits(ws, session.user.username, lo, hi)
    )
