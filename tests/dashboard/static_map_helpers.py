"""A synthetic hotspot layer on a real place: a 200 m grid over Leeds city centre (EPSG:27700), harm
peaking near Briggate (synthetic numbers: no open crime data with these roads), each cell labelled
with its nearest named street in the OpenStreetMap roads of ../shared/data/leeds (real names)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from gripkit.mapcontext import nearest_street, read_roads

#: Briggate, Leeds (a shopping street in the city centre), British National Grid metres
PEAK = (430_200.0, 433_500.0)
CELL = 200.0


def leeds_hotspots(roads_path: Path, side: int = 15) -> gpd.GeoDataFrame:
    """``side`` x ``side`` cells of 200 m centred on :data:`PEAK`, ranked as gripkit.hotspots.count ranks."""
    x0, y0 = PEAK[0] - side * CELL / 2, PEAK[1] - side * CELL / 2
    cells = [shapely.box(x0 + i * CELL, y0 + j * CELL, x0 + (i + 1) * CELL, y0 + (j + 1) * CELL)
             for i in range(side) for j in range(side)]  # fmt: skip
    frame = gpd.GeoDataFrame({"unit_id": [f"c{k}" for k in range(len(cells))]}, geometry=cells, crs=27700)
    centre = frame.geometry.centroid
    distance2 = (centre.x - PEAK[0]) ** 2 + (centre.y - PEAK[1]) ** 2
    rng = np.random.default_rng(18)
    harm = np.round(2000 * np.exp(-distance2 / (2 * 500.0**2)) * rng.uniform(0.2, 1.0, len(frame)), 1)
    harm[harm < 30] = 0.0
    frame["crimes"] = np.ceil(harm / 100).astype(int)
    frame["harm"] = harm
    frame = frame.sort_values("harm", ascending=False, kind="stable").reset_index(drop=True)
    frame["harm_rank"] = np.arange(1, len(frame) + 1)
    frame["share_of_harm"] = frame["harm"] / frame["harm"].sum()
    frame["cumulative_share"] = frame["share_of_harm"].cumsum()
    frame["area_m2"] = CELL * CELL
    roads = read_roads(roads_path, bounds=tuple(frame.total_bounds))
    found = [nearest_street(p, roads) for p in frame.geometry.centroid]
    frame["label"] = [f"On or near {s[0]}" if s else None for s in found]
    return frame
