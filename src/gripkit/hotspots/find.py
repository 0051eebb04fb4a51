"""The hotspot job: a request -> crimes from the workspace -> harm -> units -> counts -> method.

:func:`find_hotspots` runs one :class:`~gripkit.hotspots.request.HotspotRequest` (what ``gripkit
hotspots``, the dashboard's map, the report and ``gripkit demo`` all build) and stores the
:class:`HotspotResult` in the workspace. Every choice made automatically (cell size, study area,
whether Gi*/KDE weigh by harm) is announced through ``logging`` and recorded in
:attr:`HotspotResult.meta`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.harm import HarmTable, apply_harm, load_harm_table, serious_violence_types
from gripkit.harm.asb import with_asb_floor
from gripkit.hotspots._trim import release_free_memory
from gripkit.hotspots.combined import ED_ONLY, ED_ONLY_COUNT, HIDDEN_SHARE, combine_sources, hidden_share
from gripkit.hotspots.concentration import Concentration, concentration, units_in_top
from gripkit.hotspots.count import _count, _positions
from gripkit.hotspots.methods import MethodSpec, apply_method, method_steps
from gripkit.hotspots.request import AUTO, HotspotRequest
from gripkit.output import write_table
from gripkit.progress import Progress, Steps
from gripkit.results import ResultMixin, to_jsonable
from gripkit.units.build import UnitSpec, build_units
from gripkit.workspace import Workspace, parse_month

log = logging.getLogger("gripkit")


@dataclass
class HotspotResult(ResultMixin):
    """Hotspots per unit, their concentration, and the provenance of both.

    Attributes
    ----------
    hotspots
        The layer: every unit with the columns of :data:`gripkit.columns.HOTSPOT_COLUMNS` and the
        method's own (``gi_z``, ``gi_p``, ``gi_q``, ``hot`` for Gi*; ``density`` for the KDEs).
    concentration
        The :class:`~gripkit.hotspots.concentration.Concentration` of harm over those units.
    meta
        Provenance: ``unit`` and the units' parameters (e.g. ``cell_size_m``), ``method``,
        ``method_params``, ``weights`` (None: counts, ``"harm"``), ``harm_table``, ``harm_sha256``,
        ``crimes``, ``assigned``, ``unassigned``, ``months`` (display text), ``window``
        (``{"first": "YYYY-MM", "last": "YYYY-MM"}``), ``crime_types``, ``serious_violence``,
        ``workspace``, and ``request`` (:meth:`HotspotRequest.to_dict`, with the weights decision)
        when the run came from a request; ``matching`` when police and ED records were combined
        (:mod:`gripkit.hotspots.combined`: the layer then has ``ed_only`` and ``hidden_share``).
    """

    kind: ClassVar[str] = "hotspots"
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

    @property
    def hot_units(self) -> int | None:
        """How many units the method flags hot (Gi*), or None for methods without a hot flag."""
        if C.HOT not in self.hotspots.columns:
            return None
        return int(self.hotspots[C.HOT].eq(True).sum())

    def to_dict(self) -> dict[str, Any]:
        """``meta``, the concentration (Lorenz curve at 101 points), unit counts and the top 20 units."""
        out = {
            "meta": self.meta,
            "concentration": self.concentration.to_dict(lorenz_points=101),
            "units": len(self.hotspots),
            "hot_units": self.hot_units,
            "top": self.top(20),
        }
        result = to_jsonable(out)
        assert isinstance(result, dict)
        return result

    def summary(self) -> str:
        """One paragraph: the method run, on what units, what it found, and how concentrated harm is.

        e.g. "Gi* (harm-weighted, fdr_bh q<0.05) on 9,812 150 m grid cells: 412 hot; the top 1% of
        cells (98) hold 23.4% of CCHI harm and the top 5% hold 51.0% (Gini 0.85; a random placement of
        the same crimes gives 0.31); the top cell is On or near Flowers Way, Luton 021G (356 crimes).
        12,345 crimes, 2023-05 to 2024-04." When crimes carrying harm
        are fewer than the units, the generalised Gini of Bernasco & Steenbeek (2017) leads."
        """
        meta, conc = self.meta, self.concentration
        units = unit_phrase(meta, len(self.hotspots))
        found = "" if self.hot_units is None else f": {self.hot_units:,} hot{chance_phrase(meta)}"
        shares = [(k, conc.top_unit_share[k]) for k in conc.tops if k in conc.top_unit_share]
        harm = harm_label(meta.get("harm_table"))
        text = f"{describe_method(meta)} on {units}{found}"
        if shares and conc.total > 0:
            (k0, s0), rest = shares[0], shares[1:]
            short = _UNIT_SHORT.get(str(meta.get("unit")), "units")
            text += (
                f"; the top {k0:.0%} of {short} ({units_in_top(conc.n_units, k0):,}) hold {s0:.1%} of {harm}"
            )
            if rest:
                text += "".join(f" and the top {k:.0%} hold {v:.1%}" for k, v in rest[:1])
            text += f" ({conc.gini_sentence()})"
        text += self._top_phrase()
        crimes = meta.get("crimes")
        when = meta.get("months")
        parts = (f"{crimes:,} crimes" if crimes is not None else "", str(when or ""))
        tail = ", ".join(p for p in parts if p)
        matching = meta.get("matching")
        if isinstance(matching, Mapping) and tail:  # police and ED records combined
            tail += f" ({matching['matched']:,} ED records matched police records, each pair counted once)"
        return text + "." + (f" {tail}." if tail else "")

    def _top_phrase(self) -> str:
        """``"; the top cell is On or near Flowers Way, Luton 021G (356 crimes)"``: the unit ranked
        first by harm, by its label; "" when no unit holds harm or the layer has no labels."""
        frame = self.hotspots
        if C.LABEL not in frame.columns or frame.empty:
            return ""
        first = frame.loc[frame[C.HARM_RANK].idxmin()]
        if not float(first[C.HARM]) > 0 or pd.isna(first[C.LABEL]):
            return ""
        word = _UNIT_ONE.get(str(self.meta.get("unit")), "unit")
        return f"; the top {word} is {first[C.LABEL]} ({int(first[C.CRIMES]):,} crimes)"

    def tables(self) -> dict[str, pd.DataFrame]:
        """The hotspot layer, stored as GeoParquet under ``"hotspots"``."""
        return {"hotspots": self.hotspots}


_METHOD_TITLES = {
    "count": "Counts of crimes and harm", "gistar": "Gi*", "kde": "KDE", "netkde": "Network KDE",
}
_UNIT_WORDS = {"grid": "grid cells", "hex": "H3 hexagons", "lsoa": "LSOAs", "segment": "street segments"}
_UNIT_SHORT = {"grid": "cells", "hex": "hexagons", "lsoa": "LSOAs", "segment": "segments"}
_UNIT_ONE = {"grid": "cell", "hex": "hexagon", "lsoa": "LSOA", "segment": "segment"}
_HARM_NAMES = {"cchi": "CCHI", "ons_css": "ONS CSS"}


def describe_method(meta: Mapping[str, Any]) -> str:
    """A title for the method a stored hotspot result ran, from its ``meta``.

    Examples
    --------
    >>> describe_method({"method": "gistar", "weights": "harm",
    ...                  "method_params": {"correction": "fdr_bh", "alpha": 0.05}})
    'Gi* (harm-weighted, fdr_bh q<0.05)'
    >>> describe_method({"method": "kde", "method_params": {"weights": None, "bandwidth_m": 312.4}})
    'KDE (crime counts, quartic, bandwidth 312 m)'
    >>> describe_method({"method": "count"})
    'Counts of crimes and harm'
    """
    method = str(meta.get("method") or "count")
    params = meta.get("method_params") if isinstance(meta.get("method_params"), Mapping) else {}
    assert isinstance(params, Mapping)
    title = _METHOD_TITLES.get(method, method)
    if method == "count":
        return title
    weights = meta["weights"] if "weights" in meta else params.get("weights")
    parts = ["harm-weighted" if weights == C.HARM else "crime counts"]
    if method == "gistar":
        parts.append(f"{params.get('correction', 'fdr_bh')} q<{float(params.get('alpha', 0.05)):g}")
        if params.get("p_values") == "normal":
            parts.append("normal-approximation p")
    else:
        parts.append(str(params.get("kernel", "quartic")))
        bandwidth = params.get("bandwidth_m", params.get("bandwidth"))
        if bandwidth:
            parts.append(f"bandwidth {float(bandwidth):.0f} m")
    return f"{title} ({', '.join(parts)})"


def chance_phrase(meta: Mapping[str, Any]) -> str:
    """How many hot units chance alone gives (Gi*'s null check), for the summary; "" if not run.

    Examples
    --------
    >>> chance_phrase({"method_params": {"null_runs": 5, "null_hot_mean": 0.0}})
    ' (chance alone: 0.0, the mean over 5 random permutations of the values)'
    >>> chance_phrase({"method_params": {}})
    ''
    """
    params = meta.get("method_params") if isinstance(meta.get("method_params"), Mapping) else {}
    assert isinstance(params, Mapping)
    runs, mean = params.get("null_runs"), params.get("null_hot_mean")
    if not runs or mean is None:
        return ""
    shown = f"{float(mean):,.0f}" if float(mean) >= 10 else f"{float(mean):.1f}"
    return f" (chance alone: {shown}, the mean over {int(runs)} random permutations of the values)"


def unit_phrase(meta: Mapping[str, Any], n: int) -> str:
    """``"9,812 150 m grid cells"``, ``"381 LSOAs"``, ``"1,024 H3 resolution 9 hexagons"``."""
    unit = str(meta.get("unit") or "")
    words = _UNIT_WORDS.get(unit, f"{unit} units" if unit else "units")
    if unit == "grid" and meta.get("cell_size_m"):
        words = f"{float(meta['cell_size_m']):g} m {words}"
    if unit == "hex" and meta.get("resolution") is not None:
        words = f"H3 resolution {meta['resolution']} hexagons"
    return f"{n:,} {words}"


def harm_label(table: Any) -> str:
    """``"CCHI harm"``, ``"ONS CSS harm"``, ``"crimes"`` (no table), or ``"<name> harm"``."""
    if table in (None, "none"):
        return "crimes"
    return f"{_HARM_NAMES.get(str(table), str(table))} harm"


def _harm_bearing(crimes: pd.DataFrame, units: Any, hotspots: pd.DataFrame) -> np.ndarray:
    """Crimes per unit that carry harm (> 0): the N of the concentration of harm (a crime the table
    weighs 0, such as anti-social behaviour under the CCHI, adds nothing to concentrate)."""
    bearing = crimes[C.HARM].to_numpy(dtype=float) > 0
    if bearing.all():
        return hotspots[C.CRIMES].to_numpy()
    positions = units.positions(crimes[bearing])
    if positions is not None:  # units that place crimes by row (grid cells): count by row, as count does
        unit_ids, _ = units.ids_and_areas()
        per_row = np.bincount(positions[positions >= 0], minlength=len(unit_ids))
        return per_row[_positions(pd.Index(hotspots[C.UNIT_ID].array), pd.Series(unit_ids))]
    # only the counts are read: no polygons for units without crimes
    counted = _count(crimes[bearing], units, geometry="with_crimes")[0]
    per_unit = counted.set_index(counted[C.UNIT_ID].astype(str))[C.CRIMES]
    return hotspots[C.UNIT_ID].astype(str).map(per_unit).fillna(0).to_numpy(dtype=int)


def select_crimes(
    ws: Workspace,
    *,
    crime_types: list[str] | None = None,
    serious_violence: bool = False,
    months: tuple[str | date | None, str | date | None] | None = None,
    force: str | None = None,
    sv_table: str | Path | None = None,
    sources: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Crimes from the workspace after the usual filters (``sources``: record sources, None all).

    ``serious_violence`` keeps the crime types flagged in ``sv_table`` (a CSV with
    ``crime_type, serious_violence``; default: the bundled police.uk proxy).
    """
    types = list(crime_types) if crime_types else None
    if serious_violence:
        sv = sorted(serious_violence_types(sv_table))
        types = [t for t in types if t in sv] if types else sv
    crimes = ws.crimes(crime_types=types, months=months, force=force, sources=sources)
    if crimes.empty:
        raise InputError(no_crimes_message(ws.path, types, months, force))
    return crimes


def no_crimes_message(
    path: str,
    types: list[str] | None,
    months: tuple[str | date | None, str | date | None] | None,
    force: str | None,
) -> str:
    """The error of :func:`select_crimes` when nothing matches (shared with the national run).

    Months read the same whether given as dates or ``"YYYY-MM"`` text:

    >>> no_crimes_message("w.duckdb", None, (date(2023, 4, 1), "2023-04"), None)[:80]
    'no crimes in workspace w.duckdb match the selection (crime types all, months 202'
    >>> "months 2023-04 to 2023-04," in no_crimes_message("w", None, (date(2023, 4, 1), "2023-04"), None)
    True
    """
    window = "all"
    if months and any(m is not None for m in months):
        first, last = (("…" if m is None else f"{parse_month(m):%Y-%m}") for m in months)
        window = f"{first} to {last}"
    return (
        f"no crimes in workspace {path} match the selection (crime types {types or 'all'}, "
        f"months {window}, force {force or 'all'}). Ingest data with `gripkit ingest PATH` "
        "or widen the filters."
    )


def request_crimes(ws: Workspace, request: HotspotRequest) -> pd.DataFrame:
    """The crimes a request selects (:func:`select_crimes` with its filters); when they hold police
    and ED records, the ED side of each matched pair is dropped (:mod:`gripkit.hotspots.combined`,
    what was done in ``attrs["matching"]``)."""
    crimes = select_crimes(
        ws,
        crime_types=list(request.crime_types) if request.crime_types else None,
        serious_violence=request.serious_violence,
        months=request.months,
        force=request.force,
        sv_table=request.sv_table,
        sources=request.sources,
    )
    combined, matching = combine_sources(crimes)  # a police-ED pair counted once
    if matching:
        combined.attrs["matching"] = matching
    return combined


def request_harm_table(request: HotspotRequest) -> HarmTable | None:
    """The request's harm table, anti-social behaviour weighing ``asb_floor`` when given
    (:func:`gripkit.harm.asb.with_asb_floor`)."""
    table = load_harm_table(request.harm)
    if table is not None and request.asb_floor is not None:
        table = with_asb_floor(table, request.asb_floor)
    return table


def find_hotspots(
    ws: Workspace,
    request: HotspotRequest | None = None,
    *,
    unit: str | UnitSpec = "grid",
    method: str | MethodSpec = "count",
    cell_size: float | None = None,
    resolution: int | None = None,
    boundaries: str | Path | None = None,
    crime_types: list[str] | tuple[str, ...] | None = None,
    serious_violence: bool = False,
    months: tuple[str | date | None, str | date | None] | str | None = None,
    harm: str | Path | None = C.DEFAULT_HARM_TABLE,
    force: str | None = None,
    sv_table: str | Path | None = None,
    weights: str | None = AUTO,
    sources: tuple[str, ...] | list[str] | str | None = None,
    store: bool = True,
    progress: Progress | None = None,
) -> HotspotResult:
    """Count crimes and harm per unit, rank them, run a hotspot method and measure concentration.

    Parameters
    ----------
    ws
        Workspace holding ingested crimes.
    request
        The whole run as a :class:`~gripkit.hotspots.request.HotspotRequest`. When None, one is
        built from the keywords below (which must then stay at their defaults if a request is given).
    unit
        ``"grid"``, ``"hex"``, ``"lsoa"``, ``"segment"`` or a full :class:`~gripkit.units.build.UnitSpec`.
    method
        ``"count"``, ``"gistar"``, ``"kde"``, ``"netkde"`` or a full
        :class:`~gripkit.hotspots.methods.MethodSpec` (whose ``weights`` is then used as given).
    cell_size, resolution, boundaries
        Shortcuts for the unit's parameters when ``unit`` is a name.
    crime_types, serious_violence, months, force, sv_table
        Filters; ``serious_violence`` keeps the categories flagged in ``sv_table`` (default: the
        police.uk proxy of violence and sexual offences, robbery, possession of weapons);
        ``months`` is ``(first, last)`` or ``"FROM..TO"``.
    harm
        Harm table name (``cchi``, ``ons_css``), a CSV path, or ``"none"`` to count crimes.
    weights
        ``"auto"`` (Gi*/KDE weigh by harm whenever a harm table is in use), ``"harm"``, or None /
        ``"crimes"``: the rule of :meth:`HotspotRequest.weights_decision`, logged and recorded.
    sources
        Record sources counted (``("police",)``, ``("health",)``, ``"police,health"``; None: all
        combined).
    store
        Store the result in the workspace (:meth:`~gripkit.workspace.Workspace.save_result`:
        meta, summary, concentration and the hotspot layer), so the report and dashboard see it.
    progress
        ``progress(done, total, phase)`` (:data:`gripkit.progress.Progress`) after reading the
        crimes, then each phase of :func:`hotspots_from_crimes`, then storing.

    Examples
    --------
    >>> from gripkit import Workspace, datasets
    >>> from gripkit.ingestion import ingest
    >>> ws = Workspace(":memory:")
    >>> _ = ingest(datasets.bedfordshire_street_files()[:1], ws)
    >>> result = find_hotspots(ws, cell_size=500, method="gistar")
    >>> round(float(result.hotspots["share_of_harm"].sum()), 6), bool(result.hotspots["hot"].any())
    (1.0, True)
    >>> result.meta["weights"], ws.latest_result("hotspots").result_id == result.meta["result_id"]
    ('harm', True)
    """
    shortcuts: dict[str, Any] = dict(
        unit=unit, method=method, cell_size=cell_size, resolution=resolution, boundaries=boundaries,
        crime_types=crime_types, serious_violence=serious_violence, months=months, harm=harm,
        force=force, sv_table=sv_table, weights=weights, sources=sources,
    )
    if request is None:
        request = HotspotRequest(**shortcuts)
    else:
        defaults = dict(
            unit="grid", method="count", cell_size=None, resolution=None, boundaries=None,
            crime_types=None, serious_violence=False, months=None, harm=C.DEFAULT_HARM_TABLE,
            force=None, sv_table=None, weights=AUTO, sources=None,
        )
        changed = sorted(k for k, v in shortcuts.items() if v != defaults[k])
        if changed:
            raise InputError(
                f"pass either 'request' or the keyword shortcuts; received a request and "
                f"{', '.join(repr(k) for k in changed)}. Put them in the HotspotRequest."
            )
    request.announce()
    method_spec = request.method_spec()
    inner = hotspots_steps(method_spec)
    steps = Steps(progress, 1 + inner + int(store))
    table = request_harm_table(request)
    crimes = request_crimes(ws, request)
    matching = crimes.attrs.get("matching")
    steps.step("reading crimes")
    result = hotspots_from_crimes(
        crimes,
        request.unit_spec(),
        method_spec,
        table,
        serious_violence=request.serious_violence,
        workspace=ws.path,
        request=request,
        progress=steps.part(inner),
    )
    del crimes  # ~55 MiB on 36 months of Bedfordshire, no longer needed while the result is stored
    release_free_memory()
    if matching:
        result.meta["matching"] = matching
    if store:
        ws.save_result(result)
        steps.step("storing")
    return result


def hotspots_steps(method: MethodSpec) -> int:
    """Progress steps :func:`hotspots_from_crimes` reports: units, counting, the method's, concentration."""
    return 3 + method_steps(method)


def hotspots_from_crimes(
    crimes: pd.DataFrame,
    unit: UnitSpec,
    method: MethodSpec,
    table: HarmTable | None,
    *,
    serious_violence: bool = False,
    workspace: str | None = None,
    geometry: str = "all",
    request: HotspotRequest | None = None,
    progress: Progress | None = None,
) -> HotspotResult:
    """The body of :func:`find_hotspots` on crimes already selected: harm -> units -> counts -> method.

    Parameters
    ----------
    crimes
        Canonical crime frame (at least ``month``, ``crime_type``, ``x``, ``y``; ``force`` to
        cover the force area; ``lsoa_code`` for LSOA units), e.g. from :func:`select_crimes`.
        Not modified.
    unit, method
        What to count in and which statistic to compute (``method.weights`` already decided).
    table
        Harm table from :func:`gripkit.harm.load_harm_table` (None: every crime weighs 1).
    serious_violence, workspace
        Provenance recorded in :attr:`HotspotResult.meta` (how the crimes were selected, and from where).
    geometry
        ``"with_crimes"``: only units with crimes get a geometry (see :func:`count`); for the
        ``count`` method only, as the others use every unit's geometry.
    request
        The request this run answers, recorded as ``meta["request"]`` (with its weights decision).
    progress
        ``progress(done, total, phase)`` after building the units, counting, each step of the
        method (:func:`~gripkit.hotspots.methods.method_steps`) and the concentration;
        ``total`` is :func:`hotspots_steps`.

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
            "(e.g. only anti-social behaviour, weighted 0). Choose other crime types or harm='none'."
        )
    steps = Steps(progress, hotspots_steps(method))
    units, meta = build_units(crimes, unit)
    steps.step("building units")
    counts, counted = _count(crimes, units, geometry=geometry)
    steps.step("counting")
    release_free_memory()  # the steps' freed buffers, before the method builds its own
    if "length_m" in units.extra_columns:
        lengths = units.frame.set_index(units.frame[C.UNIT_ID].astype(str))["length_m"]
        counts.insert(
            counts.columns.get_loc(C.AREA_M2), "length_m", counts[C.UNIT_ID].astype(str).map(lengths)
        )
    hotspots, method_meta = apply_method(counts, crimes, units, method, steps.part(method_steps(method)))
    del counts  # apply_method returns a copy with the method's columns: keep one table, not two
    release_free_memory()
    if ED_ONLY in crimes.columns:  # police and ED records combined (gripkit.hotspots.combined)
        hotspots[ED_ONLY_COUNT], hotspots[HIDDEN_SHARE] = hidden_share(crimes, units, hotspots, geometry)
    areas = hotspots[C.AREA_M2].to_numpy(dtype=float)
    conc = concentration(
        hotspots[C.HARM].to_numpy(dtype=float),
        areas if (areas > 0).all() else None,
        counts=_harm_bearing(crimes, units, hotspots),
    )
    steps.step("concentration")
    first, last = (f"{pd.Timestamp(m):%Y-%m}" for m in (crimes[C.MONTH].min(), crimes[C.MONTH].max()))
    unassigned = int(counted["unassigned"])
    meta.update(
        method=method.name,
        method_params={**method.describe(), **method_meta},
        weights=method.weights if method.name != "count" else None,
        harm_table=table.name if table else "none",
        harm_sha256=table.sha256 if table else None,
        crimes=len(crimes),
        assigned=len(crimes) - unassigned,
        unassigned=unassigned,
        months=f"{first} to {last}",
        window={"first": first, "last": last},
        crime_types=sorted(crimes[C.CRIME_TYPE].unique().tolist()),
        serious_violence=serious_violence,
        workspace=workspace,
    )
    if request is not None:
        meta["request"] = request.to_dict()
    return HotspotResult(hotspots, conc, meta)


def write_layer(frame: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write a hotspot layer by extension (:func:`gripkit.output.write_table`, layer ``hotspots``)."""
    return write_table(frame, path, layer="hotspots")
