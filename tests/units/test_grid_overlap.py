"""GridUnits over an area: the boundary-driven selection equals testing every cell against the area.

The reference, :func:`_every_cell`, is the rule as stated in :class:`GridUnits` (and how it was
computed before): keep a cell when its box intersects a polygon part without merely touching it.
The cases are the degenerate ones for the fast path: edges along grid lines, vertices on cell
corners, holes, parts meeting at a corner or along an edge, slivers, an invalid (bow-tie) part,
and real force areas (bundled boundaries) with coastlines and islands.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from gripkit import datasets
from gripkit.units import GridUnits, chainey_cell_size


def _every_cell(size: float, area: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Columns and rows (row-major) of the cells whose interior overlaps a polygon of ``area``."""
    extent = GridUnits(size, area.bounds)  # every cell of the area's bounding box
    cols, rows = extent._cols, extent._rows
    boxes = shapely.box(cols * size, rows * size, (cols + 1) * size, (rows + 1) * size)
    keep = np.zeros(len(boxes), dtype=bool)
    for part in shapely.get_parts(area):
        if part.geom_type == "Polygon":  # lines or points of a collection cover no cell
            keep |= shapely.intersects(boxes, part) & ~shapely.touches(boxes, part)
    return cols[keep], rows[keep]


def _check(size: float, area: BaseGeometry) -> int:
    units = GridUnits(size, area.bounds, area=area)
    cols, rows = _every_cell(size, area)
    np.testing.assert_array_equal(units._cols, cols)
    np.testing.assert_array_equal(units._rows, rows)
    return len(cols)


S = 10.0
CASES = {
    # an L of two grid-aligned rectangles: every edge on a grid line, every vertex on a corner
    "aligned": shapely.union(box(2 * S, 3 * S, 7 * S, 6 * S), box(7 * S, 3 * S, 9 * S, 4 * S)),
    # a hole whose edges are grid lines: the 3 x 2 cells inside it are dropped
    "hole": box(0, 0, 10 * S, 10 * S).difference(box(3 * S, 3 * S, 6 * S, 5 * S)),
    # parts meeting at a corner and along an edge; a diagonal edge through cell corners
    "touching parts": MultiPolygon([
        Polygon([(0, 0), (4 * S, 4 * S), (0, 4 * S)]), box(4 * S, 0, 6 * S, 4 * S),
        box(6 * S, 4 * S, 7 * S, 5 * S),
    ]),
    # a sliver thinner than a cell, crossing cells without any vertex inside them
    "sliver": Polygon([(0.5, 0.5), (95.5, 60.5), (95.5, 60.50001)]),
    # vertices half-way along cell edges and at corners
    "half steps": Polygon([(0, 0), (5 * S, 2.5 * S), (10 * S, 0), (7.5 * S, 5 * S), (10 * S, 10 * S),
                           (5 * S, 7.5 * S), (0, 10 * S), (2.5 * S, 5 * S)]),
    # an invalid (self-crossing) part takes the every-cell path
    "bow-tie": MultiPolygon([Polygon([(0, 0), (6 * S, 6 * S), (6 * S, 0), (0, 6 * S)]),
                             box(8 * S, 8 * S, 9.5 * S, 9.5 * S)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_degenerate_areas(name: str) -> None:
    assert _check(S, CASES[name]) > 0


def test_hole_by_hand() -> None:
    # 10 x 10 cells minus the 3 x 2 of the hole; cells around the hole merely touch it
    assert _check(S, CASES["hole"]) == 100 - 6


def test_random_star_polygons_snapped_to_half_cells() -> None:
    rng = np.random.default_rng(7)
    for _ in range(60):
        m = int(rng.integers(3, 25))
        angles = np.sort(rng.uniform(0, 2 * np.pi, m))
        radii = rng.uniform(1, 8, m) * S
        points = np.round(np.c_[50 + radii * np.cos(angles), 50 + radii * np.sin(angles)] / (S / 2)) * (S / 2)
        area = shapely.make_valid(Polygon(points))
        if area.area > 0:
            _check(S, area)


@pytest.mark.parametrize("force", ["City of London", "Dyfed-Powys", "Kent", "North Wales"])
def test_real_force_areas(force: str) -> None:
    # coastlines, islands (Anglesey, Sheppey) and the smallest force (Chainey: 11 m cells)
    area = datasets.force_area(force)
    assert area is not None
    assert _check(chainey_cell_size(area.bounds), area) > 1000
