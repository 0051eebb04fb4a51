"""Patrollable areas: candidate areas too large for a ~15-minute foot patrol are flagged or replaced.

Operation Rowan chose LSOAs; most urban LSOAs are a few hundred metres across, but rural ones
run to several square kilometres (in Bedfordshire's top 21 by serious-violence harm, 2023-24,
Central Bedfordshire 004C is 16.7 km² and Bedford 019C 9.2 km²). A ~15-minute visit at walking
pace (5 km/h) covers about 1.25 km of street, roughly crossing a 1 km² square once, so an area
larger than :data:`DEFAULT_MAX_KM2` cannot be patrolled as one place in one visit (docs/patrol.md).

Two choices, the user's (``--large-areas``):

* ``"flag"`` (default): keep the area, mark it ``too_large`` and warn, naming it and its size;
* ``"cells"``: replace it by its hottest grid cell (the hotspot grid, default cell size, same
  harm table, months and serious-violence filter as the area choice) whose centroid lies inside
  it; the cell keeps the area's place in the ranking, takes the cell's id, label, crimes and harm,
  and records the area it came from in ``replaces``. An area with no harmed cell inside is
  kept and flagged.

Example
-------
>>> import geopandas as gpd, shapely
>>> frame = gpd.GeoDataFrame({"area_id": ["a", "b"], "area_m2": [2e5, 3e6]},
...                          geometry=[shapely.box(0, 0, 400, 500), shapely.box(0, 0, 1500, 2000)],
...                          crs=27700)
>>> flag_large(frame, 1.0)["too_large"].tolist()
[False, True]
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.validate import one_of
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")

#: Largest area (km²) treated as one foot-patrol place: about what a 15-minute walk crosses.
DEFAULT_MAX_KM2 = 1.0
LARGE_AREA_CHOICES = ("flag", "cells")
TOO_LARGE = "too_large"
REPLACES = "replaces"


def check_limit(max_km2: Any) -> float | None:
    """``max_km2`` as a positive float (None: no limit), else InputError."""
    if max_km2 is None:
        return None
    try:
        value = float(max_km2)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value <= 0:
        raise InputError(
            f"'max_area_km2' must be a positive number of square kilometres; received {max_km2!r}. "
            f"Pass e.g. {DEFAULT_MAX_KM2} (the default: about what a 15-minute foot patrol crosses)."
        )
    return value


def flag_large(areas: gpd.GeoDataFrame, max_km2: float | None) -> gpd.GeoDataFrame:
    """A copy of ``areas`` with a boolean ``too_large`` column (``area_m2`` over ``max_km2`` km²;
    False where the size is unknown or there is no limit)."""
    out = areas.copy()
    size = pd.to_numeric(out[C.AREA_M2], errors="coerce") if C.AREA_M2 in out else np.nan
    size = pd.Series(size, index=out.index)
    out[TOO_LARGE] = (size > max_km2 * 1e6).fillna(False).astype(bool) if max_km2 else False
    return out


def patrollable(
    areas: gpd.GeoDataFrame,
    *,
    max_km2: float | None = DEFAULT_MAX_KM2,
    large: str = "flag",
    ws: Workspace | None = None,
    cells: dict[str, Any] | None = None,
) -> tuple[gpd.GeoDataFrame, list[dict[str, Any]]]:
    """Flag (or, with ``large="cells"``, replace) the candidate areas above ``max_km2``.

    ``cells`` are the keywords of :func:`gripkit.hotspots.find.find_hotspots` that count the
    replacement grid (harm, months, force, serious_violence); ``ws`` is needed for ``"cells"``.
    Returns the areas (with ``too_large``, and ``replaces`` when any was replaced) and one record
    per large area (``area_id``, ``km2``, ``action``, ``cell``) for the plan's provenance.
    """
    one_of("large_areas", large, LARGE_AREA_CHOICES)
    limit = check_limit(max_km2)
    out = flag_large(areas, limit)
    big = out[out[TOO_LARGE]]
    if big.empty:
        return out, []
    records = [
        {"area_id": str(row[C.AREA_ID]), "km2": round(float(row[C.AREA_M2]) / 1e6, 2), "action": "flagged"}
        for _, row in big.iterrows()
    ]
    if large == "cells":
        if ws is None:
            raise InputError(
                "large_areas='cells' replaces an area by its hottest grid cell counted from the "
                "workspace; received no workspace. Pass one, or use large_areas='flag'."
            )
        out = _replace_by_cells(out, ws, records, cells or {})
    flagged = [r for r in records if r["action"] == "flagged"]
    if flagged:
        log.warning(
            "%d area(s) larger than %g km² (about what a 15-minute foot patrol crosses): %s; kept and "
            "marked too_large (pass --large-areas cells to patrol each one's hottest grid cell instead, "
            "or --max-area-km2 to change the limit)",
            len(flagged),
            limit,
            ", ".join(f"{r['area_id']} ({r['km2']:g} km²)" for r in flagged),
        )
    return out, records


def _replace_by_cells(
    areas: gpd.GeoDataFrame, ws: Workspace, records: list[dict[str, Any]], keywords: dict[str, Any]
) -> gpd.GeoDataFrame:
    from gripkit.hotspots.find import find_hotspots  # deferred: the hotspots import is heavy

    grid = find_hotspots(ws, unit="grid", store=False, **keywords)
    layer = grid.hotspots[grid.hotspots[C.HARM] > 0]
    points = layer.centroid
    centres = gpd.GeoDataFrame(layer.drop(columns=layer.geometry.name), geometry=points, crs=layer.crs)
    big = areas[areas[TOO_LARGE]][[C.AREA_ID, areas.geometry.name]].to_crs(layer.crs)
    inside = gpd.sjoin(centres, big, predicate="within", how="inner")
    taken = set(areas[C.AREA_ID].astype(str))
    rows: list[pd.Series] = []
    for _, row in areas.iterrows():
        record = next((r for r in records if r["area_id"] == str(row[C.AREA_ID])), None)
        pick = inside[inside[C.AREA_ID] == row[C.AREA_ID]] if record else inside.iloc[0:0]
        pick = pick[~pick[C.UNIT_ID].astype(str).isin(taken)]
        if record is None or pick.empty:
            rows.append(row)
            continue
        best = pick.sort_values([C.HARM, C.CRIMES, C.UNIT_ID], ascending=[False, False, True]).iloc[0]
        cell = layer.loc[best.name]
        new = row.copy()
        new[C.AREA_ID] = str(cell[C.UNIT_ID])
        for column in (C.CRIMES, C.HARM, C.AREA_M2, C.LABEL):
            if column in cell.index and column in new.index:
                new[column] = cell[column]
        new[areas.geometry.name] = cell[layer.geometry.name]
        new[TOO_LARGE] = False
        new[REPLACES] = str(row[C.AREA_ID])
        taken.add(new[C.AREA_ID])
        record.update(action="replaced", cell=new[C.AREA_ID], cell_harm=float(cell[C.HARM]))
        rows.append(new)
    replaced = [r for r in records if r["action"] == "replaced"]
    if replaced:
        log.info(
            "%d large area(s) replaced by their hottest %g m grid cell: %s",
            len(replaced),
            grid.meta["cell_size_m"],
            ", ".join(f"{r['area_id']} -> {r['cell']}" for r in replaced),
        )
    out = gpd.GeoDataFrame(rows, geometry=areas.geometry.name, crs=areas.crs).reset_index(drop=True)
    out = out.astype({c: areas[c].dtype for c in areas.columns if c != areas.geometry.name})
    if REPLACES not in out:
        out[REPLACES] = None
    return out
