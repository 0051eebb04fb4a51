"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium) against the real server.

Screenshots go to ``tests/artifacts/`` (gitignored). Skipped when Chromium or Playwright is absent;
``.ci/run`` installs both.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard_helpers import PASSWORDS, Server  # isort: skip

CHROMIUM = os.environ.get("GRIPKIT_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

sync_api = pytest.importorskip("playwright.sync_api")
if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    pytest.skip(
        f"no Chromium at {CHROMIUM}; install Debian's chromium (apt-get install chromium)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


def log_in(browser: Any, server: Server, user: str, **context: Any) -> Any:
    """A new page in a fresh context, logged in as ``user`` through the login form."""
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(30_000)
    page.goto(server.url + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user][1])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def features_drawn(page: Any) -> int:
    """Wait for the map script to finish; return the number of features it loaded."""
    page.wait_for_selector("#map.loaded", timeout=60_000)
    return int(page.get_attribute("#map", "data-features"))


def test_analyst_sees_map_filters_and_opens_hotspot(browser: Any, server: Server, artifacts: Path) -> None:
    page = log_in(browser, server, "ana", viewport={"width": 1280, "height": 900})
    assert page.url.rstrip("/") == server.url
    assert features_drawn(page) == 500
    paths = page.locator("#map path.leaflet-interactive")
    assert paths.count() == 500  # every feature is an SVG path on the map
    page.screenshot(path=str(artifacts / "map.png"), full_page=True)

    # filter: burglary in the first quarter of 2024 only
    page.select_option("select[name=crime_type]", ["Burglary"])
    page.select_option("select[name=month_from]", "2024-01")
    page.select_option("select[name=month_to]", "2024-03")
    page.click("#filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "crime_type=Burglary" in page.url
    filtered = features_drawn(page)
    assert 0 < filtered < 500
    assert "2024-01 to 2024-03" in page.inner_text("#map-status")
    page.screenshot(path=str(artifacts / "map_filtered.png"), full_page=True)

    # open a hotspot: click the top polygon, then the link in its popup
    page.locator("#map path.leaflet-interactive").first.click(force=True)
    link = page.locator(".leaflet-popup a.detail-link")
    link.wait_for()
    assert "On or near " in page.inner_text(".leaflet-popup")  # the unit's label (docs/labels.md)
    link.click()
    page.wait_for_load_state("networkidle")
    assert "/hotspots/" in page.url and "crime_type=Burglary" in page.url
    assert page.inner_text("#hotspot-title").startswith("Hotspot On or near ")
    assert "/hotspots/g" in page.url  # links still go by the unit id
    assert page.locator("#trend .bar").count() == 3  # three filtered months
    page.screenshot(path=str(artifacts / "hotspot_detail.png"), full_page=True)


def test_officer_sees_only_own_patrols_on_phone(browser: Any, server: Server, artifacts: Path) -> None:
    page = log_in(
        browser, server, "pc_one", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    assert page.url.endswith("/officer")
    cards = page.locator("#my-patrols li.card")
    shown = {int(cards.nth(i).get_attribute("data-patrol")) for i in range(cards.count())}
    assert set(server.patrols["pc_one"]) <= shown
    assert not shown & set(server.patrols["pc_two"])
    page.screenshot(path=str(artifacts / "officer_phone.png"), full_page=True)

    # record a visit: start, then stop, on the first patrol
    first = server.patrols["pc_one"][1]
    page.goto(f"{server.url}/officer/patrols/{first}")
    page.click("button.start")
    page.wait_for_load_state("networkidle")
    assert "On site" in page.inner_text("#visit-state")
    page.screenshot(path=str(artifacts / "officer_visit.png"), full_page=True)
    page.click("button.stop")
    page.wait_for_load_state("networkidle")
    assert "Not on site" in page.inner_text("#visit-state")

    # another officer's patrol is refused with a plain error page
    response = page.goto(f"{server.url}/officer/patrols/{server.patrols['pc_two'][0]}")
    assert response is not None and response.status == 403
    assert "another officer" in page.inner_text("main")
    # and the analyst map is refused too
    response = page.goto(f"{server.url}/plan")
    assert response is not None and response.status == 403


def test_map_retries_after_busy_answer(browser: Any, server: Server) -> None:
    """Two 503 "busy" answers with Retry-After: 1 (what the server sends when its map queue is full,
    see test_http's busy test): map.js shows the countdown, waits and retries, then draws the map."""
    page = log_in(browser, server, "ana")
    answered: list[int] = []

    def busy_twice(route: Any) -> None:
        if len(answered) < 2:
            answered.append(503)
            route.fulfill(status=503, headers={"Retry-After": "1", "Content-Type": "application/json"},
                          body='{"detail": "the server is computing 4 other maps; retry in a few seconds"}')
        else:
            answered.append(200)
            route.continue_()

    page.route("**/api/hotspots*", busy_twice)
    page.goto(server.url + "/")
    page.wait_for_selector("#map-status.busy")
    assert "retrying in 1 s" in page.inner_text("#map-status")
    assert features_drawn(page) == 500
    assert answered == [503, 503, 200]
    assert page.get_attribute("#map", "data-retries") == "2"
    assert "units shown" in page.inner_text("#map-status")


def test_map_gives_up_after_bounded_retries(browser: Any, server: Server) -> None:
    """Always busy: map.js retries at most 5 times (6 requests) and then shows the server's message."""
    page = log_in(browser, server, "ana")
    answered: list[int] = []

    def always_busy(route: Any) -> None:
        answered.append(503)
        route.fulfill(status=503, headers={"Retry-After": "1", "Content-Type": "application/json"},
                      body='{"detail": "the server is computing 4 other maps"}')

    page.route("**/api/hotspots*", always_busy)
    page.goto(server.url + "/")
    page.wait_for_selector("#map-status.error", timeout=20_000)
    assert len(answered) == 6
    assert page.inner_text("#map-status").startswith("Could not load hotspots")
    assert "computing 4 other maps" in page.inner_text("#map-status")
