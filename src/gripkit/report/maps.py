"""Maps of hotspot units for the offline pages: one image for a regular grid, shapes for the rest.

A regular grid (every unit an axis-aligned square of one side on one lattice, as
:class:`gripkit.units.GridUnits` and the KDE make) is drawn as ONE RGBA image (``imshow``) placed on
its extent in the layer's CRS; cells outside the units are transparent. Drawing half a million
cells as polygons took minutes and gigabytes; the image takes well under a second and a few tens of
megabytes. Only the outlined units (top 1%, or Gi* hot units) are drawn as shapes on top. Irregular
units keep their shapes: simple polygons (hexagons) as one ``PolyCollection``, anything else (LSOA
multipolygons, polygons with holes, street segments as lines) through geopandas.

Every map carries its context (:mod:`gripkit.report.context`): force outline, LSOA boundaries, the
top hotspots labelled, north arrow and scale bar, roads and tiles when given; no metre axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize, PowerNorm, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from gripkit import columns as col
from gripkit.figures import png_data_uri
from gripkit.report.context import MapContext, clear_zero, map_context

__all__ = ["Lattice", "crs_label", "draw_units", "map_figure", "method_figure", "png", "regular_grid"]

CMAP = "YlOrRd"
ZERO_COLOUR = (0.93, 0.93, 0.93, 1.0)
OUTLINE = "#1f3a93"
#: Units are drawn over roads and tiles (zorder 1-2) and under LSOA boundaries (3) and labels.
UNITS_ZORDER = 2.5
#: Largest lattice extent (rows x cols) drawn as one image; a sparser layer keeps its shapes.
MAX_IMAGE_CELLS = 12_000_000
_POLYGON = 3  # shapely type id


def png(fig: Figure) -> str:
    """The figure as an inline PNG ``data:`` URI (110 dpi, tight box, no software stamp)."""
    return png_data_uri(fig, dpi=110, bbox_inches="tight", metadata={"Software": None})


def crs_label(crs: object) -> str:
    """A CRS as people name it: ``"OSGB36 / British National Grid, EPSG:27700"`` (name, then code).

    Accepts anything :meth:`pyproj.CRS.from_user_input` does (an EPSG code, ``"EPSG:27700"``, WKT,
    PROJJSON text or dict); text it cannot read is returned unchanged, ``None`` gives ``"unknown"``.

    >>> crs_label(27700)
    'OSGB36 / British National Grid, EPSG:27700'
    """
    import pyproj

    if crs is None:
        return "unknown"
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except (pyproj.exceptions.CRSError, TypeError, ValueError):
        return str(crs)
    code = parsed.to_epsg()
    return f"{parsed.name}, EPSG:{code}" if code else parsed.name


@dataclass(frozen=True)
class Lattice:
    """Where each unit of a regular grid sits: its column and row on an extent of square cells."""

    x0: float
    y0: float
    size: float
    n_cols: int
    n_rows: int
    cols: np.ndarray
    rows: np.ndarray

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(left, right, bottom, top)`` for ``imshow`` in the layer's CRS."""
        return (self.x0, self.x0 + self.n_cols * self.size, self.y0, self.y0 + self.n_rows * self.size)

    def image(self, colours: np.ndarray) -> np.ndarray:
        """An ``(n_rows, n_cols, 4)`` uint8 RGBA image (row 0 at the bottom), transparent off the units."""
        picture = np.zeros((self.n_rows, self.n_cols, 4), dtype=np.uint8)
        picture[self.rows, self.cols] = np.rint(np.clip(colours, 0.0, 1.0) * 255).astype(np.uint8)
        return picture


def regular_grid(geometry: gpd.GeoSeries) -> Lattice | None:
    """The lattice of the units when each is an axis-aligned square of one side on one grid, else None.

    A geometry with 5 coordinates (one closed ring of 4 corners), a square bounding box of side
    ``s`` and area ``s²`` is that box. The lower-left corners must lie on multiples of
    ``s`` from the lowest one (to 0.1% of a cell). None also when the extent would exceed
    :data:`MAX_IMAGE_CELLS`.

    >>> from shapely.geometry import box
    >>> regular_grid(gpd.GeoSeries([box(0, 0, 10, 10), box(20, 10, 30, 20)])).cols.tolist()
    [0, 2]
    >>> regular_grid(gpd.GeoSeries([box(0, 0, 10, 10), box(5, 0, 15, 10)])) is None
    True
    """
    geoms = np.asarray(geometry.array)
    if len(geoms) == 0:
        return None
    bounds = shapely.bounds(geoms)  # NaN for a missing geometry, which then fails every check
    width, height = bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]
    size = float(width[0])
    tol = 1e-6 * size
    if not (size > 0 and (np.abs(width - size) <= tol).all() and (np.abs(height - size) <= tol).all()):
        return None
    if not (shapely.get_num_coordinates(geoms) == 5).all():  # a ring of 4 corners; a hole would add 4
        return None
    # 5 coordinates, a square box of side s and area s²: only that box (a line has no area; a
    # multipolygon of 5 coordinates has one part, that box)
    if not (np.abs(shapely.area(geoms) - size * size) <= 1e-6 * size * size).all():
        return None
    x0, y0 = float(bounds[:, 0].min()), float(bounds[:, 1].min())
    fcol, frow = (bounds[:, 0] - x0) / size, (bounds[:, 1] - y0) / size
    cols, rows = np.rint(fcol).astype(np.int64), np.rint(frow).astype(np.int64)
    if np.abs(fcol - cols).max() > 1e-3 or np.abs(frow - rows).max() > 1e-3:
        return None
    n_cols, n_rows = int(cols.max()) + 1, int(rows.max()) + 1
    if n_cols * n_rows > MAX_IMAGE_CELLS:
        return None
    return Lattice(x0, y0, size, n_cols, n_rows, cols, rows)


def draw_units(
    ax: Axes,
    geometry: gpd.GeoSeries,
    colours: np.ndarray,
    lattice: Lattice | None,
    zorder: float = UNITS_ZORDER,
) -> None:
    """Fill each unit with its RGBA colour (``colours``: one row per unit, in ``geometry``'s order).

    ``lattice`` is :func:`regular_grid` of ``geometry`` (computed once by the caller for every map
    of the same units): an image when given, shapes when None.
    """
    if lattice is not None:
        ax.imshow(
            lattice.image(colours),
            origin="lower",
            extent=lattice.extent,
            interpolation="nearest",
            resample=False,
            zorder=zorder,
        )
        return
    geoms = np.asarray(geometry.array)
    polygons = bool((shapely.get_type_id(geoms) == _POLYGON).all())
    if polygons and not shapely.get_num_interior_rings(geoms).any():  # hexagons: one collection
        coords, index = shapely.get_coordinates(shapely.get_exterior_ring(geoms), return_index=True)
        rings = np.split(coords, np.flatnonzero(np.diff(index)) + 1)
        ax.add_collection(
            PolyCollection(rings, facecolors=colours, edgecolors="none", linewidths=0, zorder=zorder)
        )
        ax.autoscale_view()
        return
    lines = geometry.geom_type.str.contains("LineString").any()  # street segments: coloured lines
    geometry.plot(ax=ax, color=colours, linewidth=1.0 if lines else 0, zorder=zorder)


def _outline(
    ax: Axes, ranked: gpd.GeoDataFrame, keep: np.ndarray, colour: str, width: float, lattice: Lattice | None
) -> None:
    """Outline the units where ``keep`` is true (squares straight from the lattice for a grid)."""
    if not keep.any():
        return
    width = width if keep.sum() <= 500 else width / 2  # thousands of outlines would hide the colours
    if lattice is None:
        ranked.geometry[keep].boundary.plot(ax=ax, color=colour, linewidth=width, zorder=UNITS_ZORDER + 0.1)
        return
    x = lattice.x0 + lattice.cols[keep] * lattice.size
    y = lattice.y0 + lattice.rows[keep] * lattice.size
    corners = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], dtype=float) * lattice.size
    squares = np.stack([x, y], axis=1)[:, None, :] + corners[None, :, :]
    ax.add_collection(
        PolyCollection(
            list(squares), facecolors="none", edgecolors=colour, linewidths=width, zorder=UNITS_ZORDER + 0.1
        )
    )


def _colorbar(fig: Figure, ax: Axes, sm: ScalarMappable, label: str, vmax: float) -> None:
    bar = fig.colorbar(sm, ax=ax, shrink=0.7, label=label)
    if vmax >= 100:  # 12,000 rather than 1.2 with "1e4" on top
        bar.formatter = StrMethodFormatter("{x:,.0f}")
        bar.update_ticks()


def _finish(ax: Axes, crs: object, context: MapContext | None) -> None:
    if crs is not None:
        ax.set_title(crs_label(crs), fontsize=8, color="#555")
    if context is not None:  # context, north arrow, scale bar; the metre axes hidden
        context.draw(ax)
        return
    ax.set_aspect("equal")
    ax.set_xlabel("easting (m)")
    ax.set_ylabel("northing (m)")
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.tick_params(labelsize=7)


def map_figure(
    ranked: gpd.GeoDataFrame, n_top: int, lattice: Lattice | None, context: MapContext | None = None
) -> str:
    """The units coloured by harm (square-root scale, grey: none), the first ``n_top`` outlined; a PNG URI.

    ``lattice``: :func:`regular_grid` of ``ranked.geometry`` (draw a grid as one image) or None.
    ``context``: :func:`~gripkit.report.context.map_context` of ``ranked`` (made here when None: no
    roads, no tiles). Over roads or tiles, units without harm are left clear rather than grey.
    """
    context = context if context is not None else map_context(ranked)
    harm = ranked[col.HARM].to_numpy(dtype=float)
    vmax = float(harm.max()) if harm.max() > 0 else 1.0
    sm = ScalarMappable(norm=PowerNorm(gamma=0.5, vmin=0.0, vmax=vmax), cmap=CMAP)
    colours = sm.to_rgba(harm)
    colours[harm <= 0] = ZERO_COLOUR
    colours = clear_zero(colours, harm, context)
    fig = Figure(figsize=(7.5, 7.0))
    ax = fig.subplots()
    draw_units(ax, ranked.geometry, colours, lattice)
    _outline(ax, ranked, (np.arange(len(ranked)) < n_top) & (harm > 0), OUTLINE, 0.5, lattice)
    _colorbar(fig, ax, sm, "harm per unit (square-root scale)", vmax)
    _finish(ax, ranked.crs, context)
    return png(fig)


def method_figure(
    ranked: gpd.GeoDataFrame, lattice: Lattice | None, context: MapContext | None = None
) -> str:
    """A second map for the hotspot method, when the frame carries its columns (Gi*, KDE); else ``""``.

    ``context`` as :func:`map_figure`'s."""
    if "gi_z" in ranked.columns:
        z = ranked["gi_z"].to_numpy(dtype=float)
        limit = min(max(float(np.nanmax(np.abs(z))), 1.0), 6.0)  # |z| > 6 shown at full colour
        norm: Normalize = TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)
        sm = ScalarMappable(norm=norm, cmap="RdBu_r")
        label = "Gi* z-score"
        caption = (
            "Gi* z-scores (red: high values cluster; blue: low). Units flagged hot after the multiple-"
            "testing correction are outlined in black."
        )
        values = z
    elif "density" in ranked.columns:
        values = ranked["density"].to_numpy(dtype=float) * 1e6
        norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=max(float(np.nanmax(values)), 1e-12))
        sm = ScalarMappable(norm=norm, cmap=CMAP)
        label, caption = "density per km²", "Kernel density per km² (square-root colour scale)."
    else:
        return ""
    context = context if context is not None else map_context(ranked)
    fig = Figure(figsize=(7.5, 7.0))
    ax = fig.subplots()
    draw_units(ax, ranked.geometry, sm.to_rgba(np.nan_to_num(values)), lattice)
    if "hot" in ranked.columns:
        _outline(ax, ranked, ranked["hot"].fillna(False).to_numpy(dtype=bool), "black", 0.4, lattice)
    _colorbar(fig, ax, sm, label, float(np.nanmax(np.abs(values))))
    _finish(ax, ranked.crs, context)
    return (
        f'<figure><img src="{png(fig)}" alt="Map of the hotspot statistic">'
        f"<figcaption>{caption}</figcaption></figure>"
    )
