"""Static-map tiles (gripkit.maptiles.fetch) from a local tile server started here, never the internet;
and the offline fallback when no server answers."""

from __future__ import annotations

import logging
import math
import socket
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from gripkit.maptiles.fetch import fetch_basemap
from gripkit.maptiles.layer import tile_layer
from gripkit.report.context import map_context

from static_map_helpers import leeds_hotspots  # isort: skip
from tile_helpers import TILE, tile_server  # isort: skip

#: tests/dashboard/tile_helpers.tile_png's background colour
TILE_GREEN = (214, 232, 206)


def slippy(lat: float, lon: float, z: int) -> tuple[int, int]:
    """Tile of a point: the OSM wiki's "Slippy map tilenames" formula (independent of gripkit's code)."""
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    return x, y


def test_tiles_cover_the_view_and_include_the_tile_of_its_centre() -> None:
    # 4 km around Bedford town centre (52.136 N, 0.467 W; BNG 505,019 249,741 by pyproj)
    bounds = (502_960.0, 247_700.0, 506_960.0, 251_700.0)
    with tile_server() as tiles:
        basemap = fetch_basemap(tile_layer(tiles.template, "Test tiles"), bounds, "EPSG:27700", width_px=600)
    assert basemap is not None and basemap.attribution == "Test tiles"
    asked = {TILE.match(path).groups() for path, _ in tiles.requests}  # type: ignore[union-attr]
    assert len(asked) == basemap.tiles <= 64
    x, y = slippy(52.136, -0.467, basemap.zoom)
    assert (str(basemap.zoom), str(x), str(y)) in asked
    # 600 px over 4 km wants about 600 / 256 tiles across: 4 km is 2**z * 256 / 40,075 km * cos(lat) px
    pixels = 4.0 / (40_075.0 * math.cos(math.radians(52.136))) * 2**basemap.zoom * 256
    assert 600 <= pixels < 1200
    # every pixel of the view is a tile pixel, most of them the tiles' green
    assert basemap.image.shape == (600, 600, 4) and (basemap.image[..., 3] == 255).all()
    green = (basemap.image[..., :3] == TILE_GREEN).all(axis=-1).mean()
    assert green > 0.8


def test_unreachable_tile_server_leaves_the_tiles_out_with_a_warning(
    shared_data: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ranked = leeds_hotspots(shared_data("leeds", "leeds_centre_osm_roads.gpkg"), side=6)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="gripkit"):
        context = map_context(ranked, tiles=f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png")
    assert time.monotonic() - started < 10
    assert context is not None and context.basemap is None and context.credits == ()
    assert "without tiles" in caplog.text and f"127.0.0.1:{port}" in caplog.text


def test_no_tiles_unless_asked(shared_data: Callable[..., Path]) -> None:
    ranked = leeds_hotspots(shared_data("leeds", "leeds_centre_osm_roads.gpkg"), side=6)
    context = map_context(ranked)
    assert context is not None and context.basemap is None and not context.backdrop
    assert context.forces == ("West Yorkshire",)  # Leeds lies in West Yorkshire's police force area
    assert np.isfinite(context.bounds).all()


def test_cli_hotspots_html_and_report_draw_roads_and_tiles(
    tmp_path: Path, shared_data: Callable[..., Path]
) -> None:
    from typer.testing import CliRunner

    from gripkit import Workspace, datasets
    from gripkit.cli import app
    from gripkit.ingestion import ingest

    workspace = tmp_path / "gripkit.duckdb"
    with Workspace(workspace) as ws:  # the 12 bundled months of Bedfordshire street crime (police.uk)
        ingest(datasets.bedfordshire_street_files(), ws)
    roads = str(
        shared_data("cleveland", "cleveland_roads.gpkg")
    )  # OS roads (outside Bedfordshire: credit only)
    runner = CliRunner()
    with tile_server() as tiles:
        extra = ["--roads", roads, "--tiles", tiles.template, "--tiles-attribution", "© Test tiles"]
        page = tmp_path / "hotspots.html"
        found = runner.invoke(app, ["hotspots", "-w", str(workspace), "-o", str(tmp_path / "h.gpkg"),
                                    "--html", str(page), *extra])  # fmt: skip
        assert found.exit_code == 0, found.output
        served = tiles.tiles_served()
        report = tmp_path / "report.html"
        made = runner.invoke(app, ["report", "-w", str(workspace), "-o", str(report), *extra])
        assert made.exit_code == 0, made.output
    assert served > 0 and tiles.tiles_served() > served  # both commands fetched tiles
    for text in (page.read_text(encoding="utf-8"), report.read_text(encoding="utf-8")):
        assert "Roads: contains OS data © Crown copyright" in text and "Map tiles: © Test tiles" in text
    refused = runner.invoke(
        app, ["hotspots", "-w", str(workspace), "-o", str(tmp_path / "x.gpkg"), "--roads", roads]
    )
    assert refused.exit_code != 0 and "without --html" in str(refused.exception)
