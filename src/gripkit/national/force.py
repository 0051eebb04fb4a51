"""One force's national-table row: serious-violence harm, trend, hotspots, concentration, areas.

:func:`read_forces` reads the workspace once for all the forces to compute, in two queries: crimes
counted per force, month and crime type (each force's windows, and its serious-violence crimes per
type in the window before), then every force's serious-violence crimes of its last window, only
the columns needed, through Arrow (text columns as categoricals). :func:`summarise_data` computes
each row from the force's own :class:`ForceData` (grid and LSOA hotspots through
:func:`gripkit.hotspots.find.hotspots_from_crimes`, the body of ``find_hotspots``), in-process or
in a worker process that receives the data and never opens the workspace.
:func:`summarise_force` does both for one force.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from gripkit import columns as C
from gripkit.coverage import month_list, month_runs
from gripkit.errors import InputError
from gripkit.harm import HarmTable, apply_harm, load_harm_table, serious_violence_types
from gripkit.hotspots.find import HotspotResult, hotspots_from_crimes, no_crimes_message
from gripkit.hotspots.methods import MethodSpec
from gripkit.hotspots.select import candidate_areas
from gripkit.months import shift, trailing
from gripkit.units.build import UnitSpec
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")

#: Share of units whose harm share is reported (the issue's "top 5% of units").
TOP_SHARE = 0.05
#: Columns of the crimes a force row is computed from.
COLUMNS: tuple[str, ...] = (C.MONTH, C.CRIME_TYPE, C.X, C.Y, C.LSOA_CODE, C.FORCE)


@dataclass(frozen=True)
class NationalParams:
    """Parameters of a national run; part of every force's result key.

    Attributes
    ----------
    last
        Trailing window: each force's last ``last`` months (trend: against the ``last`` before).
    harm
        Harm table name or CSV path (``cchi``, ``ons_css``).
    cell_size
        Grid cell side in metres (None: Chainey's rule per force, announced and recorded).
    n_areas
        Most proposed patrol areas per force (:func:`gripkit.hotspots.candidate_areas`).
    boundaries
        LSOA polygon file (None: the bundled LSOA 2011 polygons of each force).
    """

    last: int = 12
    harm: str = C.DEFAULT_HARM_TABLE
    cell_size: float | None = None
    n_areas: int = 20
    boundaries: str | Path | None = None

    def __post_init__(self) -> None:
        if self.last < 1:
            raise InputError(f"'last' must be >= 1 month; received {self.last}. Pass e.g. last=12.")
        if self.n_areas < 1:
            raise InputError(f"'n_areas' must be >= 1; received {self.n_areas}. Pass e.g. 20.")
        if self.cell_size is not None and not self.cell_size > 0:
            raise InputError(f"'cell_size' must be > 0 metres; received {self.cell_size}. Pass e.g. 150.")
        if self.boundaries is not None and not Path(self.boundaries).is_file():
            raise InputError(
                f"LSOA boundary file not found; received boundaries={str(self.boundaries)!r}. Pass the path "
                "of a GeoPackage such as lsoa_2011_ew.gpkg, or leave it out (bundled LSOA 2011 polygons)."
            )

    def describe(self) -> dict[str, Any]:
        """JSON-safe parameters (the harm table by name; its SHA-256 goes in the key apart)."""
        out = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}
        if out["boundaries"] is None:  # keys of runs with the bundled polygons stay as before
            del out["boundaries"]
        return out


@dataclass(frozen=True)
class ForceWindow:
    """A force's window: its last ``n`` months ``first``..``last`` and the ``n`` months before.

    ``covered`` is True when the workspace holds crimes of the force in every month of the window
    before (so the trend compares like with like); ``missing`` and ``previous_missing`` are the
    months of each window without any crime of the force, as runs (``"2019-07..2021-03"``; ``""``
    if none), and ``months_held`` the months of the last window that hold crimes.
    """

    before: pd.Timestamp
    first: pd.Timestamp
    last: pd.Timestamp
    covered: bool
    months_held: int = 0
    missing: str = ""
    previous_missing: str = ""

    @property
    def label(self) -> str:
        """``"YYYY-MM to YYYY-MM"`` of the last window."""
        return f"{self.first:%Y-%m} to {self.last:%Y-%m}"


@dataclass(frozen=True)
class ForceData:
    """What a force's row is computed from; picklable, for worker processes.

    Attributes
    ----------
    force, window
        The force and its windows.
    part
        Its serious-violence crimes of the last window as read (Arrow; ``crime_type`` as an index
        into the sorted serious-violence types), in workspace order (source file, then row, as
        :meth:`gripkit.Workspace.crimes`); :attr:`crimes` is the pandas frame, built on first use
        (in the worker process that computes the row).
    previous
        Its serious-violence crimes per crime type in the window before (``before`` up to
        ``first``), e.g. ``{"Robbery": 41, ...}``.
    """

    force: str
    window: ForceWindow
    part: pa.Table
    previous: dict[str, int]

    @property
    def n_crimes(self) -> int:
        """Number of serious-violence crimes in the last window."""
        return int(self.part.num_rows)

    @cached_property
    def crimes(self) -> pd.DataFrame:
        """The crimes (columns :data:`COLUMNS`; ``crime_type``, ``lsoa_code`` and ``force`` categorical)."""
        return _frame(self.part, sorted(serious_violence_types()), self.force)


def read_forces(ws: Workspace, forces: list[str], last: int) -> dict[str, ForceData]:
    """:class:`ForceData` of every force in ``forces``, in two queries whatever their number.

    The first counts crimes per force, month and crime type (each force's window is the ``last``
    months ending at its newest month of crimes of any type, :func:`gripkit.months.trailing`; the
    counts give its serious-violence crimes per type in the window before); the second reads the
    serious-violence crimes of every force's last window, only the columns :data:`COLUMNS`, through
    Arrow.

    Examples
    --------
    >>> from gripkit import datasets
    >>> from gripkit.ingestion import ingest
    >>> ws = Workspace(":memory:")
    >>> _ = ingest(datasets.bedfordshire_street_files()[:2], ws)  # 2023-05 and 2023-06
    >>> data = read_forces(ws, ["Bedfordshire"], 1)["Bedfordshire"]
    >>> data.window.label, data.window.covered, list(data.crimes.columns)
    ('2023-06 to 2023-06', True, ['month', 'crime_type', 'x', 'y', 'lsoa_code', 'force'])
    >>> sorted(data.crimes["crime_type"].unique())
    ['Possession of weapons', 'Robbery', 'Violence and sexual offences']
    >>> data.previous["Robbery"] == len(ws.crimes(crime_types=["Robbery"], months=("2023-05", "2023-05")))
    True
    """
    counts = ws.con.execute(
        "SELECT force, month, crime_type, count(*) AS n FROM crimes "
        "WHERE force IN (SELECT unnest(?::VARCHAR[])) AND month IS NOT NULL GROUP BY ALL",
        [list(forces)],
    ).df()
    counts[C.MONTH] = pd.to_datetime(counts[C.MONTH])
    span = {
        str(force): (pd.Timestamp(have), pd.Timestamp(last))
        for force, have, last in counts.groupby(C.FORCE)[C.MONTH].agg(["min", "max"]).itertuples()
    }
    missing = [f for f in forces if f not in span]
    if missing:
        raise InputError(
            f"no crimes for force {missing[0]!r} in workspace {ws.path}; ingest its files first."
        )
    types = sorted(serious_violence_types())
    held = {str(f): {m.date() for m in ms} for f, ms in counts.groupby(C.FORCE)[C.MONTH]}
    windows = {}
    for force in forces:
        _, newest = span[force]
        first, _ = trailing(newest.date(), last)
        before, _ = trailing(newest.date(), last, offset=last)
        window = month_list(first, newest.date())
        prior = month_list(before, shift(first, -1))
        gaps = [m for m in window if m not in held[force]]
        earlier = [m for m in prior if m not in held[force]]
        windows[force] = ForceWindow(pd.Timestamp(before), pd.Timestamp(first), newest, not earlier,
                                     len(window) - len(gaps), month_runs(gaps) if gaps else "",
                                     month_runs(earlier) if earlier else "")
    # serious-violence crimes per force and type in the window before (before <= month < first)
    bounds = pd.DataFrame({C.FORCE: forces, "before": [windows[f].before for f in forces],
                           "first": [windows[f].first for f in forces]})
    sv = counts[counts[C.CRIME_TYPE].isin(types)].merge(bounds, on=C.FORCE)
    sv = sv[(sv[C.MONTH] >= sv["before"]) & (sv[C.MONTH] < sv["first"])]
    previous: dict[str, dict[str, int]] = {force: {} for force in forces}
    totals = sv.groupby([C.FORCE, C.CRIME_TYPE])["n"].sum()
    for force, crime_type, n in zip(totals.index.get_level_values(0), totals.index.get_level_values(1),
                                    totals.to_numpy(), strict=True):
        previous[str(force)][str(crime_type)] = int(n)
    values = ", ".join("(?, ?, ?::DATE, ?::DATE)" for _ in forces)
    # the widest window as constants too, so DuckDB skips row groups of other months (zone maps)
    lowest = min(windows[f].first for f in forces).date()
    highest = max(windows[f].last for f in forces).date()
    params: list[Any] = [types]
    for k, force in enumerate(forces):
        params += [k, force, windows[force].first.date(), windows[force].last.date()]
    table = ws.con.sql(
        "SELECT w.k, c.month::TIMESTAMP AS month, "
        "list_position(?::VARCHAR[], c.crime_type)::TINYINT - 1 AS crime_type, "  # index into types
        f"c.x, c.y, c.lsoa_code FROM crimes c JOIN (VALUES {values}) w(k, force, first, last) "
        f"ON c.force = w.force WHERE c.crime_type IN ({', '.join('?' for _ in types)}) "
        "AND c.month BETWEEN w.first AND w.last AND c.month BETWEEN ? AND ? "
        "ORDER BY w.k, c.source_id, c.source_row",
        params=[*params, *types, lowest, highest],
    ).to_arrow_table()
    ends = np.searchsorted(table.column("k").to_numpy(), np.arange(len(forces) + 1))
    return {
        force: ForceData(force, windows[force], table.slice(ends[k], ends[k + 1] - ends[k]), previous[force])
        for k, force in enumerate(forces)
    }


def _frame(part: pa.Table, types: list[str], force: str) -> pd.DataFrame:
    """One force's crimes as pandas, text columns as categoricals of the force's own values."""
    lsoa = part.column(C.LSOA_CODE).combine_chunks().dictionary_encode()
    n = part.num_rows
    type_codes = part.column(C.CRIME_TYPE).to_numpy()
    return pd.DataFrame({
        C.MONTH: part.column(C.MONTH).to_pandas(),
        C.CRIME_TYPE: pd.Categorical.from_codes(type_codes, dtype=pd.CategoricalDtype(types)),
        C.X: part.column(C.X).to_numpy(),
        C.Y: part.column(C.Y).to_numpy(),
        C.LSOA_CODE: pa.chunked_array([lsoa], type=lsoa.type).to_pandas() if n else pd.Series(dtype=object),
        C.FORCE: pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), dtype=pd.CategoricalDtype([force])),
    })


def summarise_data(
    data: ForceData,
    params: NationalParams,
    *,
    workspace: str = "",
    table: HarmTable | Literal["load"] | None = "load",
) -> dict[str, Any]:
    """The national-table row of one force from its :class:`ForceData` (see :func:`summarise_force`).

    ``workspace`` only names the source in notes; ``table`` is ``params.harm`` already loaded
    (``"load"``: load it here).

    Examples
    --------
    >>> from gripkit import datasets
    >>> from gripkit.ingestion import ingest
    >>> ws = Workspace(":memory:")
    >>> _ = ingest(datasets.bedfordshire_street_files()[:2], ws)
    >>> data = read_forces(ws, ["Bedfordshire"], 1)["Bedfordshire"]
    >>> row = summarise_data(data, NationalParams(last=1, cell_size=500))
    >>> row["window"], row["sv_crimes"] == len(data.crimes), row["patrol_areas"]
    ('2023-06 to 2023-06', True, 20)
    """
    started = time.perf_counter()
    if table == "load":
        table = load_harm_table(params.harm)
    crimes, window = data.crimes, data.window
    row: dict[str, Any] = {C.FORCE: data.force, "window": window.label, "note": None,
                           "months_held": window.months_held, "months_missing": window.missing,
                           "previous_missing": window.previous_missing}
    harm = apply_harm(crimes, table) if len(crimes) else pd.Series(dtype=float)
    types = sorted(data.previous)
    weights = apply_harm(pd.DataFrame({C.CRIME_TYPE: pd.Series(types, dtype=object)}), table).tolist()
    row.update(
        sv_crimes=len(crimes),
        sv_harm=float(harm.sum()),
        # the same sum, by crime type (count x weight: exact for weights in quarters, as CCHI's)
        sv_harm_previous=float(sum(data.previous[t] * w for t, w in zip(types, weights, strict=True)))
        if window.covered else None,
    )
    previous = row["sv_harm_previous"]
    row["trend"] = row["sv_harm"] / previous if previous else None
    try:
        if crimes.empty:
            sv = sorted(serious_violence_types())
            raise InputError(
                no_crimes_message(workspace, sv, (window.first.date(), window.last.date()), data.force)
            )
        method = MethodSpec()
        # polygons only for cells with crimes: the patrol areas grow from those (~10% of ~760k cells)
        grid = hotspots_from_crimes(crimes, UnitSpec("grid", cell_size=params.cell_size), method, table,
                                    serious_violence=True, workspace=workspace, geometry="with_crimes")
        lsoa_spec = UnitSpec("lsoa", boundaries=params.boundaries)
        lsoa = hotspots_from_crimes(crimes, lsoa_spec, method, table, serious_violence=True,
                                    workspace=workspace)
    except InputError as exc:  # e.g. no serious violence in the window
        row.update(NO_HOTSPOTS, note=str(exc), seconds=time.perf_counter() - started)
        return row
    row.update(hotspot_fields(grid, lsoa, params.n_areas), seconds=time.perf_counter() - started)
    return row


#: A row's hotspot fields when the force has none (e.g. no serious violence in its window).
NO_HOTSPOTS: dict[str, Any] = dict(
    grid_top5_share=None, lsoa_top5_share=None, grid_cell_m=None, grid_units=0, lsoa_units=0,
    lsoa_polygons=None, patrol_areas=0, patrol_area_harm_share=None,
)


def hotspot_fields(grid: HotspotResult, lsoa: HotspotResult, n_areas: int) -> dict[str, Any]:
    """A row's hotspot fields from a force's grid and LSOA hotspots: top-5% shares, unit counts,
    and up to ``n_areas`` patrol areas grown from the grid (:func:`candidate_areas`); ``note``
    when the LSOAs are codes without polygons."""
    areas = candidate_areas(grid.hotspots, None, n=n_areas)
    fields: dict[str, Any] = dict(
        grid_top5_share=float(grid.concentration.top_unit_share[TOP_SHARE]),
        lsoa_top5_share=float(lsoa.concentration.top_unit_share[TOP_SHARE]),
        grid_cell_m=grid.meta.get("cell_size_m"),
        grid_units=int(grid.concentration.n_units),
        lsoa_units=int(lsoa.concentration.n_units),
        lsoa_polygons={"bundled": "bundled", "none": "codes"}.get(str(lsoa.meta.get("boundaries")), "file"),
        patrol_areas=len(areas),
        patrol_area_harm_share=float(areas[C.SHARE_OF_HARM].sum()) if len(areas) else 0.0,
    )
    if fields["lsoa_polygons"] == "codes":
        fields["note"] = "LSOA units by code only (no bundled polygons for this force)"
    return fields


def summarise_force(ws: Workspace, force: str, params: NationalParams) -> dict[str, Any]:
    """The national-table row of one force (JSON-safe), computed from the workspace.

    Columns: ``force, window, sv_crimes, sv_harm, sv_harm_previous, trend`` (harm ratio of the
    last window to the one before; None unless the force holds every month of the one before),
    ``months_held`` (months of the last window with crimes of the force), ``months_missing`` and
    ``previous_missing`` (months of either window without them, as runs; ``""`` if none),
    ``grid_top5_share`` and ``lsoa_top5_share`` (share of harm in the top 5% of units),
    ``grid_cell_m``, ``grid_units``, ``lsoa_units``, ``lsoa_polygons`` (``bundled``, ``file`` (from
    ``params.boundaries``) or ``codes``: LSOA codes as published, without polygons), ``patrol_areas``,
    ``patrol_area_harm_share``, ``seconds`` and ``note``.

    Examples
    --------
    >>> from gripkit import Workspace, datasets
    >>> from gripkit.ingestion import ingest
    >>> ws = Workspace(":memory:")
    >>> _ = ingest(datasets.bedfordshire_street_files()[:2], ws)
    >>> row = summarise_force(ws, "Bedfordshire", NationalParams(last=1, cell_size=500))
    >>> row["force"], row["trend"] is not None, 0 < row["grid_top5_share"] <= 1
    ('Bedfordshire', True, True)
    """
    return summarise_data(read_forces(ws, [force], params.last)[force], params, workspace=ws.path)
