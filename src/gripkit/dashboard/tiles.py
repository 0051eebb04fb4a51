"""The dashboard's tile layer: the checked URL template of :mod:`gripkit.maptiles.layer` (moved there so
the static maps of the report can use it without importing the dashboard)."""

from __future__ import annotations

from gripkit.maptiles.layer import (
    MAX_ATTRIBUTION,
    MAX_LISTED,
    MAX_URL,
    NO_TILES,
    OSM_ATTRIBUTION,
    OSM_ATTRIBUTION_URL,
    OSM_URL,
    SUBDOMAINS,
    TileLayer,
    check_attribution,
    check_subdomains,
    check_url,
    tile_layer,
)

__all__ = [
    "MAX_ATTRIBUTION",
    "MAX_LISTED",
    "MAX_URL",
    "NO_TILES",
    "OSM_ATTRIBUTION",
    "OSM_ATTRIBUTION_URL",
    "OSM_URL",
    "SUBDOMAINS",
    "TileLayer",
    "check_attribution",
    "check_subdomains",
    "check_url",
    "tile_layer",
]
