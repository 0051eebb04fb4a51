"""Publishing a plan on the dashboard and officers' visits through HTTP (issue 17), on a real server.

The server's workspace (conftest) holds a real plan of the bundled Bedfordshire data (Op Rowan-style,
seed 7, 15 days from today, with teams). Expected visits are read from the stored ``plan_visits``
rows (what the planner wrote), not from the publisher: an officer of team T sees exactly team T's
planned visits in the range, and none of another team's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from gripkit.dashboard.auth import add_user

from dashboard_helpers import Server, csrf  # isort: skip

TODAY = date.today()
LO, HI = TODAY, TODAY + timedelta(days=4)
OFFICERS = {"t1_a": 1, "t1_b": 1, "t2_a": 2}
PASSWORD = "team-officer-pass"


def _db(server: Server, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = server.app.state.dashboard.db(
        lambda ws: ws.con.execute(sql, params or []).fetchall()
    )
    return rows


@pytest.fixture(scope="module")
def server(own_server: Server) -> Server:
    for name in OFFICERS:
        own_server.app.state.dashboard.change(lambda ws, name=name: add_user(ws, name, "officer", PASSWORD))
    return own_server


@pytest.fixture(scope="module")
def clients(server: Server) -> Iterator[dict[str, httpx.Client]]:
    from dashboard_helpers import login

    made = {}
    for name in (*OFFICERS, "ana", "pc_one"):
        client = httpx.Client(base_url=server.url, follow_redirects=False, timeout=60)
        if name in OFFICERS:
            login(client, name, PASSWORD)
        else:
            client.close()
            client = server.client(name)
        made[name] = client
    yield made
    for client in made.values():
        client.close()


def _plan_id(server: Server) -> int:
    return int(_db(server, "SELECT max(plan_id) FROM plans")[0][0])


def _planned(server: Server, team: int) -> set[tuple[str, str]]:
    """(area_id, start UTC minute) of the plan's visits of ``team`` from LO to HI, from plan_visits."""
    rows = _db(
        server,
        "SELECT area_id, start_utc FROM plan_visits WHERE plan_id = ? AND team = ? AND date BETWEEN ? AND ?",
        [_plan_id(server), team, LO, HI],
    )
    return {(a, s.strftime("%Y-%m-%dT%H:%M")) for a, s in rows}


def _seen(visits: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(area_id, start as UTC minute) of the API's visits."""
    return {
        (v["area_id"], datetime.fromisoformat(v["start"]).astimezone(UTC).strftime("%Y-%m-%dT%H:%M"))
        for v in visits
    }


def _publish(client: httpx.Client, fields: dict[str, str], roster: str | None = None) -> httpx.Response:
    data = {"csrf_token": csrf(client, "/plan"), **fields}
    files = {"roster": ("roster.csv", roster.encode(), "text/csv")} if roster is not None else None
    return client.post("/plan/publish", data=data, files=files)


ROSTER = "officer,team,role\nt1_a,1,lead\nt1_b,1,\nt2_a,2,\n"
RANGE = {"range": "dates", "from": LO.isoformat(), "to": HI.isoformat()}


def test_publish_form_then_each_team_sees_only_its_visits(
    server: Server, clients: dict[str, httpx.Client]
) -> None:
    ana = clients["ana"]
    page = ana.get("/plan").text
    plan_id = _plan_id(server)
    assert 'id="publish-form"' in page and f'<option value="{plan_id}">' in page
    response = _publish(ana, {"plan_id": str(plan_id), **RANGE}, ROSTER)
    assert response.status_code == 303 and "done=" in response.headers["location"], response.headers
    assert "Published plan" in ana.get(response.headers["location"]).text
    team1, team2 = _planned(server, 1), _planned(server, 2)
    assert team1 and team2 and not team1 & team2
    labels = dict(_db(server, "SELECT area_id, label FROM plan_areas WHERE plan_id = ?", [plan_id]))
    query = {"from": LO.isoformat(), "to": HI.isoformat()}
    for name, team, expected in (("t1_a", 1, team1), ("t1_b", 1, team1), ("t2_a", 2, team2)):
        got = clients[name].get("/api/me/visits", params=query)
        assert got.status_code == 200, got.text
        visits = got.json()
        assert len(visits) == len(expected)  # by hand: one row per planned visit of the officer's team
        assert _seen(visits) == expected
        assert {v["team"] for v in visits} == {team} and {v["plan_id"] for v in visits} == {plan_id}
        mates = sorted(n for n, t in OFFICERS.items() if t == team)
        assert all(v["team_officers"] == mates for v in visits)
        assert all(v["label"] == labels[v["area_id"]] for v in visits)  # the LSOA name, e.g. "Luton 018F"
        for v in visits:
            start, end = datetime.fromisoformat(v["start"]), datetime.fromisoformat(v["end"])
            assert end - start == timedelta(minutes=15) and start.tzinfo is not None
    # never another team's visit: team 1's officers and team 2's officer share none
    one = _seen(clients["t1_a"].get("/api/me/visits", params=query).json())
    two = _seen(clients["t2_a"].get("/api/me/visits", params=query).json())
    assert not one & two and not one & team2
    # the phone page: the officer's cards are team 1's, today..today+6 (the range published is inside)
    phone = clients["t1_a"].get("/officer").text
    assert phone.count('data-team="1"') == len(team1) and 'data-team="2"' not in phone
    assert "with t1_b" in phone


def test_officer_starts_and_stops_a_published_visit(server: Server, clients: dict[str, httpx.Client]) -> None:
    officer = clients["t1_a"]
    visits = officer.get("/api/me/visits", params={"from": LO.isoformat(), "to": HI.isoformat()}).json()
    assert visits, "published by the test above"
    pid = visits[0]["patrol_id"]
    token = csrf(officer, "/officer")
    assert officer.post(f"/officer/patrols/{pid}/start", data={"csrf_token": token}).status_code == 303
    now = officer.get("/api/me/visits", params={"from": LO.isoformat(), "to": HI.isoformat()}).json()
    assert next(v for v in now if v["patrol_id"] == pid)["open_visit"] is not None
    assert "Stop visit" in officer.get(f"/officer/patrols/{pid}").text
    # another team's officer may not start it
    other = clients["t2_a"]
    assert (
        other.post(f"/officer/patrols/{pid}/start", data={"csrf_token": csrf(other, "/officer")}).status_code
        == 403
    )
    assert officer.post(f"/officer/patrols/{pid}/stop", data={"csrf_token": token}).status_code == 303
    after = officer.get("/api/me/visits", params={"from": LO.isoformat(), "to": HI.isoformat()}).json()
    row = next(v for v in after if v["patrol_id"] == pid)
    assert row["open_visit"] is None and row["visits"] == 1
    # publishing the same range again (teams picked on the page this time): no duplicates, and
    # the patrol with a recorded visit is kept
    picks = {f"team_{n}": str(t) for n, t in OFFICERS.items()}
    response = _publish(clients["ana"], {"plan_id": str(_plan_id(server)), **RANGE, **picks})
    assert "done=" in response.headers["location"], response.headers
    again = officer.get("/api/me/visits", params={"from": LO.isoformat(), "to": HI.isoformat()}).json()
    assert len(again) == len(after) and pid in {v["patrol_id"] for v in again}


@pytest.mark.parametrize(
    ("fields", "roster", "message"),
    [
        ({}, "officer,team\nnobody,1\n", "gripkit users add nobody --role officer"),
        ({}, "officer,team\nt1_a,99\n", "team(s) 99 that plan"),
        ({}, None, "no roster"),
        ({"plan_id": "999"}, ROSTER, "no plan 999"),
        ({"range": "dates", "from": "2024-13-01", "to": "2024-12-01"}, ROSTER, "'from' must be a day"),
    ],
)
def test_publish_form_refusals(
    server: Server, clients: dict[str, httpx.Client], fields: dict[str, str], roster: str | None, message: str
) -> None:
    before = _db(server, "SELECT count(*) FROM officer_patrols")[0][0]
    response = _publish(clients["ana"], {"plan_id": str(_plan_id(server)), **fields}, roster)
    assert response.status_code == 303 and "error=" in response.headers["location"]
    assert message in clients["ana"].get(response.headers["location"]).text.replace("&#39;", "'")
    assert _db(server, "SELECT count(*) FROM officer_patrols")[0][0] == before


def test_publish_needs_csrf_and_an_analyst(server: Server, clients: dict[str, httpx.Client]) -> None:
    before = _db(server, "SELECT count(*) FROM officer_patrols")[0][0]
    data = {"plan_id": str(_plan_id(server)), "team_t1_a": "1"}
    assert clients["ana"].post("/plan/publish", data={**data, "csrf_token": "forged"}).status_code == 403
    officer = clients["t1_a"]
    assert (
        officer.post("/plan/publish", data={**data, "csrf_token": csrf(officer, "/officer")}).status_code
        == 403
    )
    assert _db(server, "SELECT count(*) FROM officer_patrols")[0][0] == before


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2024-13-01"}, "'from' must be a day YYYY-MM-DD"),
        ({"from": "yesterday"}, "'from' must be a day YYYY-MM-DD"),
        ({"from": "2030-01-10", "to": "2030-01-01"}, "'to' must not be before 'from'"),
        ({"from": "2030-01-01", "to": "2031-01-01"}, "at most 92 days"),
        ({"since": "2030-01-01"}, "unknown query parameter"),
    ],
)
def test_my_visits_refuses_bad_dates(
    clients: dict[str, httpx.Client], params: dict[str, str], message: str
) -> None:
    response = clients["t1_a"].get("/api/me/visits", params=params)
    assert response.status_code == 400 and message in response.json()["detail"]


def test_my_visits_default_range_and_manual_patrols(server: Server, clients: dict[str, httpx.Client]) -> None:
    # pc_one's conftest patrols (typed in, no plan): today at 10:00 and tomorrow without a time
    visits = clients["pc_one"].get("/api/me/visits").json()
    assert [v["date"] for v in visits] == [TODAY.isoformat(), (TODAY + timedelta(days=1)).isoformat()]
    assert visits[0]["start"].startswith(f"{TODAY.isoformat()}T10:00") and visits[0]["team"] is None
    assert visits[1]["start"] is None and visits[0]["label"] == visits[0]["area_id"]


def test_manual_patrol_form_checks_plan_area_and_date(
    server: Server, clients: dict[str, httpx.Client]
) -> None:
    ana = clients["ana"]
    plan_id = _plan_id(server)
    area = _db(server, "SELECT min(area_id) FROM plan_areas WHERE plan_id = ?", [plan_id])[0][0]
    good = {
        "officer": "t2_a",
        "plan_id": str(plan_id),
        "area_id": area,
        "minutes": "20",
        "date": (TODAY + timedelta(days=2)).isoformat(),
        "start_time": "09:30",
    }
    refused = [
        ({"area_id": server.top_unit}, f"must be one of plan {plan_id}"),  # a grid cell, not a plan area
        ({"date": (TODAY - timedelta(days=1)).isoformat()}, "today"),
        ({"plan_id": ""}, "choose the plan"),
        ({"plan_id": "999"}, "no plan 999"),
    ]
    for change, message in refused:
        response = ana.post("/plan/assign", data={"csrf_token": csrf(ana, "/plan"), **good, **change})
        assert "error=" in response.headers["location"], change
        assert message in ana.get(response.headers["location"]).text.replace("&#39;", "'")
    response = ana.post("/plan/assign", data={"csrf_token": csrf(ana, "/plan"), **good})
    assert response.headers["location"] == "/plan"
    stored = _db(
        server, "SELECT plan_id, area_id FROM officer_patrols WHERE officer = 't2_a' AND visit IS NULL"
    )
    assert stored == [(plan_id, area)]
    mine = clients["t2_a"].get("/api/me/visits", params={"from": good["date"], "to": good["date"]}).json()
    typed = [v for v in mine if v["visit"] is None]
    assert len(typed) == 1 and typed[0]["start_time"] == "09:30" and typed[0]["label"] != area
