"""network_kde: a hand-built T network computed by hand, and the real Leeds network vs networkx.

The Leeds network has no crimes; test events are SYNTHETIC (seeded points along the real roads).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from gripkit.errors import InputError
from gripkit.hotspots import network_kde
from gripkit.hotspots.netkde import _network_kde, network_distances
from gripkit.units import GridUnits, SegmentUnits

LEEDS = ("leeds", "leeds_centre_osm_roads.gpkg")  # in the shared data folder (conftest.shared_data)


def quartic(d: float, h: float) -> float:
    """Hand formula: K(u) = 15/16 (1 - u²)² for |u| <= 1, divided by h (per metre)."""
    u = d / h
    return 15 / 16 * (1 - u**2) ** 2 / h if abs(u) <= 1 else 0.0


@pytest.fixture(scope="module")
def tee() -> SegmentUnits:
    """Three segments meeting at (100, 0): s0 (0,0)-(100,0), s1 (100,0)-(200,0), s2 (100,0)-(100,100)."""
    roads = gpd.GeoDataFrame(
        geometry=[
            shapely.LineString([(0, 0), (100, 0), (200, 0)]),
            shapely.LineString([(100, 0), (100, 100)]),
        ],
        crs="EPSG:27700",
    )
    return SegmentUnits.from_network(roads, snap=20)


ONE = pd.DataFrame({"x": [50.0], "y": [5.0]})  # snaps to s0, 50 m from (0, 0)


def test_one_event_at_midpoints_by_hand(tee: SegmentUnits) -> None:
    out, record = _network_kde(ONE, tee, bandwidth=200)
    assert not out.attrs  # the record goes to the job's meta, never into DataFrame.attrs
    # network distances to the midpoints: s0 0 m; s1 50 + 50 = 100 m; s2 50 + 50 = 100 m
    # (the straight-line distance to s2's midpoint (100, 50) would be 70.7 m)
    assert out["unit_id"].tolist() == ["s0", "s1", "s2"]
    assert out["density"].tolist() == pytest.approx([quartic(0, 200), quartic(100, 200), quartic(100, 200)])
    assert out["density"].iloc[0] == pytest.approx(0.0046875)  # 15/16 / 200
    assert record["bandwidth_m"] == 200.0 and record["kernel"] == "quartic"


def test_lixels_average_along_the_segment(tee: SegmentUnits) -> None:
    out = network_kde(ONE, tee, bandwidth=200, lixel=50)
    # 2 lixels of 50 m per segment; midpoints at 25/75 m along each; distances by hand:
    # s0: 25, 25; s1: 50 + 25 = 75, 50 + 75 = 125; s2: 75, 125
    s0 = quartic(25, 200)
    s1 = (quartic(75, 200) + quartic(125, 200)) / 2
    assert out["density"].tolist() == pytest.approx([s0, s1, s1])


def test_weights_kernel_and_bandwidth(tee: SegmentUnits) -> None:
    crimes = pd.DataFrame({"x": [50.0, 50.0, 150.0], "y": [5.0, -5.0, 500.0], "harm": [2.0, 1.0, 9.0]})
    out, record = _network_kde(crimes, tee, bandwidth=120, kernel="triangular", weights="harm")
    # the third crime is 500 m from the roads (beyond snap=20): left out. Weight 3 at 50 m on s0.
    # triangular K(u) = 1 - |u|: s0 d=0 -> 3/120; s1, s2 d=100 -> 3 (1 - 100/120) / 120
    assert out["density"].tolist() == pytest.approx([3 / 120, 3 * (1 / 6) / 120, 3 * (1 / 6) / 120])
    assert record["crimes_used"] == 2 and record["beyond_tolerance"] == 1
    far = network_kde(ONE, tee, bandwidth=60)  # s1 and s2 midpoints 100 m away: zero
    assert far["density"].tolist() == pytest.approx([quartic(0, 60), 0.0, 0.0])


@pytest.fixture(scope="module")
def leeds_units(shared_data: Callable[..., Path]) -> SegmentUnits:
    square = (429_000, 433_000, 430_500, 434_500)  # ~1.5 km square of the centre
    roads = gpd.read_file(shared_data(*LEEDS), bbox=square)
    return SegmentUnits.from_network(roads)


def test_network_distance_on_real_roads_vs_euclid_and_networkx(leeds_units: SegmentUnits) -> None:
    rng = np.random.default_rng(7)
    lines, lengths = leeds_units.geometry, leeds_units.lengths
    seg = rng.integers(0, len(lines), 40)  # SYNTHETIC events on the real segments
    pos = rng.uniform(0, 1, 40) * lengths[seg]
    mids = np.arange(len(lines))
    i, j, d = network_distances(leeds_units, seg, pos, mids, lengths / 2, cutoff=300.0)
    assert len(d) > 40
    a = shapely.line_interpolate_point(lines[seg[i]], pos[i])
    b = shapely.line_interpolate_point(lines[mids[j]], lengths[j] / 2)
    assert (d >= shapely.distance(a, b) - 1e-6).all()  # along roads is never shorter than straight
    # independent: networkx Dijkstra on the node graph, entering/leaving segments at their ends
    graph = nx.Graph()
    for (u, v), length in zip(leeds_units.ends, lengths, strict=True):
        if u != v and (not graph.has_edge(u, v) or graph[u][v]["weight"] > length):
            graph.add_edge(int(u), int(v), weight=float(length))
    got = {(int(x), int(y)): float(z) for x, y, z in zip(i, j, d, strict=True)}
    for event in range(0, 40, 4):
        u, v = leeds_units.ends[seg[event]]
        out = {int(u): pos[event], int(v): lengths[seg[event]] - pos[event]}
        reach: dict[int, float] = {}
        for source, offset in out.items():
            found = nx.single_source_dijkstra_path_length(graph, source, cutoff=300.0, weight="weight")
            for node, dist in found.items():
                reach[node] = min(reach.get(node, np.inf), offset + dist)
        for target in range(len(lines)):
            tu, tv = leeds_units.ends[target]
            half = lengths[target] / 2
            best = min(reach.get(int(tu), np.inf) + half, reach.get(int(tv), np.inf) + half)
            if target == seg[event]:
                best = min(best, abs(pos[event] - lengths[target] / 2))
            if best <= 300.0:
                assert got[(event, target)] == pytest.approx(best, abs=1e-6)
            else:
                assert (event, target) not in got


def test_real_density_integrates_like_a_kernel(leeds_units: SegmentUnits) -> None:
    rng = np.random.default_rng(8)
    lines = leeds_units.geometry
    pick = rng.integers(0, len(lines), 200)
    on_road = shapely.line_interpolate_point(lines[pick], rng.uniform(0, 1, 200), normalized=True)
    xy = shapely.get_coordinates(on_road)
    crimes = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})  # SYNTHETIC, on the real roads
    out = network_kde(crimes, leeds_units, bandwidth=100, lixel=10)
    mass = float((out["density"] * out["length_m"]).sum())
    # each event's kernel integrates to 1 along a straight road; without equal-split, junctions add
    # mass and dead ends / the clip edge remove it: the total stays of the order of the 200 events
    assert 100 < mass < 600
    assert (out["density"] >= 0).all()


def test_bad_inputs(tee: SegmentUnits) -> None:
    with pytest.raises(InputError, match=r"'bandwidth' must be > 0 metres; received 0"):
        network_kde(ONE, tee, bandwidth=0)
    with pytest.raises(InputError, match=r"'lixel' must be > 0 metres; received -1"):
        network_kde(ONE, tee, lixel=-1)
    with pytest.raises(InputError, match="'kernel' must be one of quartic"):
        network_kde(ONE, tee, kernel="gaussian")
    with pytest.raises(InputError, match="must be SegmentUnits"):
        network_kde(ONE, GridUnits(100, (0, 0, 100, 100)))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="one finite value >= 0 per crime"):
        network_kde(ONE, tee, weights=np.array([-1.0]))
