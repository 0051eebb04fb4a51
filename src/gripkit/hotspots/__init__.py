"""Hotspots: the :func:`find_hotspots` job and the verbs it is made of.

The job (``find_hotspots`` with a :class:`HotspotRequest`, returning a :class:`HotspotResult`) is
what the CLI, the dashboard and the report run; the request alone decides whether Gi* and the KDEs
weigh crimes by harm. The verbs live in their modules, each named after what
it computes, and are imported from there: ``gripkit.hotspots.count.count``,
``gripkit.hotspots.gistar.gistar``, ``gripkit.hotspots.kde.kde``,
``gripkit.hotspots.concentration.concentration`` (the package never shadows a module with a
function of the same name).
"""

from __future__ import annotations

from gripkit.hotspots.classify import classify_trends, emerging, mann_kendall
from gripkit.hotspots.concentration import Concentration, units_in_top
from gripkit.hotspots.find import HotspotResult, describe_method, find_hotspots, select_crimes
from gripkit.hotspots.kde import dual_kde
from gripkit.hotspots.methods import MethodSpec
from gripkit.hotspots.multiple import adjust_pvalues
from gripkit.hotspots.netkde import network_kde
from gripkit.hotspots.profile import peak_windows, time_profile
from gripkit.hotspots.request import HotspotRequest
from gripkit.hotspots.select import candidate_areas

__all__ = [
    "Concentration",
    "HotspotRequest",
    "HotspotResult",
    "MethodSpec",
    "adjust_pvalues",
    "candidate_areas",
    "classify_trends",
    "describe_method",
    "dual_kde",
    "emerging",
    "find_hotspots",
    "mann_kendall",
    "network_kde",
    "peak_windows",
    "select_crimes",
    "time_profile",
    "units_in_top",
]
