"""``gripkit users`` and ``gripkit serve`` from the command line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gripkit import Workspace
from gripkit.cli import app
from gripkit.dashboard.auth import (
    User,
    add_user,
    authenticate,
    create_session,
    list_users,
    lookup_session,
)

from dashboard_helpers import login, wait_until_serving  # isort: skip


def test_users_add_list_passwd_remove(tmp_path: Path) -> None:
    ws_path = str(tmp_path / "ws.duckdb")
    runner = CliRunner()
    added = runner.invoke(
        app,
        ["users", "add", "pc_cli", "--role", "officer", "--password-stdin", "-w", ws_path],
        input="a long passphrase\n",
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["users", "list", "-w", ws_path])
    assert "pc_cli" in listed.output and "officer" in listed.output
    changed = runner.invoke(
        app, ["users", "passwd", "pc_cli", "--password-stdin", "-w", ws_path], input="another passphrase\n"
    )
    assert changed.exit_code == 0
    with Workspace(ws_path) as ws:
        assert authenticate(ws, "pc_cli", "another passphrase") is not None
        assert authenticate(ws, "pc_cli", "a long passphrase") is None
    assert runner.invoke(app, ["users", "remove", "pc_cli", "-w", ws_path]).exit_code == 0
    with Workspace(ws_path) as ws:
        assert list_users(ws) == []


def test_users_role_changes_the_role_and_ends_sessions(tmp_path: Path) -> None:
    ws_path = str(tmp_path / "ws.duckdb")
    with Workspace(ws_path) as ws:
        add_user(ws, "pc_cli", "officer", "a long passphrase")
        token, _ = create_session(ws, User("pc_cli", "officer"))
    runner = CliRunner()
    changed = runner.invoke(app, ["users", "role", "pc_cli", "--role", "analyst", "-w", ws_path, "--json"])
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.output) == {"action": "role set", "user": "pc_cli", "role": "analyst"}
    with Workspace(ws_path) as ws:
        assert [(u.username, u.role) for u in list_users(ws)] == [("pc_cli", "analyst")]
        assert lookup_session(ws, token) is None  # the officer session ended with the change
    bad = runner.invoke(app, ["users", "role", "pc_cli", "--role", "chief", "-w", ws_path])
    assert bad.exit_code != 0 and "must be one of admin, analyst, officer" in str(bad.exception)
    unknown = runner.invoke(app, ["users", "role", "nobody", "--role", "admin", "-w", ws_path])
    assert unknown.exit_code != 0 and "no user 'nobody'" in str(unknown.exception)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "chief"], "a long passphrase\n", "must be one of admin, analyst, officer"),
        (["--role", "admin"], "short\n", "at least 8 characters"),
    ],
)
def test_users_add_bad_input_says_how_to_fix(
    tmp_path: Path, args: list[str], stdin: str, message: str
) -> None:
    result = CliRunner().invoke(
        app, ["users", "add", "x", *args, "--password-stdin", "-w", str(tmp_path / "w.db")], input=stdin
    )
    assert result.exit_code != 0
    assert message in str(result.exception)


def test_serve_starts_on_loopback(tmp_path: Path) -> None:
    ws_path = tmp_path / "ws.duckdb"
    with Workspace(ws_path) as ws:
        add_user(ws, "boss", "admin", "admin-pass-123")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [
        sys.executable,
        "-c",
        "from gripkit.cli import main; main()",
        "serve",
        "-w",
        str(ws_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        response = wait_until_serving(f"http://127.0.0.1:{port}/login", proc)
        assert response.status_code == 200
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert client.get("/api/hotspots").status_code == 401
            assert login(client, "boss", "admin-pass-123").status_code == 303
            # an empty workspace: the map API says what is missing instead of failing
            missing = client.get("/api/hotspots")
            assert missing.status_code == 404 and "not run yet" in missing.json()["detail"]
            assert "not run yet" in client.get("/").text.lower()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
