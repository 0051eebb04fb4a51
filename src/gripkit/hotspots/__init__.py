"""Hotspot verbs: spatial frame in, spatial frame out, with fixed documented columns."""

from __future__ import annotations

from gripkit.hotspots.concentration import Concentration, concentration, units_in_top
from gripkit.hotspots.count import count
from gripkit.hotspots.gistar import gistar
from gripkit.hotspots.multiple import adjust_pvalues

__all__ = ["Concentration", "adjust_pvalues", "concentration", "count", "gistar", "units_in_top"]
