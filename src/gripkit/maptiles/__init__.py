"""Background tiles for maps: the checked tile layer (:mod:`.layer`, also the dashboard's) and the
fetch of a static basemap under a matplotlib map (:mod:`.fetch`; offline unless a URL is given).

Names are imported on first use: the CLI and the dashboard import :mod:`.layer` without loading
numpy or matplotlib."""

from __future__ import annotations

from typing import Any

__all__ = ["Basemap", "TileLayer", "draw_basemap", "fetch_basemap", "tile_layer"]


def __getattr__(name: str) -> Any:
    if name in ("Basemap", "draw_basemap", "fetch_basemap"):
        from gripkit.maptiles import fetch

        return getattr(fetch, name)
    if name in ("TileLayer", "tile_layer"):
        from gripkit.maptiles import layer

        return getattr(layer, name)
    raise AttributeError(f"module 'gripkit.maptiles' has no attribute {name!r}")
