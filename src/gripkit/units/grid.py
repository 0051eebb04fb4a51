"""Square grid cells of a fixed size in metres.

Cells are half-open boxes ``[x0 + i*s, x0 + (i+1)*s) × [y0 + j*s, y0 + (j+1)*s)``: a crime on
a shared edge belongs to the cell to its right (or above). The origin ``(x0, y0)`` is snapped
to multiples of the cell size, so a cell's id depends only on its position and the cell size,
never on the extent of the data: ``g{i}_{j}`` with ``i = floor(x / s)`` and ``j = floor(y / s)``
counted from the CRS's own origin. Two grids of the same cell size therefore share ids.

When no cell size is given, :meth:`GridUnits.from_crimes` uses Chainey's rule: the shorter side
of the study area's bounding box divided by 150, rounded to the
nearest whole metre (halves up) and at least 1 m. The choice is logged on the ``gripkit`` logger
and recorded in :meth:`GridUnits.describe`.
"""

from __future__ import annotations

import logging
import math
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely
from scipy import ndimage, sparse
from shapely.geometry.base import BaseGeometry

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.units.base import UNIT_ID_DTYPE, Units, as_geometry, crime_xy, metre_crs, unit_frame
from gripkit.validate import positive

logger = logging.getLogger("gripkit")

#: Divisor of Chainey's cell-size rule: shorter side of the bounding box / 150.
CHAINEY_DIVISOR = 150
#: Largest grid (columns × rows of the extent) built before asking for a larger cell size.
MAX_CELLS = 10_000_000


def chainey_cell_size(bounds: tuple[float, float, float, float]) -> float:
    """Return Chainey's cell size for a bounding box: shorter side / 150, in whole metres.

    Rounded to the nearest whole metre, halves up, and never below 1 m.

    Parameters
    ----------
    bounds : tuple of float
        ``(xmin, ymin, xmax, ymax)`` in metres.

    Examples
    --------
    >>> chainey_cell_size((0, 0, 30_000, 21_450))  # 21,450 / 150 = 143.0
    143.0
    >>> chainey_cell_size((0, 0, 30_000, 21_525))  # 143.5 rounds half up
    144.0
    """
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    shorter = min(xmax - xmin, ymax - ymin)
    if not shorter > 0:
        raise InputError(
            f"cannot choose a cell size: the study area's bounding box has a side of length "
            f"{shorter:g} m (bounds {xmin:g}, {ymin:g}, {xmax:g}, {ymax:g}); the crimes lie on a line "
            "or a point. Pass cell_size explicitly, e.g. cell_size=150."
        )
    return float(max(1, math.floor(shorter / CHAINEY_DIVISOR + 0.5)))


class GridUnits(Units):
    """Square cells of ``cell_size`` metres covering a bounding box, optionally clipped to an area.

    Parameters
    ----------
    cell_size : float
        Side of a cell in metres (> 0).
    bounds : tuple of float
        ``(xmin, ymin, xmax, ymax)`` in metres to cover; the grid origin is snapped down to
        multiples of ``cell_size`` and enough cells are added to contain ``(xmax, ymax)``.
    area : shapely geometry, GeoSeries or GeoDataFrame, optional
        Keep only cells whose interior overlaps this polygon (cells merely touching its edge are
        dropped). Must be in ``crs``.
    crs : str or pyproj.CRS, default "EPSG:27700"
        Projected CRS in metres of the cells and of the crimes' ``x``/``y``.
    cell_size_auto : bool, default False
        Record that ``cell_size`` was chosen automatically (set by :meth:`from_crimes`).

    Attributes
    ----------
    cell_size : float
    origin : tuple of float
        Lower-left corner ``(x0, y0)`` of the grid extent.
    n_cols, n_rows : int
        Size of the grid extent; :attr:`frame` may hold fewer cells when an area is given.

    Examples
    --------
    >>> units = GridUnits(100, (10, 10, 199.9, 199.9))
    >>> units.origin, units.n_cols, units.n_rows
    ((0.0, 0.0), 2, 2)
    >>> units.frame["unit_id"].tolist()
    ['g0_0', 'g1_0', 'g0_1', 'g1_1']
    """

    kind: ClassVar[str] = "grid"

    def __init__(
        self,
        cell_size: float,
        bounds: tuple[float, float, float, float],
        *,
        area: Any = None,
        crs: str | pyproj.CRS = col.BNG,
        cell_size_auto: bool = False,
    ) -> None:
        self.cell_size = positive("cell_size", cell_size, unit="metres", example="150")
        self.crs = metre_crs("crs", crs)
        xmin, ymin, xmax, ymax = _check_bounds(bounds)
        self.cell_size_auto = bool(cell_size_auto)
        size = self.cell_size
        # the same corrected floor as positions(), so the bounds' own corners are inside the grid
        first, last = _cell_index(np.array([xmin, ymin, xmax, ymax], dtype=float), size).reshape(2, 2)
        self._col0, self._row0 = int(first[0]), int(first[1])
        self.n_cols = int(last[0]) - self._col0 + 1
        self.n_rows = int(last[1]) - self._row0 + 1
        self.origin = (self._col0 * size, self._row0 * size)
        if self.n_cols * self.n_rows > MAX_CELLS:
            raise InputError(
                f"a grid of {size:g} m cells over bounds ({xmin:g}, {ymin:g}, {xmax:g}, {ymax:g}) would "
                f"have {self.n_cols * self.n_rows:,} cells (more than {MAX_CELLS:,}). Pass a larger "
                "cell_size, or an area= polygon and drop crimes far outside it."
            )
        self.area = None if area is None else as_geometry("area", area, self.crs)
        cols, rows = self._extent_indices()
        if self.area is not None:
            keep = self._overlaps_area(cols, rows)
            cols, rows = cols[keep], rows[keep]
        self._cols, self._rows = cols, rows
        # position of each extent cell in the frame, -1 for cells dropped by the area filter
        self._position = np.full(self.n_cols * self.n_rows, -1, dtype=np.int64)
        self._position[(rows - self._row0) * self.n_cols + (cols - self._col0)] = np.arange(len(cols))
        self._ids: Any = None  # the cell ids (UNIT_ID_DTYPE), built on first use
        self._frame: gpd.GeoDataFrame | None = None  # built on first use, then copied out

    @classmethod
    def from_crimes(
        cls,
        crimes: pd.DataFrame,
        cell_size: float | None = None,
        area: Any = None,
        *,
        crs: str | pyproj.CRS = col.BNG,
    ) -> GridUnits:
        """Build a grid over the crimes' bounding box, or over ``area`` when given.

        Parameters
        ----------
        crimes : pandas.DataFrame
            Crimes with ``x``/``y`` in metres (``crs``); rows with missing coordinates are ignored.
        cell_size : float, optional
            Cell side in metres. If None, Chainey's rule on the study area's bounding box (the
            area's if given, else the crimes'): shorter side / 150, rounded to the nearest whole
            metre (halves up), announced through ``logging.getLogger("gripkit")``.
        area : shapely geometry, GeoSeries or GeoDataFrame, optional
            Study area (e.g. a police force area) in ``crs``: the grid covers its bounds and keeps
            only cells overlapping it.
        crs : str or pyproj.CRS, default "EPSG:27700"

        Returns
        -------
        GridUnits

        Examples
        --------
        >>> import pandas as pd
        >>> crimes = pd.DataFrame({"x": [0.0, 30_000.0], "y": [0.0, 21_450.0]})
        >>> GridUnits.from_crimes(crimes).cell_size  # 21,450 m / 150
        143.0
        """
        parsed = metre_crs("crs", crs)
        if cell_size is not None:
            positive("cell_size", cell_size, unit="metres", example="150")
        x, y = crime_xy(crimes, parsed)
        if area is not None:
            geom = as_geometry("area", area, parsed)
            bounds = tuple(float(b) for b in geom.bounds)
            source = "the area's extent"
        else:
            ok = np.isfinite(x) & np.isfinite(y)
            if not ok.any():
                raise InputError(
                    f"crimes have no finite x/y coordinates among {len(x)} rows; received only missing "
                    "values. Drop or geocode crimes without a location first."
                )
            geom = None
            bounds = (x[ok].min(), y[ok].min(), x[ok].max(), y[ok].max())
            source = "the data extent"
        auto = cell_size is None
        if cell_size is None:
            cell_size = chainey_cell_size(bounds)  # type: ignore[arg-type]
            width, height = bounds[2] - bounds[0], bounds[3] - bounds[1]
            logger.info(
                "cell size %g m chosen from %s (shorter side of the %.0f m x %.0f m bounding box / %d, "
                "rounded to the nearest metre); pass cell_size= to override",
                cell_size, source, width, height, CHAINEY_DIVISOR,
            )
        return cls(cell_size, bounds, area=geom, crs=parsed, cell_size_auto=auto)  # type: ignore[arg-type]

    @property
    def frame(self) -> gpd.GeoDataFrame:
        """Every cell (row-major from the lower left): ``unit_id``, ``area_m2``, ``geometry``."""
        if self._frame is None:
            ids, area = self.ids_and_areas()
            self._frame = unit_frame(ids, area, self.geometries(), self.crs)
        return self._frame.copy()

    def ids_and_areas(self) -> tuple[Any, np.ndarray]:
        """Cell ids and areas in frame order, without building the cells' polygons."""
        return self._unit_ids(), np.full(len(self._cols), self.cell_size * self.cell_size)

    def geometries(self, rows: np.ndarray | None = None) -> Any:
        """Boxes of the cells at ``rows`` of :attr:`frame` (None: all), built for those cells only."""
        if rows is None and self._frame is not None:
            return self._frame[col.GEOMETRY].array
        cols, rows_ = (self._cols, self._rows) if rows is None else (self._cols[rows], self._rows[rows])
        size = self.cell_size
        x0, y0 = cols * size, rows_ * size
        return gpd.array.from_shapely(shapely.box(x0, y0, x0 + size, y0 + size), crs=self.crs)

    def _unit_ids(self) -> Any:
        """The cell ids as a :data:`UNIT_ID_DTYPE` array, in frame order (built once)."""
        if self._ids is None:
            self._ids = _cell_ids(self._cols, self._rows)
        return self._ids

    def assign(self, crimes: pd.DataFrame) -> pd.Series:
        """Return the id of the cell containing each crime (``<NA>`` outside the grid).

        Parameters
        ----------
        crimes : pandas.DataFrame
            Crimes with ``x``/``y`` in metres; missing coordinates give ``<NA>``.

        Returns
        -------
        pandas.Series
            String dtype, aligned to ``crimes.index``.

        Examples
        --------
        >>> import pandas as pd
        >>> crimes = pd.DataFrame({"x": [10.0, 100.0, 999.0], "y": [10.0, 50.0, 10.0]})
        >>> GridUnits(100, (0, 0, 199, 199)).assign(crimes).tolist()
        ['g0_0', 'g1_0', <NA>]
        """
        ids = self._unit_ids().take(self.positions(crimes), allow_fill=True)  # -1: <NA>
        return pd.Series(ids, index=crimes.index, name=col.UNIT_ID)

    def positions(self, crimes: pd.DataFrame) -> np.ndarray:
        """Row in :attr:`frame` of the cell containing each crime (-1: outside the grid).

        Examples
        --------
        >>> import pandas as pd
        >>> crimes = pd.DataFrame({"x": [10.0, 100.0, 999.0], "y": [10.0, 50.0, 10.0]})
        >>> GridUnits(100, (0, 0, 199, 199)).positions(crimes).tolist()
        [0, 1, -1]
        """
        x, y = crime_xy(crimes, self.crs)
        ok = np.isfinite(x) & np.isfinite(y)
        cols = np.zeros(len(x), dtype=np.int64)
        rows = np.zeros(len(x), dtype=np.int64)
        cols[ok] = _cell_index(x[ok], self.cell_size) - self._col0
        rows[ok] = _cell_index(y[ok], self.cell_size) - self._row0
        ok &= (cols >= 0) & (cols < self.n_cols) & (rows >= 0) & (rows < self.n_rows)
        position = np.full(len(x), -1, dtype=np.int64)
        position[ok] = self._position[rows[ok] * self.n_cols + cols[ok]]
        return position

    def describe(self) -> dict[str, Any]:
        """Return the JSON-safe parameters of the grid.

        Examples
        --------
        >>> d = GridUnits(100, (10, 10, 199.9, 199.9)).describe()
        >>> d["cell_size_m"], d["origin"], d["n_units"], d["cell_size_auto"]
        (100.0, [0.0, 0.0], 4, False)
        """
        return {
            "kind": self.kind,
            "cell_size_m": self.cell_size,
            "cell_size_auto": self.cell_size_auto,
            "cell_size_rule": f"shorter side of bounding box / {CHAINEY_DIVISOR}, nearest metre"
            if self.cell_size_auto
            else "given",
            "origin": [float(self.origin[0]), float(self.origin[1])],
            "n_cols": int(self.n_cols),
            "n_rows": int(self.n_rows),
            "n_units": len(self._cols),
            "area_filter": self.area is not None,
            "crs": self.crs.to_string(),
            "unit_id": "g{floor(x / cell_size)}_{floor(y / cell_size)}",
        }

    def neighbours(self) -> sparse.csr_matrix:
        """Queen adjacency of the kept cells, in :attr:`frame` order, without self-links.

        Each cell's neighbours are the (up to) 8 cells around it that are in the frame; cells
        dropped by the area filter are nobody's neighbours.

        Returns
        -------
        scipy.sparse.csr_matrix
            ``n x n`` binary (1.0) matrix, symmetric, zero diagonal.

        Examples
        --------
        >>> units = GridUnits(100, (0, 0, 299, 299))  # 3 x 3 cells
        >>> units.neighbours().sum(axis=1).A1.tolist()  # corners 3, edges 5, centre 8
        [3.0, 5.0, 3.0, 5.0, 8.0, 5.0, 3.0, 5.0, 3.0]
        """
        rows, cols = self._cell_positions()
        sources, targets = [], []
        for drow in (-1, 0, 1):
            for dcol in (-1, 0, 1):
                if drow == dcol == 0:
                    continue
                r, c = rows + drow, cols + dcol
                inside = (r >= 0) & (r < self.n_rows) & (c >= 0) & (c < self.n_cols)
                other = np.full(len(rows), -1, dtype=np.int64)
                other[inside] = self._position[r[inside] * self.n_cols + c[inside]]
                found = np.flatnonzero(other >= 0)
                sources.append(found)
                targets.append(other[found])
        i, j = np.concatenate(sources), np.concatenate(targets)
        n = len(rows)
        return sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))

    def _cell_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of each kept cell in the ``n_rows x n_cols`` extent, in frame order."""
        return self._rows - self._row0, self._cols - self._col0

    def __len__(self) -> int:
        return len(self._cols)

    def _extent_indices(self) -> tuple[np.ndarray, np.ndarray]:
        """Absolute column and row index of every cell of the extent, row-major."""
        rows, cols = np.divmod(np.arange(self.n_cols * self.n_rows, dtype=np.int64), self.n_cols)
        return cols + self._col0, rows + self._row0

    def _overlaps_area(self, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Boolean mask of the extent's cells whose interior overlaps :attr:`area`.

        ``cols``/``rows`` are every cell of the extent, row-major (:meth:`_extent_indices`). The
        result is the same as testing every cell against the polygon (:meth:`_overlaps_part`,
        still used for invalid parts), in time that grows with the boundary rather than with the
        number of cells:

        - a cell whose open interior a boundary segment of a (valid) part passes through overlaps
          that part (:meth:`_boundary_cells`: an exact GEOS test, cell by segment);
        - any other cell's interior lies wholly inside or wholly outside each part, as its
          centre does (one point-in-polygon test);
        - cells whose closed boxes no boundary even touches form 4-connected groups that no
          boundary separates, so one centre per group decides the whole group.
        """
        assert self.area is not None
        parts = _polygon_parts(self.area)
        size = self.cell_size
        largest = max((abs(b) for b in self.area.bounds), default=0.0)
        fast = shapely.is_valid(parts) & (size > 1e-6 * largest)  # a centre strictly inside its cell
        crossed, touched = self._boundary_cells(parts[fast])
        groups, n_groups = ndimage.label(~touched.reshape(self.n_rows, self.n_cols))
        groups = groups.ravel()
        first = np.empty(n_groups + 1, dtype=np.int64)
        first[groups[::-1]] = np.arange(len(groups) - 1, -1, -1)  # each group's first cell
        probes = np.concatenate([first[1:], np.flatnonzero(touched & ~crossed)])
        group_inside = np.zeros(n_groups + 1, dtype=bool)  # group 0: the touched cells
        probe_cols, probe_rows = cols[probes], rows[probes]
        keep = crossed.copy()
        for part in parts[fast]:
            c0, r0, c1, r1 = self._index_range(part.bounds)
            near = probes[(probe_cols >= c0) & (probe_cols <= c1) & (probe_rows >= r0) & (probe_rows <= r1)]
            inside = near[shapely.contains_xy(part, (cols[near] + 0.5) * size, (rows[near] + 0.5) * size)]
            keep[inside] = True
            group_inside[groups[inside]] = True
        group_inside[0] = False
        keep |= group_inside[groups]
        for part in parts[~fast]:
            keep |= self._overlaps_part(part, cols, rows)
        return keep

    def _index_range(self, bounds: tuple[float, ...]) -> tuple[int, int, int, int]:
        """Column and row range ``(c0, r0, c1, r1)`` of the cells meeting ``bounds``, within the extent."""
        size = self.cell_size
        c0 = max(math.floor(bounds[0] / size), self._col0)
        r0 = max(math.floor(bounds[1] / size), self._row0)
        c1 = min(math.floor(bounds[2] / size), self._col0 + self.n_cols - 1)
        r1 = min(math.floor(bounds[3] / size), self._row0 + self.n_rows - 1)
        return c0, r0, c1, r1

    def _boundary_cells(self, parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Masks over the extent: cells whose open interior a boundary segment of ``parts`` meets
        (crossed), and cells whose closed box one meets (touched; crossed ones included).

        Candidates are the cells of each segment's bounding box, widened by a relative 1e-9 for
        rounding in the division by the cell size (a superset of the cells the segment touches).
        A segment with an end strictly inside a cell crosses it (exact comparisons with the cell's
        own edge coordinates); the other pairs are tested by GEOS: ``intersects`` for touching,
        then the interiors (DE-9IM ``T********``) for crossing.
        """
        crossed = np.zeros(self.n_cols * self.n_rows, dtype=bool)
        touched = crossed.copy()
        coords, ring = shapely.get_coordinates(shapely.get_rings(parts), return_index=True)
        same = (ring[1:] == ring[:-1]) & (coords[1:] != coords[:-1]).any(axis=1)  # no zero-length
        start, end = coords[:-1][same], coords[1:][same]
        if not len(start):
            return crossed, touched
        size = self.cell_size
        low, high = np.minimum(start, end) / size, np.maximum(start, end) / size
        low = np.floor(low - 1e-9 * (np.abs(low) + 1)).astype(np.int64)
        high = np.floor(high + 1e-9 * (np.abs(high) + 1)).astype(np.int64)
        low = np.maximum(low, (self._col0, self._row0))
        high = np.minimum(high, (self._col0 + self.n_cols - 1, self._row0 + self.n_rows - 1))
        width = np.maximum(high[:, 0] - low[:, 0] + 1, 0)
        height = np.maximum(high[:, 1] - low[:, 1] + 1, 0)
        per_segment = width * height
        segment = np.repeat(np.arange(len(start)), per_segment)
        offset = np.arange(len(segment)) - np.repeat(np.cumsum(per_segment) - per_segment, per_segment)
        cols = low[segment, 0] + offset % width[segment]
        rows = low[segment, 1] + offset // width[segment]
        x0, y0, x1, y1 = cols * size, rows * size, (cols + 1) * size, (rows + 1) * size

        def strictly_inside(points: np.ndarray) -> np.ndarray:
            x, y = points[segment, 0], points[segment, 1]
            return (x > x0) & (x < x1) & (y > y0) & (y < y1)

        # a segment (of non-zero length) with an end strictly inside a cell meets its interior
        hit = strictly_inside(start) | strictly_inside(end)
        near = hit.copy()
        todo = np.flatnonzero(~hit)
        lines = shapely.linestrings(np.stack([start, end], axis=1))[segment[todo]]
        boxes = shapely.box(x0[todo], y0[todo], x1[todo], y1[todo])
        meets = shapely.intersects(boxes, lines)  # fast for rectangles; most candidates end here
        near[todo[meets]] = True
        hit[todo[meets]] = shapely.relate_pattern(boxes[meets], lines[meets], "T********")
        position = (rows - self._row0) * self.n_cols + (cols - self._col0)
        crossed[position[hit]] = True
        touched[position[near]] = True
        return crossed, touched

    def _overlaps_part(self, part: BaseGeometry, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Mask of cells whose interior overlaps ``part``, testing every cell (vectorised STRtree query)."""
        size = self.cell_size
        boxes = shapely.box(cols * size, rows * size, (cols + 1) * size, (rows + 1) * size)
        tree = shapely.STRtree(boxes)
        hits = tree.query(part, predicate="intersects")
        keep = np.zeros(len(boxes), dtype=bool)
        if len(hits):
            touching = shapely.touches(boxes[hits], part)
            keep[hits[~touching]] = True
        return keep


def _cell_index(values: np.ndarray, size: float) -> np.ndarray:
    """floor(values / size), corrected where rounding of the division puts a value in a neighbour.

    Cell k is the half-open interval [k * size, (k + 1) * size); e.g. -5e-324 / 25 rounds to -0.0,
    whose floor (0) would put a negative value in cell 0.
    """
    index = np.floor(values / size).astype(np.int64)
    index -= values < index * size
    index += values >= (index + 1) * size
    return index


def _cell_ids(cols: np.ndarray, rows: np.ndarray) -> Any:
    """Vectorised ``g{col}_{row}`` ids as a :data:`UNIT_ID_DTYPE` array (joined by Arrow)."""
    text = [pc.cast(pa.array(v, type=pa.int64()), pa.string()) for v in (cols, rows)]
    return pd.array(pc.binary_join_element_wise("g", text[0], "_", text[1], ""), dtype=UNIT_ID_DTYPE)


def _polygon_parts(geom: BaseGeometry) -> np.ndarray:
    """Split a (multi)polygon into its polygon parts, so the tree query works part by part."""
    parts = shapely.get_parts(geom)
    parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]  # Polygon, MultiPolygon
    return shapely.get_parts(parts)


def _check_bounds(bounds: Any) -> tuple[float, float, float, float]:
    try:
        xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"'bounds' must be four numbers (xmin, ymin, xmax, ymax) in metres; received {bounds!r}."
        ) from exc
    if not all(map(math.isfinite, (xmin, ymin, xmax, ymax))) or xmin > xmax or ymin > ymax:
        raise InputError(
            f"'bounds' must be finite with xmin <= xmax and ymin <= ymax; received {bounds!r}. "
            "Pass e.g. geometry.bounds."
        )
    return xmin, ymin, xmax, ymax
