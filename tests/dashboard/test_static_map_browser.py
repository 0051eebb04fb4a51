"""A hotspot page (``write_hotspot_page``, as ``gripkit hotspots --html`` writes it) with its map
context, OpenStreetMap roads of Leeds and tiles from a local tile server, opened in headless Chromium.

Skipped without Chromium or Playwright, as tests/dashboard/test_browser.py. The screenshot goes to
``tests/artifacts/static_map.png`` (gitignored).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from gripkit.hotspots.concentration import concentration
from gripkit.report import write_hotspot_page

from static_map_helpers import leeds_hotspots  # isort: skip
from test_browser import CHROMIUM, FLAGS, sync_api  # isort: skip
from test_static_tiles import TILE_GREEN  # isort: skip
from tile_helpers import tile_server  # isort: skip


def test_hotspot_page_map_shows_context_roads_and_tiles(
    tmp_path: Path, artifacts: Path, shared_data: Callable[..., Path]
) -> None:
    roads = shared_data("leeds", "leeds_centre_osm_roads.gpkg")
    ranked = leeds_hotspots(roads)
    conc = concentration(ranked["harm"], ranked["area_m2"], counts=ranked["crimes"])
    out = tmp_path / "hotspots.html"
    with tile_server() as tiles:
        write_hotspot_page(out, ranked, conc, title="Leeds centre (synthetic harm)", meta={"months": "test"},
                           roads=roads, tiles=tiles.template, tiles_attribution="© Test tiles")  # fmt: skip
    assert tiles.tiles_served() > 0
    page_html = out.read_text(encoding="utf-8")
    # the licences of what the map shows, in the footer
    assert "Roads © OpenStreetMap contributors (ODbL)." in page_html
    assert "Map tiles: © Test tiles" in page_html
    # the map image: tile green shows where no unit has harm (left clear over the backdrop)
    uri = re.search(r'<img src="data:image/png;base64,([^"]+)" alt="Map of units', page_html)
    assert uri is not None
    picture = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.group(1)))).convert("RGB"))
    assert (picture == TILE_GREEN).all(axis=-1).mean() > 0.02
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(out.as_uri())
        width = page.evaluate("() => document.querySelector('figure img').naturalWidth")
        page.locator("figure").first.screenshot(path=str(artifacts / "static_map.png"))
        page.screenshot(path=str(artifacts / "static_page.png"))
        browser.close()
    assert width > 500  # the map decoded in the browser
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []  # the page is offline
