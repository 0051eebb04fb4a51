"""The first-hotspots job: crimes from the workspace -> harm -> units -> counts -> concentration.

This is what ``gripkit hotspots`` and ``gripkit demo`` run; every choice made automatically
(cell size, study area) is announced through ``logging`` and recorded in :attr:`HotspotResult.meta`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.harm import HarmTable, apply_harm, load_harm_table, serious_violence_types
from gripkit.hotspots.concentration import Concentration, concentration
from gripkit.hotspots.count import count
from gripkit.hotspots.methods import MethodSpec, apply_method
from gripkit.output import write_table
from gripkit.units.build import UnitSpec, build_units
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")


@dataclass
class HotspotResult:
    """Hotspots per unit, their concentration, and the provenance of both."""

    hotspots: gpd.GeoDataFrame
    concentration: Concentration
    meta: dict[str, Any] = field(default_factory=dict)

    def top(self, n: int = 20) -> pd.DataFrame:
        """The ``n`` units with most harm, as a plain table with centroid coordinates."""
        head = self.hotspots[self.hotspots[C.CRIMES] > 0].head(n)
        table = pd.DataFrame(head.drop(columns=C.GEOMETRY))
        has_geom = head.geometry.notna() & ~head.geometry.is_empty
        if has_geom.any():
            centres = head.geometry.centroid
            lonlat = centres.to_crs(C.WGS84)
            table["x"], table["y"] = centres.x.round(1), centres.y.round(1)
            table["lon"], table["lat"] = lonlat.x.round(6), lonlat.y.round(6)
        return table


def select_crimes(
    ws: Workspace,
    *,
    crime_types: list[str] | None = None,
    serious_violence: bool = False,
    months: tuple[str | date | None, str | date | None] | None = None,
    force: str | None = None,
    sv_table: str | Path | None = None,
) -> pd.DataFrame:
    """Crimes from the workspace after the usual filters.

    ``serious_violence`` keeps the crime types flagged in ``sv_table`` (a CSV with
    ``crime_type, serious_violence``; default: the bundled police.uk proxy).
    """
    types = list(crime_types) if crime_types else None
    if serious_violence:
        sv = sorted(serious_violence_types(sv_table))
        types = [t for t in types if t in sv] if types else sv
    crimes = ws.crimes(crime_types=types, months=months, force=force)
    if crimes.empty:
        raise InputError(no_crimes_message(ws.path, types, months, force))
    return crimes


def no_crimes_message(
    path: str,
    types: list[str] | None,
    months: tuple[str | date | None, str | date | None] | None,
    force: str | None,
) -> str:
    """The error of :func:`select_crimes` when nothing matches (shared with the national run)."""
    return (
        f"no crimes in workspace {path} match the selection (crime types {types or 'all'}, "
        f"months {months or 'all'}, force {force or 'all'}). Ingest data with `gripkit ingest PATH` "
        "or widen the filters."
    )


def find_hotspots(
    ws: Workspace,
    *,
    unit: str | UnitSpec = "grid",
    method: str | MethodSpec = "count",
    cell_size: float | None = None,
    boundaries: str | Path | None = None,
    crime_types: list[str] | None = None,
    serious_violence: bool = False,
    months: tuple[str | date | None, str | date | None] | None = None,
    harm: str | Path | None = "cchi",
    force: str | None = None,
    sv_table: str | Path | None = None,
    store: bool = True,
) -> HotspotResult:
    """Count crimes and harm per unit, rank them, run a hotspot method and measure concentration.

    Parameters
    ----------
    ws
        Workspace holding ingested crimes.
    unit
        ``"grid"``, ``"hex"``, ``"lsoa"``, ``"segment"`` or a full :class:`~gripkit.units.build.UnitSpec`.
    method
        ``"count"``, ``"gistar"``, ``"kde"``, ``"netkde"`` or a full
        :class:`~gripkit.hotspots.methods.MethodSpec`.
    cell_size, boundaries
        Shortcuts for ``UnitSpec(cell_size=..., boundaries=...)`` when ``unit`` is a name.
    crime_types, serious_violence, months, force, sv_table
        Filters; ``serious_violence`` keeps the categories flagged in ``sv_table`` (default: the
        police.uk proxy of violence and sexual offences, robbery, possession of weapons).
    harm
        Harm table name (``cchi``, ``ons_css``), a CSV path, or ``"none"`` to count crimes.
    store
        Record the result's parameters and concentration in the workspace ``results`` table.

    Examples
    --------
    >>> from gripkit import Workspace, datasets
    >>> from gripkit.ingestion import ingest
    >>> ws = Workspace(":memory:")
    >>> _ = ingest(datasets.bedfordshire_street_files()[:1], ws)
    >>> result = find_hotspots(ws, cell_size=500, method="gistar")
    >>> round(float(result.hotspots["share_of_harm"].sum()), 6), bool(result.hotspots["hot"].any())
    (1.0, True)
    """
    unit_spec = (
        unit
        if isinstance(unit, UnitSpec)
        else UnitSpec(kind=unit, cell_size=cell_size, boundaries=boundaries)
    )
    method_spec = method if isinstance(method, MethodSpec) else MethodSpec(name=method)
    table = load_harm_table(harm)
    crimes = select_crimes(
        ws,
        crime_types=crime_types,
        serious_violence=serious_violence,
        months=months,
        force=force,
        sv_table=sv_table,
    )
    result = hotspots_from_crimes(
        crimes, unit_spec, method_spec, table, serious_violence=serious_violence, workspace=ws.path
    )
    if store:
        _store(ws, result)
    return result


def hotspots_from_crimes(
    crimes: pd.DataFrame,
    unit: UnitSpec,
    method: MethodSpec,
    table: HarmTable | None,
    *,
    serious_violence: bool = False,
    workspace: str | None = None,
    geometry: str = "all",
) -> HotspotResult:
    """The body of :func:`find_hotspots` on crimes already selected: harm -> units -> counts -> method.

    Parameters
    ----------
    crimes
        Canonical crime frame (at least ``month``, ``crime_type``, ``x``, ``y``; ``force`` to
        cover the force area; ``lsoa_code`` for LSOA units), e.g. from :func:`select_crimes`.
        Not modified.
    unit, method
        What to count in and which statistic to compute.
    table
        Harm table from :func:`gripkit.harm.load_harm_table` (None: every crime weighs 1).
    serious_violence, workspace
        Provenance recorded in :attr:`HotspotResult.meta` (how the crimes were selected, and from where).
    geometry
        ``"with_crimes"``: only units with crimes get a geometry (see :func:`count`); for the
        ``count`` method only, as the others use every unit's geometry.

    Examples
    --------
    >>> from gripkit import Workspace, datasets
    >>> from gripkit.ingestion import ingest
    >>> ws = Workspace(":memory:")
    >>> _ = ingest(datasets.bedfordshire_street_files()[:1], ws)
    >>> crimes = select_crimes(ws, serious_violence=True)
    >>> result = hotspots_from_crimes(crimes, UnitSpec("lsoa"), MethodSpec(), load_harm_table("cchi"))
    >>> result.meta["crimes"] == len(crimes), result.meta["unit"], "harm" in crimes.columns
    (True, 'lsoa', False)
    """
    if geometry != "all" and method.name != "count":
        raise InputError(
            f"geometry={geometry!r} is for the count method only; received method {method.name!r}, "
            "which uses every unit's geometry. Pass geometry='all'."
        )
    if crimes.empty:
        raise InputError(
            "'crimes' has no rows; received an empty frame with columns "
            f"{', '.join(map(str, crimes.columns))}. Widen the selection."
        )
    crimes = crimes.assign(**{C.HARM: apply_harm(crimes, table)})
    if float(crimes[C.HARM].sum()) <= 0:
        raise InputError(
            f"the selected {len(crimes)} crimes carry no harm under table {table.name if table else 'none'} "
            "(e.g. only anti-social behaviour, weighted 0). Choose other crime types or --harm none."
        )
    units, meta = build_units(crimes, unit)
    counts = count(crimes, units, geometry=geometry)
    if "length_m" in units.extra_columns:
        lengths = units.frame.set_index(units.frame[C.UNIT_ID].astype(str))["length_m"]
        counts.insert(
            counts.columns.get_loc(C.AREA_M2), "length_m", counts[C.UNIT_ID].astype(str).map(lengths)
        )
    hotspots, method_meta = apply_method(counts, crimes, units, method)
    areas = hotspots[C.AREA_M2].to_numpy(dtype=float)
    conc = concentration(
        hotspots[C.HARM].to_numpy(dtype=float),
        areas if (areas > 0).all() else None,
        counts=hotspots[C.CRIMES].to_numpy(),
    )
    first, last = crimes[C.MONTH].min(), crimes[C.MONTH].max()
    unassigned = int(hotspots.attrs.get("unassigned", 0))
    meta.update(
        method=method.name,
        method_params={**method.describe(), **method_meta},
        harm_table=table.name if table else "none",
        harm_sha256=table.sha256 if table else None,
        crimes=len(crimes),
        assigned=len(crimes) - unassigned,
        unassigned=unassigned,
        months=f"{pd.Timestamp(first):%Y-%m} to {pd.Timestamp(last):%Y-%m}",
        crime_types=sorted(crimes[C.CRIME_TYPE].unique().tolist()),
        serious_violence=serious_violence,
        workspace=workspace,
    )
    return HotspotResult(hotspots, conc, meta)


def _store(ws: Workspace, result: HotspotResult) -> None:
    result.meta["result_id"] = ws.record_result(
        "hotspots",
        params=result.meta,
        payload=result.concentration.to_dict(lorenz_points=101),
        harm_table=result.meta.get("harm_table"),
        harm_sha256=result.meta.get("harm_sha256"),
    )


def write_layer(frame: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write a hotspot layer by extension (:func:`gripkit.output.write_table`, layer ``hotspots``)."""
    return write_table(frame, path, layer="hotspots")
