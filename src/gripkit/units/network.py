"""Street segments from road lines: split junction to junction, cap lengths (vectorised shapely).

A *node* is a distinct vertex position (coordinates rounded to :data:`PRECISION_M`). Its *degree*
is the number of line pieces (edges between consecutive vertices) that end there. Lines are cut at
every vertex whose degree is not 2 -- a junction (3 or more) or a dead end (1) -- and pieces that
meet at a node of degree 2 (one road link continuing as the next) are merged back into one
segment. Lines that cross *without* a shared vertex (bridges, tunnels) are not junctions: road data
(OS links, OSM ways) put a shared vertex wherever roads really connect.

Every segment therefore runs from a node of degree != 2 to another, except an isolated closed
loop (a ring meeting nothing), which stays one segment starting and ending at its first vertex.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

#: Coordinates are rounded to this grid (metres) before vertices are matched as the same node.
PRECISION_M = 1e-3


@dataclass
class Segments:
    """Segments as parallel arrays: ``geometry`` (LineStrings), ``ends`` (start/end node per
    segment, shape (n, 2)), ``node_xy`` (coordinates of every node, shape (m, 2)) and ``source``
    (row of the input line each segment began on)."""

    geometry: np.ndarray
    ends: np.ndarray
    node_xy: np.ndarray
    source: np.ndarray


def single_lines(geometry: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LineString parts of (Multi)LineStrings and the input row of each part."""
    parts, rows = shapely.get_parts(geometry, return_index=True)
    keep = (shapely.get_type_id(parts) == 1) & ~shapely.is_empty(parts)
    return parts[keep], rows[keep]


def split_at_junctions(lines: np.ndarray, rows: np.ndarray, precision: float = PRECISION_M) -> Segments:
    """Cut LineStrings at vertices of degree != 2 and merge pieces through degree-2 nodes."""
    xy, owner = shapely.get_coordinates(lines, return_index=True)
    if precision > 0:
        xy = np.round(xy / precision) * precision
    same_line = np.r_[False, owner[1:] == owner[:-1]]
    repeat = same_line & np.r_[False, (xy[1:] == xy[:-1]).all(axis=1)]
    xy, owner = xy[~repeat], owner[~repeat]
    long_enough = np.bincount(owner, minlength=len(lines)) >= 2
    keep = long_enough[owner]
    xy, owner = xy[keep], owner[keep]
    keys = xy[:, 0] + 1j * xy[:, 1]
    nodes, node = np.unique(keys, return_inverse=True)
    node = node.ravel()
    first = np.r_[True, owner[1:] != owner[:-1]]
    last = np.r_[owner[1:] != owner[:-1], True]
    edge_start = np.flatnonzero(~last)  # vertex k starts an edge to vertex k + 1
    degree = np.bincount(node[edge_start], minlength=len(nodes))
    degree += np.bincount(node[edge_start + 1], minlength=len(nodes))
    # pieces: a new piece starts at each line's first vertex and at interior vertices of degree != 2
    starts_piece = first | (~last & (degree[node] != 2))
    piece_of_vertex = np.cumsum(starts_piece) - 1
    # vertex rows of each piece: every edge's start vertex plus, for the piece's last edge, its end
    edge_piece = piece_of_vertex[edge_start]
    closes = np.r_[edge_piece[1:] != edge_piece[:-1], True]
    vertex_rows = np.r_[edge_start, edge_start[closes] + 1]
    vertex_piece = np.r_[edge_piece, edge_piece[closes]]
    order = np.lexsort((vertex_rows, vertex_piece))
    vertex_rows, vertex_piece = vertex_rows[order], vertex_piece[order]
    pieces = shapely.linestrings(xy[vertex_rows], indices=vertex_piece)
    bounds = np.flatnonzero(np.r_[True, vertex_piece[1:] != vertex_piece[:-1]])
    piece_start = node[vertex_rows[bounds]]
    piece_end = node[vertex_rows[np.r_[bounds[1:] - 1, len(vertex_rows) - 1]]]
    piece_source = rows[owner[vertex_rows[bounds]]]
    node_xy = np.column_stack([nodes.real, nodes.imag])
    return _merge_chains(pieces, piece_start, piece_end, piece_source, degree, nodes, node_xy)


def _merge_chains(
    pieces: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    source: np.ndarray,
    degree: np.ndarray,
    nodes: np.ndarray,
    node_xy: np.ndarray,
) -> Segments:
    """Merge pieces that meet at degree-2 nodes (one link continuing as the next) into segments."""
    n = len(pieces)
    piece_ids = np.r_[np.arange(n), np.arange(n)]
    at = np.r_[start, end]
    through = degree[at] == 2
    piece_ids, at = piece_ids[through], at[through]
    order = np.argsort(at, kind="stable")
    piece_ids = piece_ids[order]
    # each degree-2 piece end pairs with exactly one other piece end at the same node
    a, b = piece_ids[0::2], piece_ids[1::2]
    links = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, component = csgraph.connected_components(links, directed=False)
    # number segments by their first piece, so they follow the input order
    first_piece = np.full(component.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first_piece, component, np.arange(n))
    rank = np.empty_like(first_piece)
    rank[np.argsort(first_piece, kind="stable")] = np.arange(len(first_piece))
    segment = rank[component]
    sizes = np.bincount(segment, minlength=len(first_piece))
    geometry = np.empty(len(first_piece), dtype=object)
    single = sizes[segment] == 1
    geometry[segment[single]] = pieces[single]
    multi = np.flatnonzero(sizes > 1)
    if len(multi):
        chained = np.flatnonzero(~single)
        chained = chained[np.argsort(segment[chained], kind="stable")]
        groups = shapely.multilinestrings(pieces[chained], indices=np.searchsorted(multi, segment[chained]))
        merged = shapely.line_merge(groups)
        geometry[multi] = [_rotate_ring(g, degree, nodes) for g in merged]
    ends = _end_nodes(geometry, nodes)
    seg_source = source[first_piece[np.argsort(rank)]]
    return Segments(geometry, ends, node_xy, seg_source)


def _rotate_ring(line: shapely.LineString, degree: np.ndarray, nodes: np.ndarray) -> shapely.LineString:
    """A closed merged chain starts at a junction on it if it has one (line_merge may start it anywhere)."""
    if line.geom_type != "LineString":  # not a simple chain: cannot happen for degree-2 links
        raise RuntimeError(f"merging street pieces gave a {line.geom_type}; please report this network")
    xy = shapely.get_coordinates(line)
    if not (xy[0] == xy[-1]).all():
        return line
    ring_nodes = np.searchsorted(nodes, xy[:-1, 0] + 1j * xy[:-1, 1])
    junction = np.flatnonzero(degree[ring_nodes] != 2)
    if len(junction) == 0 or junction[0] == 0:
        return line
    k = int(junction[0])
    return shapely.LineString(np.r_[xy[k:-1], xy[:k], xy[k : k + 1]])


def _end_nodes(geometry: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """(start node, end node) of each line, looked up in the sorted complex node keys."""
    first = shapely.get_coordinates(shapely.get_point(geometry, 0))
    last = shapely.get_coordinates(shapely.get_point(geometry, -1))
    return np.column_stack(
        [
            np.searchsorted(nodes, first[:, 0] + 1j * first[:, 1]),
            np.searchsorted(nodes, last[:, 0] + 1j * last[:, 1]),
        ]
    )


def cap_length(segments: Segments, max_length: float) -> Segments:
    """Cut every segment longer than ``max_length`` into the fewest equal pieces that fit.

    New cut points become nodes of degree 2 appended to ``node_xy``.
    """
    lengths = shapely.length(segments.geometry)
    k = np.maximum(np.ceil(lengths / max_length - 1e-9), 1).astype(np.int64)
    if (k == 1).all():
        return segments
    xy, owner = shapely.get_coordinates(segments.geometry, return_index=True)
    step = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    step[owner[1:] != owner[:-1]] = 0.0
    along = np.r_[0.0, np.cumsum(step)]
    along -= along[np.searchsorted(owner, owner)]  # distance from the segment's own start
    piece_len = lengths / k
    # cut points j * L / k, j = 1..k-1, of every segment
    cut_owner = np.repeat(np.arange(len(k)), k - 1)
    j = np.arange(len(cut_owner)) - np.repeat(np.cumsum(k - 1) - (k - 1), k - 1) + 1
    cut_along = j * piece_len[cut_owner]
    cut_xy = shapely.get_coordinates(shapely.line_interpolate_point(segments.geometry[cut_owner], cut_along))
    # vertices strictly inside a piece; cut points close one piece (j - 1) and open the next (j)
    vertex_piece = np.minimum(np.floor(along / piece_len[owner]).astype(np.int64), k[owner] - 1)
    nearest_cut = np.round(along / piece_len[owner])
    near_cut = np.abs(along - nearest_cut * piece_len[owner]) < 1e-9
    v_keep = ~(near_cut & (nearest_cut >= 1) & (nearest_cut <= k[owner] - 1))
    offset = np.cumsum(k) - k  # first global piece id of each segment
    cut_piece = offset[cut_owner] + j
    rows_piece = np.r_[offset[owner[v_keep]] + vertex_piece[v_keep], cut_piece - 1, cut_piece]
    rows_along = np.r_[along[v_keep], cut_along, cut_along]
    rows_xy = np.r_[xy[v_keep], cut_xy, cut_xy]
    order = np.lexsort((rows_along, rows_piece))
    geometry = shapely.linestrings(rows_xy[order], indices=rows_piece[order])
    new_nodes = len(segments.node_xy) + np.arange(len(cut_owner))
    piece_owner = np.repeat(np.arange(len(k)), k)
    starts = segments.ends[piece_owner, 0].copy()
    stops = segments.ends[piece_owner, 1].copy()
    inner_start = np.flatnonzero(np.r_[False, piece_owner[1:] == piece_owner[:-1]])
    starts[inner_start] = new_nodes
    stops[inner_start - 1] = new_nodes
    return Segments(
        geometry,
        np.column_stack([starts, stops]),
        np.r_[segments.node_xy, cut_xy],
        segments.source[piece_owner],
    )


class Edges:
    """The straight edges (consecutive vertex pairs) of every segment, for snapping."""

    def __init__(self, geometry: np.ndarray) -> None:
        xy, owner = shapely.get_coordinates(geometry, return_index=True)
        inner = owner[1:] == owner[:-1]
        self.start, self.end = xy[:-1][inner], xy[1:][inner]
        self.segment = owner[:-1][inner]
        self.length = np.hypot(*(self.end - self.start).T)
        along = np.cumsum(self.length)
        first = np.searchsorted(self.segment, self.segment)  # first edge of the same segment
        self.along = along - self.length - (along[first] - self.length[first])
        self.lines = shapely.linestrings(np.stack([self.start, self.end], axis=1))

    def locate(self, edge: np.ndarray, xy: np.ndarray) -> np.ndarray:
        """Distance along the segment of each point's projection on the given edge."""
        start, step = self.start[edge], self.end[edge] - self.start[edge]
        squared = (step**2).sum(axis=1)
        t = np.clip(((xy - start) * step).sum(axis=1) / np.where(squared > 0, squared, 1.0), 0.0, 1.0)
        return self.along[edge] + t * self.length[edge]
