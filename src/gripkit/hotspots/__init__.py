"""Hotspot verbs: spatial frame in, spatial frame out, with fixed documented columns."""

from __future__ import annotations

from gripkit.hotspots.concentration import Concentration, concentration, units_in_top
from gripkit.hotspots.count import count

__all__ = ["Concentration", "concentration", "count", "units_in_top"]
