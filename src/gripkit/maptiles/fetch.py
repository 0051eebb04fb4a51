"""A static basemap: the tiles of a checked layer over a map's view, fetched once, drawn under it.

Static maps are offline by default: nothing is fetched unless a tile URL is given (``--tiles`` of
``gripkit hotspots --html`` and ``gripkit report``). Then :func:`fetch_basemap` asks the tile server
for the Web Mercator tiles (EPSG:3857, 256 px, the OSM "slippy map" numbering) covering the view at
the zoom that gives the figure about one tile pixel per image pixel (at most :data:`MAX_TILES` tiles),
with a short timeout. The mosaic is resampled (nearest pixel) onto the map's metre CRS, so the map
stays in British National Grid, north up. When the server cannot be reached or answers with
something that is not an image, the map is drawn without tiles and a warning says why (the offline
fallback). The layer's attribution is written on the map (:func:`draw_basemap`).

Plain ``urllib`` and Pillow: contextily would pull in rasterio and GDAL wheels for the same mosaic.
"""

from __future__ import annotations

import io
import logging
import math
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from gripkit.maptiles.layer import TileLayer

__all__ = ["MAX_TILES", "Basemap", "draw_basemap", "fetch_basemap", "tile_range", "tile_url"]

log = logging.getLogger("gripkit")

#: Most tiles fetched for one map (the zoom is lowered until the view needs no more).
MAX_TILES = 64
#: Seconds to wait for each tile.
TIMEOUT_S = 4.0
MAX_ZOOM = 19
TILE_PX = 256
MAX_TILE_BYTES = 2_000_000
_HALF = math.pi * 6378137.0  # half the Web Mercator world width, metres (EPSG:3857)
_AGENT = "gripkit static map (https://github.com/gripkit)"


@dataclass(frozen=True)
class Basemap:
    """Tiles resampled onto a map's view: RGBA ``image`` (row 0 at the top) on ``extent``."""

    image: np.ndarray
    extent: tuple[float, float, float, float]  # left, right, bottom, top in the map's CRS
    attribution: str
    zoom: int
    tiles: int


def tile_url(layer: TileLayer, z: int, x: int, y: int) -> str:
    """The URL of tile ``z/x/y`` (XYZ numbering; ``{-y}`` is the TMS row, ``{s}`` cycles the subdomains).

    >>> from gripkit.maptiles.layer import tile_layer
    >>> tile_url(tile_layer("https://{s}.tiles.example/{z}/{x}/{-y}.png"), 3, 4, 2)
    'https://a.tiles.example/3/4/5.png'
    """
    url = layer.url.replace("{-y}", str(2**z - 1 - y)).replace("{y}", str(y))
    url = url.replace("{z}", str(z)).replace("{x}", str(x)).replace("{r}", "")
    if "{s}" in url:
        url = url.replace("{s}", layer.subdomains[(x + y) % len(layer.subdomains)])
    return url


def tile_range(
    merc: Sequence[float], width_px: int, max_tiles: int = MAX_TILES
) -> tuple[int, int, int, int, int]:
    """``(z, x0, x1, y0, y1)``: the zoom and the tile columns and rows (inclusive) covering the Web
    Mercator box ``merc``, at about ``width_px`` tile pixels across it and at most ``max_tiles`` tiles.

    >>> tile_range((0.0, 0.0, 1.0, 1.0), 256)[0]  # a 1 m box: the deepest zoom
    19
    >>> tile_range((-_HALF, -_HALF, _HALF, _HALF), 256)  # the whole world at 256 px: one tile
    (0, 0, 0, 0, 0)
    """
    left, bottom, right, top = merc
    want = width_px * 2 * _HALF / (TILE_PX * max(right - left, 1e-9))
    z = int(min(max(math.ceil(math.log2(want)), 0), MAX_ZOOM))
    while True:
        n = 2**z
        x0, x1 = (int(np.clip(math.floor((v + _HALF) / (2 * _HALF) * n), 0, n - 1)) for v in (left, right))
        y0, y1 = (int(np.clip(math.floor((_HALF - v) / (2 * _HALF) * n), 0, n - 1)) for v in (top, bottom))
        if (x1 - x0 + 1) * (y1 - y0 + 1) <= max_tiles or z == 0:
            return z, x0, x1, y0, y1
        z -= 1


def fetch_basemap(
    layer: TileLayer,
    bounds: Sequence[float],
    crs: Any,
    *,
    width_px: int = 900,
    timeout: float = TIMEOUT_S,
) -> Basemap | None:
    """The tiles of ``layer`` over ``bounds`` (in the metre CRS ``crs``), or None (logged) when the tile
    server cannot be reached or sends something other than images: the map is then drawn without."""
    import pyproj
    from PIL import Image

    x0, y0, x1, y1 = (float(v) for v in bounds)
    to_merc = pyproj.Transformer.from_crs(crs, 3857, always_xy=True)
    merc = to_merc.transform_bounds(x0, y0, x1, y1, densify_pts=21)
    z, tx0, tx1, ty0, ty1 = tile_range(merc, width_px)
    wanted = [(x, y) for y in range(ty0, ty1 + 1) for x in range(tx0, tx1 + 1)]

    def get(xy: tuple[int, int]) -> np.ndarray:
        url = tile_url(layer, z, *xy)
        request = urllib.request.Request(url, headers={"User-Agent": _AGENT})
        with urllib.request.urlopen(request, timeout=timeout) as response:  # the layer is http(s) only
            body = response.read(MAX_TILE_BYTES + 1)
        if len(body) > MAX_TILE_BYTES:
            raise ValueError(f"tile {url} is larger than {MAX_TILE_BYTES:,} bytes")
        with Image.open(io.BytesIO(body)) as image:
            return np.asarray(image.convert("RGBA").resize((TILE_PX, TILE_PX)))

    host = layer.origins[0]
    try:
        first = get(wanted[0])  # one tile first: an unreachable server costs one timeout, not many
        with ThreadPoolExecutor(max_workers=8) as pool:
            rest = list(pool.map(get, wanted[1:]))
    except (urllib.error.URLError, OSError, ValueError) as exc:  # timeouts are OSError; PIL raises OSError
        log.warning("static map drawn without tiles: %s did not serve them (%s)", host, exc)
        return None
    nx, ny = tx1 - tx0 + 1, ty1 - ty0 + 1
    mosaic = np.zeros((ny * TILE_PX, nx * TILE_PX, 4), dtype=np.uint8)
    for (x, y), tile in zip(wanted, [first, *rest], strict=True):
        r, c = (y - ty0) * TILE_PX, (x - tx0) * TILE_PX
        mosaic[r : r + TILE_PX, c : c + TILE_PX] = tile
    height_px = max(round(width_px * (y1 - y0) / (x1 - x0)), 1)
    xs = x0 + (np.arange(width_px) + 0.5) * (x1 - x0) / width_px
    ys = y1 - (np.arange(height_px) + 0.5) * (y1 - y0) / height_px  # row 0 at the top
    gx, gy = np.meshgrid(xs, ys)
    mx, my = to_merc.transform(gx, gy)
    n = 2**z
    col = np.floor(((mx + _HALF) / (2 * _HALF) * n - tx0) * TILE_PX).astype(np.int64)
    row = np.floor(((_HALF - my) / (2 * _HALF) * n - ty0) * TILE_PX).astype(np.int64)
    inside = (col >= 0) & (col < mosaic.shape[1]) & (row >= 0) & (row < mosaic.shape[0])
    image = np.zeros((height_px, width_px, 4), dtype=np.uint8)
    image[inside] = mosaic[row[inside], col[inside]]
    log.info("static map: %d tiles at zoom %d from %s", len(wanted), z, host)
    return Basemap(image, (x0, x1, y0, y1), layer.attribution or f"Tiles: {host}", z, len(wanted))


def draw_basemap(ax: Axes, basemap: Basemap | None) -> None:
    """Draw the tiles under everything else on ``ax`` (zorder 0), their attribution bottom right."""
    if basemap is None:
        return
    ax.imshow(basemap.image, extent=basemap.extent, origin="upper", zorder=0, interpolation="antialiased")
    box = {"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 1.5}
    ax.text(0.995, 0.005, basemap.attribution, transform=ax.transAxes, ha="right", va="bottom", fontsize=6.5,
            color="#333333", zorder=9, bbox=box)  # fmt: skip
