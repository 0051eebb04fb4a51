"""Patrol-area candidates: grow small, separated areas from the most harmful units.

A patrol area is what one ~15-minute foot-patrol visit can cover (Koper 1995: stops of about
10–15 minutes maximise residual deterrence). The default cap,
:data:`DEFAULT_MAX_AREA_M2` = 62,500 m², is a 250 m × 250 m square: its edge is 1 km, about what
two officers walk in 15 minutes at a slow patrol pace of ~4 km/h, and it sits between the 150 m
hot spot cells of the Southend-on-Sea trial (22,500 m²) and a whole LSOA. With 150 m cells it
admits 2 cells (45,000 m²); with 100 m cells, 6.

The default separation, :data:`DEFAULT_MIN_SEPARATION_M` = 200 m between area *boundaries*,
is twice the 100 m displacement buffer Operation Rowan measured around its areas, so two areas'
buffers do not overlap (and a patrol in one is not seen as a patrol in the other).
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.units.base import Units
from gripkit.validate import has_columns, one_of, positive, projected_crs

logger = logging.getLogger("gripkit")

#: 250 m x 250 m: what one ~15-minute foot-patrol visit covers (module docstring).
DEFAULT_MAX_AREA_M2 = 62_500.0
#: Boundary-to-boundary gap: twice Operation Rowan's 100 m displacement buffer.
DEFAULT_MIN_SEPARATION_M = 200.0
#: Output columns of :func:`candidate_areas`.
AREA_COLUMNS: tuple[str, ...] = (
    "area_id", col.LABEL, "unit_ids", "n_units", col.CRIMES, col.HARM, col.SHARE_OF_HARM, col.AREA_M2,
    "over_cap", col.GEOMETRY,
)


def candidate_areas(
    hotspots: gpd.GeoDataFrame,
    units: Units | None,
    *,
    n: int = 20,
    max_area_m2: float | None = None,
    max_cells: int | None = None,
    min_separation_m: float = DEFAULT_MIN_SEPARATION_M,
    weights: str | None = col.HARM,
    contiguity: str = "queen",
) -> gpd.GeoDataFrame:
    """Up to ``n`` patrol areas grown greedily from the highest-value units (harm, or crimes).

    Greedy and deterministic: the unit with the most ``value`` (ties: more crimes, then
    ``unit_id``) not yet used or blocked seeds an area; the area repeatedly absorbs its adjacent
    free unit with the most ``value`` while the total area stays ``<= max_area_m2`` and the
    number of units ``<= max_cells``; then every unit closer than ``min_separation_m`` to the
    area's boundary is blocked. Repeat until ``n`` areas or no free unit is left. Only units
    with ``value > 0`` and a geometry take part. Adjacency is ``units.neighbours()`` (queen for
    grids and polygons) when implemented, else geometries that intersect (share an edge or a
    corner); ``contiguity="rook"`` keeps only pairs sharing an edge. A single unit larger than
    the cap (e.g. an LSOA) still forms an area on its own, flagged ``over_cap``.

    Parameters
    ----------
    hotspots : geopandas.GeoDataFrame
        Output of :func:`gripkit.hotspots.count` (``unit_id``, ``crimes``, ``harm``, ``area_m2``,
        ``geometry``) in a projected CRS in metres. Not modified.
    units : gripkit.units.Units or None
        The units counted in, for :meth:`~gripkit.units.base.Units.neighbours`; None uses
        geometry adjacency.
    n : int, default 20
        Most areas to return.
    max_area_m2 : float, optional
        Cap on an area's size; None means :data:`DEFAULT_MAX_AREA_M2` (62,500 m²).
    max_cells : int, optional
        Cap on the number of units in an area (no cap when None).
    min_separation_m : float, default 200
        Least boundary-to-boundary distance between two areas, in metres (0: may touch).
    weights : {"harm", None}, default "harm"
        What ranks units and chooses which neighbour to absorb: ``"harm"``, or None for the
        number of crimes. Below, "value" is that column.
    contiguity : {"queen", "rook"}, default "queen"
        Whether units meeting only at a corner count as adjacent (queen, as in Gi*) or not
        (rook: more compact areas, e.g. two diagonal grid cells are never merged).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per area in the order found (``area_id`` 1, 2, ...): ``label`` (its seed unit's
        label, :mod:`gripkit.hotspots.labels`; None when ``hotspots`` has none), ``unit_ids``
        (comma-separated, in the order absorbed, seed first), ``n_units``, ``crimes`` and
        ``harm`` (sums over the members), ``share_of_harm`` (of the total harm in ``hotspots``),
        ``area_m2`` (sum of the members'), ``over_cap`` and ``geometry`` (the dissolved members).
        The adjacency used is logged.

    Examples
    --------
    >>> from gripkit.hotspots.count import count
    >>> from gripkit.units import GridUnits
    >>> units = GridUnits(100, (0, 0, 999, 999))
    >>> crimes = pd.DataFrame({"x": [250.0, 350.0, 950.0], "y": [250.0, 250.0, 950.0],
    ...                        "harm": [10.0, 8.0, 3.0]})
    >>> areas = candidate_areas(count(crimes, units), units, max_area_m2=30_000)
    >>> areas[["unit_ids", "harm", "area_m2"]].values.tolist()
    [['g2_2,g3_2', 18.0, 20000.0], ['g9_9', 3.0, 10000.0]]
    """
    return _candidate_areas(
        hotspots, units, n=n, max_area_m2=max_area_m2, max_cells=max_cells,
        min_separation_m=min_separation_m, weights=weights, contiguity=contiguity,
    )[0]


def _candidate_areas(
    hotspots: gpd.GeoDataFrame,
    units: Units | None,
    *,
    n: int = 20,
    max_area_m2: float | None = None,
    max_cells: int | None = None,
    min_separation_m: float = DEFAULT_MIN_SEPARATION_M,
    weights: str | None = col.HARM,
    contiguity: str = "queen",
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`candidate_areas` and its record: the parameters, the adjacency used, ``n_areas``."""
    n = int(positive("n", n, example="20"))
    cap = DEFAULT_MAX_AREA_M2 if max_area_m2 is None else positive(
        "max_area_m2", max_area_m2, unit="m²", example="62500")
    cells = None if max_cells is None else int(positive("max_cells", max_cells, example="4"))
    sep = _non_negative("min_separation_m", min_separation_m)
    if weights is not None:
        one_of("weights", weights, (col.HARM,))
    value = col.CRIMES if weights is None else weights
    one_of("contiguity", contiguity, ("queen", "rook"))
    pool, total_harm = _pool(hotspots, value)
    geoms = pool[col.GEOMETRY].to_numpy()
    tree = shapely.STRtree(geoms)
    neighbours, adjacency = _adjacency(pool, units, tree, rook=contiguity == "rook")
    areas = pool["_area"].to_numpy(dtype=float)
    status = np.zeros(len(pool), dtype=np.int8)  # 0 free, 1 used, 2 blocked
    found: list[list[int]] = []
    shapes: list[Any] = []
    while len(found) < n:
        free = np.flatnonzero(status == 0)
        if not len(free):
            break
        members = _grow(int(free[0]), neighbours, status, areas, cap, cells)
        status[members] = 1
        found.append(members)
        shape = shapely.union_all(geoms[members])
        shapes.append(shape)
        near = tree.query(shape, predicate="dwithin", distance=sep) if sep > 0 else np.array([], int)
        near = near[(status[near] == 0) & (shapely.distance(shape, geoms[near]) < sep - 1e-6)]
        status[near] = 2  # with sep == 0 areas may touch; used units never join another area
    if len(found) < n:
        logger.info("only %d of the %d patrol areas requested fit the caps and separation", len(found), n)
    result = _table(pool, found, shapes, total_harm, cap, hotspots.crs)
    record = {
        "n": n, "max_area_m2": cap, "max_area_default": max_area_m2 is None, "max_cells": cells,
        "min_separation_m": sep, "separation": "boundary to boundary", "weights": weights,
        "adjacency": adjacency, "contiguity": contiguity, "n_areas": len(found),
    }
    logger.info("%d patrol areas by %s (adjacency: %s)", len(found), value, adjacency)
    return result, record


def _non_negative(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (number >= 0 and np.isfinite(number)):
        raise InputError(f"'{name}' must be >= 0 metres; received {value!r}. Pass e.g. 200.")
    return number


def _pool(hotspots: Any, value: str) -> tuple[pd.DataFrame, float]:
    """Eligible units (value > 0, with geometry) in greedy order, and the total harm."""
    if not isinstance(hotspots, gpd.GeoDataFrame):
        raise InputError(
            f"'hotspots' must be the GeoDataFrame of gripkit.hotspots.count; received "
            f"{type(hotspots).__name__}."
        )
    has_columns(hotspots, (col.UNIT_ID, col.CRIMES, col.HARM, col.GEOMETRY), what="hotspots")
    if hotspots.crs is None:
        raise InputError(
            "'hotspots' must be in a projected CRS in metres; received no CRS. Set it, e.g. "
            "hotspots.set_crs('EPSG:27700')."
        )
    projected_crs("hotspots CRS", hotspots.crs)
    harm = hotspots[col.HARM].to_numpy(dtype=float)
    total_harm = float(pd.Series(harm).sum())
    # only units with value > 0 can take part: look at their geometries alone
    rows = np.flatnonzero((harm if value == col.HARM else hotspots[col.CRIMES].to_numpy(dtype=float)) > 0)
    geoms = hotspots.geometry.to_numpy()[rows]
    rows = rows[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if not len(rows):
        raise InputError(
            f"no unit has {value} > 0 and a geometry among {len(hotspots)} units; nothing to patrol. "
            "Check the crime selection and harm table."
        )
    frame = pd.DataFrame({
        col.UNIT_ID: hotspots[col.UNIT_ID].iloc[rows].to_numpy(dtype=object),
        col.LABEL: (
            hotspots[col.LABEL].astype(object).to_numpy()[rows] if col.LABEL in hotspots.columns else None
        ),
        col.CRIMES: hotspots[col.CRIMES].to_numpy(dtype=float)[rows],
        col.HARM: harm[rows],
        col.GEOMETRY: hotspots.geometry.to_numpy()[rows],
    })
    geom_area = shapely.area(frame[col.GEOMETRY].to_numpy())
    if col.AREA_M2 in hotspots.columns:
        given = hotspots[col.AREA_M2].to_numpy(dtype=float, na_value=np.nan)[rows]
        frame["_area"] = np.where(np.isfinite(given), given, geom_area)
    else:
        frame["_area"] = geom_area
    pool = frame.sort_values(
        [value, col.CRIMES, col.UNIT_ID], ascending=[False, False, True], kind="mergesort"
    ).reset_index(drop=True)
    return pool, total_harm


def _adjacency(
    pool: pd.DataFrame, units: Units | None, tree: shapely.STRtree, *, rook: bool
) -> tuple[sparse.csr_matrix, str]:
    """Adjacency among the pool units (``units.neighbours()`` if available, else geometry).

    ``tree`` is the STRtree of the pool's geometries, in pool order.
    """
    matrix, source = _queen(pool, units, tree)
    if not rook:
        return matrix, source
    coo = matrix.tocoo()
    geoms = pool[col.GEOMETRY].to_numpy()
    shared = shapely.intersection(shapely.boundary(geoms[coo.row]), shapely.boundary(geoms[coo.col]))
    edge = shapely.length(shared) > 0
    m = len(pool)
    return sparse.csr_matrix((coo.data[edge], (coo.row[edge], coo.col[edge])), shape=(m, m)), source


def _queen(pool: pd.DataFrame, units: Units | None, tree: shapely.STRtree) -> tuple[sparse.csr_matrix, str]:
    if units is not None:
        try:
            matrix = units.neighbours()
        except NotImplementedError:
            matrix = None
        if matrix is not None:
            frame_ids = pd.Index(units.frame[col.UNIT_ID].astype(object))
            pos = frame_ids.get_indexer(pool[col.UNIT_ID])
            if (pos >= 0).all():
                return sparse.csr_matrix(matrix[pos][:, pos]), "units.neighbours()"
    geoms = pool[col.GEOMETRY].to_numpy()
    left, right = tree.query(geoms, predicate="intersects")
    keep = left != right
    m = len(pool)
    return sparse.csr_matrix((np.ones(int(keep.sum())), (left[keep], right[keep])), shape=(m, m)), "geometry"


def _grow(
    seed: int,
    neighbours: sparse.csr_matrix,
    status: np.ndarray,
    areas: np.ndarray,
    cap: float,
    cells: int | None,
) -> list[int]:
    """Members of the area grown from ``seed``: absorb the best free neighbour while it fits.

    The frontier (free neighbours of the members, not yet members) grows with each unit absorbed.
    """
    members = [seed]
    size = float(areas[seed])
    inside = {seed}
    frontier: set[int] = set()
    pick = seed
    while cells is None or len(members) < cells:
        frontier.update(int(j) for j in _row(neighbours, pick) if status[j] == 0 and j not in inside)
        fits = [j for j in frontier if size + areas[j] <= cap * (1 + 1e-9)]
        if not fits:
            break
        pick = min(fits)  # pool order = most value first, ties already broken
        members.append(pick)
        inside.add(pick)
        frontier.discard(pick)
        size += float(areas[pick])
    return members


def _row(matrix: sparse.csr_matrix, i: int) -> np.ndarray:
    return matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]]


def _table(
    pool: pd.DataFrame, found: list[list[int]], shapes: list[Any], total_harm: float, cap: float, crs: Any
) -> gpd.GeoDataFrame:
    ids, labels = pool[col.UNIT_ID].to_numpy(dtype=object), pool[col.LABEL].to_numpy(dtype=object)
    areas, harms, crimes = (pool[c].to_numpy() for c in ("_area", col.HARM, col.CRIMES))
    rows = []
    for k, members in enumerate(found, start=1):
        area = float(areas[members].sum())
        harm = float(harms[members].sum())
        rows.append({
            "area_id": k,
            col.LABEL: labels[members[0]] if isinstance(labels[members[0]], str) else None,
            "unit_ids": ",".join(str(i) for i in ids[members]),
            "n_units": len(members),
            col.CRIMES: int(crimes[members].sum()),
            col.HARM: harm,
            col.SHARE_OF_HARM: harm / total_harm if total_harm > 0 else np.nan,
            col.AREA_M2: area,
            "over_cap": area > cap * (1 + 1e-9),
            col.GEOMETRY: shapes[k - 1],
        })
    frame = pd.DataFrame(rows, columns=list(AREA_COLUMNS))
    return gpd.GeoDataFrame(frame, geometry=col.GEOMETRY, crs=crs)
