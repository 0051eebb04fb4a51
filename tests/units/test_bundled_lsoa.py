"""The bundled LSOA 2011 file against its source, the shared ONS GeoPackage, and the force filter."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest

from gripkit import datasets
from gripkit.units.build import _bundled_lsoa


@pytest.mark.parametrize("force", ["Bedfordshire", "West Yorkshire", "City of London", "Dyfed-Powys"])
def test_bundled_rows_equal_the_ons_geopackage(force: str, shared_data: Callable[..., Path]) -> None:
    gpkg = shared_data("boundaries", "lsoa_2011_ew.gpkg")
    source = gpd.read_file(gpkg, layer="lsoa_2011", where=f"police_force = '{force}'")
    bundled = datasets.lsoa_2011(force)
    source = source.sort_values("lsoa11cd", ignore_index=True)
    assert list(bundled.columns) == list(source.columns)
    assert bundled.drop(columns="geometry").equals(source.drop(columns="geometry"))
    assert (bundled.geometry.to_wkb() == source.geometry.to_wkb()).all()  # not simplified
    assert bundled.crs == source.crs


def test_all_of_england_and_wales() -> None:
    everything = datasets.lsoa_2011()
    assert len(everything) == 34_753 and everything["lsoa11cd"].is_unique  # ONS LSOA 2011 count
    assert everything["police_force"].nunique() == 43
    # the 2011 census usual residents of England and Wales: 56,075,912 (ONS)
    assert int(everything["population_2011"].sum()) == 56_075_912


def test_forces_by_any_published_name_and_several() -> None:
    assert len(datasets.lsoa_2011("West Yorkshire Police")) == 1388
    both = datasets.lsoa_2011(["Bedfordshire Police", "cleveland"])
    assert sorted(both["police_force"].unique()) == ["Bedfordshire", "Cleveland"] and len(both) == 381 + 352
    assert datasets.lsoa_2011("Atlantis").empty
    both.loc[0, "lsoa11nm"] = "changed"  # callers get a copy of the cached frame
    assert datasets.lsoa_2011(["Bedfordshire", "Cleveland"]).loc[0, "lsoa11nm"] != "changed"


def test_bundled_polygons_follow_the_crimes_forces() -> None:
    import pandas as pd

    crimes = pd.DataFrame({"force": ["Cleveland", "Cleveland", "Durham"], "lsoa_code": [None] * 3})
    assert sorted(_bundled_lsoa(crimes)["police_force"].unique()) == ["Cleveland", "Durham"]
    no_force = pd.DataFrame({"lsoa_code": ["E01011949", "E01011950"]})  # two Hartlepool LSOAs
    assert set(_bundled_lsoa(no_force)["police_force"]) == {"Cleveland"}
    assert _bundled_lsoa(pd.DataFrame({"lsoa_code": ["X"]})) is None


def test_one_force_is_read_quickly() -> None:
    datasets._lsoa_2011.cache_clear()
    start = time.perf_counter()
    datasets.lsoa_2011("Metropolitan Police")  # the largest force, 4,829 LSOAs
    assert time.perf_counter() - start < 1.0  # measured 0.03 s (all of E&W: 0.24 s)
