"""The one interface every kind of spatial unit implements.

A *unit* is a place crimes are counted in: a grid cell, an H3 hexagon, an LSOA, a street
segment. Every kind answers the same three questions:

``frame``
    which units exist (every unit, including those with no crime), as a GeoDataFrame with
    columns ``unit_id`` (string), ``area_m2`` (float) and ``geometry``;
``assign(crimes)``
    which unit each crime falls in (a string Series aligned to ``crimes.index``, ``<NA>`` for
    crimes outside every unit);
``describe()``
    the JSON-safe parameters that rebuild the units (cell size, origin, counts, and which
    values were chosen automatically), to be stored next to every result.

The helpers below are the shared validators for crime frames and geometries used by the
implementations; they raise :class:`~gripkit.errors.InputError` in the project's one format.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from shapely.geometry.base import BaseGeometry

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.validate import has_columns, projected_crs

#: dtype of unit ids everywhere: pandas' nullable string, so a missing unit is ``<NA>``.
UNIT_ID_DTYPE: pd.StringDtype = pd.StringDtype()


class Units(ABC):
    """Abstract set of spatial units that crimes are counted in.

    Subclasses set the class attribute :attr:`kind` and implement :attr:`frame`,
    :meth:`assign` and :meth:`describe`.

    Attributes
    ----------
    kind : str
        Short name of the unit type, e.g. ``"grid"`` or ``"lsoa"``.
    closed : bool
        True when :attr:`frame` lists every unit that :meth:`assign` can return. A unit set
        defined by the crimes themselves (e.g. LSOAs without boundaries) is *open*: consumers
        such as :func:`gripkit.hotspots.count` then add the ids they meet, with empty geometry
        and unknown area.

    Examples
    --------
    >>> import pandas as pd
    >>> from gripkit.units import GridUnits
    >>> crimes = pd.DataFrame({"x": [10.0, 150.0], "y": [10.0, 20.0]})
    >>> units = GridUnits.from_crimes(crimes, cell_size=100)
    >>> units.kind, len(units.frame)
    ('grid', 2)
    >>> units.assign(crimes).tolist()
    ['g0_0', 'g1_0']
    """

    kind: ClassVar[str] = "units"
    closed: bool = True
    #: Columns of :attr:`frame` beyond ``unit_id, area_m2, geometry`` (e.g. segments' ``length_m``).
    extra_columns: ClassVar[tuple[str, ...]] = ()

    @property
    @abstractmethod
    def frame(self) -> gpd.GeoDataFrame:
        """Every unit: ``unit_id`` (string), ``area_m2`` (float), ``geometry``; a new copy."""

    @abstractmethod
    def assign(self, crimes: pd.DataFrame) -> pd.Series:
        """Return the unit id of each crime, aligned to ``crimes.index`` (``<NA>`` = no unit)."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Return the JSON-safe parameters of these units (always includes ``kind``)."""

    def positions(self, crimes: pd.DataFrame) -> np.ndarray | None:
        """Row in :attr:`frame` of each crime's unit (-1: none), for units that know it without
        building ids (e.g. grid cells from coordinates); None (the default) when they do not.

        :func:`gripkit.hotspots.count` then counts by row instead of by id (the same groups, summed
        in the same order), skipping a string id per crime.
        """
        return None

    def ids_and_areas(self) -> tuple[Any, np.ndarray]:
        """The ``unit_id`` (extension array) and ``area_m2`` (float) columns of :attr:`frame`."""
        frame = self.frame
        return frame[col.UNIT_ID].array, frame[col.AREA_M2].to_numpy(dtype=float)

    def geometries(self, rows: np.ndarray | None = None) -> Any:
        """Geometries (a GeometryArray with the CRS) of the units at ``rows`` of :attr:`frame` (None:
        all); subclasses that build geometry on demand (grid cells) build only those."""
        geometry = self.frame[col.GEOMETRY].array
        return geometry if rows is None else geometry.take(rows)

    def neighbours(self) -> sparse.csr_matrix:
        """Binary adjacency between units, in :attr:`frame` order, without self-links.

        Grid cells: the 8 surrounding cells (a distance band of cell size x sqrt(2)); polygons:
        contiguity (shared boundary or corner); H3 cells: the 6 adjacent cells; street segments:
        segments sharing a junction. Gi* adds the self-link itself.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define neighbours yet")

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.describe().items() if k != "kind")
        return f"{type(self).__name__}({params})"


def unit_frame(
    unit_ids: Any, area_m2: Any, geometry: Any, crs: pyproj.CRS | str | None
) -> gpd.GeoDataFrame:
    """Build a unit frame with the standard columns and dtypes.

    Examples
    --------
    >>> import shapely
    >>> f = unit_frame(["a"], [1.0], [shapely.box(0, 0, 1, 1)], "EPSG:27700")
    >>> list(f.columns), str(f["unit_id"].dtype)
    (['unit_id', 'area_m2', 'geometry'], 'string')
    """
    return gpd.GeoDataFrame(
        {
            col.UNIT_ID: pd.array(unit_ids, dtype=UNIT_ID_DTYPE),
            col.AREA_M2: np.asarray(area_m2, dtype=float),
        },
        geometry=gpd.GeoSeries(np.asarray(geometry, dtype=object), crs=crs),
        crs=crs,
    )


def check_crimes(crimes: Any, needed: tuple[str, ...], what: str = "crimes") -> pd.DataFrame:
    """Check ``crimes`` is a non-empty DataFrame with the ``needed`` columns; return it.

    Raises
    ------
    InputError
        If ``crimes`` is not a DataFrame, has no rows, or lacks a needed column.
    """
    if not isinstance(crimes, pd.DataFrame):
        raise InputError(
            f"'{what}' must be a pandas DataFrame of crimes; received {type(crimes).__name__}. "
            "Load crimes with gripkit.Workspace.crimes()."
        )
    has_columns(crimes, needed, what=what)
    if len(crimes) == 0:
        raise InputError(
            f"'{what}' has no rows; received an empty frame with columns "
            f"{', '.join(map(str, crimes.columns))}. Check the month or crime-type filters."
        )
    return crimes


def crime_xy(crimes: pd.DataFrame, crs: pyproj.CRS | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``x``/``y`` columns of ``crimes`` as float arrays in metres.

    Non-finite coordinates stay NaN (such crimes belong to no unit). Raises InputError if the
    columns are not numeric, if they merely copy the ``lon``/``lat`` degrees (longitude/latitude
    passed where metres are needed), or if ``crimes`` is a GeoDataFrame whose CRS is geographic
    or differs from ``crs``.
    """
    frame = check_crimes(crimes, (col.X, col.Y))
    own_crs = getattr(frame, "crs", None) if isinstance(frame, gpd.GeoDataFrame) else None
    if own_crs is not None:
        projected_crs("crimes CRS", own_crs)
    if crs is not None and own_crs is not None and not pyproj.CRS(own_crs).equals(crs):
        raise InputError(
            f"crimes are in {pyproj.CRS(own_crs).to_string()} but the units are in {crs.to_string()}. "
            "Reproject the crimes (x, y) to the units' CRS first."
        )
    try:
        x = pd.to_numeric(frame[col.X]).to_numpy(dtype=float, na_value=np.nan)
        y = pd.to_numeric(frame[col.Y]).to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"crimes columns 'x' and 'y' must be numeric metres; received dtypes "
            f"{frame[col.X].dtype} and {frame[col.Y].dtype}. Convert them with pandas.to_numeric."
        ) from exc
    if _copied_degrees(frame, x, y):
        raise InputError(
            "crimes 'x'/'y' equal their 'lon'/'lat' columns (degrees); received x in "
            f"[{np.nanmin(x):g}, {np.nanmax(x):g}]. Units need projected metres, e.g. EPSG:27700 from "
            "pyproj.Transformer.from_crs('EPSG:4326', 'EPSG:27700', always_xy=True)."
        )
    return x, y


def _copied_degrees(frame: pd.DataFrame, x: np.ndarray, y: np.ndarray) -> bool:
    """True if ``x``/``y`` are the ``lon``/``lat`` columns copied over (degrees, not metres)."""
    if col.LON not in frame.columns or col.LAT not in frame.columns:
        return False
    lon = pd.to_numeric(frame[col.LON], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lat = pd.to_numeric(frame[col.LAT], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(lon) & np.isfinite(lat)
    return bool(ok.any()) and bool(np.allclose(x[ok], lon[ok]) and np.allclose(y[ok], lat[ok]))


def as_geometry(name: str, value: Any, crs: pyproj.CRS) -> BaseGeometry:
    """Return ``value`` (shapely geometry, GeoSeries or GeoDataFrame) as one polygonal geometry.

    GeoSeries/GeoDataFrames are unioned and must already be in ``crs`` (no silent reprojection);
    bare shapely geometries are taken to be in ``crs``.
    """
    if isinstance(value, gpd.GeoDataFrame | gpd.GeoSeries):
        if value.crs is None or not pyproj.CRS(value.crs).equals(crs):
            received = "no CRS" if value.crs is None else pyproj.CRS(value.crs).to_string()
            raise InputError(
                f"'{name}' must be in {crs.to_string()}; received {received}. "
                f"Reproject it first, e.g. {name}.to_crs({crs.to_string()!r})."
            )
        geom = value.geometry.union_all() if len(value) else shapely.Polygon()
    elif isinstance(value, BaseGeometry):
        geom = value
    else:
        raise InputError(
            f"'{name}' must be a shapely polygon or a GeoSeries/GeoDataFrame; received "
            f"{type(value).__name__}. Pass e.g. a force area read with geopandas.read_file."
        )
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
        raise InputError(
            f"'{name}' must be a non-empty polygon or multipolygon; received "
            f"{'an empty geometry' if geom.is_empty else geom.geom_type}."
        )
    return geom


def metre_crs(name: str, crs: Any) -> pyproj.CRS:
    """Return ``crs`` parsed, raising InputError unless it is projected with metre axes."""
    parsed = projected_crs(name, crs)
    units = {axis.unit_name for axis in parsed.axis_info}
    if units - {"metre", "meter"}:
        raise InputError(
            f"'{name}' must measure distances in metres; received {parsed.to_string()} with axis "
            f"unit(s) {', '.join(sorted(units))}. Reproject to a metre CRS such as EPSG:27700."
        )
    return parsed
