"""Spatial units crimes are counted in: grid cells, LSOAs, H3 hexagons, street segments.

Every kind implements :class:`~gripkit.units.base.Units`: ``frame``, ``assign(crimes)``,
``describe()``.
"""

from __future__ import annotations

from gripkit.units.base import Units
from gripkit.units.grid import GridUnits, chainey_cell_size
from gripkit.units.hexgrid import H3Units
from gripkit.units.lsoa import LsoaUnits, read_lsoa_boundaries
from gripkit.units.segments import SegmentUnits

__all__ = [
    "GridUnits",
    "H3Units",
    "LsoaUnits",
    "SegmentUnits",
    "Units",
    "chainey_cell_size",
    "read_lsoa_boundaries",
]
