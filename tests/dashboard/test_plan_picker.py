"""The dashboard's plan page shows any stored plan (a picker): its summary, its compliance to date and
its patrols. The real server (tests/dashboard/conftest.py: bundled Bedfordshire months, a stored plan
from today) with a second plan stored here; compliance is measured from officers' own records.
"""

from __future__ import annotations

import html
from datetime import date, timedelta

import httpx

from gripkit.dosage import compliance
from gripkit.patrol.job import plan_patrols

from dashboard_helpers import Server  # isort: skip


def _text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text[:300]
    return " ".join(html.unescape(response.text).split())


def test_plan_picker_shows_each_stored_plan_with_its_compliance(own_server: Server) -> None:
    state = own_server.app.state.dashboard
    first = int(state.db(lambda ws: ws.con.execute("SELECT max(plan_id) FROM plans").fetchone()[0]))
    later = date.today() + timedelta(days=30)
    second = state.change(lambda ws: plan_patrols(ws, seed=8, days=9, treated_per_day=7, start=later))
    summary_first = state.db(
        lambda ws: ws.con.execute(
            "SELECT summary FROM results WHERE kind = 'plan' ORDER BY result_id LIMIT 1"
        ).fetchone()[0]
    )
    client = own_server.client("ana")
    try:
        latest = _text(client.get("/plan"))
        assert "Latest patrol plan" in latest and second.summary() in latest
        assert f">{second.plan_id} ({second.mode}," in latest and f">{first} (experiment," in latest  # picker
        picked = _text(client.get(f"/plan?plan_id={first}"))
        assert f"Patrol plan {first}" in picked and " ".join(summary_first.split()) in picked
        assert f"gripkit gps compliance --plan {first}" in picked  # not measured yet: says how
        measured = state.change(lambda ws: compliance(ws, plan_id=first, sources=["officer"]))
        shown = _text(client.get(f"/plan?plan_id={first}"))
        assert "Compliance: " + " ".join(measured.summary().split()) in shown
        assert measured.meta["to"] == date.today().isoformat()  # to date: today by default
        unknown = _text(client.get("/plan?plan_id=999"))
        assert "No stored plan 999" in unknown
        assert client.get("/plan?plan_id=first").status_code == 422  # not a number
    finally:
        client.close()
