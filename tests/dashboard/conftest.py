"""A real uvicorn server on 127.0.0.1 (random free port) over a workspace of bundled real data.

The workspace holds the 12 bundled months of Bedfordshire street crime (police.uk), one stored
hotspot run, a stored patrol plan (Op Rowan-style, seed 7, 15 days from today, with teams), four
users (admin, analyst, two officers) and patrols assigned to both officers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from gripkit import Workspace, datasets
from gripkit.dashboard import create_app
from gripkit.dashboard.auth import add_user
from gripkit.dashboard.data import assign_patrol
from gripkit.hotspots.find import find_hotspots
from gripkit.ingestion import ingest
from gripkit.patrol.job import plan_patrols

from dashboard_helpers import ARTIFACTS, LOGIN_LIMIT, PASSWORDS, Server  # isort: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _workspace(path: Path) -> tuple[Workspace, dict[str, list[int]], str]:
    ws = Workspace(path)
    ingest(datasets.bedfordshire_street_files(), ws)
    result = find_hotspots(ws, unit="grid", harm="cchi")
    top = str(result.hotspots.iloc[0]["unit_id"])
    second = str(result.hotspots.iloc[1]["unit_id"])
    for name, (role, password) in PASSWORDS.items():
        add_user(ws, name, role, password)
    today = date.today()
    plan_patrols(ws, seed=7, days=15, start=today)
    patrols = {
        "pc_one": [
            assign_patrol(
                ws,
                officer="pc_one",
                area_id=top,
                day=today,
                start_time="10:00",
                minutes=15,
                note="high-visibility foot patrol",
            ),
            assign_patrol(ws, officer="pc_one", area_id=second, day=today + timedelta(days=1), minutes=15),
        ],
        "pc_two": [
            assign_patrol(ws, officer="pc_two", area_id=second, day=today, start_time="14:00", minutes=15)
        ],
    }
    return ws, patrols, top


@contextmanager
def serving(path: Path) -> Iterator[Server]:
    """A new workspace at ``path`` (:func:`_workspace`) served by uvicorn in a thread on a free
    loopback port, stopped on leaving."""
    ws, patrols, top = _workspace(path)
    app = create_app(ws, login_per_user=LOGIN_LIMIT, login_per_client=1000)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield Server(f"http://127.0.0.1:{port}", ws, patrols, top, app.state.dashboard.lock, app)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The dashboard shared by the session's tests."""
    with serving(tmp_path_factory.mktemp("dash") / "gripkit.duckdb") as running:
        yield running


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A dashboard of the module's own, for tests whose requests may change users or patrols."""
    with serving(tmp_path_factory.mktemp("own") / "gripkit.duckdb") as running:
        yield running


@pytest.fixture(scope="session")
def as_user(server: Server) -> Callable[[str], httpx.Client]:
    """``as_user(name)``: a logged-in client, one per user for the whole session."""
    clients: dict[str, httpx.Client] = {}

    def get(name: str) -> httpx.Client:
        if name not in clients:
            clients[name] = server.client(name)
        return clients[name]

    return get


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots and other test artefacts (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
