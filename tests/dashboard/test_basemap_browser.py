"""The basemap in a real browser: the real ``gripkit serve`` with ``--tiles`` pointing at a local tile
server, Chromium (Playwright) logging in and opening the map.

Skipped without Chromium or Playwright, as tests/dashboard/test_browser.py. The screenshot goes to
``tests/artifacts/basemap.png`` (gitignored).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from test_browser import CHROMIUM, FLAGS, features_drawn, log_in, sync_api  # isort: skip
from tile_helpers import TILE, bundled_workspace, gripkit_serve, tile_server, wait_for  # isort: skip

#: markup in the attribution: it must show as typed, not become an element
ATTRIBUTION = '<img src=x id=injected onerror="window.pwned=1"> © Test tiles'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


def test_map_shows_tiles_from_the_tile_server_under_the_hotspots(
    browser: Any, tmp_path: Path, artifacts: Path
) -> None:
    workspace = bundled_workspace(tmp_path / "gripkit.duckdb")
    with tile_server() as tiles:
        args = ["--tiles", tiles.template, "--tiles-attribution", ATTRIBUTION]
        args += ["--tiles-attribution-url", tiles.url + "/copyright"]
        with gripkit_serve(workspace, *args) as served:
            page = log_in(
                browser, SimpleNamespace(url=served.url), "ana", viewport={"width": 1280, "height": 900}
            )
            assert features_drawn(page) == 500  # the hotspots are drawn (test_browser.py's count)
            # Leaflet marks each tile image loaded once the browser decoded it
            wait_for(lambda: page.locator("img.leaflet-tile-loaded").count() >= 4, timeout=30)
            page.wait_for_load_state("networkidle")
            loaded = page.evaluate(
                "() => Array.from(document.querySelectorAll('img.leaflet-tile')).map("
                "i => [i.src, i.complete, i.naturalWidth, i.classList.contains('leaflet-tile-loaded')])"
            )
            failed = page.get_attribute("#map", "data-tiles-failed")
            credit = page.locator(".leaflet-control-attribution")
            credit_text = credit.inner_text()
            credit_link = credit.locator(f"a[href='{tiles.url}/copyright']")
            link_text = credit_link.inner_text() if credit_link.count() == 1 else None
            injected = page.locator(".leaflet-control-attribution img, #injected").count()
            pwned = page.evaluate("() => window.pwned === undefined")
            page.screenshot(path=str(artifacts / "basemap.png"), full_page=True)
            page.context.close()
    served_tiles = [(path, referer) for path, referer in tiles.requests if TILE.match(path)]
    assert served_tiles, "the tile server got no tile requests"
    assert len(served_tiles) == tiles.tiles_served()
    # every tile the map shows came from the tile server, loaded as a 256 px PNG
    shown = [row for row in loaded if row[3]]
    assert len(shown) >= 4 and failed is None
    assert all(src.startswith(tiles.url + "/") and done and width == 256 for src, done, width, _ in shown)
    requested = {tiles.url + path for path, _ in served_tiles}
    assert {src for src, *_ in shown} <= requested
    # the map fitted the hotspots, so the tiles of Bedford and Luton town centres were asked for at
    # the map's zoom; tile numbers by the OSM wiki's "Slippy map tilenames" formula
    z = max(int(TILE.match(path).group(1)) for path, _ in served_tiles)  # type: ignore[union-attr]
    for lat, lon in ((52.136, -0.467), (51.879, -0.417)):  # Bedford, Luton (town centres)
        x = int((lon + 180) / 360 * 2**z)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
        assert f"/{z}/{x}/{y}.png" in {path for path, _ in served_tiles}, (z, x, y)
    # the tiles were asked for with the dashboard's origin as Referer (strict-origin), which tile
    # servers such as OpenStreetMap's require; the page's own policy (same-origin) would send none
    assert {referer for _, referer in served_tiles} == {served.url + "/"}
    # the attribution is text: the markup shows as typed, inside the provider's link
    assert ATTRIBUTION in credit_text and link_text == ATTRIBUTION
    assert injected == 0 and pwned
