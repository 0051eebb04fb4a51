"""Published visits on the dashboard: the plans to pick from, an officer's visits (with their team),
the checks on a patrol typed in by hand, and the date range of ``/api/me/visits``.

An officer's visits are their own ``officer_patrols`` rows. A published visit
(:mod:`gripkit.patrol.publish`) went to every officer of its team, so each row lists the team's
officers on that visit; a row never shows another team's visit. Times are Europe/London.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gripkit.dashboard.data import shown
from gripkit.errors import InputError
from gripkit.patrol.schedule import LONDON
from gripkit.results import decode_json
from gripkit.workspace import Workspace

#: days ``/api/me/visits`` covers when ``to`` is not given (today and the next six)
DEFAULT_DAYS = 7
#: longest range ``/api/me/visits`` answers (days)
MAX_DAYS = 92
_ZONE = ZoneInfo(LONDON)
_UTC = ZoneInfo("UTC")


def plans(ws: Workspace) -> list[dict[str, Any]]:
    """Stored plans, newest first: id, kind, first and last day, teams, areas (for the pickers)."""
    rows = ws.con.execute(
        "SELECT p.plan_id, p.kind, p.created_at, min(v.date), max(v.date), "
        "list(DISTINCT v.team ORDER BY v.team) FILTER (WHERE v.team IS NOT NULL), "
        "(SELECT list(a.area_id ORDER BY a.area_id) FROM plan_areas a WHERE a.plan_id = p.plan_id) "
        "FROM plans p LEFT JOIN plan_visits v USING (plan_id) "
        "GROUP BY p.plan_id, p.kind, p.created_at ORDER BY p.plan_id DESC"
    ).fetchall()
    return [
        {
            "plan_id": int(r[0]),
            "kind": r[1],
            "created_at": r[2].isoformat(timespec="minutes") if r[2] else "",
            "first": r[3].isoformat() if r[3] else None,
            "last": r[4].isoformat() if r[4] else None,
            "teams": [int(t) for t in (r[5] or [])],
            "areas": list(r[6] or []),
        }
        for r in rows
    ]


def check_manual(ws: Workspace, plan_text: str, area_id: str, day_text: str, today: date) -> tuple[int, date]:
    """A patrol typed in by hand: the plan it belongs to (required), one of that plan's areas, a day
    from ``today`` on. Returns (plan_id, day); InputError saying what to pick otherwise."""
    if not plan_text.strip():
        raise InputError("'plan' is missing: choose the plan this patrol belongs to.")
    if not (plan_text.isascii() and plan_text.isdigit() and len(plan_text) < 10):
        raise InputError(f"'plan' must be a plan id; received {shown(plan_text)}.")
    plan_id = int(plan_text)
    found = ws.con.execute("SELECT count(*) FROM plans WHERE plan_id = ?", [plan_id]).fetchone()
    if not found or not found[0]:
        raise InputError(
            f"no plan {plan_id} in this workspace; received plan={plan_id}. Choose a listed plan."
        )
    known = ws.con.execute(
        "SELECT count(*) FROM plan_areas WHERE plan_id = ? AND area_id = ?", [plan_id, area_id]
    ).fetchone()
    if not known or not known[0]:
        raise InputError(
            f"'area_id' must be one of plan {plan_id}'s areas; received {shown(area_id)}. Pick an area "
            "from the list (the plan's area ids, e.g. LSOA codes)."
        )
    day = parse_day("date", day_text)
    if day < today:
        raise InputError(
            f"'date' must be today ({today}) or later; received {day}. Patrols are planned ahead."
        )
    return plan_id, day


def parse_day(name: str, text: str | None) -> date:
    """``YYYY-MM-DD`` as a date (years 1900..2099); InputError naming ``name`` otherwise."""
    value = (text or "").strip()
    try:
        day = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 2099:
        raise InputError(f"'{name}' must be a day YYYY-MM-DD such as 2024-06-01; received {shown(text)}.")
    return day


def day_range(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """The range of ``/api/me/visits``: ``from`` (default today) to ``to`` (default six days on)."""
    lo = today if first is None else parse_day("from", first)
    hi = lo + timedelta(days=DEFAULT_DAYS - 1) if last is None else parse_day("to", last)
    if hi < lo:
        raise InputError(f"'to' must not be before 'from'; received from={lo} and to={hi}. Swap them.")
    if (hi - lo).days + 1 > MAX_DAYS:
        raise InputError(
            f"the range may cover at most {MAX_DAYS} days; received {(hi - lo).days + 1} ({lo} to {hi}). "
            "Ask for a shorter range."
        )
    return lo, hi


def officer_visits(ws: Workspace, officer: str, first: date, last: date) -> list[dict[str, Any]]:
    """``officer``'s patrols from ``first`` to ``last`` (days, inclusive), soonest first, each with
    its area label, ISO start and end (Europe/London), team and the team's officers on it."""
    rows = ws.con.execute(
        "SELECT p.patrol_id, p.plan_id, p.area_id, coalesce(a.label, p.area_id), p.date, p.start_time, "
        "p.minutes, p.team, p.visit, p.start_utc, p.note, "
        "(SELECT max(v.visit_id) FROM officer_visits v WHERE v.patrol_id = p.patrol_id "
        " AND v.stopped_at IS NULL), "
        "(SELECT count(*) FROM officer_visits v WHERE v.patrol_id = p.patrol_id), "
        "(SELECT list(q.officer ORDER BY q.officer) FROM officer_patrols q WHERE q.plan_id = p.plan_id "
        " AND q.visit = p.visit AND q.date = p.date AND q.area_id = p.area_id AND q.team = p.team) "
        "FROM officer_patrols p LEFT JOIN plan_areas a ON a.plan_id = p.plan_id AND a.area_id = p.area_id "
        "WHERE p.officer = ? AND p.date BETWEEN ? AND ? "
        "ORDER BY p.date, coalesce(p.start_utc, CAST(p.date AS TIMESTAMP)), p.start_time, p.patrol_id",
        [officer, first, last],
    ).fetchall()
    out = []
    for r in rows:
        start = _start(r[4], r[5], r[9])
        end = start + timedelta(minutes=int(r[6])) if start is not None and r[6] is not None else None
        out.append(
            {
                "patrol_id": int(r[0]),
                "plan_id": None if r[1] is None else int(r[1]),
                "area_id": r[2],
                "label": r[3],
                "date": r[4].isoformat(),
                "start": start.isoformat(timespec="minutes") if start else None,
                "end": end.isoformat(timespec="minutes") if end else None,
                "start_time": start.strftime("%H:%M") if start else None,
                "end_time": end.strftime("%H:%M") if end else None,
                "minutes": r[6],
                "team": None if r[7] is None else int(r[7]),
                "visit": None if r[8] is None else int(r[8]),
                "team_officers": list(r[13]) if r[13] else [officer],
                "note": r[10],
                "open_visit": r[11],
                "visits": int(r[12]),
            }
        )
    return out


def _start(day: date, clock: str | None, start_utc: datetime | None) -> datetime | None:
    """The aware local start: from the stored UTC start, else the day and local ``HH:MM``."""
    if start_utc is not None:
        return start_utc.replace(tzinfo=_UTC).astimezone(_ZONE)
    if not clock:
        return None
    hours, _, minutes = clock.partition(":")
    local = datetime.combine(day, datetime.min.time()) + timedelta(hours=int(hours), minutes=int(minutes))
    return local.replace(tzinfo=_ZONE)


def plan_results(ws: Workspace, plan_id: int) -> dict[str, str | None]:
    """Plain-English summaries of plan ``plan_id``'s stored results: the plan itself and its latest
    compliance (to date), each None when not stored."""
    out: dict[str, str | None] = {"plan": None, "compliance": None}
    rows = ws.con.execute(
        "SELECT kind, summary, params FROM results WHERE kind IN ('plan', 'compliance') "
        "ORDER BY result_id DESC"
    ).fetchall()
    for kind, summary, params in rows:
        meta = decode_json(params) or {}
        if out[kind] is None and meta.get("plan_id") == plan_id:
            out[kind] = summary
    return out
