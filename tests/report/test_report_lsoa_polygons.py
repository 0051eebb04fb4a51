"""The report draws a stored LSOA layer that has no polygons with the bundled (or given) polygons."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gripkit import datasets
from gripkit.report.full import _with_polygons

# two real West Yorkshire LSOA 2011 codes (ONS) and one that is no LSOA
CODES = ["E01010568", "E01011076", "X01000000"]


def _bare() -> pd.DataFrame:
    return pd.DataFrame({"unit_id": CODES, "harm": [3.0, 2.0, 1.0], "harm_rank": [1, 2, 3]})


def test_bundled_polygons_fill_a_bare_layer() -> None:
    drawn = _with_polygons(_bare(), None)
    assert isinstance(drawn, gpd.GeoDataFrame) and drawn.crs.to_epsg() == 27700
    expected = datasets.lsoa_2011("West Yorkshire").set_index("lsoa11cd").geometry
    assert drawn.geometry.iloc[0].equals(expected["E01010568"])
    assert drawn.geometry.iloc[1].equals(expected["E01011076"])
    assert drawn.geometry.iloc[2] is None  # not an LSOA: left without a polygon
    assert drawn["harm"].tolist() == [3.0, 2.0, 1.0]


def test_own_file_fills_a_bare_layer(shared_data: Callable[..., Path]) -> None:
    gpkg = shared_data("boundaries", "lsoa_2011_ew.gpkg")
    drawn = _with_polygons(_bare(), gpkg)
    assert drawn.geometry.notna().tolist() == [True, True, False]


def test_unknown_codes_leave_the_layer_alone() -> None:
    bare = _bare().iloc[2:]
    assert _with_polygons(bare, None) is bare
