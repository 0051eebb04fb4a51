"""Build any kind of unit from a spec: what ``gripkit hotspots --unit ...`` and the API share.

The study area of grids and hexagons is the force area of the crimes when gripkit knows it (bundled
boundaries), else a stated ``bounds`` box, else the crimes' bounding box; crimes outside the units
are counted (``unassigned``), never dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gripkit import columns as C
from gripkit import datasets
from gripkit.errors import InputError
from gripkit.units.base import Units
from gripkit.units.grid import GridUnits
from gripkit.units.hexgrid import H3Units
from gripkit.units.lsoa import LsoaUnits, read_lsoa_boundaries
from gripkit.units.segments import SegmentUnits
from gripkit.validate import one_of

log = logging.getLogger("gripkit")
UNIT_KINDS = ("grid", "hex", "lsoa", "segment")


@dataclass(frozen=True)
class UnitSpec:
    """What units to count in.

    Attributes
    ----------
    kind
        ``grid`` (square cells), ``hex`` (H3), ``lsoa`` or ``segment`` (street segments).
    cell_size
        Grid cell side in metres (None: Chainey's rule on the study area, announced).
    resolution
        H3 resolution (None: the one closest to Chainey's cell size, announced).
    boundaries
        LSOA boundary file (None: the bundled LSOA 2011 polygons of the crimes' forces).
    network, road_classes, max_length, snap
        Road network file, road classes to keep (None: documented default; "all"), segment
        length cap (m) and snapping tolerance (m) for street segments.
    bounds
        ``(xmin, ymin, xmax, ymax)`` in EPSG:27700: the study area when the force area is unknown.
    """

    kind: str = "grid"
    cell_size: float | None = None
    resolution: int | None = None
    boundaries: str | Path | None = None
    network: str | Path | None = None
    road_classes: str | list[str] | None = None
    max_length: float | None = None
    snap: float = 50.0
    bounds: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        one_of("unit", self.kind, UNIT_KINDS)
        if self.kind == "segment" and self.network is None:
            raise InputError(
                "'network' is needed for street-segment units; received None. Pass network=FILE "
                "(any line file geopandas reads, e.g. an OS Open Roads or OpenStreetMap GeoPackage)."
            )

    def describe(self) -> dict[str, Any]:
        """JSON-safe parameters."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


def force_of(crimes: pd.DataFrame) -> str | None:
    """The most common force of the crimes, or None."""
    forces = crimes[C.FORCE].dropna() if C.FORCE in crimes.columns else pd.Series(dtype=object)
    return str(forces.mode().iloc[0]) if len(forces) else None


def study_area(
    crimes: pd.DataFrame, bounds: tuple[float, float, float, float] | None
) -> tuple[BaseGeometry | None, str]:
    """The force polygon if known, else the ``bounds`` box, else None (the crimes' extent)."""
    force = force_of(crimes)
    area = datasets.force_area(force) if force else None
    if area is not None:
        log.info(
            "units cover the %s force area (bundled boundary); crimes outside it are counted apart", force
        )
        return area, f"{force} force area"
    if bounds is not None:
        return shapely.box(*bounds), f"bounds {tuple(bounds)}"
    return None, "bounding box of the crimes"


def build_units(crimes: pd.DataFrame, spec: UnitSpec) -> tuple[Units, dict[str, Any]]:
    """Units of ``spec.kind`` for ``crimes``, and a JSON-safe record of what was chosen."""
    meta: dict[str, Any] = {"unit": spec.kind}
    units: Units
    if spec.kind in ("grid", "hex"):
        area, meta["study_area"] = study_area(crimes, spec.bounds)
        if spec.kind == "grid":
            units = GridUnits.from_crimes(crimes, cell_size=spec.cell_size, area=area)
        else:
            units = H3Units.from_crimes(crimes, resolution=spec.resolution, area=area)
    elif spec.kind == "lsoa":
        polygons = (
            read_lsoa_boundaries(spec.boundaries, force=force_of(crimes))
            if spec.boundaries
            else _bundled_lsoa(crimes)
        )
        units = LsoaUnits.from_crimes(crimes, boundaries=polygons)
        meta["boundaries"] = (
            str(spec.boundaries) if spec.boundaries else ("bundled" if polygons is not None else "none")
        )
    else:
        assert spec.network is not None
        units = SegmentUnits.from_network(
            spec.network, road_classes=spec.road_classes, max_length=spec.max_length, snap=spec.snap
        )
        meta["network"] = str(spec.network)
    meta.update(units.describe())
    return units, meta


def forces_of(crimes: pd.DataFrame) -> list[str]:
    """The distinct forces of the crimes (most common first), or [] without a force column."""
    forces = crimes[C.FORCE].dropna() if C.FORCE in crimes.columns else pd.Series(dtype=object)
    return [str(f) for f in forces.value_counts().index]


def _bundled_lsoa(crimes: pd.DataFrame) -> gpd.GeoDataFrame | None:
    """The bundled LSOA 2011 polygons of the crimes' force(s), or None when no force is known.

    Without a force column the forces are those of the LSOA codes the crimes carry.
    """
    forces = forces_of(crimes)
    if not forces and C.LSOA_CODE in crimes.columns:
        codes = set(crimes[C.LSOA_CODE].dropna().astype(str).str.strip())
        everywhere = datasets.lsoa_2011()
        forces = sorted(set(everywhere.loc[everywhere["lsoa11cd"].isin(codes), "police_force"]))
    polygons = datasets.lsoa_2011(forces) if forces else None
    if polygons is None or polygons.empty:
        log.info("no LSOA boundary file given and no bundled polygons for force(s) %s: units are the LSOA "
                 "codes in the data, without polygons", ", ".join(forces) or "unknown")
        return None
    log.info("LSOA polygons: bundled LSOA 2011 boundaries of %s (%d)", ", ".join(forces), len(polygons))
    return polygons


def lsoa_polygons(codes: Iterable[str], boundaries: str | Path | None = None) -> gpd.GeoSeries | None:
    """Polygons of LSOA ``codes`` (indexed by code) from ``boundaries`` or the bundled LSOA 2011 file.

    For drawing a stored LSOA layer that was computed without polygons; codes not found are left
    out. None when none of the codes is found.
    """
    wanted = set(map(str, codes))
    frame = read_lsoa_boundaries(boundaries) if boundaries else datasets.lsoa_2011()
    if "lsoa11cd" not in frame.columns:
        return None
    found = frame[frame["lsoa11cd"].astype(str).isin(wanted)]
    return found.set_index(found["lsoa11cd"].astype(str)).geometry if len(found) else None
