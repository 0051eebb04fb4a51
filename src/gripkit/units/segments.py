"""Street segments from a real road network as units: junction to junction, crimes snapped to roads.

Criminology's street segment (Weisburd 2015) is both sides of a street between two intersections.
:meth:`SegmentUnits.from_network` builds them from any line layer geopandas reads (OS Open Roads /
OpenMap Local links, OpenStreetMap ways): it keeps the road classes that count as streets, cuts
the lines at junctions and merges links that merely continue each other (see
:mod:`gripkit.units.network`), and optionally caps segment length by cutting long segments into
equal pieces. Crimes are assigned to the nearest segment within ``snap`` metres.

Default road filters (announced on the ``gripkit`` logger, recorded in :meth:`describe`):

``highway`` column (OpenStreetMap): :data:`OSM_STREETS` -- the public streets a foot patrol walks
    and police.uk snaps crimes to: trunk to tertiary roads and their links, unclassified,
    residential, living streets, pedestrianised streets and ``road`` (unknown type). Excluded:
    motorways (no pedestrians by law); footways, cycleways, paths, steps, bridleways, tracks,
    corridors -- in OSM these are mostly pavements and paths drawn *beside* streets, and keeping
    them would split one street's crimes between a street and its pavement; ``service`` (car-park
    aisles, driveways, alleys: 27% of Leeds centre's ways, fragments the network); proposed and
    construction ways. Pass ``road_classes=[...]`` to add, e.g., ``"service"`` or ``"footway"``.
``classification`` column (Ordnance Survey): every class except :data:`OS_EXCLUDED` (motorways).
    Restricted and local access roads (estates, retail parks, hospitals) stay: crime happens there.

``area_m2`` is NaN: a line has no area. Use ``length_m`` where a denominator is needed (crime per
metre of street, PAI by length).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from scipy import sparse

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.units.base import UNIT_ID_DTYPE, Units, crime_xy, metre_crs, unit_frame
from gripkit.units.network import Edges, Segments, cap_length, single_lines, split_at_junctions
from gripkit.validate import positive

logger = logging.getLogger("gripkit")

LENGTH_M = "length_m"
#: OSM ``highway`` values kept by default (see the module notes for why).
OSM_STREETS: tuple[str, ...] = (
    "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link", "tertiary",
    "tertiary_link", "unclassified", "residential", "living_street", "pedestrian", "road",
)  # fmt: skip
#: OS ``classification`` values dropped by default (motorways: no pedestrians).
OS_EXCLUDED: tuple[str, ...] = ("Motorway", "Motorway, Collapsed Dual Carriageway")
#: Road-class columns recognised, in order of preference, and which scheme each belongs to.
CLASS_COLUMNS: dict[str, str] = {"highway": "osm", "classification": "os", "class": "os"}
#: Street-name columns, first present wins: OSM and OS OpenMap Local ``name``, OS Open Roads ``name1``.
NAME_COLUMNS: tuple[str, ...] = ("name", "name1", "road_name")
#: Road-number columns: OSM ``ref``, OS OpenMap Local ``road_number``, OS Open Roads' classification number.
NUMBER_COLUMNS: tuple[str, ...] = ("ref", "road_number", "road_classification_number")
_COUNTS = ("crimes", "assigned", "beyond_tolerance", "no_coordinates")


class SegmentUnits(Units):
    """Street segments (junction to junction) of a road network; crimes snap to the nearest one.

    Build with :meth:`from_network`. Attributes after building:

    Attributes
    ----------
    snap : float
        Largest crime-to-road distance (metres) at which a crime is assigned.
    ends : numpy.ndarray
        ``(n, 2)`` start and end node of each segment (frame order); ``node_xy`` their coordinates.
    last_assignment : dict or None
        ``crimes``, ``assigned``, ``beyond_tolerance``, ``no_coordinates`` of the latest assign.
    names : numpy.ndarray
        Street name of each segment (frame order), from the road link it begins on: ``name`` and the
        road number (``ref`` in OpenStreetMap, ``road_number`` in OS roads) as ``"Boar Lane (A65)"``,
        either alone, or None when both are blank (see :data:`NAME_COLUMNS`, :data:`NUMBER_COLUMNS`).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> roads = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (100, 0), (200, 0)]),
    ...                                    shapely.LineString([(100, 0), (100, 80)])], crs=27700)
    >>> units = SegmentUnits.from_network(roads)  # the T-junction at (100, 0) splits the first line
    >>> units.frame[["unit_id", "length_m"]].values.tolist()
    [['s0', 100.0], ['s1', 100.0], ['s2', 80.0]]
    >>> import pandas as pd
    >>> units.assign(pd.DataFrame({"x": [150.0, 500.0], "y": [3.0, 0.0]})).tolist()
    ['s1', <NA>]
    """

    extra_columns: ClassVar[tuple[str, ...]] = (LENGTH_M,)

    kind: ClassVar[str] = "segment"

    def __init__(
        self,
        segments: Segments,
        crs: pyproj.CRS,
        *,
        snap: float,
        meta: dict[str, Any],
        names: np.ndarray | None = None,
    ) -> None:
        self.snap = positive("snap", snap, unit="metres", example="50")
        self.crs = crs
        self.ends = segments.ends
        self.node_xy = segments.node_xy
        self.source_rows = segments.source
        self._geometry = segments.geometry
        self._lengths = shapely.length(segments.geometry)
        self._ids = np.char.add("s", np.arange(len(self._geometry)).astype(str)).astype(object)
        blank = np.full(len(self._ids), None, dtype=object)
        self.names = blank if names is None else np.asarray(names, dtype=object)
        self._meta = meta
        self._tree: shapely.STRtree | None = None
        self._edges: Edges
        self.last_assignment: dict[str, int] | None = None

    @classmethod
    def from_network(
        cls,
        network: str | Path | gpd.GeoDataFrame,
        *,
        road_classes: str | list[str] | tuple[str, ...] | None = None,
        class_column: str | None = None,
        max_length: float | None = None,
        snap: float = 50.0,
        layer: str | None = None,
        crs: str | pyproj.CRS | None = None,
    ) -> SegmentUnits:
        """Street segments from a line file or GeoDataFrame of roads.

        Parameters
        ----------
        network : str, Path or geopandas.GeoDataFrame
            Road lines (LineString/MultiLineString) in a projected metre CRS, or a file geopandas
            reads (GeoPackage, Shapefile, GeoParquet ...).
        road_classes : list of str, "all" or None
            Road classes to keep. None: the documented default for the detected scheme (module
            notes), "all": every line.
        class_column : str, optional
            Column holding the road class; default the first of ``highway``, ``classification``,
            ``class`` present. Without one, every line is kept.
        max_length : float, optional
            Cut segments longer than this (metres) into the fewest equal pieces no longer than it.
        snap : float, default 50
            Crimes farther than this (metres) from every segment are not assigned.
        layer : str, optional
            Layer of a multi-layer file.
        crs : str or pyproj.CRS, optional
            Reproject the network to this metre CRS (e.g. "EPSG:27700" for a lon/lat OSM extract).
            Without it a geographic network is an error: nothing is reprojected silently.

        Returns
        -------
        SegmentUnits
        """
        snap = positive("snap", snap, unit="metres", example="50")
        if max_length is not None:
            max_length = positive("max_length", max_length, unit="metres", example="250")
        roads, source = _read_network(network, layer)
        roads, crs_used = _network_crs(roads, crs)
        roads, meta = _filter_classes(roads, road_classes, class_column)
        lines, rows = single_lines(roads.geometry.to_numpy())
        if len(lines) == 0:
            raise InputError(
                f"the road network has no LineString geometry to build segments from; received "
                f"{len(roads)} rows of types {sorted(set(roads.geom_type.dropna()))}."
            )
        segments = split_at_junctions(lines, rows)
        if max_length is not None:
            segments = cap_length(segments, max_length)
        names, meta["name_columns"] = _street_names(roads)
        meta.update(
            source=source,
            input_lines=len(roads),
            input_length_m=float(shapely.length(lines).sum()),
            max_length_m=max_length,
        )
        return cls(segments, crs_used, snap=snap, meta=meta, names=names[segments.source])

    @property
    def frame(self) -> gpd.GeoDataFrame:
        """Every segment: ``unit_id`` (``s0``, ``s1`` ...), ``area_m2`` (NaN), ``geometry``, ``length_m``."""
        frame = unit_frame(self._ids, np.full(len(self._ids), np.nan), self._geometry, self.crs)
        frame[LENGTH_M] = self._lengths
        return frame

    @property
    def lengths(self) -> np.ndarray:
        """Length of each segment in metres, frame order (a copy)."""
        return self._lengths.copy()

    @property
    def geometry(self) -> np.ndarray:
        """The segments' LineStrings, frame order (a copy of the array)."""
        return self._geometry.copy()

    def snap_points(self, crimes: pd.DataFrame) -> pd.DataFrame:
        """Nearest segment of each crime within :attr:`snap` metres (one vectorised tree query).

        Ties (a crime equidistant from several segments, e.g. at a junction) go to the segment
        first in frame order.

        Returns
        -------
        pandas.DataFrame
            Aligned to ``crimes.index``: ``segment`` (frame position, -1 if none), ``distance_m``
            (to the road, NaN if none) and ``position_m`` (distance along the segment from its
            start node to the snapped point, NaN if none).
        """
        x, y = crime_xy(crimes, self.crs)
        has_xy = np.isfinite(x) & np.isfinite(y)
        n = len(x)
        segment = np.full(n, -1, dtype=np.int64)
        distance = np.full(n, np.nan)
        position = np.full(n, np.nan)
        where = np.flatnonzero(has_xy)
        if len(where):
            # police.uk points repeat: query each distinct location once
            places, back = np.unique(x[where] + 1j * y[where], return_inverse=True)
            seg, dist, pos = self._nearest(np.column_stack([places.real, places.imag]))
            segment[where], distance[where], position[where] = seg[back], dist[back], pos[back]
        self.last_assignment = {
            "crimes": n,
            "assigned": int((segment >= 0).sum()),
            "beyond_tolerance": int((has_xy & (segment < 0)).sum()),
            "no_coordinates": int((~has_xy).sum()),
        }
        if self.last_assignment["beyond_tolerance"]:
            logger.info(
                "%d of %d crimes with coordinates are more than %g m from every street segment and are "
                "not assigned (raise snap= to include them)",
                self.last_assignment["beyond_tolerance"], int(has_xy.sum()), self.snap,
            )
        return pd.DataFrame(
            {"segment": segment, "distance_m": distance, "position_m": position}, index=crimes.index
        )

    def _nearest(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest segment, distance and position along it of each point (-1/NaN beyond snap).

        The tree holds the segments' straight edges (2-point lines): their boxes are tight, so one
        ``query_nearest`` is several times faster than on whole segments, and the distance to the
        nearest edge is the distance to its segment.
        """
        if self._tree is None:
            self._edges = Edges(self._geometry)
            self._tree = shapely.STRtree(self._edges.lines)
        edges = self._edges
        points = shapely.points(xy)
        (point_i, edge_i), dist = self._tree.query_nearest(
            points, max_distance=self.snap, return_distance=True, all_matches=True
        )
        seg_i = edges.segment[edge_i]
        order = np.lexsort((edge_i, seg_i, point_i))  # ties: lowest segment, then its first edge
        point_i, edge_i, seg_i, dist = point_i[order], edge_i[order], seg_i[order], dist[order]
        first = np.r_[True, point_i[1:] != point_i[:-1]]
        point_i, edge_i = point_i[first], edge_i[first]
        segment = np.full(len(xy), -1, dtype=np.int64)
        distance, position = np.full(len(xy), np.nan), np.full(len(xy), np.nan)
        segment[point_i], distance[point_i] = seg_i[first], dist[first]
        position[point_i] = edges.locate(edge_i, xy[point_i])
        return segment, distance, position

    def assign(self, crimes: pd.DataFrame) -> pd.Series:
        """Return the id of the nearest segment within :attr:`snap` metres (``<NA>`` beyond it).

        Parameters
        ----------
        crimes : pandas.DataFrame
            Crimes with ``x``/``y`` in the network's CRS (metres).

        Returns
        -------
        pandas.Series
            String dtype, aligned to ``crimes.index``.
        """
        segment = self.snap_points(crimes)["segment"].to_numpy()
        ids = np.full(len(segment), None, dtype=object)
        ids[segment >= 0] = self._ids[segment[segment >= 0]]
        return pd.Series(pd.array(ids, dtype=UNIT_ID_DTYPE), index=crimes.index, name=col.UNIT_ID)

    def neighbours(self) -> sparse.csr_matrix:
        """Segments sharing an end node (junction), in frame order, without self-links.

        Examples
        --------
        >>> import geopandas as gpd, shapely
        >>> roads = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (100, 0), (200, 0)]),
        ...                                    shapely.LineString([(100, 0), (100, 80)])], crs=27700)
        >>> SegmentUnits.from_network(roads).neighbours().toarray().astype(int).tolist()
        [[0, 1, 1], [1, 0, 1], [1, 1, 0]]
        """
        n = len(self._ids)
        incidence = sparse.csr_matrix(
            (np.ones(2 * n), (np.repeat(np.arange(n), 2), self.ends.ravel())),
            shape=(n, len(self.node_xy)),
        )
        shared = (incidence @ incidence.T).tocoo()
        off = shared.row != shared.col
        return sparse.csr_matrix((np.ones(int(off.sum())), (shared.row[off], shared.col[off])), shape=(n, n))

    def describe(self) -> dict[str, Any]:
        """Return the JSON-safe parameters (filter, caps, counts of the latest assignment)."""
        return {
            "kind": self.kind,
            "n_units": len(self._ids),
            "total_length_m": float(self._lengths.sum()),
            "snap_m": self.snap,
            **self._meta,
            "crs": self.crs.to_string(),
            **(self.last_assignment or dict.fromkeys(_COUNTS)),
        }

    def __len__(self) -> int:
        return len(self._ids)


def _street_names(roads: gpd.GeoDataFrame) -> tuple[np.ndarray, list[str]]:
    """Street name of each road row (see :attr:`SegmentUnits.names`) and the columns it came from."""
    found = [next((c for c in group if c in roads.columns), None) for group in (NAME_COLUMNS, NUMBER_COLUMNS)]
    blank = np.full(len(roads), None, dtype=object)
    name, number = (blank if c is None else roads[c].to_numpy(dtype=object, na_value=None) for c in found)
    names = np.array([street_name(a, b) for a, b in zip(name, number, strict=True)], dtype=object)
    if not any(found):
        logger.info("the road network has no name column (%s): segments are unnamed", ", ".join(NAME_COLUMNS))
    return names, [c for c in found if c]


def street_name(name: Any, number: Any) -> str | None:
    """``"George Street (A6)"``, ``"George Street"``, ``"A6"`` or None (both blank).

    >>> street_name("George Street", "A6"), street_name(None, "A6"), street_name(" ", None)
    ('George Street (A6)', 'A6', None)
    >>> street_name("A6", "A6")
    'A6'
    """
    text, ref = _text(name), _text(number)
    if text and ref and ref != text:
        return f"{text} ({ref})"
    return text or ref


def _text(value: Any) -> str | None:
    """``value`` as text with runs of white space made one space; None if missing or blank."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return " ".join(str(value).split()) or None


def _read_network(network: Any, layer: str | None) -> tuple[gpd.GeoDataFrame, str]:
    if isinstance(network, gpd.GeoDataFrame):
        return network, "GeoDataFrame"
    if isinstance(network, str | Path):
        path = Path(network)
        if not path.exists():
            raise InputError(
                f"road network file not found; received {str(network)!r}. Pass a line file such as "
                "cleveland_roads.gpkg or a GeoDataFrame."
            )
        return pyogrio.read_dataframe(path, layer=layer), str(path)
    raise InputError(
        f"'network' must be a path to a line file or a GeoDataFrame of roads; received "
        f"{type(network).__name__}."
    )


def _network_crs(roads: gpd.GeoDataFrame, crs: Any) -> tuple[gpd.GeoDataFrame, pyproj.CRS]:
    if roads.crs is None:
        raise InputError(
            "the road network has no CRS; received crs=None. Set it, e.g. roads.set_crs('EPSG:27700')."
        )
    own = pyproj.CRS(roads.crs)
    if crs is not None:
        target = metre_crs("crs", crs)
        return (roads if own.equals(target) else roads.to_crs(target)), target
    try:
        return roads, metre_crs("road network CRS", own)
    except InputError as exc:
        raise InputError(
            f"{exc} Segment lengths and snapping need metres. Pass crs='EPSG:27700' (or your local "
            "metre CRS) and the network is reprojected."
        ) from None


def _filter_classes(
    roads: gpd.GeoDataFrame, road_classes: Any, class_column: str | None
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Keep the chosen road classes; return the kept rows and a record of the filter."""
    if class_column is None:
        class_column = next((c for c in CLASS_COLUMNS if c in roads.columns), None)
    elif class_column not in roads.columns:
        raise InputError(
            f"class_column {class_column!r} is not a column of the road network; received columns "
            f"{', '.join(map(str, roads.columns))}."
        )
    meta: dict[str, Any] = {"class_column": class_column, "road_classes": "all", "filter": "all"}
    if road_classes == "all" or (class_column is None and road_classes is None):
        if class_column is None:
            logger.info("the road network has no road-class column: every line is a street")
        return roads, meta
    if class_column is None:
        raise InputError(
            "road_classes were given but the network has no road-class column; received columns "
            f"{', '.join(map(str, roads.columns))}. Pass class_column= or road_classes='all'."
        )
    values = roads[class_column].astype("string")
    present = sorted(values.dropna().unique().tolist())
    if road_classes is None:
        if CLASS_COLUMNS.get(class_column) == "osm":
            kept, rule = list(OSM_STREETS), "OSM streets default (gripkit.units.segments.OSM_STREETS)"
        else:
            kept = [v for v in present if v not in OS_EXCLUDED]
            rule = "all classes except motorways (gripkit.units.segments.OS_EXCLUDED)"
        logger.info(
            "street segments keep %s values %s (%s); pass road_classes= to change",
            class_column, ", ".join(v for v in kept if v in present), rule,
        )
    else:
        if isinstance(road_classes, str):
            road_classes = [road_classes]
        kept, rule = [str(v) for v in road_classes], "given"
    mask = values.isin(kept).fillna(False).to_numpy(dtype=bool)
    if not mask.any():
        raise InputError(
            f"no roads left after filtering column {class_column!r} to {kept}; values present: "
            f"{', '.join(present)}. Pass road_classes= with some of these, or 'all'."
        )
    meta.update(road_classes=[v for v in kept if v in present], filter=rule)
    return roads[mask], meta
