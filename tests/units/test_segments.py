"""SegmentUnits on the REAL Cleveland (OS) and Leeds (OSM) road networks.

No crimes come with these networks (the real-data folder's README.md), so the test points are SYNTHETIC:
positions interpolated at seeded random distances along the real roads, plus seeded jitter, plus
points placed far from any road. Expected values are computed independently in each test
(shapely distances, geopandas lengths, endpoint counts from the output geometry itself).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from gripkit.errors import InputError
from gripkit.units import SegmentUnits
from gripkit.units.segments import OS_EXCLUDED, OSM_STREETS

CLEVELAND = ("cleveland", "cleveland_roads.gpkg")  # in the shared data folder (conftest.shared_data)
LEEDS = ("leeds", "leeds_centre_osm_roads.gpkg")
# about 3 km x 3 km around central Middlesbrough (EPSG:27700), inside the Cleveland extent
MIDDLESBROUGH = (448_000.0, 518_000.0, 451_000.0, 521_000.0)


@pytest.fixture(scope="module")
def cleveland_subset(shared_data: Callable[..., Path]) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(shared_data(*CLEVELAND), bbox=MIDDLESBROUGH)


@pytest.fixture(scope="module")
def leeds(shared_data: Callable[..., Path]) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(shared_data(*LEEDS))


def synthetic_points(units: SegmentUnits, n: int, seed: int, jitter: float = 8.0) -> pd.DataFrame:
    """SYNTHETIC crimes: seeded points along the real segments plus seeded Gaussian jitter (metres)."""
    rng = np.random.default_rng(seed)
    lines = units.geometry
    pick = rng.integers(0, len(lines), n)
    on_road = shapely.line_interpolate_point(lines[pick], rng.uniform(0, 1, n), normalized=True)
    xy = shapely.get_coordinates(on_road) + rng.normal(0, jitter, (n, 2))
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})


def endpoint_degrees(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Independent node degree at each segment's two ends, from the output geometry alone.

    degree = segment ends at the point + 2 x interior vertices of segments at the point
    (coordinates rounded to the millimetre, as the builder matches vertices).
    """
    xy, owner = shapely.get_coordinates(frame.geometry.to_numpy(), return_index=True)
    keys = [tuple(p) for p in np.round(xy, 3)]
    is_end = np.r_[True, owner[1:] != owner[:-1]] | np.r_[owner[1:] != owner[:-1], True]
    counts: Counter[tuple[float, float]] = Counter()
    for key, end in zip(keys, is_end, strict=True):
        counts[key] += 1 if end else 2
    first = shapely.get_coordinates(shapely.get_point(frame.geometry.to_numpy(), 0))
    last = shapely.get_coordinates(shapely.get_point(frame.geometry.to_numpy(), -1))
    return (
        np.array([counts[tuple(p)] for p in np.round(first, 3)]),
        np.array([counts[tuple(p)] for p in np.round(last, 3)]),
    )


@pytest.mark.parametrize("source", ["cleveland", "leeds"])
def test_segments_run_junction_to_junction_and_keep_length(
    source: str, cleveland_subset: gpd.GeoDataFrame, leeds: gpd.GeoDataFrame
) -> None:
    roads = cleveland_subset if source == "cleveland" else leeds
    units = SegmentUnits.from_network(roads)
    frame = units.frame
    assert list(frame.columns) == ["unit_id", "area_m2", "geometry", "length_m"]
    assert frame["area_m2"].isna().all()  # lines have no area (documented)
    # expected total: geopandas length of the rows the documented default filter keeps
    if source == "cleveland":
        kept = roads[~roads["classification"].isin(OS_EXCLUDED)]
    else:
        kept = roads[roads["highway"].isin(OSM_STREETS)]
    assert frame["length_m"].sum() == pytest.approx(kept.length.sum(), rel=1e-6)
    start, end = endpoint_degrees(frame)
    closed = shapely.is_closed(frame.geometry.to_numpy())
    # every end is a junction (>= 3) or a dead end (1); only an isolated closed loop may show 2
    assert ((start != 2) | closed).all() and ((end != 2) | closed).all()
    assert (closed & (start == 2)).sum() <= 0.01 * len(frame)
    assert len(units) < len(shapely.get_parts(kept.geometry.to_numpy())) * 3


def test_max_length_cuts_into_equal_pieces(leeds: gpd.GeoDataFrame) -> None:
    whole = SegmentUnits.from_network(leeds)
    capped = SegmentUnits.from_network(leeds, max_length=75.0)
    lengths = whole.frame["length_m"].to_numpy()
    assert capped.frame["length_m"].max() <= 75.0 + 1e-6
    # pieces per segment: ceil(L / 75), the fewest equal pieces no longer than 75 m
    assert len(capped) == int(np.ceil(lengths / 75.0 - 1e-9).clip(min=1).sum())
    assert capped.frame["length_m"].sum() == pytest.approx(lengths.sum(), rel=1e-9)
    assert capped.describe()["max_length_m"] == 75.0


def test_snapping_matches_brute_force_nearest(cleveland_subset: gpd.GeoDataFrame) -> None:
    units = SegmentUnits.from_network(cleveland_subset, snap=50.0)
    crimes = synthetic_points(units, 300, seed=1, jitter=15.0)
    snapped = units.snap_points(crimes)
    lines = units.geometry
    for row in range(0, 300, 7):  # a sample, brute force over every segment
        point = shapely.Point(crimes.loc[row, "x"], crimes.loc[row, "y"])
        distances = shapely.distance(point, lines)
        best = distances.min()
        if best > 50.0:
            assert snapped.loc[row, "segment"] == -1
            continue
        assert snapped.loc[row, "distance_m"] == pytest.approx(best, abs=1e-9)
        assert snapped.loc[row, "segment"] == np.flatnonzero(distances <= best + 1e-9)[0]
        seg = lines[snapped.loc[row, "segment"]]
        assert snapped.loc[row, "position_m"] == pytest.approx(seg.project(point), abs=1e-6)


def test_assigned_plus_beyond_equals_crimes_with_coordinates(leeds: gpd.GeoDataFrame) -> None:
    units = SegmentUnits.from_network(leeds, snap=30.0)
    near = synthetic_points(units, 500, seed=2)
    # SYNTHETIC far points: 5 km east of the 2.5 km-radius Leeds extract, and two without coordinates
    far = pd.DataFrame({"x": [440_000.0] * 20, "y": np.linspace(430_000, 437_000, 20)})
    missing = pd.DataFrame({"x": [np.nan, 430_000.0], "y": [433_000.0, np.nan]})
    crimes = pd.concat([near, far, missing], ignore_index=True)
    ids = units.assign(crimes)
    d = units.describe()
    assert d["crimes"] == 522 and d["no_coordinates"] == 2
    assert d["assigned"] + d["beyond_tolerance"] == 520
    assert d["beyond_tolerance"] >= 20
    assert ids.iloc[500:].isna().all()
    assert set(ids.dropna()) <= set(units.frame["unit_id"])
    assert d["snap_m"] == 30.0 and d["class_column"] == "highway"


def test_neighbours_share_an_end_node(cleveland_subset: gpd.GeoDataFrame) -> None:
    units = SegmentUnits.from_network(cleveland_subset)
    w = units.neighbours()
    assert (w != w.T).nnz == 0 and w.diagonal().sum() == 0
    frame = units.frame
    for i in (0, 10, 100):
        ends = shapely.points(shapely.get_coordinates(shapely.boundary(frame.geometry.iloc[i])))
        gap = shapely.distance(frame.geometry.to_numpy()[:, None], ends).min(axis=1)
        touching = set(np.flatnonzero(gap < 1e-6))
        # a segment touching this one's end at one of *its* ends (not mid-segment: that would be a node)
        assert set(w[i].indices) == touching - {i}


def test_default_filter_announced_and_recorded(
    leeds: gpd.GeoDataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="gripkit"):
        units = SegmentUnits.from_network(leeds)
    assert "keep highway values" in caplog.text and "footway" not in caplog.text
    d = units.describe()
    assert "residential" in d["road_classes"] and "footway" not in d["road_classes"]
    all_units = SegmentUnits.from_network(leeds, road_classes="all")
    assert all_units.frame["length_m"].sum() == pytest.approx(leeds.length.sum(), rel=1e-6)


def test_full_cleveland_network_smoke(shared_data: Callable[..., Path]) -> None:
    units = SegmentUnits.from_network(shared_data(*CLEVELAND))  # 33,481 links (README)
    d = units.describe()
    assert d["input_lines"] == 33_481
    assert d["total_length_m"] == pytest.approx(d["input_length_m"], rel=1e-6)
    crimes = synthetic_points(units, 5_000, seed=3)
    units.assign(crimes)
    assert units.describe()["assigned"] + units.describe()["beyond_tolerance"] == 5_000


def test_geographic_network_is_an_error_unless_crs_given(leeds: gpd.GeoDataFrame) -> None:
    lonlat = leeds.to_crs("EPSG:4326")
    with pytest.raises(InputError, match=r"geographic.*Pass crs='EPSG:27700'"):
        SegmentUnits.from_network(lonlat)
    units = SegmentUnits.from_network(lonlat, crs="EPSG:27700")
    assert units.crs.to_epsg() == 27700


def test_bad_inputs_say_how_to_fix(leeds: gpd.GeoDataFrame) -> None:
    with pytest.raises(InputError, match=r"no roads left.*values present:.*footway.*Pass road_classes"):
        SegmentUnits.from_network(leeds, road_classes=["autobahn"])
    with pytest.raises(InputError, match=r"'snap' must be > 0 metres; received 0"):
        SegmentUnits.from_network(leeds, snap=0)
    with pytest.raises(InputError, match=r"'max_length' must be > 0 metres; received -5"):
        SegmentUnits.from_network(leeds, max_length=-5)
    with pytest.raises(InputError, match="not found"):
        SegmentUnits.from_network("no/such/roads.gpkg")
    with pytest.raises(InputError, match="class_column 'kind'"):
        SegmentUnits.from_network(leeds, class_column="kind")
