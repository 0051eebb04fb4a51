"""The login limit, device cookies, client addresses and sessions that end at once.

A real uvicorn server on loopback, configured as ``gripkit serve`` configures it
(:func:`gripkit.cli.serve.server_config`), over an empty workspace file with a few users. Every
test gets a fresh :class:`~gripkit.dashboard.auth.LoginThrottle` with the shipped limits (5
attempts per user name, 30 per client address, per 15 minutes; docs/security.md) unless it says
otherwise. Expected counts are hand arithmetic on those limits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from gripkit import Workspace
from gripkit.cli import app as cli_app
from gripkit.cli import command_flags
from gripkit.cli.options import flag_message
from gripkit.cli.serve import server_config
from gripkit.dashboard import auth, create_app
from gripkit.dashboard.state import DashboardState
from gripkit.errors import InputError

from dashboard_helpers import csrf, login  # isort: skip

PER_USER, PER_CLIENT, WINDOW = 5, 30, 900.0  # the shipped defaults of LoginThrottle and Settings
USERS = {
    "boss": ("admin", "admin-pass-123"),
    "ana": ("analyst", "analyst-pass-123"),
    "vic": ("analyst", "victim-pass-123"),
}


class SharedTransport(httpx.HTTPTransport):
    """One connection pool for every test client: a client's own transport costs ~0.1 s (its TLS
    context), and 50 of them dwarfed the logins. Closing a client leaves the pool open."""

    def close(self) -> None:
        pass


TRANSPORT = SharedTransport()


@dataclass
class Running:
    url: str
    path: Path
    state: DashboardState

    def client(self, **options: Any) -> httpx.Client:
        """A client with a cookie jar of its own (one browser)."""
        return httpx.Client(
            base_url=self.url, follow_redirects=False, timeout=60, transport=TRANSPORT, **options
        )

    def add(self, name: str, role: str, password: str) -> None:
        self.state.db(lambda ws: auth.add_user(ws, name, role, password))


@contextmanager
def _serve(dashboard: Any, trusted_proxy: list[str] | None = None) -> Iterator[str]:
    """Serve ``dashboard`` on a free loopback port as ``gripkit serve`` would; yields its URL."""
    config = server_config(dashboard, host="127.0.0.1", port=0, trusted_proxy=trusted_proxy)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    path = tmp_path_factory.mktemp("limit") / "gripkit.duckdb"
    with Workspace(path) as ws:
        for name, (role, password) in USERS.items():
            auth.add_user(ws, name, role, password)
    dashboard = create_app(path)
    with _serve(dashboard) as url:
        yield Running(url, path, dashboard.state.dashboard)


@pytest.fixture
def server(running: Running) -> Running:
    running.state.throttle = auth.LoginThrottle(PER_USER, PER_CLIENT, WINDOW)
    return running


def _token(client: httpx.Client) -> str:
    page = client.get("/login")
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def _parallel(server: Running, n: int, user: str, password: str) -> list[httpx.Response]:
    """``n`` clients post their logins at the same moment (each with its own login form)."""
    clients = [server.client() for _ in range(n)]
    tokens = [_token(c) for c in clients]
    barrier = threading.Barrier(n)

    def post(i: int) -> httpx.Response:
        barrier.wait()
        data = {"username": user, "password": password, "csrf_token": tokens[i]}
        return clients[i].post("/login", data=data)

    try:
        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(post, range(n)))
    finally:
        for c in clients:
            c.close()


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password check (Argon2 verification) the server makes, by user name."""
    seen: list[str] = []
    real = auth.check_password

    def counting(credentials: auth.Credentials, password: str) -> auth.User | None:
        seen.append(credentials.username)
        return real(credentials, password)

    monkeypatch.setattr(auth, "check_password", counting)
    return seen


def test_fifty_parallel_guesses_check_five(server: Running, checks: list[str]) -> None:
    responses = _parallel(server, 50, "ana", "wrong-password")
    statuses = Counter(r.status_code for r in responses)
    # 5 attempts per user name per window: 5 checked (401), the other 50 - 5 = 45 refused unchecked
    assert statuses == {401: PER_USER, 429: 50 - PER_USER}
    assert checks == ["ana"] * PER_USER
    for refused in (r for r in responses if r.status_code == 429):
        assert 0 < int(refused.headers["retry-after"]) <= WINDOW
        assert "Too many failed logins" in refused.text
    with server.client() as fresh:  # a new browser: the right password waits too (the policy)
        assert login(fresh, "ana", USERS["ana"][1]).status_code == 429
    assert len(checks) == PER_USER


def test_known_device_logs_in_while_the_name_is_locked(server: Running, checks: list[str]) -> None:
    with server.client() as device:
        first = login(device, "vic", USERS["vic"][1])
        assert first.status_code == 303
        name = auth.device_cookie_name("vic")
        set_cookie = [h.lower() for h in first.headers.get_list("set-cookie") if h.startswith(name)]
        assert set_cookie and "httponly" in set_cookie[0] and "path=/login" in set_cookie[0]
        assert "samesite=strict" in set_cookie[0]
        responses = _parallel(server, 50, "vic", "wrong-password")  # someone else guesses
        assert Counter(r.status_code for r in responses) == {401: PER_USER, 429: 50 - PER_USER}
        device.cookies.delete("gripkit_session")
        again = login(device, "vic", USERS["vic"][1])  # the real user's own browser still works
        assert again.status_code == 303 and again.headers["location"] == "/"
        assert device.get("/api/me").json() == {"username": "vic", "role": "analyst"}
    with server.client() as fresh:  # the guessers' budget did not come back with that login
        assert login(fresh, "vic", USERS["vic"][1]).status_code == 429
    # 1 + 5 + 1 checks: the first login, the five guesses let through, the device's login
    assert checks == ["vic"] * (1 + PER_USER + 1)


def test_a_known_device_has_a_budget_of_its_own(server: Running) -> None:
    with server.client() as device:
        assert login(device, "boss", USERS["boss"][1]).status_code == 303
        device.cookies.delete("gripkit_session")
        for _ in range(PER_USER):
            assert login(device, "boss", "wrong-password").status_code == 401
        assert login(device, "boss", USERS["boss"][1]).status_code == 429
    with server.client() as other:  # the device's failures were not the user name's
        assert login(other, "boss", USERS["boss"][1]).status_code == 303


def test_a_forged_device_cookie_is_no_device(server: Running) -> None:
    name = auth.device_cookie_name("ana")
    with server.client() as client:
        for _ in range(PER_USER):
            assert login(client, "ana", "wrong-password").status_code == 401
    signed_for_boss = server.state.throttle.device_cookie("boss")
    for value in ("made-up.0123456789abcdef", signed_for_boss, "x" * 500):
        with server.client(cookies={name: value}) as forged:
            assert login(forged, "ana", USERS["ana"][1]).status_code == 429, value[:20]


def test_spoofed_forwarded_for_gets_no_fresh_budget(server: Running) -> None:
    server.state.throttle = auth.LoginThrottle(per_user=PER_USER, per_client=3)  # 3 per address
    with server.client() as client:
        for i in range(3):  # three different names, each "from" another address
            spoof = {"X-Forwarded-For": f"203.0.113.{i}"}
            page = client.get("/login", headers=spoof)
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            data = {"username": f"nobody{i}", "password": "wrong-password", "csrf_token": token}
            assert client.post("/login", data=data, headers=spoof).status_code == 401
        token = _token(client)
        data = {"username": "nobody9", "password": "wrong-password", "csrf_token": token}
        refused = client.post("/login", data=data, headers={"X-Forwarded-For": "198.51.100.7"})
    assert refused.status_code == 429  # the 4th attempt from 127.0.0.1, whatever it claims


def test_a_trusted_proxy_forwards_client_addresses() -> None:
    dashboard = create_app(":memory:")
    dashboard.state.dashboard.throttle = auth.LoginThrottle(per_user=PER_USER, per_client=1)
    with (
        _serve(dashboard, trusted_proxy=["127.0.0.1"]) as url,
        httpx.Client(base_url=url, transport=TRANSPORT) as client,
    ):
        statuses = []
        for i in range(3):  # one attempt per address; the proxy says which address
            token = _token(client)
            data = {"username": f"nobody{i}", "password": "wrong-password", "csrf_token": token}
            spoof = {"X-Forwarded-For": f"203.0.113.{i}"}
            statuses.append(client.post("/login", data=data, headers=spoof).status_code)
        token = _token(client)
        data = {"username": "nobody9", "password": "wrong-password", "csrf_token": token}
        statuses.append(client.post("/login", data=data, headers=spoof).status_code)
    assert statuses == [401, 401, 401, 429]  # 203.0.113.2 used its one attempt


def test_serve_reads_forwarded_headers_only_from_named_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn's own setting is not consulted
    plain = server_config(object(), host="127.0.0.1", port=0)
    assert plain.proxy_headers is False and plain.forwarded_allow_ips == []
    proxied = server_config(object(), host="127.0.0.1", port=0, trusted_proxy=["10.0.0.0/24"])
    assert proxied.proxy_headers is True and proxied.forwarded_allow_ips == ["10.0.0.0/24"]
    result = CliRunner().invoke(cli_app, ["serve", "--trusted-proxy", "*", "--port", "0"])
    assert result.exit_code != 0 and isinstance(result.exception, InputError)
    assert "'trusted_proxy' must be an IP address or network" in str(result.exception)
    shown = flag_message(str(result.exception), command_flags(["serve"]))  # what the CLI prints
    assert shown.startswith("--trusted-proxy must be an IP address or network")


def _gripkit(server: Running, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a ``gripkit`` command on the served workspace while the server runs.

    Meanwhile a request with an unknown session cookie (a database lookup) every 0.1 s, so the
    command gets the file even from a server that lets waiting processes in only between uses.
    """
    command = [sys.executable, "-c", "from gripkit.cli import main; main()", *args, "-w", str(server.path)]
    env = {**os.environ, "GRIPKIT_LOCK_WAIT": "60"}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        with server.client(cookies={"gripkit_session": "not-a-session"}) as poke:
            while proc.poll() is None:
                poke.get("/api/me")
                time.sleep(0.1)
        out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


@contextmanager
def _logged_in(server: Running, name: str, role: str, password: str) -> Iterator[httpx.Client]:
    """A new user, logged in, whose session the server has just looked up (and cached)."""
    server.add(name, role, password)
    with server.client() as client:
        assert login(client, name, password).status_code == 303
        assert client.get("/api/me").json() == {"username": name, "role": role}
        yield client


def test_cli_remove_ends_the_session_at_once(server: Running) -> None:
    with _logged_in(server, "gone", "analyst", "gone-pass-123") as client:
        done = _gripkit(server, "users", "remove", "gone", "--json")
        assert done.returncode == 0, done.stderr
        assert client.get("/api/me").status_code == 401  # the very next request
        assert client.get("/").status_code == 303


def test_cli_role_change_ends_the_session_at_once(server: Running) -> None:
    with _logged_in(server, "demoted", "analyst", "demoted-pass-123") as client:
        done = _gripkit(server, "users", "role", "demoted", "--role", "officer")
        assert done.returncode == 0, done.stderr
        assert client.get("/api/me").status_code == 401
        assert login(client, "demoted", "demoted-pass-123").headers["location"] == "/officer"
        assert client.get("/api/me").json() == {"username": "demoted", "role": "officer"}
        assert client.get("/plan").status_code == 403


def test_dashboard_role_change_ends_the_session(server: Running) -> None:
    with server.client() as admin, _logged_in(server, "moved", "officer", "moved-pass-123") as client:
        assert login(admin, "boss", USERS["boss"][1]).status_code == 303
        token = csrf(admin, "/users")
        assert 'action="/users/moved/role"' in admin.get("/users").text
        changed = admin.post("/users/moved/role", data={"csrf_token": token, "role": "analyst"})
        assert changed.status_code == 303 and "done=" in changed.headers["location"]
        assert client.get("/api/me").status_code == 401
        bad = admin.post("/users/moved/role", data={"csrf_token": token, "role": "chief"})
        assert "error=" in bad.headers["location"]
        own = admin.post("/users/boss/role", data={"csrf_token": token, "role": "officer"})
        assert "error=" in own.headers["location"]
        assert admin.get("/api/me").json() == {"username": "boss", "role": "admin"}


# -- the library, without a server -------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_window_slides_and_says_how_long() -> None:
    clock = Clock()
    throttle = auth.LoginThrottle(per_user=2, per_client=10, window=60, clock=clock)
    assert throttle.attempt("ana", "a").retry_after == 0  # t = 1000
    clock.now = 1010
    assert throttle.attempt("ana", "b").retry_after == 0
    clock.now = 1020
    # full: the oldest attempt (t = 1000) leaves the window at 1060, 40 s from now
    assert throttle.attempt("ana", "c").retry_after == 40
    assert throttle.retry_after("ANA", "c") == 40  # user names count case-insensitively
    clock.now = 1060.5  # the first attempt has left
    assert throttle.attempt("ana", "c").retry_after == 0
    assert throttle.attempt("ana", "c").retry_after == 10  # next leaves at 1010 + 60 = 1070


def test_throttle_success_is_not_counted() -> None:
    clock = Clock()
    throttle = auth.LoginThrottle(per_user=2, per_client=2, window=60, clock=clock)
    throttle.attempt("ana", "a")
    ok = throttle.attempt("ana", "a")
    throttle.succeeded(ok)  # clears the user name's attempts and refunds the address's one
    assert throttle.retry_after("ana", "a") == 0
    assert throttle.attempt("bob", "a").retry_after == 0  # address: 1 failure + this = 2
    assert throttle.attempt("carl", "a").retry_after == 60  # the address's 2 are used
    device = throttle.device_id("ana", throttle.device_cookie("ana"))
    assert device is not None and throttle.attempt("ana", "a", device).retry_after == 0


def test_throttle_counts_every_parallel_attempt() -> None:
    throttle = auth.LoginThrottle(per_user=5, per_client=1000)
    barrier = threading.Barrier(8)

    def burst(_: int) -> int:
        barrier.wait()
        return sum(throttle.attempt("ana", "10.0.0.1").retry_after == 0 for _ in range(50))

    with ThreadPoolExecutor(8) as pool:
        allowed = sum(pool.map(burst, range(8)))
    assert allowed == 5  # of 8 x 50 = 400 attempts, the limit's 5


def test_throttle_forgets_old_names_when_there_are_many(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth.LoginThrottle, "MAX_KEYS", 3)
    clock = Clock()
    throttle = auth.LoginThrottle(per_user=1, per_client=100, window=60, clock=clock)
    for name in ("a", "b", "c"):  # 3 names + 1 address = 4 keys
        throttle.attempt(name, "10.0.0.1")
    clock.now += 61  # all of them out of the window
    throttle.attempt("d", "10.0.0.1")  # 4 keys > 3: every expired one is dropped first
    assert throttle.retry_after("d", "10.0.0.1") > 0  # the new attempt still counts
    assert len(throttle._times) == 2  # u:d and c:10.0.0.1


def test_device_cookies_are_signed_per_user_and_per_server() -> None:
    one, two = auth.LoginThrottle(), auth.LoginThrottle()
    cookie = one.device_cookie("ana")
    assert one.device_id("ana", cookie) == one.device_id("Ana", cookie) == cookie.split(".")[0]
    assert one.device_id("bob", cookie) is None
    assert two.device_id("ana", cookie) is None  # another server's (or a restarted one's) key
    nonce, _, mac = cookie.partition(".")
    assert one.device_id("ana", f"{nonce}x.{mac}") is None
    assert one.device_id("ana", "") is one.device_id("ana", None) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda ws: auth.delete_user(ws, "ana"),
        lambda ws: auth.set_role(ws, "ana", "officer"),
        lambda ws: auth.set_password(ws, "ana", "another-pass-123"),
    ],
    ids=["removed", "role", "password"],
)
def test_no_session_for_a_user_changed_after_the_check(change: Callable[[Workspace], None]) -> None:
    with Workspace(":memory:") as ws:
        auth.add_user(ws, "ana", "analyst", "analyst-pass-123")
        credentials = auth.load_credentials(ws, "ana")
        assert auth.check_password(credentials, "analyst-pass-123") is not None
        change(ws)  # between the password check and the session
        assert auth.start_session(ws, credentials, "analyst-pass-123") is None
        assert ws.con.execute("SELECT count(*) FROM sessions").fetchone() == (0,)


def test_role_and_password_changes_end_sessions() -> None:
    with Workspace(":memory:") as ws:
        auth.add_user(ws, "ana", "analyst", "analyst-pass-123")
        credentials = auth.load_credentials(ws, "ana")
        started = auth.start_session(ws, credentials, "analyst-pass-123")
        assert started is not None and auth.lookup_session(ws, started[0]) is not None
        auth.set_role(ws, "ana", "officer")
        assert auth.lookup_session(ws, started[0]) is None
        token, session = auth.create_session(ws, auth.User("ana", "officer"))
        assert auth.lookup_session(ws, token) == session
        with pytest.raises(InputError, match="'role' must be one of admin, analyst, officer"):
            auth.set_role(ws, "ana", "chief")
        with pytest.raises(InputError, match="no user 'bob'"):
            auth.set_role(ws, "bob", "admin")
        with pytest.raises(InputError, match="removed or changed"):
            auth.create_session(ws, auth.User("ana", "analyst"))  # not her role any more
        auth.set_password(ws, "ana", "another-pass-123")
        assert auth.lookup_session(ws, token) is None
