"""CLI commands while a real ``gripkit serve`` holds the workspace: read-only ones (status,
sources, report) and writing ones (hotspots, which stores its result, and an ingest).

The server closes its workspace file after a few idle seconds and hands it to a process waiting
for it (docs/dashboard.md), so `gripkit status` and `gripkit sources` open it; an ingest waits
its turn and the server then serves the new month. Real data: the bundled Bedfordshire files.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gripkit import Workspace, datasets
from gripkit.dashboard.auth import add_user
from gripkit.ingestion import ingest

from dashboard_helpers import login, wait_until_serving  # isort: skip

CLI = [sys.executable, "-c", "from gripkit.cli import main; main()"]


def gripkit(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def test_status_sources_and_ingest_while_the_server_runs(tmp_path: Path) -> None:
    files = datasets.bedfordshire_street_files()
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ingest(files[:2], ws)
        add_user(ws, "boss", "admin", "admin-pass-123")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([*CLI, "serve", "-w", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/login", proc)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            assert login(client, "boss", "admin-pass-123").status_code == 303
            assert client.get("/api/me").status_code == 200  # the server has the workspace open
            began = time.monotonic()
            status = gripkit("status", "--json", "-w", str(path))
            assert status.returncode == 0, status.stderr
            assert json.loads(status.stdout)
            sources = gripkit("sources", "--json", "-w", str(path))
            assert sources.returncode == 0, sources.stderr
            report = gripkit("report", "-w", str(path), "--out", str(tmp_path / "report.html"))
            assert report.returncode == 0, report.stderr  # read-only: the server hands the file over
            assert (tmp_path / "report.html").stat().st_size > 0
            # hotspots stores its result: a writer, it takes its turn like the ingest below
            spots = gripkit("hotspots", "-w", str(path), "--out", str(tmp_path / "spots.csv"), "--json")
            assert spots.returncode == 0, spots.stderr
            assert time.monotonic() - began < 90
            assert client.get("/api/me").status_code == 200  # and the server carries on
            months_before = client.get("/api/filters").json()
            added = gripkit("ingest", str(files[2]), "-w", str(path), timeout=120)
            assert added.returncode == 0, added.stderr
            months_after = client.get("/api/filters").json()
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    with Workspace(path) as ws:
        held = [r[0] for r in ws.con.execute("SELECT DISTINCT month FROM sources ORDER BY 1").fetchall()]
    assert len(held) == 3
    new = f"{files[2].name[:7]}"  # police.uk names files YYYY-MM-force-street.csv
    assert new not in json.dumps(months_before) and new in json.dumps(months_after), months_after
