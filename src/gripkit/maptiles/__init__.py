"""Background tiles for maps: the checked tile layer (:mod:`.layer`, also the dashboard's) and the
fetch of a static basemap under a matplotlib map (:mod:`.fetch`; offline unless a URL is given)."""

from __future__ import annotations

from gripkit.maptiles.fetch import Basemap, draw_basemap, fetch_basemap
from gripkit.maptiles.layer import TileLayer, tile_layer

__all__ = ["Basemap", "TileLayer", "draw_basemap", "fetch_basemap", "tile_layer"]
