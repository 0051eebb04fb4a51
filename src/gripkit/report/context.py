"""What every static hotspot map shows besides the units: the force outline, LSOA boundaries, the
top hotspots labelled, roads and tiles when given, north arrow and scale bar (:func:`draw_context`).

Rules (docs/report.md, "Map context"):

* force outline: each police force area (:func:`gripkit.datasets.force_areas`) holding at least 1%
  of the units with harm (their representative points);
* LSOA boundaries: the bundled LSOA 2011 polygons of those forces (:func:`gripkit.datasets.lsoa_2011`),
  when the view is at most :data:`LSOA_MAX_KM` across; their names only when it is at most
  :data:`LSOA_NAMES_MAX_KM` across (a town-centre LSOA is then some 100 px wide on the 7.5 inch
  figure, room for an 8 pt name);
* labels: the :data:`N_LABELS` units of highest harm rank with harm, by rank and their ``label``
  (its street: no "On or near", no LSOA after a comma);
* roads (``roads``) are read once, clipped to the view; tiles (``tiles``) are fetched once
  (:func:`gripkit.maptiles.fetch_basemap`), none by default.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from gripkit import columns as col
from gripkit import datasets
from gripkit.mapcontext import draw_context, read_roads, road_attribution
from gripkit.maptiles.fetch import Basemap, draw_basemap, fetch_basemap
from gripkit.maptiles.layer import tile_layer

__all__ = ["LSOA_MAX_KM", "LSOA_NAMES_MAX_KM", "N_LABELS", "MapContext", "map_context"]

log = logging.getLogger("gripkit")

N_LABELS = 5
LSOA_MAX_KM = 80.0
LSOA_NAMES_MAX_KM = 8.0
#: share of the harm-bearing units a force must hold to be outlined
FORCE_SHARE = 0.01
FORCE_COLOUR = "#6c3483"
_SAMPLE = 5000
_PAD = 0.03


@dataclass(frozen=True)
class MapContext:
    """The layers drawn under and over a map's units, read once for every map of one page."""

    bounds: tuple[float, float, float, float]
    crs: Any
    forces: tuple[str, ...] = ()
    outline: gpd.GeoSeries | None = None
    lsoa: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    labels: list[tuple[float, float, str]] = field(default_factory=list)
    basemap: Basemap | None = None
    credits: tuple[str, ...] = ()

    @property
    def backdrop(self) -> bool:
        """Roads or tiles lie under the units (zero-harm units are then left clear)."""
        return self.roads is not None or self.basemap is not None

    def draw(self, ax: Axes) -> None:
        """Tiles under everything, then roads, LSOAs, force outline, labels, north arrow, scale bar."""
        draw_basemap(ax, self.basemap)
        if self.outline is not None:  # a line, not draw_context's filled subject: it would tint the map
            self.outline.plot(ax=ax, color=FORCE_COLOUR, linewidth=1.6, zorder=4)
        draw_context(
            ax, bounds=self.bounds, crs=self.crs, lsoa=self.lsoa, roads=self.roads, labels=self.labels
        )


def map_context(
    ranked: gpd.GeoDataFrame,
    *,
    roads: Any = None,
    tiles: str | None = None,
    tiles_attribution: str | None = "",
) -> MapContext | None:
    """The context of the maps of ``ranked`` (units sorted by harm rank, in a metre CRS); None without
    a CRS or polygons. ``roads``: a line file or frame (:func:`gripkit.mapcontext.read_roads`);
    ``tiles``: a tile URL template (checked as ``gripkit serve --tiles``), fetched with a short timeout
    and left out (with a warning) when the server cannot be reached."""
    if ranked.crs is None or not ranked.geometry.notna().any():
        return None
    crs = ranked.crs
    x0, y0, x1, y1 = (float(v) for v in ranked.geometry.total_bounds)
    pad = _PAD * max(x1 - x0, y1 - y0, 100.0)
    bounds = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    width_km = (bounds[2] - bounds[0]) / 1000
    forces, outline = _forces(ranked)
    lsoa = _lsoa(forces, crs, bounds, width_km)
    credits = []
    road_frame = None
    if roads is not None:
        road_frame = read_roads(roads, crs, bounds=bounds)
        credits.append(road_attribution(roads))
    layer = tile_layer(tiles, tiles_attribution)
    basemap = None if layer is None else fetch_basemap(layer, bounds, crs)
    if basemap is not None:
        credits.append(f"Map tiles: {basemap.attribution}")
    labels = _labels(ranked)
    return MapContext(bounds, crs, forces, outline, lsoa, road_frame, labels, basemap, tuple(credits))


def _forces(ranked: gpd.GeoDataFrame) -> tuple[tuple[str, ...], gpd.GeoSeries | None]:
    with_harm = ranked[ranked[col.HARM].to_numpy(dtype=float) > 0].iloc[:_SAMPLE]
    if with_harm.empty:
        return (), None
    areas = datasets.force_areas()
    points = gpd.GeoDataFrame(geometry=with_harm.geometry.representative_point(), crs=ranked.crs)
    joined = gpd.sjoin(points.to_crs(areas.crs), areas[["police_force", "geometry"]], predicate="within")
    counts = joined["police_force"].value_counts()
    names = tuple(sorted(str(n) for n in counts.index[counts >= FORCE_SHARE * len(points)]))
    if not names:
        return (), None
    shapes = areas[areas["police_force"].isin(names)].to_crs(ranked.crs)
    return names, gpd.GeoSeries(shapes.geometry.boundary.to_numpy(), crs=ranked.crs)


def _lsoa(forces: tuple[str, ...], crs: Any, bounds: tuple[float, ...], width_km: float) -> Any:
    if not forces or width_km > LSOA_MAX_KM:
        return None
    frame = datasets.lsoa_2011(forces)
    if frame.empty:
        return None
    frame = frame.to_crs(crs).cx[bounds[0] : bounds[2], bounds[1] : bounds[3]]
    return frame if width_km <= LSOA_NAMES_MAX_KM else frame[["geometry"]]


def _labels(ranked: gpd.GeoDataFrame) -> list[tuple[float, float, str]]:
    top = ranked[ranked[col.HARM].to_numpy(dtype=float) > 0].iloc[:N_LABELS]
    points = top.geometry.representative_point()
    names = top[col.LABEL] if col.LABEL in top.columns else pd.Series(None, index=top.index, dtype=object)
    out: list[tuple[float, float, str]] = []
    heads: list[int] = []  # the point whose label names each point
    width = float(ranked.geometry.total_bounds[2] - ranked.geometry.total_bounds[0]) or 1.0
    for point, rank, name, unit in zip(points, top[col.HARM_RANK], names, top[col.UNIT_ID], strict=True):
        if point is None or point.is_empty:
            continue
        named = isinstance(name, str) and bool(name.strip())
        # "On or near Flowers Way, Luton 021G" -> "Flowers Way": the place; the table gives the rest
        text = name.removeprefix("On or near ").split(", ")[0].strip() if named else str(unit)
        text = text if len(text) <= 32 else text[:31] + "…"
        x, y, text = float(point.x), float(point.y), f"{int(rank)}. {text}"
        near = next((i for i, (a, b, _) in enumerate(out) if abs(a - x) + abs(b - y) < width / 6), None)
        if near is None:
            heads.append(len(out))
            out.append((x, y, text))
        else:  # close to a star already placed: its group's one label names both, a star alone here
            head = heads[near]
            a, b, first = out[head]
            out[head] = (a, b, f"{first}\n{text}")
            heads.append(head)
            out.append((x, y, ""))
    return out


def clear_zero(colours: np.ndarray, harm: np.ndarray, context: MapContext | None) -> np.ndarray:
    """``colours`` with zero-harm units transparent when roads or tiles lie under them."""
    if context is not None and context.backdrop:
        colours = colours.copy()
        colours[harm <= 0] = (0.0, 0.0, 0.0, 0.0)
    return colours
