"""Hotspot methods on any units: counts, Gi*, KDE on grids, network KDE on street segments.

Every method returns the full count frame of :func:`gripkit.hotspots.count.count` (every unit, zero
counts included, so anyone can recompute the statistic) with the method's columns added, and the
record of its parameters (which :func:`gripkit.hotspots.find.hotspots_from_crimes` keeps in the
result's ``meta["method_params"]``; nothing is passed through ``DataFrame.attrs``).

Whether Gi* and the KDEs weigh crimes by harm is stated here (:attr:`MethodSpec.weights`) and
decided in one place, :meth:`gripkit.hotspots.request.HotspotRequest.method_spec`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.hotspots._binned_kde import KERNELS as KDE_KERNELS
from gripkit.hotspots.gistar import NULL_RUNS, P_VALUES, _gistar, check_runs
from gripkit.hotspots.kde import KDE_PHASES, _kde
from gripkit.hotspots.multiple import METHODS as CORRECTIONS
from gripkit.hotspots.netkde import KERNELS as NETWORK_KERNELS
from gripkit.hotspots.netkde import _network_kde
from gripkit.progress import Progress, Steps
from gripkit.units.base import Units
from gripkit.units.grid import GridUnits
from gripkit.units.segments import SegmentUnits
from gripkit.validate import fraction, one_of, positive

METHODS = ("count", "gistar", "kde", "netkde")
#: methods whose statistic can weigh crimes by harm (the count method always reports both)
WEIGHTED_METHODS = ("gistar", "kde", "netkde")
#: what a method may weigh by: None counts crimes, "harm" sums their harm
WEIGHTS: tuple[str | None, ...] = (None, C.HARM)


@dataclass(frozen=True)
class MethodSpec:
    """Which statistic to compute and its parameters (all resolved: nothing is decided later).

    Attributes
    ----------
    name
        ``count``, ``gistar``, ``kde`` (grid units) or ``netkde`` (street segments).
    weights
        None (the statistic counts crimes, the default) or ``"harm"`` (harm-weighted) for Gi*
        and the KDEs; the count method reports crimes and harm either way.
    distance, correction, alpha
        Gi* distance band (m; None = the unit's neighbours), multiple-testing correction, level.
    bandwidth, kernel
        KDE bandwidth (m; None = stated rule; network KDE default 200 m) and kernel.
    p_values, null_runs, seed
        Gi* p-values (``"permutation"``, exact, the default; or ``"normal"``), and the seeded
        permutations of the values on which the hot units chance alone gives are counted.

    Examples
    --------
    >>> MethodSpec("gistar", weights="harm").describe()["weights"]
    'harm'
    >>> MethodSpec.from_dict(MethodSpec("kde", bandwidth=300).describe()) == MethodSpec("kde", bandwidth=300)
    True
    """

    name: str = "count"
    weights: str | None = None
    distance: float | None = None
    correction: str = "fdr_bh"
    alpha: float = 0.05
    bandwidth: float | None = None
    kernel: str = "quartic"
    p_values: str = "permutation"
    null_runs: int = NULL_RUNS
    seed: int | None = 0

    def __post_init__(self) -> None:
        one_of("method", self.name, METHODS)
        one_of("p_values", self.p_values, P_VALUES)
        check_runs(self.null_runs)
        check_weights(self.weights)
        one_of("correction", self.correction, CORRECTIONS)
        object.__setattr__(self, "alpha", fraction("alpha", self.alpha))
        if self.distance is not None:
            object.__setattr__(
                self, "distance", positive("distance", self.distance, unit="metres", example="300")
            )
        if self.bandwidth is not None:
            object.__setattr__(
                self, "bandwidth", positive("bandwidth", self.bandwidth, unit="metres", example="250")
            )
        one_of("kernel", self.kernel, NETWORK_KERNELS if self.name == "netkde" else KDE_KERNELS)

    def describe(self) -> dict[str, Any]:
        """JSON-safe parameters."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MethodSpec:
        """The spec of :meth:`describe` (unknown keys are an error)."""
        known = set(cls.__dataclass_fields__)
        extra = sorted(set(data) - known)
        if extra:
            raise InputError(
                f"a method spec takes {', '.join(sorted(known))}; received unknown key(s) {', '.join(extra)}."
            )
        return cls(**data)


def check_weights(weights: Any) -> str | None:
    """``weights`` if it is None (count crimes) or ``"harm"``, else an :class:`InputError`."""
    if weights not in WEIGHTS:
        raise InputError(
            f"'weights' must be None (count crimes) or 'harm' (weigh crimes by harm); received "
            f"{weights!r}."
        )
    return None if weights is None else str(weights)


def method_steps(spec: MethodSpec) -> int:
    """Progress steps :func:`apply_method` reports for ``spec``: Gi* 1 + its null runs, KDE its 3
    phases, network KDE 1, counts 0.

    >>> method_steps(MethodSpec("gistar", null_runs=5)), method_steps(MethodSpec("kde"))
    (6, 3)
    """
    return {"count": 0, "gistar": 1 + spec.null_runs, "kde": len(KDE_PHASES)}.get(spec.name, 1)


def apply_method(
    counts: gpd.GeoDataFrame,
    crimes: pd.DataFrame,
    units: Units,
    spec: MethodSpec,
    progress: Progress | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Add the method's columns to ``counts`` (from :func:`~gripkit.hotspots.count.count`).

    Returns the frame and the method's record of what it did (JSON-safe). ``progress`` gets the
    :func:`method_steps` of the method.
    """
    if spec.name == "count":
        return counts, {}
    if spec.name == "gistar":
        return _gistar(
            counts,
            units,
            weights=spec.weights,
            distance=spec.distance,
            correction=spec.correction,
            alpha=spec.alpha,
            p_values=spec.p_values,
            null_runs=spec.null_runs,
            seed=spec.seed,
            progress=progress,
        )
    if spec.name == "kde":
        if not isinstance(units, GridUnits):
            raise InputError(
                f"method='kde' runs on grid units; received unit {units.kind!r}. Pass unit='grid', "
                "or method='gistar' for these units."
            )
        surface, record = _kde(
            crimes, units, bandwidth=spec.bandwidth, kernel=spec.kernel, weights=spec.weights,
            progress=progress,
            geometry=False,
        )
        return _merge(counts, surface, ["density", "density_share"]), record
    if not isinstance(units, SegmentUnits):
        raise InputError(
            f"method='netkde' runs on street segments; received unit {units.kind!r}. Pass "
            "unit='segment' with a road network (network=FILE)."
        )
    surface, record = _network_kde(
        crimes, units, bandwidth=spec.bandwidth or 200.0, kernel=spec.kernel, weights=spec.weights
    )
    Steps(progress, 1).step("network KDE")
    return _merge(counts, surface, ["density"]), record


def _merge(counts: gpd.GeoDataFrame, surface: pd.DataFrame, columns: list[str]) -> gpd.GeoDataFrame:
    values = surface.set_index(surface[C.UNIT_ID].astype(str))[columns]
    out = counts.copy()
    keys = out[C.UNIT_ID].astype(str)
    for name in columns:
        out[name] = keys.map(values[name]).to_numpy()
    return out
