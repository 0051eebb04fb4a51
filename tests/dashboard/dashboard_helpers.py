"""Helpers shared by the dashboard tests: users and passwords, the running server, login, CSRF."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gripkit import Workspace

PASSWORDS = {
    "boss": ("admin", "admin-pass-123"),
    "ana": ("analyst", "analyst-pass-123"),
    "pc_one": ("officer", "officer-one-pass"),
    "pc_two": ("officer", "officer-two-pass"),
}
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
LOGIN_LIMIT = 5


@dataclass
class Server:
    """The running dashboard: base URL, the workspace, patrol ids per officer, top hotspot id."""

    url: str
    ws: Workspace
    patrols: dict[str, list[int]]
    top_unit: str
    lock: threading.RLock
    app: Any = None

    def client(self, user: str | None = None) -> httpx.Client:
        """An HTTP client, logged in as ``user`` when given."""
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=60)
        if user is not None:
            login(client, user, PASSWORDS[user][1])
        return client


def login(client: httpx.Client, user: str, password: str) -> httpx.Response:
    """Post the login form with the CSRF token of a fresh login page."""
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    return client.post("/login", data={"username": user, "password": password, "csrf_token": token})


def csrf(client: httpx.Client, page: str = "/") -> str:
    """The CSRF token printed in a logged-in page's forms."""
    text = client.get(page).text
    return text.split('name="csrf_token" value="')[1].split('"')[0]


def wait_until_serving(url: str, proc: subprocess.Popen[Any], timeout: float = 60) -> httpx.Response:
    """Poll ``GET url`` until a server started as ``proc`` answers; fail if it exits or times out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError:
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
