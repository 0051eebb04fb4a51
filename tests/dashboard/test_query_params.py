"""No file access from the web: the map's ``harm`` filter takes only known table names, never a path.

The probe that found the flaw read ``/proc/self/environ`` through ``/api/hotspots?harm=...`` (the
server's environment came back in the 400 body). Each request here must get a 400 that names the
parameter and quotes no file content: :data:`FILE_TEXT` is text those files hold (``PATH=`` of an
environment, ``root:`` of /etc/passwd, the header and a row of a harm CSV), none of which may appear.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import httpx
import pytest
from fastapi.routing import iter_route_contexts

import gripkit
from gripkit.dashboard.auth import add_user
from gripkit.dashboard.state import _query_names
from gripkit.harm.tables import list_harm_tables

from dashboard_helpers import PASSWORDS, Server, csrf  # isort: skip

Client = Callable[[str], httpx.Client]
FILE_TEXT = ("PATH=", "HOME=", "root:", "Crime ID", "crime_type", "Violence and sexual offences,")


def _paths(tmp_path: Path) -> list[str]:
    csv = tmp_path / "table.csv"
    csv.write_text("crime_type,weight\nViolence and sexual offences,1\n")
    return [
        "/proc/self/environ",
        "/etc/passwd",
        str(csv),
        str(tmp_path / "missing.csv"),
        "../../etc/passwd",
        "cchi.csv",
        os.devnull,
    ]


def test_harm_paths_refused_without_file_content(as_user: Client, tmp_path: Path) -> None:
    client = as_user("ana")
    bodies = []
    for path in _paths(tmp_path):
        response = client.get("/api/hotspots", params={"harm": path})
        assert response.status_code == 400, (path, response.status_code)
        text = response.text
        assert "harm" in text and not any(marker in text for marker in FILE_TEXT), (path, text[:300])
        bodies.append(text.replace(path[:40], "<path>"))
    # an existing and a missing path get the same answer: the body does not tell whether a path exists
    assert bodies[2] == bodies[3]


@pytest.mark.parametrize("name", sorted(set(list_harm_tables()) & {"cchi", "ons_css"}))
def test_known_harm_table_names_accepted(as_user: Client, name: str) -> None:
    response = as_user("ana").get("/api/hotspots", params={"harm": name, "limit": 5})
    assert response.status_code == 200, response.text[:300]


# -- every /api route and every form --------------------------------------------------------------
# Requests go to a server of this module's own (conftest ``own_server``): some hostile values are
# valid (a password may hold any characters) and change its users or patrols.

#: Values an attacker or a slip sends. "huge" fits the 4,096-byte query limit once encoded;
#: "too_long" does not (414).
HOSTILE = {
    "path": "/proc/self/environ",
    "dotdot": "../../../../etc/passwd",
    "huge": "9" * 1500,
    "too_long": "x" * 5000,
    "nul": "a\x00b",
    "unicode": "🚓\u202eévidence 証拠",
    "negative": "-1",
    "big_negative": "-99999999999999999999999",
    "float": "1e308",
    "nan": "nan",
    "hex": "0x10",
    "sql": "' OR 1=1 --",
    "markup": "<script>alert(1)</script>",
}
UNKNOWN = "zz_unknown"  # a parameter no route declares


#: File content (an environment, /etc/passwd, the header of a harm CSV) and traceback text.
#: (A bare "crime_type" is not one here: messages name the ``crime_type`` parameter.)
LEAKS = ("PATH=", "HOME=", "root:", "crime_type,weight", "Traceback", 'File "', "site-packages")


def _leaks(server: Server, response: httpx.Response) -> list[str]:
    """What a response must never hold: file content, a traceback, the server's own paths; in a
    page, markup sent in the request unescaped."""
    text = response.text + response.headers.get("location", "")
    secrets = [*LEAKS, sys.prefix, str(Path(server.ws.path).parent), str(Path(gripkit.__file__).parents[1])]
    if response.headers.get("content-type", "").startswith("text/html"):
        secrets.append(HOSTILE["markup"])
    return [s for s in secrets if s in text]


class Route(NamedTuple):
    path: str
    methods: frozenset[str]
    regex: re.Pattern[str]
    queries: tuple[str, ...]  # the query parameters it declares


def _routes(server: Server) -> list[Route]:
    """Every route of the app (FastAPI's effective routes: prefixes applied, included routers
    flattened), with the query parameters it declares as the server counts them."""
    return [
        Route(
            str(r.path),
            frozenset(r.methods or ()),
            r.path_regex,
            tuple(sorted(set(_query_names(r.dependant)))),
        )
        for r in iter_route_contexts(server.app.routes)
        if getattr(r, "dependant", None) is not None  # not the /static mount
    ]


def _path_values(server: Server, name: str) -> str:
    """A valid value of a path parameter (the others of a route get these while one is hostile)."""
    return {
        "unit_id": server.top_unit,
        "patrol_id": str(server.patrols["pc_one"][0]),
        "kind": "hotspots",
        "action": "start",
        "username": "pc_two",
    }[name]


def _url(route: Route, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: quote(values[m.group(1)], safe=""), route.path)


def _check(
    server: Server, response: httpx.Response, what: str, problems: list[str], *, allowed: tuple[int, ...] = ()
) -> None:
    """A 4xx (or one of ``allowed``) without leaks; else a line in ``problems``."""
    code = response.status_code
    if not (400 <= code < 500 or code in allowed):
        problems.append(f"{what}: {code} {response.text[:160]!r}")
    leaked = _leaks(server, response)
    if leaked:
        problems.append(f"{what}: the body holds {leaked}")


def test_every_api_route_refuses_hostile_parameters(own_server: Server) -> None:
    """Every GET route under /api/ (listed from the app, so a new route is audited too): each
    hostile value in each of its path and query parameters, and an unknown parameter, gets a 4xx
    without leaks. An empty value may be valid (an optional filter left blank): then any answer
    but a 5xx. Requests are sent as the analyst (analysts and admins may call every /api route)."""
    client = own_server.client("ana")
    problems: list[str] = []
    api = [r for r in _routes(own_server) if r.path.startswith("/api/") and "GET" in r.methods]
    assert {r.path for r in api} >= {
        "/api/me",
        "/api/hotspots",
        "/api/hotspots/{unit_id}",
        "/api/filters",
        "/api/patrols",
        "/api/patrols/{patrol_id}",
        "/api/results/{kind}",
    }
    for route in api:
        names = re.findall(r"\{(\w+)", route.path)
        valid = {n: _path_values(own_server, n) for n in names}
        queries = route.queries
        for label, value in HOSTILE.items():
            for name in names:
                url = _url(route, {**valid, name: value})
                _check(own_server, client.get(url), f"GET {route.path} {name}={label}", problems)
            for name in [*queries, UNKNOWN]:
                response = client.get(_url(route, valid), params={name: value})
                _check(own_server, response, f"GET {route.path}?{name}={label}", problems)
        for name in queries:
            response = client.get(_url(route, valid), params={name: ""})
            _check(own_server, response, f"GET {route.path}?{name}=<empty>", problems, allowed=(200,))
    assert problems == [], "\n".join(problems)
    assert client.get("/api/me").status_code == 200  # the server, and the session, still there


class _Forms(HTMLParser):
    """The forms of a page: action, method and fields (name -> the value the page gives)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": {}}
            )
        elif self.forms and tag in ("input", "textarea") and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif self.forms and tag == "select" and a.get("name"):
            self._select = a["name"]
            self.forms[-1]["fields"].setdefault(a["name"], "")
        elif self.forms and tag == "option" and self._select and not self.forms[-1]["fields"][self._select]:
            self.forms[-1]["fields"][self._select] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._select and self.forms and not self.forms[-1]["fields"][self._select] and data.strip():
            self.forms[-1]["fields"][self._select] = data.strip()  # an option's text is its value

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def _forms(client: httpx.Client, page: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(client.get(page).text)
    return parser.forms


#: Form fields that take free text: any printable value is a valid answer (a password, a note).
FREE_TEXT = {"password", "note"}
#: Hostile values a free-text field may accept (all but those over a length limit or with NUL).
FREE_OK = {"path", "dotdot", "unicode", "negative", "big_negative", "float", "nan", "hex", "sql", "markup"}


def _refused(response: httpx.Response) -> bool:
    """A 4xx, or the form's own error page (303 to ``?error=...``)."""
    location = response.headers.get("location", "")
    return 400 <= response.status_code < 500 or (response.status_code == 303 and "error=" in location)


def _post_hostile(
    server: Server,
    client: httpx.Client,
    route: Route,
    action: str,
    fields: dict[str, str],
    problems: list[str],
) -> None:
    """Each hostile value in each field of a form, then in each path parameter of its action."""
    path_values = route.regex.match(action).groupdict()  # type: ignore[union-attr]
    tries = [
        (f"{n}={label}", action, {**fields, n: value})
        for n in fields
        if n != "csrf_token"
        for label, value in HOSTILE.items()
    ]
    tries += [
        (f"{n}={label} (path)", _url(route, {**path_values, n: value}), fields)
        for n in path_values
        for label, value in HOSTILE.items()
    ]
    for what, url, data in tries:
        response = client.post(url, data=data)
        name, label = what.split(" ")[0].split("=")
        if not _refused(response) and not (name in FREE_TEXT and label in FREE_OK and url == action):
            problems.append(
                f"POST {url[:80]} {what}: not refused ({response.status_code} "
                f"{response.headers.get('location')})"
            )
        _check(server, response, f"POST {action} {what}", problems, allowed=(303,))
        if response.status_code == 303:  # the page it leads to shows no leak either
            page = client.get(response.headers["location"])
            _check(server, page, f"{action} {what} -> page", problems, allowed=(200,))


def test_every_form_refuses_hostile_fields(own_server: Server) -> None:
    """Every POST form the pages show (the admin's users page, the analyst's plan, the officer's
    patrol; read from the pages, so a new form is audited too) and the JSON visit route: each
    hostile value in each field and path parameter gets a 4xx or the form's own error page (303 to
    ``?error=``), without leaks, or, in a free-text field, may be accepted; a forged CSRF token
    gets 403. Logout and the users-page forms acting on users other than one made for this test
    (changing them would end sessions this test uses) are sent with hostile tokens only."""
    target = "pc_target"
    own_server.app.state.dashboard.change(lambda ws: add_user(ws, target, "officer", "target-pass-123"))
    problems: list[str] = []
    seen_routes: set[str] = set()
    post_routes = [r for r in _routes(own_server) if "POST" in r.methods]
    officer = own_server.client("pc_one")
    first, *_ = own_server.patrols["pc_one"]
    started = officer.post(f"/officer/patrols/{first}/start", data={"csrf_token": csrf(officer, "/officer")})
    assert started.status_code == 303  # a visit going: its page shows the stop form
    pages = {
        own_server.client("boss"): ["/users"],
        own_server.client("ana"): ["/plan", "/"],
        officer: ["/officer", *(f"/officer/patrols/{p}" for p in own_server.patrols["pc_one"])],
    }
    for client, urls in pages.items():
        for url in urls:
            for form in _forms(client, url):
                action, fields = form["action"], form["fields"]
                route = next((r for r in post_routes if r.regex.match(action)), None)
                if form["method"] != "post" or route is None:
                    continue
                seen_routes.add(route.path)
                for label in ("path", "huge", "nul", "markup"):
                    response = client.post(action, data={**fields, "csrf_token": HOSTILE[label]})
                    if response.status_code != 403:
                        problems.append(f"POST {action} forged csrf_token={label}: {response.status_code}")
                    _check(own_server, response, f"POST {action} csrf={label}", problems)
                other_user = action.startswith("/users/") and action.split("/")[2] not in ("add", target)
                if action != "/logout" and not other_user:
                    _post_hostile(own_server, client, route, action, fields, problems)
    # the JSON visit route: hostile path parameters, with a valid token
    token = csrf(officer, "/officer")
    visit = next(r for r in post_routes if r.path == "/api/patrols/{patrol_id}/visit/{action}")
    seen_routes.add(str(visit.path))
    for label, value in HOSTILE.items():
        for name in ("patrol_id", "action"):
            valid = {"patrol_id": str(own_server.patrols["pc_one"][0]), "action": "start"}
            url = _url(visit, {**valid, name: value})
            response = officer.post(url, headers={"X-CSRF-Token": token})
            _check(own_server, response, f"POST {visit.path} {name}={label}", problems)
    seen_routes.add("/login")  # the public form: test_login_form_refuses_hostile_fields
    assert seen_routes == {r.path for r in post_routes}, {r.path for r in post_routes} - seen_routes
    assert problems == [], "\n".join(problems)


def _login(server: Server, form: dict[str, str]) -> httpx.Response:
    client = server.client()
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    return client.post("/login", data={**form, "csrf_token": token})


def test_login_form_refuses_hostile_fields(own_server: Server) -> None:
    """The login form: hostile user names and passwords are wrong logins (401, no leak; each try
    names another user, so the per-user limit of 5 failures does not answer first); a hostile
    ``next`` after a right password goes to a page of this site, never elsewhere."""
    problems: list[str] = []
    for i, (label, value) in enumerate(HOSTILE.items()):
        for field in ("username", "password"):
            response = _login(
                own_server, {"username": f"nobody{i}{field}", "password": "wrong-password", field: value}
            )
            if response.status_code != 401:
                problems.append(f"login {field}={label}: {response.status_code}")
            _check(own_server, response, f"login {field}={label}", problems)
    for target in (
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "\\\\evil",
        "javascript:x",
        HOSTILE["nul"],
        HOSTILE["unicode"],
        HOSTILE["too_long"],
    ):
        response = _login(own_server, {"username": "ana", "password": PASSWORDS["ana"][1], "next": target})
        location = response.headers.get("location", "")
        if response.status_code != 303 or not location.startswith("/") or location.startswith(("//", "/\\")):
            problems.append(f"login next={target[:30]!r}: {response.status_code} -> {location[:60]!r}")
        _check(own_server, response, f"login next={target[:30]!r}", problems, allowed=(303,))
    assert problems == [], "\n".join(problems)
