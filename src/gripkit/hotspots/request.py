"""One hotspot request: what the CLI, the dashboard, the report and Python all run.

A :class:`HotspotRequest` holds every choice of a hotspot run -- the units, the method and its
parameters, the crime filters, the harm table -- and is the ONE place that decides whether Gi*
and the KDEs weigh crimes by harm or count them (:meth:`HotspotRequest.weights_decision`). The
front ends build a request and hand it to :func:`gripkit.hotspots.find.find_hotspots`; none of them
decides weights itself, so the same request gives the same hot units from every door.

Example
-------
>>> request = HotspotRequest(unit="grid", cell_size=150, method="gistar", months=("2024-02", "2024-04"))
>>> request.method_spec().weights  # weights="auto" and the default CCHI table: harm-weighted
'harm'
>>> HotspotRequest(method="gistar", harm="none").method_spec().weights is None  # counts
True
>>> HotspotRequest.from_dict(request.to_dict()) == request
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.harm.asb import check_floor
from gripkit.hotspots.methods import METHODS, WEIGHTED_METHODS, MethodSpec, check_weights
from gripkit.months import parse_window
from gripkit.results import to_jsonable
from gripkit.units.build import UNIT_KINDS, UnitSpec
from gripkit.validate import one_of, positive
from gripkit.workspace import parse_month

log = logging.getLogger("gripkit")

__all__ = ["AUTO", "WEIGHTS_CHOICES", "HotspotRequest"]

#: ``weights="auto"``: the rule of :meth:`HotspotRequest.weights_decision` chooses
AUTO = "auto"
#: what ``weights`` accepts (``"crimes"`` is a spelling of None, for the CLI and JSON)
WEIGHTS_CHOICES: tuple[str, ...] = (AUTO, C.HARM, C.CRIMES)
#: keys of :meth:`HotspotRequest.to_dict` that record the decision, not the request
DERIVED_KEYS = ("weights_used", "weights_rule")
_METHOD_TITLES = {"count": "counts", "gistar": "Gi*", "kde": "KDE", "netkde": "network KDE"}
#: UnitSpec fields a request carries flat (``unit`` is the kind)
_UNIT_FIELDS = (
    "cell_size", "resolution", "boundaries", "network", "road_classes", "max_length", "snap", "bounds",
)
#: MethodSpec fields a request carries flat (``method`` is the name; ``weights`` is the request's own)
_METHOD_FIELDS = ("distance", "correction", "alpha", "bandwidth", "kernel", "p_values")


@dataclass(frozen=True)
class HotspotRequest:
    """Everything one hotspot run needs, validated when built; JSON round trip with :meth:`to_dict`.

    Attributes
    ----------
    unit
        ``"grid"``, ``"hex"``, ``"lsoa"`` or ``"segment"``, or a :class:`~gripkit.units.build.UnitSpec`
        (unpacked into the fields below, so ``unit`` is always the kind once built).
    cell_size, resolution, boundaries, network, road_classes, max_length, snap, bounds
        The unit's parameters, as in :class:`~gripkit.units.build.UnitSpec`.
    method
        ``"count"``, ``"gistar"``, ``"kde"`` or ``"netkde"``, or a
        :class:`~gripkit.hotspots.methods.MethodSpec` (unpacked; its ``weights`` is taken as
        given when ``weights`` is ``"auto"``).
    distance, correction, alpha, bandwidth, kernel, p_values
        The method's parameters, as in :class:`~gripkit.hotspots.methods.MethodSpec` (Gi*'s
        ``p_values``: ``"permutation"``, exact, by default; ``"normal"`` selectable).
    crime_types, serious_violence, sv_table, months, force
        Filters: police.uk crime types (None: all), only the serious-violence categories of
        ``sv_table`` (None: the bundled proxy), ``(first, last)`` months as ``"YYYY-MM"`` (either
        may be None; ``"FROM..TO"`` is accepted), and one force.
    sources
        Record sources to count (``("health",)``, ``("police", "health")``; None: all combined).
    harm
        Harm table: ``"cchi"`` (default), ``"ons_css"``, a CSV path, or ``"none"`` (every crime 1).
    asb_floor
        Weight of one anti-social behaviour incident, which the CCHI and ONS CSS weigh 0: a number
        >= 0 or ``"lowest"`` (the table's lowest non-zero category weight); None keeps the table's
        (:mod:`gripkit.harm.asb`, docs/harm.md).
    weights
        What Gi*, KDE and network KDE weigh each crime by. The rule, in this one place:

        * ``"auto"`` (default): by **harm** whenever a harm table is in use (``harm`` is not
          ``"none"``), else by **count**;
        * ``"harm"``: by harm (an error with ``harm="none"``, where every crime weighs 1);
        * None (or ``"crimes"``): by count, whatever the harm table.

        The count method always reports both crimes and harm, so it weighs nothing. The decision
        is logged when the request runs and recorded in the result's ``meta["weights"]`` and
        ``meta["request"]["weights_used"]`` / ``["weights_rule"]``.
    """

    unit: str | UnitSpec = "grid"
    cell_size: float | None = None
    resolution: int | None = None
    boundaries: str | None = None
    network: str | None = None
    road_classes: str | tuple[str, ...] | None = None
    max_length: float | None = None
    snap: float = 50.0
    bounds: tuple[float, float, float, float] | None = None
    method: str | MethodSpec = "count"
    distance: float | None = None
    correction: str = "fdr_bh"
    alpha: float = 0.05
    bandwidth: float | None = None
    kernel: str = "quartic"
    p_values: str = "permutation"
    crime_types: tuple[str, ...] | None = None
    serious_violence: bool = False
    sv_table: str | None = None
    months: tuple[str | None, str | None] | None = None
    force: str | None = None
    sources: tuple[str, ...] | None = None
    harm: str = C.DEFAULT_HARM_TABLE
    weights: str | None = AUTO
    asb_floor: float | str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.unit, UnitSpec):
            self._unpack(self.unit, _UNIT_FIELDS, UnitSpec(), "unit")
            self._set("unit", self.unit.kind)
        if isinstance(self.method, MethodSpec):
            spec = self.method
            self._unpack(spec, _METHOD_FIELDS, MethodSpec(), "method")
            self._set("method", spec.name)
            if self.weights == AUTO:
                self._set("weights", spec.weights)
        one_of("unit", self.unit, UNIT_KINDS)
        one_of("method", self.method, METHODS)
        for name in ("boundaries", "network", "sv_table", "harm"):
            value = getattr(self, name)
            if isinstance(value, Path):
                self._set(name, str(value))
        # None means no table, as in load_harm_table
        self._set("harm", "none" if self.harm is None else str(self.harm))
        if self.cell_size is not None:
            self._set("cell_size", positive("cell_size", self.cell_size, unit="metres", example="150"))
        if self.max_length is not None:
            self._set("max_length", positive("max_length", self.max_length, unit="metres", example="100"))
        self._set("snap", positive("snap", self.snap, unit="metres", example="50"))
        if self.resolution is not None:
            if isinstance(self.resolution, bool) or int(self.resolution) != self.resolution:
                raise InputError(
                    f"'resolution' must be a whole H3 resolution 0-15; received {self.resolution!r}."
                )
            self._set("resolution", int(self.resolution))
        if self.bounds is not None:
            self._set("bounds", tuple(float(v) for v in self.bounds))
        if isinstance(self.road_classes, list | tuple):
            self._set("road_classes", tuple(str(c) for c in self.road_classes))
        types = tuple(str(t) for t in self.crime_types) if self.crime_types else None
        self._set("crime_types", types)
        if isinstance(self.sources, str):
            self._set("sources", tuple(p.strip() for p in self.sources.split(",") if p.strip()))
        self._set("sources", tuple(str(v) for v in self.sources) if self.sources else None)
        self._set("serious_violence", bool(self.serious_violence))
        self._set("months", _months(self.months))
        self._set("weights", _weights(self.weights))
        if self.weights == C.HARM and self.harm.lower() == "none":
            raise InputError(
                "'weights' asks for harm weighting but 'harm' is none, so every crime weighs 1; "
                "received weights=harm with harm=none. Pass a harm table (e.g. cchi) or weights=None."
            )
        if self.asb_floor is not None:
            self._set("asb_floor", _asb_floor(self.asb_floor, self.harm))
        self.unit_spec()  # the unit's and the method's own checks
        self.method_spec()

    # -- building ---------------------------------------------------------------------------
    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _unpack(self, spec: Any, names: tuple[str, ...], default: Any, what: str) -> None:
        """Copy ``names`` from ``spec``; a flat field also given (not at its default) must agree."""
        own_defaults = {f.name: f.default for f in fields(self)}
        for name in names:
            given, theirs = getattr(self, name), getattr(spec, name)
            if given != own_defaults[name] and given != theirs:
                raise InputError(
                    f"'{name}' is given twice, as {given!r} and as {theirs!r} in the {what} spec; received "
                    f"both. Set it in one place."
                )
            self._set(name, theirs if theirs != getattr(default, name) else given)

    # -- what it runs -----------------------------------------------------------------------
    def unit_spec(self) -> UnitSpec:
        """The :class:`~gripkit.units.build.UnitSpec` of the request."""
        classes = list(self.road_classes) if isinstance(self.road_classes, tuple) else self.road_classes
        return UnitSpec(
            kind=str(self.unit),
            cell_size=self.cell_size,
            resolution=self.resolution,
            boundaries=self.boundaries,
            network=self.network,
            road_classes=classes,
            max_length=self.max_length,
            snap=self.snap,
            bounds=self.bounds,
        )

    def weights_decision(self) -> tuple[str | None, str]:
        """The weights the method runs with (None: counts, ``"harm"``) and why, in one sentence."""
        name = _METHOD_TITLES.get(str(self.method), str(self.method))
        if self.method not in WEIGHTED_METHODS:
            return None, f"method={self.method!r} reports crimes and harm per unit; it weighs nothing"
        if self.weights == AUTO:
            if self.harm.lower() != "none":
                return C.HARM, (
                    f"weights='auto': {name} weighs crimes by harm because harm table {self.harm!r} is in "
                    "use (pass weights=None to count crimes)"
                )
            return None, f"weights='auto': {name} counts crimes because harm='none'"
        if self.weights == C.HARM:
            return C.HARM, f"weights='harm' given: {name} weighs crimes by harm ({self.harm})"
        return None, f"weights=None given: {name} counts crimes"

    def method_spec(self) -> MethodSpec:
        """The resolved :class:`~gripkit.hotspots.methods.MethodSpec` (weights decided)."""
        weights, _ = self.weights_decision()
        return MethodSpec(
            name=str(self.method),
            weights=weights,
            distance=self.distance,
            correction=self.correction,
            alpha=self.alpha,
            bandwidth=self.bandwidth,
            kernel=self.kernel,
            p_values=self.p_values,
        )

    def announce(self) -> tuple[str | None, str]:
        """Log the weights decision (``gripkit`` logger) and return it."""
        decision = self.weights_decision()
        log.info("hotspots: %s", decision[1])
        return decision

    # -- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The request as JSON-safe values, plus the weights decision (``weights_used``, ``weights_rule``)."""
        out = {f.name: to_jsonable(getattr(self, f.name)) for f in fields(self)}
        used, rule = self.weights_decision()
        out["weights"] = C.CRIMES if self.weights is None else self.weights
        out["weights_used"] = used
        out["weights_rule"] = rule
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HotspotRequest:
        """The request of :meth:`to_dict` (the decision keys are recomputed, not read)."""
        known = {f.name for f in fields(cls)}
        given = {k: v for k, v in data.items() if k not in DERIVED_KEYS}
        extra = sorted(set(given) - known)
        if extra:
            raise InputError(
                f"a hotspot request takes {', '.join(sorted(known))}; received unknown key(s) "
                f"{', '.join(extra)}."
            )
        for name in ("bounds", "months", "crime_types", "sources"):
            if isinstance(given.get(name), list):
                given[name] = tuple(given[name])
        if isinstance(given.get("road_classes"), list):
            given["road_classes"] = tuple(given["road_classes"])
        return cls(**given)


def _asb_floor(value: Any, harm: str) -> float | str:
    """``"lowest"`` or a weight >= 0 (:func:`gripkit.harm.asb.asb_floor`'s rule); needs a harm table."""
    if harm.lower() == "none":
        raise InputError(
            f"'asb_floor' weighs anti-social behaviour within a harm table, but 'harm' is none; received "
            f"asb_floor={value!r} with harm=none. Pass a harm table (e.g. cchi) or leave asb_floor out."
        )
    return check_floor(value)


def _weights(value: Any) -> str | None:
    if value is None or value == C.CRIMES:
        return None
    if value == AUTO:
        return AUTO
    try:
        return check_weights(value)
    except InputError:
        raise InputError(
            f"'weights' must be one of auto, harm, crimes (or None); received {value!r}."
        ) from None


def _months(value: Any) -> tuple[str | None, str | None] | None:
    """``(first, last)`` as ``"YYYY-MM"`` strings (None: open end), from a pair or ``"FROM..TO"``."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = parse_window(value)
    try:
        first, last = value
    except (TypeError, ValueError):
        raise InputError(
            f"'months' must be (first, last) months or 'FROM..TO'; received {value!r}. Pass e.g. "
            "('2024-02', '2024-04')."
        ) from None
    out = tuple(None if m in (None, "") else f"{parse_month(_as_month(m)):%Y-%m}" for m in (first, last))
    if out[0] and out[1] and out[0] > out[1]:
        raise InputError(f"'months' must run forwards; received {out[0]} to {out[1]}. Swap them.")
    if out == (None, None):
        return None
    return out[0], out[1]


def _as_month(value: Any) -> date | str:
    return value if isinstance(value, date) else str(value)
