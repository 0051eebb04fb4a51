"""The map's computation limits and month rule, over the real server of ``conftest.server``.

* A new map query while the server already computes ``COMPUTE_SLOTS + COMPUTE_QUEUE`` maps, or
  while the session has one going, is answered 503 "busy" with ``Retry-After`` (what map.js waits
  for: see test_browser's retry tests) and starts nothing.
* Maps are computed in a spawned worker process, not in the server's.
* The map's months follow ingest's rule (:func:`gripkit.ingestion.checks.month_bounds`): a month
  ingest would quarantine as ``bad_month`` is refused with 400 naming the filter.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import date

import httpx
import pytest

from gripkit.dashboard import data, state
from gripkit.errors import InputError
from gripkit.ingestion.checks import month_bounds

from dashboard_helpers import Server  # isort: skip

Client = Callable[[str], httpx.Client]


@pytest.fixture
def dashboard(server: Server) -> Iterator[state.DashboardState]:
    found: state.DashboardState = server.app.state.dashboard
    yield found
    with found._mutex:  # whatever a test left pending
        for key in [k for k in found._computing if k[0] == "test"]:
            del found._computing[key]
        found._owners = {k: v for k, v in found._owners.items() if not k.startswith("test")}


def test_full_queue_is_answered_busy_with_retry_after(
    as_user: Client, dashboard: state.DashboardState
) -> None:
    full = state.COMPUTE_SLOTS + state.COMPUTE_QUEUE
    with dashboard._mutex:
        for i in range(full):
            dashboard._computing[("test", i)] = Future()
    response = as_user("ana").get("/api/hotspots", params={"month_from": "2024-02", "limit": 3})
    assert response.status_code == 503, response.text[:200]
    assert response.headers["Retry-After"] == str(state.RETRY_AFTER_S)
    assert f"computing {full} other maps" in response.json()["detail"]
    assert len(dashboard._computing) == full  # nothing was started


def test_second_map_of_one_session_is_answered_busy(
    as_user: Client, dashboard: state.DashboardState
) -> None:
    client = as_user("ana")
    token = client.cookies["gripkit_session"]
    with dashboard._mutex:
        dashboard._owners[token] = state.PER_SESSION
    try:
        response = client.get("/api/hotspots", params={"month_from": "2024-03", "limit": 3})
    finally:
        with dashboard._mutex:
            del dashboard._owners[token]
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert "your previous map is still being computed" in response.json()["detail"]
    # once it is done the same query is computed
    again = client.get("/api/hotspots", params={"month_from": "2024-03", "limit": 3})
    assert again.status_code == 200 and len(again.json()["features"]) == 3


def test_maps_are_computed_in_a_worker_process(as_user: Client, dashboard: state.DashboardState) -> None:
    assert dashboard.settings.map_workers == 1
    response = as_user("ana").get("/api/hotspots", params={"month_from": "2024-04", "method": "gistar"})
    assert response.status_code == 200
    pool = state.map_pool(1)
    pids = set(pool._processes)  # the pool's live worker processes
    assert pids and os.getpid() not in pids
    assert pool.submit(os.getpid).result() in pids


def test_month_bounds_are_ingests() -> None:
    first, last = month_bounds()
    assert data.month_text("month_from", f"{first:%Y-%m}") == f"{first:%Y-%m}" == "1990-01"
    assert data.month_text("month_to", f"{last:%Y-%m}") == f"{last:%Y-%m}"
    after = date(last.year + last.month // 12, last.month % 12 + 1, 1)
    for month in ("1989-12", f"{after:%Y-%m}", "1900-01", "2099-12", "0000-01"):
        with pytest.raises(InputError, match=r"'month_to' must be a month YYYY-MM from 1990-01 .*bad_month"):
            data.month_text("month_to", month)


@pytest.mark.parametrize("month", ["1989-12", "2099-12", "1900-01"])
def test_impossible_month_refused_by_the_api(as_user: Client, month: str) -> None:
    response = as_user("ana").get("/api/hotspots", params={"month_from": month})
    assert response.status_code == 400
    assert "'month_from' must be a month YYYY-MM from 1990-01" in response.json()["detail"]
