"""Spatial units crimes are counted in: grid cells, LSOAs (H3 hexagons and street segments later).

Every kind implements :class:`~gripkit.units.base.Units`: ``frame``, ``assign(crimes)``,
``describe()``.
"""

from __future__ import annotations

from gripkit.units.base import Units
from gripkit.units.grid import GridUnits, chainey_cell_size
from gripkit.units.lsoa import LsoaUnits, read_lsoa_boundaries

__all__ = ["GridUnits", "LsoaUnits", "Units", "chainey_cell_size", "read_lsoa_boundaries"]
