"""Hotspot verbs: spatial frame in, spatial frame out, with fixed documented columns."""

from __future__ import annotations

from gripkit.hotspots.classify import classify_trends, emerging, mann_kendall
from gripkit.hotspots.concentration import Concentration, concentration, units_in_top
from gripkit.hotspots.count import count
from gripkit.hotspots.gistar import gistar
from gripkit.hotspots.kde import dual_kde, kde
from gripkit.hotspots.multiple import adjust_pvalues
from gripkit.hotspots.netkde import network_kde
from gripkit.hotspots.profile import peak_windows, time_profile
from gripkit.hotspots.select import candidate_areas

__all__ = [
    "Concentration",
    "adjust_pvalues",
    "candidate_areas",
    "classify_trends",
    "concentration",
    "count",
    "dual_kde",
    "emerging",
    "gistar",
    "kde",
    "mann_kendall",
    "network_kde",
    "peak_windows",
    "time_profile",
    "units_in_top",
]
