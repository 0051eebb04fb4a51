"""Context for static maps: LSOA boundaries and names, streets and their names, labelled points, north
arrow and scale bar, drawn with matplotlib alone (no tiles, no network).

:func:`draw_context` is the one call a page makes::

    fig, ax = plt.subplots()
    draw_context(ax, bounds=(x0, y0, x1, y1), crs="EPSG:27700", lsoa=lsoas, roads="roads.gpkg",
                 labels=[(x, y, "Meet here")], outline=area_polygon)

Roads are read with the street-segment reader (:mod:`gripkit.units.segments`), so the same files
work: OpenStreetMap (``name``, ``ref``, ``highway``) and Ordnance Survey roads (``name``,
``road_number``, ``classification``). Street names are ``"George Street (A6)"``
(:func:`~gripkit.units.segments.street_name`). The map is drawn in ``crs`` (a metre CRS), north up:
on the British National Grid grid north is within 3° of true north everywhere in Great Britain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from shapely.geometry.base import BaseGeometry

from gripkit.errors import InputError
from gripkit.units.base import metre_crs
from gripkit.units.segments import _network_crs, _read_network, _street_names

STREET = "street"
KIND = "kind"
#: OpenStreetMap ``highway`` and OS ``classification`` values drawn as main roads (wider, yellow).
MAJOR_ROADS: frozenset[str] = frozenset(
    {"motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link", "secondary",
     "secondary_link", "tertiary", "tertiary_link", "Motorway", "A Road", "B Road",
     "A Road Primary", "Motorway, Collapsed Dual Carriageway", "A Road, Collapsed Dual Carriageway",
     "B Road, Collapsed Dual Carriageway"}
)  # fmt: skip
#: OpenStreetMap ``highway`` values drawn as thin paths (no casing) and never a meeting street.
PATHS: frozenset[str] = frozenset(
    {"footway", "path", "cycleway", "steps", "bridleway", "track", "corridor", "service", "platform"}
)
#: Most street names written on one map (the longest named streets in view).
MAX_STREET_NAMES = 10
_NAME_COLUMNS = ("label", "lsoa21nm", "lsoa11nm", "name")
_HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]


def read_roads(
    source: Any, crs: Any = "EPSG:27700", *, bounds: Sequence[float] | None = None
) -> gpd.GeoDataFrame:
    """Roads as ``street`` (name or NA), ``kind`` (``major``, ``street`` or ``path``: see
    :data:`MAJOR_ROADS`, :data:`PATHS`) and line geometry in ``crs``.

    ``source``: a line file (GeoPackage, shapefile, ...) or a GeoDataFrame, read as street segments
    read it (:mod:`gripkit.units.segments`). ``bounds`` (in ``crs``) keeps only roads touching that
    box. A frame already read by this function is returned as it is (clipped to ``bounds``).

    >>> import shapely
    >>> roads = gpd.GeoDataFrame({"name": ["High Street", None], "highway": ["primary", "service"]},
    ...                          geometry=[shapely.LineString([(0, 0), (9, 0)])] * 2, crs=27700)
    >>> read_roads(roads)[["street", "kind"]].values.tolist()
    [['High Street', 'major'], [<NA>, 'path']]
    """
    if isinstance(source, gpd.GeoDataFrame) and {STREET, KIND} <= set(source.columns):
        frame = (
            source if source.crs is None or metre_crs("crs", crs).equals(source.crs) else source.to_crs(crs)
        )
    else:
        raw, _ = _read_network(source, None)
        raw, _ = _network_crs(raw, crs)
        names, _ = _street_names(raw)
        column = next((c for c in ("highway", "classification", "class") if c in raw.columns), None)
        kinds = raw[column].astype("string") if column else pd.Series(pd.NA, index=raw.index, dtype="string")
        kind = np.where(kinds.isin(MAJOR_ROADS).fillna(False), "major", "street").astype(object)
        kind[kinds.isin(PATHS).fillna(False).to_numpy(dtype=bool)] = "path"
        columns = {STREET: pd.array(names, dtype="string"), KIND: kind}
        frame = gpd.GeoDataFrame(columns, geometry=raw.geometry.to_numpy(), crs=raw.crs)
    if bounds is not None:
        x0, y0, x1, y1 = bounds
        frame = frame.cx[x0:x1, y0:y1]
    return frame.reset_index(drop=True)


def road_attribution(source: Any) -> str:
    """The licence line a map with these roads must carry (OpenStreetMap's ODbL, or OS open data)."""
    columns = set(source.columns) if isinstance(source, pd.DataFrame) else set()
    if isinstance(source, str | Path) and Path(source).exists():
        import pyogrio

        columns = set(pyogrio.read_info(source)["fields"])
    if {"highway", "osm_id"} & columns:
        return "Roads © OpenStreetMap contributors (ODbL)."
    return "Roads: contains OS data © Crown copyright and database right (Open Government Licence v3.0)."


def nearest_street(
    point: BaseGeometry, roads: gpd.GeoDataFrame, max_m: float = 250.0
) -> tuple[str, float] | None:
    """The named street nearest ``point`` (same CRS, from :func:`read_roads`) and its distance in metres.

    Paths (:data:`PATHS`) do not count. None when no named street lies within ``max_m`` metres.

    >>> import shapely
    >>> roads = read_roads(gpd.GeoDataFrame({"name": ["A Street", None, "B Road"]}, crs=27700,
    ...     geometry=[shapely.LineString([(0, 0), (0, 9)]), shapely.LineString([(4, 0), (4, 9)]),
    ...               shapely.LineString([(9, 0), (9, 9)])]))
    >>> nearest_street(shapely.Point(5, 5), roads)
    ('B Road', 4.0)
    """
    named = roads[roads[STREET].notna() & (roads[KIND] != "path")]
    if named.empty:
        return None
    distance = shapely.distance(named.geometry.to_numpy(), point)
    best = int(np.argmin(distance))
    if distance[best] > max_m:
        return None
    return str(named[STREET].iloc[best]), float(distance[best])


def draw_context(
    ax: Axes,
    *,
    bounds: Sequence[float],
    crs: Any,
    lsoa: gpd.GeoDataFrame | None = None,
    roads: Any = None,
    labels: Any = None,
    outline: Any = None,
) -> Axes:
    """Draw a map's context on ``ax`` and frame it to ``bounds``; return ``ax``.

    Parameters
    ----------
    ax : matplotlib Axes
        Drawn on in ``crs`` coordinates; aspect set equal, the metre axes hidden.
    bounds : (xmin, ymin, xmax, ymax)
        The view, in ``crs``.
    crs : CRS-like
        A metre CRS (e.g. ``"EPSG:27700"``); layers in another CRS are reprojected to it.
    lsoa : GeoDataFrame, optional
        LSOA (or any area) polygons: thin grey boundaries, each named at its representative point by
        the first of ``label``, ``lsoa21nm``, ``lsoa11nm``, ``name`` it has.
    roads : path or GeoDataFrame, optional
        A road line file or frame (see :func:`read_roads`): streets drawn, main roads wider, and the
        names of the longest named streets in view written along them.
    labels : iterable of (x, y, text), or a GeoDataFrame of points with a ``label`` column, optional
        Points marked and labelled (e.g. a meeting point).
    outline : shapely geometry or GeoSeries/GeoDataFrame, optional
        The subject of the map (e.g. a patrol area), outlined in red over everything else.

    Also drawn: a north arrow (top right) and a scale bar in m or km (bottom left).
    """
    target = metre_crs("crs", crs)
    x0, y0, x1, y1 = (float(v) for v in bounds)
    if not (x1 > x0 and y1 > y0):
        raise InputError(f"'bounds' must be (xmin, ymin, xmax, ymax) with max > min; received {bounds!r}.")
    ax.set_facecolor("#f4f2ee")
    if roads is not None:
        _draw_roads(ax, read_roads(roads, target, bounds=(x0, y0, x1, y1)), (x0, y0, x1, y1))
    marks = list(_points(labels, target))
    if lsoa is not None and len(lsoa):
        _draw_areas(ax, _in_crs(lsoa, target), (x0, y0, x1, y1), [(x, y) for x, y, _ in marks])
    if outline is not None:
        shapes = gpd.GeoSeries([outline]) if isinstance(outline, BaseGeometry) else _in_crs(outline, target)
        gpd.GeoSeries(shapes.geometry).plot(
            ax=ax, facecolor=(0.85, 0.2, 0.15, 0.12), edgecolor="#c0392b", linewidth=2.5, zorder=4
        )
    for x, y, text in marks:
        ax.plot([x], [y], marker="*", markersize=16, color="#c0392b", markeredgecolor="white", zorder=6)
        ax.annotate(text, (x, y), xytext=(9, 6), textcoords="offset points", fontsize=9, weight="bold",
                    color="#7b241c", path_effects=_HALO, zorder=7)  # fmt: skip
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.tick_params(left=False, bottom=False, labelleft=False, labelbottom=False)
    ax.set_xlabel("")
    ax.set_ylabel("")
    _north_arrow(ax)
    _scale_bar(ax, x1 - x0)
    return ax


def scale_length(width_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 times a power of ten) near a quarter of ``width_m``.

    >>> scale_length(1000), scale_length(2400), scale_length(9000)
    (200.0, 500.0, 2000.0)
    """
    target = width_m / 4
    power = 10.0 ** math.floor(math.log10(target))
    return max(s * power for s in (1, 2, 5) if s * power <= target)


def _draw_roads(ax: Axes, roads: gpd.GeoDataFrame, box: tuple[float, float, float, float]) -> None:
    if roads.empty:
        return
    paths = roads[roads[KIND] == "path"]
    if not paths.empty:
        paths.plot(ax=ax, color="#c9c4ba", linewidth=0.5, zorder=1)
    for kind, width, colour in (("street", 1.8, "white"), ("major", 3.2, "#f7d774")):
        part = roads[roads[KIND] == kind]
        if part.empty:
            continue
        part.plot(ax=ax, color="#a9a59c", linewidth=width + 1.2, zorder=1)
        part.plot(ax=ax, color=colour, linewidth=width, zorder=2)
    named = roads[roads[STREET].notna() & (roads[KIND] != "path")].copy()
    if named.empty:
        return
    named["clipped"] = shapely.clip_by_rect(named.geometry.to_numpy(), *box)
    named["length"] = shapely.length(named["clipped"].to_numpy())
    totals = named.groupby(STREET)["length"].sum().sort_values(ascending=False, kind="stable")
    width = box[2] - box[0]
    for street in totals.index[:MAX_STREET_NAMES]:
        if totals[street] < width / 8:
            break
        longest = named.loc[named[STREET] == street].sort_values("length", ascending=False).iloc[0]
        _name_along(ax, longest["clipped"], str(street))


def _name_along(ax: Axes, line: BaseGeometry, text: str) -> None:
    """Write ``text`` at the middle of ``line``, turned to follow it (never upside down)."""
    parts = list(getattr(line, "geoms", [line]))
    part = max(parts, key=lambda g: g.length)
    if part.is_empty or part.geom_type != "LineString":
        return
    middle, ahead = part.interpolate(0.45, normalized=True), part.interpolate(0.55, normalized=True)
    angle = math.degrees(math.atan2(ahead.y - middle.y, ahead.x - middle.x))
    angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle
    centre = part.interpolate(0.5, normalized=True)
    ax.text(centre.x, centre.y, text, rotation=angle, rotation_mode="anchor", ha="center", va="center",
            fontsize=7.5, color="#333333", path_effects=_HALO, zorder=3, clip_on=True)  # fmt: skip


def _draw_areas(
    ax: Axes,
    areas: gpd.GeoDataFrame,
    box: tuple[float, float, float, float],
    marks: list[tuple[float, float]],
) -> None:
    """Boundaries, and names where they fit (not on top of a marked point)."""
    seen = areas.cx[box[0] : box[2], box[1] : box[3]]
    if seen.empty:
        return
    seen.boundary.plot(ax=ax, color="#7f8c8d", linewidth=0.9, linestyle=(0, (4, 2)), zorder=3)
    column = next((c for c in _NAME_COLUMNS if c in seen.columns), None)
    if column is None:
        return
    inside = shapely.clip_by_rect(seen.geometry.to_numpy(), *box)
    for name, shape in zip(seen[column], inside, strict=True):
        if shape.is_empty or not isinstance(name, str) or shape.area < (box[2] - box[0]) ** 2 / 200:
            continue
        spot = shape.representative_point()
        if any(math.hypot(spot.x - x, spot.y - y) < (box[2] - box[0]) / 12 for x, y in marks):
            spot = shapely.Point(spot.x, spot.y - (box[3] - box[1]) / 10)
            if not shape.contains(spot):
                continue
        ax.text(spot.x, spot.y, name, ha="center", va="center", fontsize=8, style="italic",
                color="#566573", path_effects=_HALO, zorder=3, clip_on=True)  # fmt: skip


def _in_crs(layer: Any, crs: Any) -> Any:
    if getattr(layer, "crs", None) is not None and not metre_crs("crs", crs).equals(layer.crs):
        return layer.to_crs(crs)
    return layer


def _points(labels: Any, crs: Any) -> Iterable[tuple[float, float, str]]:
    if labels is None:
        return []
    if isinstance(labels, gpd.GeoDataFrame):
        frame = _in_crs(labels, crs)
        if "label" not in frame.columns:
            raise InputError(
                f"'labels' as a GeoDataFrame needs a 'label' column; received columns {list(frame.columns)}."
            )
        points = frame.geometry.representative_point()
        return [(float(p.x), float(p.y), str(t)) for p, t in zip(points, frame["label"], strict=True)]
    return [(float(x), float(y), str(t)) for x, y, t in labels]


def _north_arrow(ax: Axes) -> None:
    ax.annotate("", xy=(0.95, 0.96), xytext=(0.95, 0.86), xycoords="axes fraction",
                arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.5}, zorder=8)  # fmt: skip
    ax.text(0.95, 0.83, "N", transform=ax.transAxes, ha="center", va="top", fontsize=11, weight="bold",
            path_effects=_HALO, zorder=8)  # fmt: skip


def _scale_bar(ax: Axes, width_m: float) -> None:
    length = scale_length(width_m)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    left, base = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    ax.plot([left, left + length], [base, base], color="black", linewidth=4, solid_capstyle="butt",
            zorder=8, path_effects=[patheffects.withStroke(linewidth=6, foreground="white")])  # fmt: skip
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(left + length / 2, base + 0.015 * (y1 - y0), text, ha="center", va="bottom", fontsize=9,
            path_effects=_HALO, zorder=8)  # fmt: skip
