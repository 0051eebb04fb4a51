"""Count crimes and sum harm per spatial unit: the first hotspot verb.

``count(crimes, units)`` returns every unit (empty ones included) with the columns of
:data:`gripkit.columns.HOTSPOT_COLUMNS`, ranked by harm.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowStringArray

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.hotspots.labels import unit_labels
from gripkit.units.base import UNIT_ID_DTYPE, Units, check_crimes
from gripkit.validate import one_of

logger = logging.getLogger("gripkit")


def count(
    crimes: pd.DataFrame, units: Units, *, weights: str | None = col.HARM, geometry: str = "all"
) -> gpd.GeoDataFrame:
    """Count crimes and total harm in every unit, ranked from most to least harm.

    Parameters
    ----------
    crimes : pandas.DataFrame
        Canonical crime frame (see :mod:`gripkit.columns`); needs what ``units.assign`` needs
        (``x``/``y`` for grids, ``lsoa_code`` for LSOAs). Not modified.
    units : gripkit.units.Units
        The spatial units, e.g. :class:`~gripkit.units.GridUnits`.
    weights : str or None, default "harm"
        Column of non-negative finite harm weights summed into ``harm``. If it is the default
        ``"harm"`` and absent, or None, every crime weighs 1 and ``harm`` equals ``crimes``. A
        non-default name that is absent is an error.
    geometry : {"all", "with_crimes"}, default "all"
        ``"with_crimes"`` leaves the geometry of units without crimes empty (None), for summaries
        that never draw them: grid cells build their polygons only for the cells with crimes (the
        national table counts ~760k cells, of which ~10% hold a crime).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per unit, columns exactly ``unit_id, label, crimes, harm, harm_rank, share_of_harm,
        cumulative_share, area_m2, geometry``, sorted by ``harm_rank``:

        - ``label``: a name people can read (:mod:`gripkit.hotspots.labels`), e.g. ``"On or near
          George Street, Luton 012A"`` for a cell, the LSOA name, a segment's street name;
        - ``crimes``: number of crimes assigned to the unit (int);
        - ``harm``: sum of their harm weights (float);
        - ``harm_rank``: 1 = most harm; ties broken by more crimes first, then by ``unit_id``
          in ascending string order, so ranks are unique and reproducible;
        - ``share_of_harm``: ``harm`` / total harm of all assigned crimes (NaN if the total is 0);
        - ``cumulative_share``: running sum of ``share_of_harm`` in rank order (ends at 1).

        Crimes in no unit are logged, and counted in the hotspot job's ``meta["unassigned"]``.

    Examples
    --------
    >>> import pandas as pd
    >>> from gripkit.units import GridUnits
    >>> crimes = pd.DataFrame({"x": [10.0, 150.0, 160.0], "y": [10.0, 20.0, 30.0],
    ...                        "harm": [1.0, 2.0, 5.0]})
    >>> result = count(crimes, GridUnits(100, (0, 0, 199, 99)))
    >>> result[["unit_id", "crimes", "harm", "harm_rank"]].values.tolist()
    [['g1_0', 2, 7.0, 1], ['g0_0', 1, 1.0, 2]]
    >>> result["cumulative_share"].tolist()  # 7/8, then 8/8
    [0.875, 1.0]
    """
    return _count(crimes, units, weights=weights, geometry=geometry)[0]


def _count(
    crimes: pd.DataFrame, units: Units, *, weights: str | None = col.HARM, geometry: str = "all"
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`count` and its record: ``unassigned`` (crimes in no unit), ``unassigned_harm``,
    ``weights`` (the column summed; None when every crime weighed 1) and ``units`` (``units.describe()``)."""
    if not isinstance(units, Units):
        raise InputError(
            f"'units' must be a gripkit Units object; received {type(units).__name__}. "
            "Build one with gripkit.units.GridUnits.from_crimes(crimes) or LsoaUnits(boundaries)."
        )
    one_of("geometry", geometry, ("all", "with_crimes"))
    frame = check_crimes(crimes, ())
    values, used_column = _harm_weights(frame, weights)
    positions = units.positions(frame)  # rows in units.frame, when the units know them directly
    ids = units.assign(frame) if positions is None else None
    assigned: np.ndarray = ids.notna().to_numpy() if ids is not None else np.asarray(positions) >= 0
    unassigned = int((~assigned).sum())
    unassigned_harm = float(values[~assigned].sum())
    if unassigned:
        logger.info(
            "%d of %d crimes (harm %g) fall in no %s unit; they are not in the counts",
            unassigned, len(frame), unassigned_harm, units.kind,
        )

    # group by integer codes of the ids, or by the rows themselves (the same groups, summed in the
    # same row order as grouping by the ids)
    seen = pd.Index([], dtype=UNIT_ID_DTYPE)
    if ids is not None:
        codes, uniques = pd.factorize(ids, use_na_sentinel=True)
        seen = pd.Index(uniques)
    else:
        codes = np.asarray(positions)
    totals = pd.Series(values[assigned]).groupby(codes[assigned]).agg(["size", "sum"])
    if ids is None:  # rows of a closed unit set: its ids and areas, and only the geometry asked for
        unit_ids, area = units.ids_and_areas()
        rows = totals.index.to_numpy()
        shapes = _geometries(units, rows if geometry == "with_crimes" else None, len(area))
    else:
        (unit_ids, area, shapes), where = _unit_table(units, seen)
        rows = where[totals.index.to_numpy()]
    crimes_per_unit = np.zeros(len(area), dtype=np.int64)
    harm_per_unit = np.zeros(len(crimes_per_unit), dtype=float)
    crimes_per_unit[rows] = totals["size"].to_numpy(dtype=np.int64)
    harm_per_unit[rows] = totals["sum"].to_numpy(dtype=float)
    if ids is not None and geometry == "with_crimes":
        shapes = shapes.copy()
        shapes[crimes_per_unit == 0] = None
    crime_rows = np.asarray(codes)
    if ids is not None:  # crime -> row of the unit table
        crime_rows = where[crime_rows] if len(where) else np.full(len(crime_rows), -1)
        crime_rows[np.asarray(codes) < 0] = -1
    labels = unit_labels(frame, units, crime_rows, unit_ids, crimes_per_unit)
    result = _rank(unit_ids, labels, area, shapes, crimes_per_unit, harm_per_unit)
    meta = {
        "unassigned": unassigned,
        "unassigned_harm": unassigned_harm,
        "weights": used_column,
        "units": units.describe(),
    }
    return result, meta


def _harm_weights(frame: pd.DataFrame, harm_column: str | None) -> tuple[np.ndarray, str | None]:
    """Harm weight per crime (ones when there is no harm column) and the column used."""
    if harm_column is None or (harm_column == col.HARM and harm_column not in frame.columns):
        return np.ones(len(frame)), None
    if harm_column not in frame.columns:
        raise InputError(
            f"'weights' must name a column of crimes; received {harm_column!r}, which is not a column "
            f"(columns: {', '.join(map(str, frame.columns))}). Apply a harm table first or pass "
            "weights=None."
        )
    try:
        weights = pd.to_numeric(frame[harm_column]).to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"harm column {harm_column!r} must be numeric; received dtype {frame[harm_column].dtype}."
        ) from exc
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        example = frame[harm_column].to_numpy()[np.flatnonzero(bad)[0]]
        raise InputError(
            f"harm column {harm_column!r} must hold finite weights >= 0; received {int(bad.sum())} "
            f"missing, infinite or negative value(s), e.g. {example!r}. Give every crime type a weight "
            "(0 to exclude it) in the harm table."
        )
    return weights, harm_column


def _unit_table(units: Units, seen: pd.Index) -> tuple[tuple[Any, np.ndarray, Any], np.ndarray]:
    """The units' ids, areas and geometries (an Arrow/extension array, a float array, a
    GeometryArray with its CRS), plus (for open unit sets only) ids the crimes brought in; and the
    position of each id of ``seen`` among them."""
    frame = units.frame
    ids, area = frame[col.UNIT_ID].array, frame[col.AREA_M2].to_numpy(dtype=float)
    geometry = frame[col.GEOMETRY].array
    where = _positions(seen, frame[col.UNIT_ID])
    missing = where < 0
    if missing.any():
        extra = seen[missing]
        if units.closed:
            raise InputError(
                f"{type(units).__name__}.assign returned {len(extra)} id(s) not in its frame, e.g. "
                f"{extra[0]!r}; a closed unit set must only return its own ids."
            )
        added = sorted(extra)
        table = pd.concat(
            [
                frame[[col.UNIT_ID, col.AREA_M2, col.GEOMETRY]],
                gpd.GeoDataFrame(
                    {col.UNIT_ID: pd.array(added, dtype=UNIT_ID_DTYPE), col.AREA_M2: np.nan},
                    geometry=gpd.GeoSeries([None] * len(added), crs=geometry.crs),
                    crs=geometry.crs,
                ),
            ],
            ignore_index=True,
        )
        where[missing] = len(ids) + pd.Index(added).get_indexer(extra)
        ids, area = table[col.UNIT_ID].array, table[col.AREA_M2].to_numpy(dtype=float)
        geometry = table[col.GEOMETRY].array
    return (ids, area, geometry), where


def _geometries(units: Units, rows: np.ndarray | None, n: int) -> Any:
    """All the units' geometries (``rows`` None), or those of ``rows`` with None elsewhere."""
    if rows is None:
        return units.geometries()
    built = units.geometries(rows)
    out = np.full(n, None, dtype=object)
    out[rows] = np.asarray(built, dtype=object)
    return gpd.array.from_shapely(out, crs=built.crs)


def _positions(values: pd.Index, ids: pd.Series) -> np.ndarray:
    """Row of each of ``values`` among the unique ``ids`` (-1: absent); by Arrow when both are Arrow."""
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    left, right = values.array, ids.array
    if isinstance(left, ArrowStringArray) and isinstance(right, ArrowStringArray):
        found = pc.index_in(pa.array(left), value_set=pa.array(right))
        return found.fill_null(-1).to_numpy().astype(np.int64)
    return pd.Index(ids).get_indexer(values)


def _rank(
    ids: Any, labels: Any, area: np.ndarray, geometry: Any, crimes: np.ndarray, harm: np.ndarray
) -> gpd.GeoDataFrame:
    """Sort by harm (desc), crimes (desc), unit_id (asc); add rank and shares; fix column order.

    Unit ids are unique, so the order is total: ``np.lexsort`` over (harm, crimes, id rank) gives
    the order of ``sort_values([harm, crimes, unit_id], ascending=[False, False, True])``.
    """
    by_id = np.empty(len(ids), dtype=np.int64)
    by_id[np.asarray(ids.argsort())] = np.arange(len(ids))
    order = np.lexsort((by_id, -crimes, -harm))
    harm = harm[order]
    running = np.cumsum(harm)
    total = float(running[-1]) if len(running) else 0.0
    if total > 0:
        # dividing the running sum by its own last value makes the last share exactly 1
        share, cumulative = harm / total, running / total
    else:
        share = cumulative = np.full(len(harm), np.nan)
    return gpd.GeoDataFrame(
        {
            col.UNIT_ID: ids.take(order),
            col.LABEL: labels.take(order),
            col.CRIMES: crimes[order],
            col.HARM: harm,
            col.HARM_RANK: np.arange(1, len(order) + 1, dtype=np.int64),
            col.SHARE_OF_HARM: share,
            col.CUMULATIVE_SHARE: cumulative,
            col.AREA_M2: area[order],
            col.GEOMETRY: geometry.take(order),
        },
        geometry=col.GEOMETRY,
        crs=geometry.crs,
    )
