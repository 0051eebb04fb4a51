"""H3Units: assignment against independent h3 calls, areas against h3.cell_area, real crimes."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from gripkit.errors import InputError
from gripkit.units import H3Units
from gripkit.units.hexgrid import resolution_for_cell_size


def test_assignment_equals_h3_per_point(
    bedfordshire_crimes: Callable[..., pd.DataFrame], bedfordshire_area: gpd.GeoDataFrame
) -> None:
    crimes = bedfordshire_crimes(1)
    units = H3Units.from_crimes(crimes, resolution=9, area=bedfordshire_area)
    ids = units.assign(crimes)
    # independent: one h3.latlng_to_cell call per crime on the published lon/lat
    expected = [h3.latlng_to_cell(lat, lon, 9) for lon, lat in zip(crimes["lon"], crimes["lat"], strict=True)]
    inside = ids.notna().to_numpy()
    assert inside.mean() > 0.97  # a few published points lie far outside the force (README)
    assert ids[inside].tolist() == [e for e, ok in zip(expected, inside, strict=True) if ok]
    # crimes outside every cell are exactly those whose cell is not a unit
    known = set(units.frame["unit_id"])
    assert all(e not in known for e, ok in zip(expected, inside, strict=True) if not ok)


def test_xy_only_is_inverse_projected() -> None:
    to_bng = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    lon, lat = np.array([-0.46, -0.41, -0.52]), np.array([52.13, 52.14, 51.90])
    x, y = to_bng.transform(lon, lat)
    crimes = pd.DataFrame({"x": x, "y": y})
    units = H3Units.from_crimes(crimes, resolution=10)
    # the round trip through EPSG:27700 moves points by far less than a res-10 edge (~76 m)
    expected = [h3.latlng_to_cell(b, a, 10) for a, b in zip(lon, lat, strict=True)]
    assert units.assign(crimes).tolist() == expected


def test_areas_match_h3_cell_areas(bedfordshire_area: gpd.GeoDataFrame) -> None:
    units = H3Units(8, area=bedfordshire_area)
    frame = units.frame
    spherical = np.array([h3.cell_area(c, unit="m^2") for c in frame["unit_id"]])
    # h3 measures on a sphere of radius 6,371,007 m; EPSG:27700 on the Airy ellipsoid. At 52°N the
    # ellipsoid's M·N / R² = 6,375.2 km x 6,391.4 km / 6,371.0 km² ≈ 1.0039 (hand calculation), and
    # the grid's scale factor there differs from 1 by < 0.05%: ratios lie within 0.3% to 0.6%.
    ratio = frame["area_m2"].to_numpy() / spherical
    assert np.all((ratio > 1.0) & (ratio < 1.006))
    assert frame["area_m2"].sum() / spherical.sum() == pytest.approx(1.0039, abs=0.001)
    # the cells cover the force area: their union contains it
    assert shapely.union_all(frame.geometry.to_numpy()).contains(bedfordshire_area.geometry.iloc[0])


def test_resolution_rule_by_hand(caplog: pytest.LogCaptureFixture) -> None:
    # bounding box 40,000 m x 50,000 m: Chainey 40,000 / 150 = 266.7 -> 267 m, 71,289 m²;
    # h3 average areas (h3.average_hexagon_area): res 9 105,333 m², res 10 15,048 m²;
    # |ln(105,333 / 71,289)| = 0.39 < |ln(71,289 / 15,048)| = 1.56 -> res 9
    crimes = pd.DataFrame({"x": [500_000.0, 540_000.0, 520_000.0], "y": [200_000.0, 250_000.0, 210_000.0]})
    with caplog.at_level(logging.INFO, logger="gripkit"):
        units = H3Units.from_crimes(crimes)
    assert units.resolution == 9 == resolution_for_cell_size(267)
    assert "H3 resolution 9 chosen from the data extent: Chainey cell size 267 m" in caplog.text
    d = units.describe()
    assert d["resolution_auto"] is True and d["chainey_cell_size_m"] == 267.0
    assert math.isclose(d["average_hexagon_area_m2"], h3.average_hexagon_area(9, unit="m^2"))
    assert units.assign(crimes).notna().all()


def test_neighbours_are_h3_neighbours() -> None:
    centre = h3.latlng_to_cell(52.13, -0.46, 9)
    units = H3Units(9, cells=h3.grid_disk(centre, 2))  # 1 + 6 + 12 = 19 cells
    ids = units.frame["unit_id"].tolist()
    w = units.neighbours().toarray()
    # independent: h3.are_neighbor_cells for every pair
    expected = np.array([[a != b and h3.are_neighbor_cells(a, b) for b in ids] for a in ids])
    assert len(ids) == 19 and (w.astype(bool) == expected).all()
    assert w[ids.index(centre)].sum() == 6


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match=r"'resolution' must be an integer H3 resolution .* received 16"):
        H3Units(16, cells=[])
    with pytest.raises(InputError, match="needs a resolution or an area"):
        H3Units()
    with pytest.raises(InputError, match="geographic"):
        H3Units(9, area=shapely.box(0, 51, 1, 52), crs="EPSG:4326")
    with pytest.raises(InputError, match="valid H3 cell ids of resolution 9"):
        H3Units(9, cells=[h3.latlng_to_cell(52.1, -0.4, 8)])
