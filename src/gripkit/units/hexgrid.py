"""H3 hexagons (Uber's hierarchical hexagonal grid, h3 4.x API) as units.

Cells are the H3 cells of one resolution that cover a study area: every cell that overlaps the
area (``contain="overlap"``), so every point of the area lies in a unit. Ids are the H3 index
strings (e.g. ``"89195da49b3ffff"``), the same in every study: two H3 unit sets of one resolution
share ids. Geometry is each hexagon's boundary (6 vertices from :func:`h3.cell_to_boundary`)
projected to the units' metre CRS (EPSG:27700 by default); ``area_m2`` is the area of that
projected polygon, within ~0.1% of the spherical :func:`h3.cell_area` in Great Britain.

When no resolution is given, :meth:`H3Units.from_crimes` takes Chainey's cell size for the study
area (shorter side of the bounding box / 150) and picks the
resolution whose *average hexagon area* (:func:`h3.average_hexagon_area`) is closest to that
square cell's area on a log scale, so hexagons and Chainey's squares hold about as much ground.
The choice is logged on the ``gripkit`` logger and recorded in :meth:`H3Units.describe`.

Assignment uses the crimes' WGS84 ``lon``/``lat`` where present (as police.uk publishes them),
else inverse-projects ``x``/``y``; each distinct location is looked up once with
:func:`h3.latlng_to_cell` (h3-py 4 has no array API; police.uk points repeat heavily).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any, ClassVar

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from shapely.geometry.base import BaseGeometry

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.units.base import (
    UNIT_ID_DTYPE,
    Units,
    as_geometry,
    check_crimes,
    crime_xy,
    metre_crs,
    unit_frame,
)
from gripkit.units.grid import CHAINEY_DIVISOR, chainey_cell_size

logger = logging.getLogger("gripkit")

#: Area polygons are densified to vertices at most this far apart (metres) before they are
#: converted to lon/lat, so straight edges in metres stay (nearly) straight on the sphere.
DENSIFY_M = 50.0
#: Most cells built before asking for a coarser resolution.
MAX_CELLS = 2_000_000


def resolution_for_cell_size(cell_size: float) -> int:
    """H3 resolution whose average hexagon area is closest (log scale) to ``cell_size``².

    Examples
    --------
    >>> resolution_for_cell_size(267.0)  # 71,289 m²: res 9 averages 105,333 m², res 10 15,047 m²
    9
    >>> resolution_for_cell_size(150.0)  # 22,500 m²: closer to res 10 than to res 9 on a log scale
    10
    """
    target = math.log(float(cell_size) ** 2)
    gaps = [abs(math.log(h3.average_hexagon_area(res, unit="m^2")) - target) for res in range(16)]
    return int(np.argmin(gaps))


class H3Units(Units):
    """H3 cells of one resolution covering an area (or given explicitly).

    Parameters
    ----------
    resolution : int, optional
        H3 resolution 0–15 (9: ~201 m edges, 0.105 km² hexagons). None chooses it from
        ``area`` by Chainey's rule (see the module notes); needs ``area``.
    area : shapely geometry, GeoSeries or GeoDataFrame, optional
        Study area polygon in ``crs``: the units are the cells overlapping it.
    cells : iterable of str, optional
        Explicit H3 cell ids (all of ``resolution``) instead of, or added to, the area's cover.
    crs : str or pyproj.CRS, default "EPSG:27700"
        Projected metre CRS of the geometry and of the crimes' ``x``/``y``.
    resolution_auto : bool, default False
        Record that ``resolution`` was chosen automatically (set by :meth:`from_crimes`).

    Examples
    --------
    >>> import shapely
    >>> units = H3Units(9, area=shapely.box(530_000, 180_000, 531_000, 181_000))
    >>> units.kind, units.resolution, len(units) > 9
    ('h3', 9, True)
    >>> units.frame["unit_id"].str.len().unique().tolist()  # 15-character H3 index strings
    [15]
    """

    kind: ClassVar[str] = "h3"

    def __init__(
        self,
        resolution: int | None = None,
        *,
        area: Any = None,
        cells: Iterable[str] | None = None,
        crs: str | pyproj.CRS = col.BNG,
        resolution_auto: bool = False,
    ) -> None:
        self.crs = metre_crs("crs", crs)
        self.area = None if area is None else as_geometry("area", area, self.crs)
        self.resolution_auto = bool(resolution_auto)
        self.chainey_cell_size: float | None = None
        if resolution is None:
            if self.area is None:
                raise InputError(
                    "H3Units needs a resolution or an area to choose one from; received neither. "
                    "Pass e.g. H3Units(9, area=force_area) or use H3Units.from_crimes(crimes)."
                )
            resolution, self.chainey_cell_size = _choose(self.area.bounds, "the area's extent")
            self.resolution_auto = True
        self.resolution = _check_resolution(resolution)
        self._to_wgs = pyproj.Transformer.from_crs(self.crs, col.WGS84, always_xy=True)
        found: set[str] = set()
        if self.area is not None:
            found |= self._cover(self.area)
        if cells is not None:
            found |= _check_cells(cells, self.resolution)
        if not found:
            raise InputError(
                "H3Units has no cells: the area covers none and no cells were given. Pass a non-empty "
                "area or cells=[...] of H3 ids."
            )
        if len(found) > MAX_CELLS:
            raise InputError(
                f"{len(found):,} H3 cells at resolution {self.resolution} exceed the limit of "
                f"{MAX_CELLS:,}. Pass a coarser resolution such as {max(self.resolution - 2, 0)}."
            )
        self._ids = np.array(sorted(found), dtype=object)
        self._index = pd.Index(self._ids)
        self._frame: gpd.GeoDataFrame | None = None

    @classmethod
    def from_crimes(
        cls,
        crimes: pd.DataFrame,
        resolution: int | None = None,
        area: Any = None,
        *,
        crs: str | pyproj.CRS = col.BNG,
    ) -> H3Units:
        """Cells covering ``area`` if given, else the crimes' bounding box.

        With an area, crimes outside every cell overlapping it are assigned ``<NA>``.

        Parameters
        ----------
        crimes : pandas.DataFrame
            Crimes with ``lon``/``lat`` and/or ``x``/``y`` (metres in ``crs``).
        resolution : int, optional
            None chooses it from the study area's bounding box (logged, see the module notes).
        area : shapely geometry, GeoSeries or GeoDataFrame, optional
            Study area in ``crs``.
        crs : str or pyproj.CRS, default "EPSG:27700"

        Examples
        --------
        >>> import pandas as pd
        >>> crimes = pd.DataFrame({"x": [500_000.0, 540_000.0], "y": [200_000.0, 250_000.0]})
        >>> H3Units.from_crimes(crimes).resolution  # 40,000 m / 150 = 267 m -> 71,289 m² -> res 9
        9
        """
        parsed = metre_crs("crs", crs)
        lon, lat = _crime_lonlat(crimes, parsed)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if area is not None:
            geom = as_geometry("area", area, parsed)
            source = "the area's extent"
        else:
            if not ok.any():
                raise InputError(
                    f"crimes have no usable coordinates among {len(lon)} rows; received only missing "
                    "values. Drop or geocode crimes without a location first."
                )
            to_metres = pyproj.Transformer.from_crs(col.WGS84, parsed, always_xy=True)
            x, y = to_metres.transform(lon[ok], lat[ok])
            geom = shapely.box(x.min(), y.min(), x.max(), y.max())
            source = "the data extent"
        chosen: float | None = None
        if resolution is None:
            resolution, chosen = _choose(geom.bounds, source)
        res = _check_resolution(resolution)
        # without an area, add each crime's own cell in case the box's cover misses one by rounding
        extra = set() if area is not None else {
            h3.latlng_to_cell(la, lo, res) for lo, la in _distinct(lon[ok], lat[ok])
        }
        units = cls(res, area=geom, cells=extra, crs=parsed, resolution_auto=chosen is not None)
        units.chainey_cell_size = chosen
        return units

    def _cover(self, geom: BaseGeometry) -> set[str]:
        """H3 cells overlapping ``geom`` (metres in :attr:`crs`)."""
        dense = shapely.segmentize(geom, DENSIFY_M)
        lonlat = shapely.transform(dense, lambda xy: np.column_stack(self._to_wgs.transform(*xy.T)))
        shape = h3.geo_to_h3shape(lonlat)
        return set(h3.h3shape_to_cells_experimental(shape, self.resolution, contain="overlap"))

    @property
    def frame(self) -> gpd.GeoDataFrame:
        """Every cell, sorted by id: ``unit_id`` (H3 index), ``area_m2``, ``geometry`` (hexagon)."""
        if self._frame is None:
            rings = [h3.cell_to_boundary(c) for c in self._ids]  # (lat, lng) tuples
            sizes = np.array([len(r) for r in rings])
            latlng = np.array([p for r in rings for p in r], dtype=float).reshape(-1, 2)
            to_crs = pyproj.Transformer.from_crs(col.WGS84, self.crs, always_xy=True)
            x, y = to_crs.transform(latlng[:, 1], latlng[:, 0])
            owner = np.repeat(np.arange(len(rings)), sizes)
            hexagons = shapely.polygons(shapely.linearrings(np.column_stack([x, y]), indices=owner))
            self._frame = unit_frame(self._ids, shapely.area(hexagons), hexagons, self.crs)
        return self._frame.copy()

    def assign(self, crimes: pd.DataFrame) -> pd.Series:
        """Return the H3 cell of each crime if it is one of the units, else ``<NA>``.

        Parameters
        ----------
        crimes : pandas.DataFrame
            Crimes with ``lon``/``lat`` (used where finite) and/or ``x``/``y`` in :attr:`crs`.

        Returns
        -------
        pandas.Series
            String dtype, aligned to ``crimes.index``.

        Examples
        --------
        >>> import pandas as pd, h3
        >>> crimes = pd.DataFrame({"lon": [-0.46], "lat": [52.13]})
        >>> units = H3Units(cells=[h3.latlng_to_cell(52.13, -0.46, 9)], resolution=9)
        >>> units.assign(crimes).tolist() == [h3.latlng_to_cell(52.13, -0.46, 9)]
        True
        """
        lon, lat = _crime_lonlat(crimes, self.crs)
        ok = np.isfinite(lon) & np.isfinite(lat)
        ids = np.full(len(lon), None, dtype=object)
        if ok.any():
            pairs, inverse = np.unique(np.column_stack([lon[ok], lat[ok]]), axis=0, return_inverse=True)
            found = np.array([h3.latlng_to_cell(la, lo, self.resolution) for lo, la in pairs], dtype=object)
            cells = found[inverse.ravel()]
            cells[self._index.get_indexer(cells) < 0] = None
            ids[ok] = cells
        return pd.Series(pd.array(ids, dtype=UNIT_ID_DTYPE), index=crimes.index, name=col.UNIT_ID)

    def neighbours(self) -> sparse.csr_matrix:
        """The 6 adjacent cells (5 around a pentagon) that are units, in :attr:`frame` order.

        Examples
        --------
        >>> import h3
        >>> centre = h3.latlng_to_cell(52.13, -0.46, 9)
        >>> units = H3Units(9, cells=h3.grid_disk(centre, 1))
        >>> int(units.neighbours().sum(axis=1).max())  # the centre touches all 6 others
        6
        """
        rings = [h3.grid_ring(c, 1) for c in self._ids]
        sizes = np.array([len(r) for r in rings])
        source = np.repeat(np.arange(len(rings)), sizes)
        target = self._index.get_indexer([c for r in rings for c in r])
        keep = target >= 0
        n = len(self._ids)
        return sparse.csr_matrix((np.ones(int(keep.sum())), (source[keep], target[keep])), shape=(n, n))

    def describe(self) -> dict[str, Any]:
        """Return the JSON-safe parameters of the cells."""
        return {
            "kind": self.kind,
            "resolution": self.resolution,
            "resolution_auto": self.resolution_auto,
            "resolution_rule": "average hexagon area closest (log scale) to Chainey's cell size² "
            f"(shorter side of the bounding box / {CHAINEY_DIVISOR})"
            if self.resolution_auto
            else "given",
            "chainey_cell_size_m": self.chainey_cell_size,
            "average_hexagon_area_m2": h3.average_hexagon_area(self.resolution, unit="m^2"),
            "n_units": len(self._ids),
            "area_filter": self.area is not None,
            "crs": self.crs.to_string(),
            "unit_id": "H3 index string (h3 4.x)",
        }

    def __len__(self) -> int:
        return len(self._ids)


def _crime_lonlat(crimes: pd.DataFrame, crs: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat per crime: the published columns where finite, else inverse-projected x/y."""
    frame = check_crimes(crimes, ())
    n = len(frame)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    if col.LON in frame.columns and col.LAT in frame.columns:
        lon = pd.to_numeric(frame[col.LON], errors="coerce").to_numpy(dtype=float, na_value=np.nan).copy()
        lat = pd.to_numeric(frame[col.LAT], errors="coerce").to_numpy(dtype=float, na_value=np.nan).copy()
    todo = ~(np.isfinite(lon) & np.isfinite(lat))
    if todo.any() and col.X in frame.columns and col.Y in frame.columns:
        x, y = crime_xy(frame, crs)
        to_wgs = pyproj.Transformer.from_crs(crs, col.WGS84, always_xy=True)
        lon[todo], lat[todo] = to_wgs.transform(x[todo], y[todo])
    elif not {col.LON, col.LAT} <= set(frame.columns) and not {col.X, col.Y} <= set(frame.columns):
        raise InputError(
            "crimes need 'lon'/'lat' (WGS84 degrees) or 'x'/'y' (metres) for H3 units; received "
            f"columns {', '.join(map(str, frame.columns))}."
        )
    bad = np.isfinite(lon) & ((np.abs(lat) > 90) | (np.abs(lon) > 180))
    lon[bad] = lat[bad] = np.nan
    return lon, lat


def _choose(bounds: tuple[float, ...], source: str) -> tuple[int, float]:
    """Resolution by Chainey's rule on ``bounds`` (and the cell size), announced on the logger."""
    size = chainey_cell_size(bounds)  # type: ignore[arg-type]
    res = resolution_for_cell_size(size)
    logger.info(
        "H3 resolution %d chosen from %s: Chainey cell size %g m (shorter side / %d) -> %.0f m², "
        "closest to the resolution's average hexagon area %.0f m²; pass resolution= to override",
        res, source, size, CHAINEY_DIVISOR, size * size, h3.average_hexagon_area(res, unit="m^2"),
    )
    return res, size


def _distinct(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Distinct (lon, lat) rows."""
    if len(lon) == 0:
        return np.empty((0, 2))
    return np.unique(np.column_stack([lon, lat]), axis=0)


def _check_resolution(resolution: Any) -> int:
    integer = isinstance(resolution, int | np.integer) and not isinstance(resolution, bool)
    if not integer or not 0 <= resolution <= 15:
        raise InputError(
            f"'resolution' must be an integer H3 resolution from 0 to 15; received {resolution!r}. "
            "Pass e.g. 9 (hexagons of about 0.1 km²) or None to choose from the data."
        )
    return int(resolution)


def _check_cells(cells: Iterable[str], resolution: int) -> set[str]:
    given = {str(c) for c in cells}
    bad = [c for c in given if not h3.is_valid_cell(c) or h3.get_resolution(c) != resolution]
    if bad:
        raise InputError(
            f"'cells' must be valid H3 cell ids of resolution {resolution}; received {len(bad)} that are "
            f"not, e.g. {bad[0]!r}. Build them with h3.latlng_to_cell(lat, lng, {resolution})."
        )
    return given
