"""Network kernel density: crime density along streets, with distance measured along the roads.

Method (the "simple" network KDE of Xie & Yan 2008; Okabe & Sugihara 2012, ch. 9):

1. each crime is snapped to its nearest street segment within the units' ``snap`` distance
   (:meth:`~gripkit.units.SegmentUnits.snap_points`): segment and position along it; crimes
   at the same snapped place are merged, their weights summed;
2. density is evaluated at each segment's midpoint (half its length along the line), or, with
   ``lixel``, at the midpoints of equal pieces ("lixels") no longer than ``lixel`` metres, whose
   densities are averaged per segment;
3. the distance from a crime to an evaluation point is the shortest path along the network: out of
   the crime's segment through either end node, node-to-node shortest paths
   (:func:`scipy.sparse.csgraph.dijkstra` with ``limit=bandwidth``, only from end nodes of
   segments that hold crimes, run tile by tile on the subgraph within reach), into the point's
   segment through either end -- or straight along the segment when both lie on the same one;
4. density = Σ weight · K(d / h) / h, with a one-dimensional kernel K on [-1, 1] integrating to 1
   (quartic K(u) = 15/16 (1 - u²)² by default), in crimes (or harm) per metre of street.

Approximation, stated: the kernel is *not* split at junctions (no "equal-split" correction), so
each branch leaving a junction receives the full kernel. An event's total mass along the network
is therefore 1 on a straight road, more than 1 within ``bandwidth`` of junctions of 3 or more
roads, and less near dead ends. Densities rank places correctly for hotspot mapping; they are not
a probability density over the network.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from gripkit.errors import InputError
from gripkit.units.segments import SegmentUnits
from gripkit.validate import one_of, positive

logger = logging.getLogger("gripkit")

DENSITY = "density"
#: Side of the tiles Dijkstra runs in, in bandwidths (>= 1 keeps distances exact).
TILE_FACTOR = 4.0
#: One-dimensional kernels on |u| <= 1, each integrating to 1 over [-1, 1].
KERNELS = {
    "quartic": lambda u: 15.0 / 16.0 * (1.0 - u**2) ** 2,
    "epanechnikov": lambda u: 0.75 * (1.0 - u**2),
    "triangular": lambda u: 1.0 - np.abs(u),
    "uniform": lambda u: np.full_like(u, 0.5),
}


def network_kde(
    crimes: pd.DataFrame,
    units: SegmentUnits,
    *,
    bandwidth: float = 200.0,
    kernel: str = "quartic",
    weights: str | np.ndarray | pd.Series | None = None,
    lixel: float | None = None,
) -> gpd.GeoDataFrame:
    """Kernel density of crimes along a street network (distance along the roads).

    Parameters
    ----------
    crimes : pandas.DataFrame
        Crimes with ``x``/``y`` in the units' CRS (metres).
    units : gripkit.units.SegmentUnits
        The street segments; crimes beyond its ``snap`` distance are left out (and counted).
    bandwidth : float, default 200
        Kernel radius h in metres of network distance.
    kernel : {"quartic", "epanechnikov", "triangular", "uniform"}
    weights : str, array-like or None
        Column of ``crimes`` (e.g. ``"harm"``) or one non-negative weight per crime; None = 1 each.
    lixel : float, optional
        Evaluate at the midpoints of equal pieces of each segment no longer than this (metres) and
        average them; None evaluates once, at each segment's midpoint.

    Returns
    -------
    geopandas.GeoDataFrame
        ``units.frame`` plus ``density`` (weight per metre of street). The record of the run
        (bandwidth, kernel, lixel, evaluation, the crimes used and left out, the method) goes to
        the hotspot job's ``meta["method_params"]``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> from gripkit.units import SegmentUnits
    >>> roads = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (100, 0), (200, 0)]),
    ...                                    shapely.LineString([(100, 0), (100, 100)])], crs=27700)
    >>> units = SegmentUnits.from_network(roads)
    >>> out = network_kde(pd.DataFrame({"x": [50.0], "y": [5.0]}), units, bandwidth=200)
    >>> out["density"].round(7).tolist()  # d = 0, 100, 100 m: 15/16 (1 - u²)² / 200
    [0.0046875, 0.0026367, 0.0026367]
    """
    return _network_kde(crimes, units, bandwidth=bandwidth, kernel=kernel, weights=weights, lixel=lixel)[0]


def _network_kde(
    crimes: pd.DataFrame,
    units: SegmentUnits,
    *,
    bandwidth: float = 200.0,
    kernel: str = "quartic",
    weights: str | np.ndarray | pd.Series | None = None,
    lixel: float | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`network_kde` and its record (bandwidth, kernel, lixel, crimes used, method)."""
    if not isinstance(units, SegmentUnits):
        raise InputError(
            f"'units' must be SegmentUnits (street segments); received {type(units).__name__}. "
            "Build them with SegmentUnits.from_network(roads)."
        )
    h = positive("bandwidth", bandwidth, unit="metres", example="200")
    one_of("kernel", kernel, KERNELS)
    if lixel is not None:
        lixel = positive("lixel", lixel, unit="metres", example="20")
    w = _weights(crimes, weights)
    snapped = units.snap_points(crimes)
    seg = snapped["segment"].to_numpy()
    used = (seg >= 0) & (w > 0)
    ev_seg, ev_pos, ev_w = _merge_places(seg[used], snapped["position_m"].to_numpy()[used], w[used])
    lengths = units.lengths
    pt_seg, pt_pos = _evaluation_points(lengths, lixel)
    e, p, d = network_distances(units, ev_seg, ev_pos, pt_seg, pt_pos, cutoff=h)
    contribution = ev_w[e] * KERNELS[kernel](d / h) / h
    at_points = np.bincount(p, weights=contribution, minlength=len(pt_seg))
    total = np.bincount(pt_seg, weights=at_points, minlength=len(lengths))
    per_segment = total / np.bincount(pt_seg, minlength=len(lengths))
    result = units.frame
    result[DENSITY] = per_segment
    record = {
        "bandwidth_m": h,
        "kernel": kernel,
        "lixel_m": lixel,
        "evaluated_at": "segment midpoints" if lixel is None else "lixel midpoints, averaged per segment",
        "density_unit": "weight per metre of street",
        "crimes": len(seg),
        "crimes_used": int(used.sum()),
        "beyond_tolerance": int(units.last_assignment["beyond_tolerance"]) if units.last_assignment else 0,
        "weights": weights if isinstance(weights, str) else ("given" if weights is not None else None),
        "method": "simple network KDE (Xie & Yan 2008): shortest-path distance, no equal-split",
    }
    return result, record


def network_distances(
    units: SegmentUnits,
    from_segment: np.ndarray,
    from_position: np.ndarray,
    to_segment: np.ndarray,
    to_position: np.ndarray,
    *,
    cutoff: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shortest network distances no longer than ``cutoff`` between points on segments.

    Points are given as (segment position in frame order, metres along it from its start node).

    Returns
    -------
    tuple of numpy.ndarray
        ``(i, j, distance)``: index into the ``from`` points, into the ``to`` points, and the
        network distance in metres, for every pair at most ``cutoff`` apart.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np, shapely
    >>> from gripkit.units import SegmentUnits
    >>> roads = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (100, 0), (200, 0)]),
    ...                                    shapely.LineString([(100, 0), (100, 100)])], crs=27700)
    >>> units = SegmentUnits.from_network(roads)
    >>> i, j, d = network_distances(units, np.array([0]), np.array([50.0]),
    ...                             np.array([2]), np.array([80.0]), cutoff=500)
    >>> d.tolist()  # 50 m to the junction, then 80 m up the side street
    [130.0]
    """
    lengths = units.lengths
    ends = units.ends
    cutoff = float(cutoff)
    # leg 1: from each point out through either end of its segment
    out_i = np.r_[np.arange(len(from_segment)), np.arange(len(from_segment))]
    out_node = np.r_[ends[from_segment, 0], ends[from_segment, 1]]
    out_d = np.r_[from_position, lengths[from_segment] - from_position]
    near = out_d <= cutoff
    out_i, out_node, out_d = out_i[near], out_node[near], out_d[near]
    # leg 2: node to node along the network
    sources, source_row = np.unique(out_node, return_inverse=True)
    src, node, dist = _node_distances(units, sources, cutoff)
    indptr = np.searchsorted(src, np.arange(len(sources) + 1))
    count = indptr[source_row + 1] - indptr[source_row]
    rows = np.repeat(indptr[source_row], count) + _ranges(count)
    i = np.repeat(out_i, count)
    via = node[rows]
    d = np.repeat(out_d, count) + dist[rows]
    keep = d <= cutoff
    i, via, d = i[keep], via[keep], d[keep]
    # leg 3: into each target point's segment through either end
    in_j = np.r_[np.arange(len(to_segment)), np.arange(len(to_segment))]
    in_node = np.r_[ends[to_segment, 0], ends[to_segment, 1]]
    in_d = np.r_[to_position, lengths[to_segment] - to_position]
    order = np.argsort(in_node, kind="stable")
    in_j, in_node, in_d = in_j[order], in_node[order], in_d[order]
    lo, hi = np.searchsorted(in_node, via, "left"), np.searchsorted(in_node, via, "right")
    count = hi - lo
    rows = np.repeat(lo, count) + _ranges(count)
    pair_i, pair_j = np.repeat(i, count), in_j[rows]
    pair_d = np.repeat(d, count) + in_d[rows]
    # straight along a shared segment
    same_i, same_j = _same_segment_pairs(from_segment, to_segment)
    same_d = np.abs(from_position[same_i] - to_position[same_j])
    pair_i, pair_j = np.r_[pair_i, same_i], np.r_[pair_j, same_j]
    pair_d = np.r_[pair_d, same_d]
    keep = pair_d <= cutoff
    return _pair_minimum(pair_i[keep], pair_j[keep], pair_d[keep], len(to_segment))


def _node_distances(
    units: SegmentUnits, sources: np.ndarray, cutoff: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source row, node, distance) for nodes within ``cutoff`` of each source, by source row."""
    n_nodes = len(units.node_xy)
    u, v = units.ends[:, 0], units.ends[:, 1]
    length = units.lengths
    loop = u == v
    # parallel segments between the same two nodes: the graph keeps the shortest
    a, b = np.minimum(u, v)[~loop], np.maximum(u, v)[~loop]
    frame = pd.DataFrame({"a": a, "b": b, "w": length[~loop]}).groupby(["a", "b"], sort=False)["w"].min()
    a, b = frame.index.get_level_values(0).to_numpy(), frame.index.get_level_values(1).to_numpy()
    # tiny positive floor: csgraph drops explicit zeros, which would disconnect zero-length links
    weight = np.maximum(frame.to_numpy(), 1e-12)
    graph = sparse.csr_matrix((weight, (a, b)), shape=(n_nodes, n_nodes))
    # Tiles of side >= cutoff: a path no longer than cutoff from a source stays within cutoff
    # (Euclidean) of it, so inside the 3 x 3 tiles around the source's tile. Dijkstra runs per tile
    # on that small subgraph: exact distances, without a dense sources x all-nodes array.
    tile = TILE_FACTOR * cutoff
    cell = np.floor(units.node_xy / tile).astype(np.int64)
    cell -= cell.min(axis=0)
    width = int(cell[:, 0].max()) + 3
    key = (cell[:, 1] + 1) * width + (cell[:, 0] + 1)
    by_key = np.argsort(key, kind="stable")
    sorted_key = key[by_key]
    source_key = key[sources]
    order = np.argsort(source_key, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(source_key[order]) != 0, True])
    parts_src, parts_node, parts_d = [], [], []
    for lo, hi in itertools.pairwise(bounds):
        rows = order[lo:hi]
        centre = int(source_key[rows[0]])
        around = np.array([centre + dy * width + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
        first = np.searchsorted(sorted_key, around, "left")
        last = np.searchsorted(sorted_key, around, "right")
        local = np.sort(np.concatenate([by_key[f:t] for f, t in zip(first, last, strict=True)]))
        starts = np.searchsorted(local, sources[rows])
        dist = csgraph.dijkstra(graph[local][:, local], directed=False, indices=starts, limit=cutoff)
        r, c = np.nonzero(np.isfinite(dist))
        parts_src.append(rows[r])
        parts_node.append(local[c])
        parts_d.append(dist[r, c])
    if not parts_src:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    src, node, d = np.concatenate(parts_src), np.concatenate(parts_node), np.concatenate(parts_d)
    by_source = np.argsort(src, kind="stable")
    return src[by_source], node[by_source], d[by_source]


def _same_segment_pairs(from_segment: np.ndarray, to_segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (from, to) index pair on the same segment."""
    order = np.argsort(to_segment, kind="stable")
    lo = np.searchsorted(to_segment[order], from_segment, "left")
    hi = np.searchsorted(to_segment[order], from_segment, "right")
    count = hi - lo
    rows = np.repeat(lo, count) + _ranges(count)
    return np.repeat(np.arange(len(from_segment)), count), order[rows]


def _pair_minimum(
    i: np.ndarray, j: np.ndarray, d: np.ndarray, n_j: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shortest of the candidate distances of each (i, j) pair."""
    key = i.astype(np.int64) * max(n_j, 1) + j
    order = np.lexsort((d, key))
    key, d = key[order], d[order]
    first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, bool)
    key, d = key[first], d[first]
    return key // max(n_j, 1), key % max(n_j, 1), d


def _ranges(count: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(c)`` for each c in ``count``."""
    total = int(count.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(np.cumsum(count) - count, count)
    return np.arange(total, dtype=np.int64) - starts


def _evaluation_points(lengths: np.ndarray, lixel: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(segment, position) of each evaluation point: midpoints, or lixel midpoints."""
    if lixel is None:
        return np.arange(len(lengths)), lengths / 2.0
    k = np.maximum(np.ceil(lengths / lixel - 1e-9), 1).astype(np.int64)
    seg = np.repeat(np.arange(len(lengths)), k)
    j = _ranges(k)
    return seg, (j + 0.5) * lengths[seg] / k[seg]


def _merge_places(
    seg: np.ndarray, pos: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crimes snapped to the same place as one event with their summed weight."""
    if len(seg) == 0:
        return seg, pos, w
    frame = pd.DataFrame({"s": seg, "p": pos, "w": w}).groupby(["s", "p"], sort=True)["w"].sum()
    return (
        frame.index.get_level_values(0).to_numpy(),
        frame.index.get_level_values(1).to_numpy(dtype=float),
        frame.to_numpy(dtype=float),
    )


def _weights(crimes: pd.DataFrame, weights: Any) -> np.ndarray:
    """Non-negative finite weight per crime (ones when None)."""
    if not isinstance(crimes, pd.DataFrame):
        raise InputError(
            f"'crimes' must be a pandas DataFrame with x/y; received {type(crimes).__name__}."
        )
    if weights is None:
        return np.ones(len(crimes))
    if isinstance(weights, str):
        if weights not in crimes.columns:
            raise InputError(
                f"weights column {weights!r} is not in crimes; received columns "
                f"{', '.join(map(str, crimes.columns))}. Apply a harm table first or pass weights=None."
            )
        values = pd.to_numeric(crimes[weights], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    else:
        values = np.asarray(weights, dtype=float)
    if values.shape != (len(crimes),) or not (np.isfinite(values) & (values >= 0)).all():
        raise InputError(
            f"'weights' must be one finite value >= 0 per crime ({len(crimes)}); received shape "
            f"{values.shape} with {int((~np.isfinite(values) | (values < 0)).sum())} missing or negative. "
            "Give every crime a weight (0 to leave it out)."
        )
    return values
