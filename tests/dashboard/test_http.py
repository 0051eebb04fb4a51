"""HTTP contract tests against the real uvicorn server (see conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from dashboard_helpers import PASSWORDS, Server, csrf, login

from gripkit import columns as C

Client = Callable[[str], httpx.Client]


def test_login_page_is_public(server: Server) -> None:
    with server.client() as client:
        page = client.get("/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_static_assets_are_public(server: Server) -> None:
    with server.client() as client:
        js = client.get("/static/leaflet/leaflet.js")
        licence = client.get("/static/leaflet/LICENSE")
    assert js.status_code == 200 and "Leaflet" in js.text[:400]
    assert "BSD 2-Clause" in licence.text


def test_login_sets_secure_session_cookie(server: Server) -> None:
    with server.client() as client:
        response = login(client, "ana", PASSWORDS["ana"][1])
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "gripkit_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http on loopback; Secure is set for https (next test)


def test_cookie_secure_behind_https_proxy(server: Server) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (proxy_headers): the request counts as https
    with httpx.Client(base_url=server.url, headers={"X-Forwarded-Proto": "https"}) as client:
        response = login(client, "ana", PASSWORDS["ana"][1])
    assert "; secure" in response.headers["set-cookie"].lower()


def test_officer_goes_to_phone_page_after_login(server: Server) -> None:
    with server.client() as client:
        response = login(client, "pc_one", PASSWORDS["pc_one"][1])
    assert response.headers["location"] == "/officer"


def test_api_hotspots_geojson(as_user: Client, server: Server) -> None:
    response = as_user("ana").get("/api/hotspots", params={"limit": 50})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 50
    first = body["features"][0]
    assert first["properties"]["unit_id"] == server.top_unit and first["properties"]["harm_rank"] == 1
    lon, lat = first["geometry"]["coordinates"][0][0]
    assert -1.0 < lon < 0.0 and 51.8 < lat < 52.4  # Bedfordshire in WGS84
    ranks = [f["properties"]["harm_rank"] for f in body["features"]]
    assert ranks == sorted(ranks)
    assert body["meta"]["months"] == "2023-05 to 2024-04"


def test_api_hotspots_filters(as_user: Client, server: Server) -> None:
    params = {
        "crime_type": ["Burglary", "Robbery"],
        "month_from": "2024-01",
        "month_to": "2024-03",
        "unit": "lsoa",
        "limit": 5000,
    }
    body = as_user("ana").get("/api/hotspots", params=params).json()
    assert body["meta"]["crime_types"] == ["Burglary", "Robbery"]
    assert body["meta"]["months"] == "2024-01 to 2024-03"
    # independent count from the workspace: crimes of these types and months with an LSOA code
    with server.lock:
        row = server.ws.con.execute(
            "SELECT count(*) FROM crimes WHERE crime_type IN ('Burglary', 'Robbery') "
            "AND month BETWEEN '2024-01-01' AND '2024-03-01' AND lsoa_code LIKE 'E01%'"
        ).fetchone()
    total = sum(f["properties"][C.CRIMES] for f in body["features"])
    assert row is not None and 0 < total <= row[0]
    assert body["meta"]["unit"] == "lsoa"


def test_api_hotspots_bad_filter_says_what_to_do(as_user: Client) -> None:
    response = as_user("ana").get("/api/hotspots", params={"method": "magic"})
    assert response.status_code == 400
    assert "choose from: count" in response.json()["detail"].lower()
    response = as_user("ana").get("/api/hotspots", params={"crime_type": "Jaywalking"})
    assert response.status_code == 400 and "Jaywalking" in response.json()["detail"]


def test_api_hotspot_detail(as_user: Client, server: Server) -> None:
    detail = as_user("ana").get(f"/api/hotspots/{server.top_unit}").json()
    assert detail["harm_rank"] == 1
    assert len(detail["trend"]) == 12
    assert sum(t["crimes"] for t in detail["trend"]) == detail["crimes"]
    assert sum(p["crimes"] for p in detail["profile"]) == detail["crimes"]
    assert detail["hour_weekday"] is None  # police.uk has no offence times
    assert as_user("ana").get("/api/hotspots/no_such_unit").status_code == 404


def test_pages_render_for_analyst(as_user: Client, server: Server) -> None:
    client = as_user("ana")
    pages = ("/", "/plan", "/dosage", "/evaluation", "/allocation", f"/hotspots/{server.top_unit}", "/docs")
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
    assert "not run yet" in client.get("/evaluation").text
    assert "not run yet" in client.get("/allocation").text
    assert client.get("/api/results/backtest").json()["status"] == "not run yet"


def test_api_results_by_registered_kind(as_user: Client, server: Server) -> None:
    client = as_user("ana")
    stored = client.get("/api/results/hotspots").json()  # the conftest's find_hotspots run stored it
    assert stored["status"] == "ok" and stored["tables"] == ["hotspots"]
    assert stored["summary"].startswith("Counts of crimes and harm on ")
    assert stored["payload"]["concentration"]["n_units"] == stored["payload"]["units"]
    assert client.get("/api/results/plan").json()["status"] == "ok"  # the conftest's plan_patrols stored it
    for kind in ("backtest", "compliance", "power", "evaluation", "allocation"):
        assert client.get(f"/api/results/{kind}").json() == {"kind": kind, "status": "not run yet"}
    for kind, why in (("dosage", "no stage writes it"), ("forecast_backtest", "no stage writes it"),
                      ("national", "not shown on the dashboard")):
        response = client.get(f"/api/results/{kind}")
        assert response.status_code == 404
        assert response.json()["detail"] == (
            f"unknown result kind {kind!r} ({why}); choose from: hotspots, backtest, plan, compliance, "
            "power, evaluation, allocation."
        )


def test_openapi_documents_hotspots(as_user: Client) -> None:
    spec = as_user("ana").get("/openapi.json").json()
    assert "/api/hotspots" in spec["paths"]
    assert "/login" not in spec["paths"]


def test_officer_records_a_visit(as_user: Client, server: Server) -> None:
    client = as_user("pc_one")
    pid = server.patrols["pc_one"][0]
    token = csrf(client, "/officer")
    assert client.post(f"/officer/patrols/{pid}/start", data={"csrf_token": token}).status_code == 303
    assert "Stop visit" in client.get(f"/officer/patrols/{pid}").text
    response = client.post(f"/api/patrols/{pid}/visit/stop", headers={"X-CSRF-Token": token})
    assert response.status_code == 200 and response.json()["visit_id"] is not None
    visits = as_user("ana").get("/dosage")
    assert "pc_one" in visits.text


def test_analyst_assigns_patrol(as_user: Client, server: Server) -> None:
    client = as_user("ana")
    token = csrf(client, "/plan")
    plan_id, area = server.app.state.dashboard.db(
        lambda ws: ws.con.execute("SELECT plan_id, min(area_id) FROM plan_areas GROUP BY 1").fetchone()
    )
    data = {
        "csrf_token": token,
        "officer": "pc_two",
        "plan_id": str(plan_id),
        "area_id": area,
        "date": "2030-01-02",
        "minutes": "20",
    }
    assert client.post("/plan/assign", data=data).headers["location"] == "/plan"
    mine = as_user("pc_two").get("/api/patrols").json()
    assert any(p["date"] == "2030-01-02" and p["minutes"] == 20 and p["plan_id"] == plan_id for p in mine)


def test_admin_manages_users(as_user: Client, server: Server) -> None:
    client = as_user("boss")
    token = csrf(client, "/users")
    response = client.post(
        "/users/add",
        data={"csrf_token": token, "username": "pc_new", "role": "officer", "password": "new-officer-pass"},
    )
    assert response.status_code == 303 and "done=" in response.headers["location"]
    assert "pc_new" in client.get("/users").text
    with server.client() as fresh:
        login(fresh, "pc_new", "new-officer-pass")
        assert fresh.get("/api/me").json() == {"username": "pc_new", "role": "officer"}
        assert client.post("/users/pc_new/remove", data={"csrf_token": token}).status_code == 303
        assert fresh.get("/api/me").status_code == 401  # removing a user ends their sessions


def test_logout_ends_session(server: Server) -> None:
    with server.client() as client:
        login(client, "ana", PASSWORDS["ana"][1])
        token = client.cookies["gripkit_session"]
        assert client.post("/logout", data={"csrf_token": csrf(client)}).status_code == 303
    # the old cookie value is dead on the server, not only deleted in the browser
    with httpx.Client(base_url=server.url, cookies={"gripkit_session": token}) as replay:
        assert replay.get("/api/me").status_code == 401


def test_api_hotspots_gistar_method(as_user: Client) -> None:
    body = as_user("ana").get("/api/hotspots", params={"method": "gistar", "limit": 30}).json()
    z = [f["properties"]["gi_z"] for f in body["features"]]
    assert len(z) == 30 and z == sorted(z, reverse=True)  # the map shows the highest Gi* z first
    assert body["features"][0]["properties"]["hot"] is True
    assert body["meta"]["method"] == "gistar"
