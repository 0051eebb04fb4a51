"""Security tests against the real server: login wall, roles, CSRF, throttling, error pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount

from dashboard_helpers import LOGIN_LIMIT, PASSWORDS, Server, csrf, login  # isort: skip

Client = Callable[[str], httpx.Client]
PUBLIC = {"/login", "/favicon.ico"}
ANALYST_PAGES = [
    "/plan",
    "/dosage",
    "/evaluation",
    "/allocation",
    "/hotspots/{unit}",
    "/users",
    "/api/hotspots",
    "/api/hotspots/{unit}",
    "/api/filters",
    "/api/results/evaluation",
]


def _routes(routes: list[Any]) -> list[Any]:
    """Flatten included routers (FastAPI keeps them as nested router objects)."""
    flat = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        flat += _routes(list(inner.routes)) if inner is not None else [route]
    return flat


def every_route(server: Server) -> list[tuple[str, str]]:
    """(method, path) of every route of the app, path parameters filled with plausible values."""
    out = []
    for route in _routes(list(server.app.routes)):
        if isinstance(route, Mount) or not hasattr(route, "methods"):
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in sorted(route.methods - {"HEAD"}):
            out.append((method, path))
    return out


def test_route_list_is_complete(server: Server) -> None:
    paths = {p for _, p in every_route(server)}
    assert {"/", "/api/hotspots", "/docs", "/openapi.json", "/login", "/users", "/officer"} <= paths
    assert sum(isinstance(r, APIRoute) for r in _routes(list(server.app.routes))) >= 20


def test_every_route_needs_a_session(server: Server) -> None:
    with server.client() as client:
        for method, path in every_route(server):
            if path in PUBLIC:
                continue
            response = client.request(method, path)
            if path.startswith("/api/") or path in ("/docs", "/openapi.json"):
                assert response.status_code == 401, (method, path)
                assert "Traceback" not in response.text
            else:
                assert response.status_code == 303, (method, path)
                assert response.headers["location"].startswith("/login?next="), (method, path)


def test_forged_session_cookie_is_refused(server: Server) -> None:
    with httpx.Client(base_url=server.url, cookies={"gripkit_session": "forged-token"}) as client:
        assert client.get("/api/hotspots").status_code == 401
        assert client.get("/").status_code == 303


@pytest.mark.parametrize("template", ANALYST_PAGES)
def test_officer_is_forbidden_analyst_pages(as_user: Client, server: Server, template: str) -> None:
    response = as_user("pc_one").get(template.format(unit=server.top_unit))
    assert response.status_code == 403
    assert "Traceback" not in response.text


def test_analyst_is_forbidden_user_admin(as_user: Client) -> None:
    client = as_user("ana")
    assert client.get("/users").status_code == 403
    token = csrf(client)
    response = client.post(
        "/users/add",
        data={"csrf_token": token, "username": "x1", "role": "admin", "password": "whatever-123"},
    )
    assert response.status_code == 403


def test_officer_cannot_see_other_officers_patrols(as_user: Client, server: Server) -> None:
    client = as_user("pc_one")
    theirs = server.patrols["pc_two"][0]
    assert client.get(f"/officer/patrols/{theirs}").status_code == 403
    assert client.get(f"/api/patrols/{theirs}").status_code == 403
    token = csrf(client, "/officer")
    assert client.post(f"/officer/patrols/{theirs}/start", data={"csrf_token": token}).status_code == 403
    own = {p["patrol_id"] for p in client.get("/api/patrols").json()}
    assert (
        own and theirs not in own and all(p["officer"] == "pc_one" for p in client.get("/api/patrols").json())
    )
    page = client.get("/officer").text
    assert f'data-patrol="{theirs}"' not in page
    assert client.get(f"/officer/patrols/{server.patrols['pc_one'][0]}").status_code == 200


@pytest.mark.parametrize("token", ["", "forged", "other-session"])
def test_forged_csrf_is_rejected(as_user: Client, server: Server, token: str) -> None:
    client = as_user("ana")
    if token == "other-session":
        token = csrf(as_user("boss"))
    data = {"officer": "pc_one", "area_id": server.top_unit, "date": "2031-01-01", "minutes": "10"}
    if token:
        data["csrf_token"] = token
    response = client.post("/plan/assign", data=data)
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert not any(p["date"] == "2031-01-01" for p in client.get("/api/patrols").json())


def test_forged_login_csrf_is_rejected(server: Server) -> None:
    with server.client() as client:
        client.get("/login")
        response = client.post(
            "/login", data={"username": "ana", "password": PASSWORDS["ana"][1], "csrf_token": "forged"}
        )
    assert response.status_code == 403
    assert "gripkit_session" not in response.headers.get("set-cookie", "")


def test_wrong_password_is_throttled(server: Server) -> None:
    with server.client() as client:
        for _ in range(LOGIN_LIMIT):
            assert login(client, "pc_two", "wrong-password").status_code == 401
        blocked = login(client, "pc_two", PASSWORDS["pc_two"][1])  # even the right password now
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert "Too many failed logins" in blocked.text
    with server.client() as other:  # other accounts are not locked out
        assert login(other, "ana", PASSWORDS["ana"][1]).status_code == 303


def test_unknown_user_gets_the_same_answer(server: Server) -> None:
    with server.client() as client:
        unknown = login(client, "nobody", "wrong-password")
        known = login(client, "boss", "wrong-password")
    assert unknown.status_code == known.status_code == 401
    assert "Wrong user name or password" in unknown.text and "Wrong user name or password" in known.text


def test_open_redirect_after_login_is_refused(server: Server) -> None:
    with server.client() as client:
        page = client.get("/login", params={"next": "//evil.example/"})
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post(
            "/login",
            data={
                "username": "ana",
                "password": PASSWORDS["ana"][1],
                "csrf_token": token,
                "next": "//evil.example/",
            },
        )
    assert response.headers["location"] == "/"


def test_no_stack_trace_in_error_pages(
    as_user: Client, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gripkit.dashboard import data

    def boom(ws: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(data, "filter_options", boom)
    forget = getattr(server.app.state.dashboard, "invalidate", None)  # a server that keeps the
    if forget is not None:  # filter options it read must read them again (through the patch)
        forget()
    client = as_user("ana")
    responses = [
        client.get("/"),  # 500 from the patched function
        client.get("/api/filters"),  # 500 as JSON
        client.get("/no/such/page"),  # 404
        client.get("/api/patrols/not-a-number"),  # 422
        client.get("/officer/patrols/not-a-number"),
        client.get("/api/hotspots", params={"limit": "0"}),  # 400
    ]
    assert [r.status_code for r in responses] == [500, 500, 404, 422, 422, 400]
    for response in responses:
        assert "Traceback" not in response.text
        assert "secret internal detail" not in response.text
        assert 'File "' not in response.text and ".py" not in response.text


def test_security_headers(as_user: Client) -> None:
    response = as_user("ana").get("/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
