"""LsoaUnits and read_lsoa_boundaries: hand-made polygons, real 2011 boundaries, real crimes."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gripkit.errors import InputError
from gripkit.units import LsoaUnits, read_lsoa_boundaries

# two hand-made LSOAs: A is 100 m x 200 m (20,000 m²), B is 300 m x 100 m (30,000 m²)
SQUARES = gpd.GeoDataFrame(
    {"lsoa11cd": ["A", "B"]},
    geometry=[shapely.box(0, 0, 100, 200), shapely.box(100, 0, 400, 100)],
    crs="EPSG:27700",
)
CODES = pd.DataFrame({"lsoa_code": ["A", " A ", "B", "C", None, ""]})


def test_assign_by_code_with_boundaries() -> None:
    units = LsoaUnits(SQUARES)
    # by hand: A, A (whitespace stripped), B, C unknown -> NA, missing -> NA, blank -> NA
    assert units.assign(CODES).tolist() == ["A", "A", "B", pd.NA, pd.NA, pd.NA]
    frame = units.frame
    assert frame["unit_id"].tolist() == ["A", "B"]
    assert frame["area_m2"].tolist() == [20_000.0, 30_000.0]
    last = units.describe()["last_assignment"]
    assert last == {
        "crimes": 6,
        "matched": 3,
        "unmatched": 1,
        "no_code": 2,
        "located": 0,
        "unmatched_codes": ["C"],
    }


def test_unknown_codes_are_placed_by_coordinates() -> None:
    """A 2021 code unknown to 2011 boundaries goes to the polygon containing the point (by hand:
    (250, 50) lies in B = box(100, 0, 400, 100); (50, 150) in A; (900, 900) in neither)."""
    crimes = pd.DataFrame(
        {
            "lsoa_code": ["E01099999", None, "E01099998", "A"],
            "x": [250.0, 50.0, 900.0, 250.0],
            "y": [50.0, 150.0, 900.0, 50.0],
        }
    )
    units = LsoaUnits(SQUARES)
    assert units.assign(crimes).tolist() == ["B", "A", pd.NA, "A"]  # a known code wins over location
    last = units.describe()["last_assignment"]
    assert (last["matched"], last["unmatched"], last["located"], last["no_code"]) == (1, 2, 2, 1)
    json.dumps(units.describe())


def test_without_boundaries() -> None:
    units = LsoaUnits.from_crimes(CODES)
    # distinct non-blank codes, sorted: A, B, C
    assert units.frame["unit_id"].tolist() == ["A", "B", "C"]
    assert units.frame["area_m2"].isna().all()
    assert units.frame.geometry.isna().all()
    assert units.closed and not units.describe()["has_boundaries"]
    assert units.assign(CODES).tolist() == ["A", "A", "B", "C", pd.NA, pd.NA]
    open_units = LsoaUnits()
    assert not open_units.closed and len(open_units) == 0
    assert open_units.assign(CODES).tolist() == ["A", "A", "B", "C", pd.NA, pd.NA]


def test_bad_boundaries() -> None:
    with pytest.raises(InputError, match="must be a GeoDataFrame"):
        LsoaUnits(pd.DataFrame({"lsoa11cd": ["A"]}))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="lacks the code column 'lsoa21cd'"):
        LsoaUnits(SQUARES, code_column="lsoa21cd")
    with pytest.raises(InputError, match="geographic"):
        LsoaUnits(SQUARES.set_crs("EPSG:4326", allow_override=True))
    doubled = pd.concat([SQUARES, SQUARES], ignore_index=True)
    with pytest.raises(InputError, match="2 duplicated codes"):
        LsoaUnits(doubled)
    with pytest.raises(InputError, match="either 'boundaries' or 'codes'"):
        LsoaUnits(SQUARES, codes=["A"])
    with pytest.raises(InputError, match="lacks column"):
        LsoaUnits(SQUARES).assign(pd.DataFrame({"x": [1.0]}))


def test_read_boundaries_force(lsoa_gpkg) -> None:  # type: ignore[no-untyped-def]
    lsoas = read_lsoa_boundaries(lsoa_gpkg, force="bedfordshire")  # case-insensitive
    # independent reference: pandas filter on the full file
    full = gpd.read_file(lsoa_gpkg, columns=["lsoa11cd", "police_force"], ignore_geometry=True)
    assert len(lsoas) == (full["police_force"] == "Bedfordshire").sum()
    assert set(lsoas["police_force"]) == {"Bedfordshire"}
    assert lsoas.crs.to_epsg() == 27700
    assert isinstance(lsoas, gpd.GeoDataFrame)


def test_read_boundaries_errors(lsoa_gpkg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"unknown police force 'Gotham'.*Bedfordshire.*Thames Valley"):
        read_lsoa_boundaries(lsoa_gpkg, force="Gotham")
    with pytest.raises(InputError, match="boundary file not found"):
        read_lsoa_boundaries(tmp_path / "missing.gpkg")
    with pytest.raises(InputError, match="layer 'nope' is not in"):
        read_lsoa_boundaries(lsoa_gpkg, layer="nope")


def test_real_bedfordshire_assignment(bedfordshire_crimes, lsoa_gpkg) -> None:  # type: ignore[no-untyped-def]
    crimes = bedfordshire_crimes(months=3)
    before = crimes.copy()
    units = LsoaUnits(read_lsoa_boundaries(lsoa_gpkg, force="Bedfordshire"))
    ids = units.assign(crimes)
    pd.testing.assert_frame_equal(crimes, before)  # not mutated
    # independent reference: plain pandas isin against the Bedfordshire 2011 codes
    known = set(units.frame["unit_id"].astype(object))
    has_code = crimes["lsoa_code"].notna()
    expected_matched = int((has_code & crimes["lsoa_code"].isin(known)).sum())
    last = units.describe()["last_assignment"]
    assert last["matched"] == expected_matched
    # crimes whose code is not in the 2011 file are placed by location: reference = geopandas sjoin
    rest = crimes[~(has_code & crimes["lsoa_code"].isin(known))]
    points = gpd.GeoDataFrame(rest, geometry=gpd.points_from_xy(rest["x"], rest["y"]), crs="EPSG:27700")
    joined = gpd.sjoin(points, units.frame, predicate="intersects")
    joined = joined[~joined.index.duplicated()]
    assert last["located"] == len(joined)
    assert (ids.loc[joined.index] == joined["unit_id"]).all()
    assert ids.notna().sum() == last["matched"] + last["located"]
    assert last["matched"] + last["unmatched"] + last["no_code"] == len(crimes)
    # out-of-force coordinates carry other forces' codes, so some crimes are unmatched
    assert last["unmatched"] > 0
    counts = ids.value_counts()
    assert counts.sum() + int(ids.isna().sum()) == len(crimes)
    assert set(counts.index) <= known
    assert np.isclose(units.frame["area_m2"].sum(), units.frame.geometry.area.sum())
