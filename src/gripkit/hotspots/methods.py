"""Hotspot methods on any units: counts, Gi*, KDE on grids, network KDE on street segments.

Every method returns the full count frame of :func:`gripkit.hotspots.count` (every unit, zero
counts included, so anyone can recompute the statistic) with the method's columns added.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.hotspots.gistar import gistar
from gripkit.hotspots.kde import kde
from gripkit.hotspots.netkde import network_kde
from gripkit.units.base import Units
from gripkit.units.grid import GridUnits
from gripkit.units.segments import SegmentUnits
from gripkit.validate import one_of

METHODS = ("count", "gistar", "kde", "netkde")
VALUES = (C.CRIMES, C.HARM)


@dataclass(frozen=True)
class MethodSpec:
    """Which statistic to compute and its parameters.

    Attributes
    ----------
    name
        ``count``, ``gistar``, ``kde`` (grid units) or ``netkde`` (street segments).
    value
        ``crimes`` (counts, the default) or ``harm`` (harm-weighted) for Gi* and the KDEs.
    distance, correction, alpha
        Gi* distance band (m; None = the unit's neighbours), multiple-testing correction, level.
    bandwidth, kernel
        KDE bandwidth (m; None = stated rule; network KDE default 200 m) and kernel.
    """

    name: str = "count"
    value: str = C.CRIMES
    distance: float | None = None
    correction: str = "fdr_bh"
    alpha: float = 0.05
    bandwidth: float | None = None
    kernel: str = "quartic"

    def __post_init__(self) -> None:
        one_of("method", self.name, METHODS)
        one_of("value", self.value, VALUES)

    def describe(self) -> dict[str, Any]:
        """JSON-safe parameters."""
        return asdict(self)


def apply_method(
    counts: gpd.GeoDataFrame, crimes: pd.DataFrame, units: Units, spec: MethodSpec
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Add the method's columns to ``counts`` (from :func:`~gripkit.hotspots.count`)."""
    if spec.name == "count":
        return counts, {}
    if spec.name == "gistar":
        out = gistar(
            counts,
            units,
            value=spec.value,
            distance=spec.distance,
            correction=spec.correction,
            alpha=spec.alpha,
        )
        return out, dict(out.attrs.get("gistar", {}))
    weights = C.HARM if spec.value == C.HARM else None
    if spec.name == "kde":
        if not isinstance(units, GridUnits):
            raise InputError(
                f"--method kde runs on grid units; received --unit {units.kind}. Use --unit grid."
            )
        surface = kde(crimes, units, bandwidth=spec.bandwidth, kernel=spec.kernel, weights=weights)
        return _merge(counts, surface, ["density", "density_share"]), dict(surface.attrs.get("kde", {}))
    if not isinstance(units, SegmentUnits):
        raise InputError(
            f"--method netkde runs on street segments; received --unit {units.kind}. "
            "Use --unit segment --network FILE."
        )
    surface = network_kde(
        crimes, units, bandwidth=spec.bandwidth or 200.0, kernel=spec.kernel, weights=weights
    )
    return _merge(counts, surface, ["density"]), dict(surface.attrs.get("netkde", {}))


def _merge(counts: gpd.GeoDataFrame, surface: pd.DataFrame, columns: list[str]) -> gpd.GeoDataFrame:
    values = surface.set_index(surface[C.UNIT_ID].astype(str))[columns]
    out = counts.copy()
    keys = out[C.UNIT_ID].astype(str)
    for name in columns:
        out[name] = keys.map(values[name]).to_numpy()
    return out
