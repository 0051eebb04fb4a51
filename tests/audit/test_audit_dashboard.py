"""The dashboard shows the stored audit beside the hotspot selection, through a real uvicorn server
(127.0.0.1, a free port) over three real Bedfordshire months with stop-and-search files."""

from __future__ import annotations

import html
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
import uvicorn

from gripkit import Workspace
from gripkit.audit import AuditResult, audit_hotspots
from gripkit.audit.view import num, pct
from gripkit.dashboard import create_app
from gripkit.dashboard.auth import add_user
from gripkit.ingestion import ingest

ANALYST = ("ana", "analyst-pass-123")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, AuditResult]]:
    ws = Workspace(tmp_path_factory.mktemp("audit-dash") / "gripkit.duckdb")
    ingest([str(folder / "raw")], ws)
    add_user(ws, ANALYST[0], "analyst", ANALYST[1])
    result = audit_hotspots(ws, rounds=2, null_draws=30, seed=7)
    app = create_app(ws, login_per_user=50, login_per_client=1000)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}", result
    server.should_exit = True
    thread.join(timeout=10)


def _client(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, follow_redirects=False, timeout=120)
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": ANALYST[0], "password": ANALYST[1], "csrf_token": token})
    return client


def _table(page: str, table_id: str) -> str:
    match = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert match, table_id
    return html.unescape(match.group(0))


def test_audit_page_shows_the_audits_numbers(served: tuple[str, AuditResult]) -> None:
    url, result = served
    with closing(_client(url)) as client:
        answer = client.get("/audit")
        assert answer.status_code == 200
        page = html.unescape(answer.text)
        assert result.summary() in page
        figures = _table(answer.text, "audit-figures")
        d = result.to_dict()
        # rounded as the page rounds them (hand-formatted here from the stored result)
        assert f'<td class="num">{pct(d["proactive_share"])}</td>' in figures
        assert f'<td class="num">{pct(d["final_top_share"])}</td>' in figures
        hot = result.stop_search["hotspots"]["stop_search_per_1000"]
        assert f'<td class="num">{num(hot)}</td>' in figures and num(hot) == f"{hot:.1f}"
        people = _table(answer.text, "audit-residents")
        assert f"{result.residents['hotspots']['residents']:,}" in people
        assert str(result.stop_search["hotspots"]["searches"]) in people
        rounds = _table(answer.text, "audit-rounds")
        assert rounds.count("<tr>") == 1 + 3  # header and rounds 0, 1, 2
        assert f"{result.feedback['rounds'][1]['gini']:.3f}" in rounds
        ethnicity = _table(answer.text, "audit-ethnicity")
        assert "White" in ethnicity and "<10" in ethnicity  # small counts suppressed, as stored
        # beside the selection: every chosen LSOA is named and links to its hotspot page
        areas = _table(answer.text, "audit-areas")
        for code in result.chosen:
            assert f'href="/hotspots/{code}?unit=lsoa' in areas
        assert "Luton" in areas or "Bedford" in areas  # LSOA names, not only codes
        for code in result.rests_on["without_proactive"]["added"]:
            assert f"({code})" in page  # the area chosen instead, named too
        first = re.search(r'href="(/hotspots/[^"]+)"', areas)
        assert first is not None
        detail = client.get(html.unescape(first.group(1)))
        assert detail.status_code == 200 and result.chosen[0] in detail.text
        # the map links to the audit, and the navigation names it
        home = client.get("/").text
        assert 'href="/audit"' in home and "Audit of the hotspot selection" in home


def test_audit_page_not_run_yet(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "empty.duckdb")
    add_user(ws, ANALYST[0], "analyst", ANALYST[1])
    app = create_app(ws)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        with closing(_client(f"http://127.0.0.1:{port}")) as client:
            answer = client.get("/audit")
            assert answer.status_code == 200
            assert "Not run yet" in answer.text and "<code>gripkit audit</code>" in answer.text
    finally:
        server.should_exit = True
        thread.join(timeout=10)
