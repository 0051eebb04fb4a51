"""One force's national-table row: serious-violence harm, trend, hotspots, concentration, areas.

:func:`summarise_force` runs in a worker process of :func:`gripkit.national.run_national` (it
opens the workspace read-only) or in-process for in-memory workspaces.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.harm import apply_harm, load_harm_table
from gripkit.hotspots.find import find_hotspots, select_crimes
from gripkit.hotspots.select import candidate_areas
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")

#: Share of units whose harm share is reported (the issue's "top 5% of units").
TOP_SHARE = 0.05


@dataclass(frozen=True)
class NationalParams:
    """Parameters of a national run; part of every force's result key.

    Attributes
    ----------
    months
        Window: each force's last ``months`` months (trend: against the ``months`` before).
    harm
        Harm table name or CSV path (``cchi``, ``ons_css``).
    cell_size
        Grid cell side in metres (None: Chainey's rule per force, announced and recorded).
    n_areas
        Most proposed patrol areas per force (:func:`gripkit.hotspots.candidate_areas`).
    """

    months: int = 12
    harm: str = "cchi"
    cell_size: float | None = None
    n_areas: int = 20

    def __post_init__(self) -> None:
        if self.months < 1:
            raise InputError(f"'months' must be >= 1; received {self.months}. Pass e.g. 12.")
        if self.n_areas < 1:
            raise InputError(f"'n_areas' must be >= 1; received {self.n_areas}. Pass e.g. 20.")
        if self.cell_size is not None and not self.cell_size > 0:
            raise InputError(f"'cell_size' must be > 0 metres; received {self.cell_size}. Pass e.g. 150.")

    def describe(self) -> dict[str, Any]:
        """JSON-safe parameters (the harm table by name; its SHA-256 goes in the key apart)."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


def _windows(ws: Workspace, force: str, months: int) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp, bool]:
    row = ws.con.execute("SELECT min(month), max(month) FROM crimes WHERE force = ?", [force]).fetchone()
    if not row or row[1] is None:
        raise InputError(f"no crimes for force {force!r} in workspace {ws.path}; ingest its files first.")
    have, last = pd.Timestamp(row[0]), pd.Timestamp(row[1])
    first = last - pd.DateOffset(months=months - 1)
    before = first - pd.DateOffset(months=months)
    return before, first, last, bool(have <= before)


def summarise_force(ws: Workspace, force: str, params: NationalParams) -> dict[str, Any]:
    """The national-table row of one force (JSON-safe), computed from the workspace.

    Columns: ``force, window, sv_crimes, sv_harm, sv_harm_previous, trend`` (harm ratio of the
    last window to the one before; None when the workspace does not cover both),
    ``grid_top5_share`` and ``lsoa_top5_share`` (share of harm in the top 5% of units),
    ``grid_cell_m``, ``grid_units``, ``lsoa_units``, ``lsoa_polygons`` (``bundled`` or ``codes``:
    LSOA codes as published, without polygons), ``patrol_areas``, ``patrol_area_harm_share``,
    ``seconds`` and ``note``.

    Examples
    --------
    >>> from gripkit import Workspace, datasets
    >>> from gripkit.ingest import ingest
    >>> ws = Workspace(":memory:")
    >>> _ = ingest(datasets.bedfordshire_street_files()[:2], ws)
    >>> row = summarise_force(ws, "Bedfordshire", NationalParams(months=1, cell_size=500))
    >>> row["force"], row["trend"] is not None, 0 < row["grid_top5_share"] <= 1
    ('Bedfordshire', True, True)
    """
    started = time.perf_counter()
    before, first, last, covered = _windows(ws, force, params.months)
    table = load_harm_table(params.harm)
    row: dict[str, Any] = {"force": force, "window": f"{first:%Y-%m} to {last:%Y-%m}", "note": None}
    try:
        crimes = select_crimes(ws, serious_violence=True, force=force, months=(before.date(), last.date()))
    except InputError:
        crimes = pd.DataFrame(columns=[C.MONTH, C.CRIME_TYPE])
    harm = apply_harm(crimes, table) if len(crimes) else pd.Series(dtype=float)
    month = pd.to_datetime(crimes[C.MONTH])
    recent = (month >= first).to_numpy()
    row.update(
        sv_crimes=int(recent.sum()),
        sv_harm=float(harm[recent].sum()),
        sv_harm_previous=float(harm[~recent].sum()) if covered else None,
    )
    previous = row["sv_harm_previous"]
    row["trend"] = row["sv_harm"] / previous if previous else None
    window = (first.date(), last.date())
    try:
        grid = find_hotspots(ws, unit="grid", cell_size=params.cell_size, serious_violence=True,
                             months=window, harm=params.harm, force=force, store=False)
        lsoa = find_hotspots(ws, unit="lsoa", serious_violence=True, months=window, harm=params.harm,
                             force=force, store=False)
    except InputError as exc:  # e.g. no serious violence in the window
        row.update(grid_top5_share=None, lsoa_top5_share=None, grid_cell_m=None, grid_units=0,
                   lsoa_units=0, lsoa_polygons=None, patrol_areas=0, patrol_area_harm_share=None,
                   note=str(exc), seconds=time.perf_counter() - started)
        return row
    areas = candidate_areas(grid.hotspots, None, n=params.n_areas)
    row.update(
        grid_top5_share=float(grid.concentration.top_unit_share[TOP_SHARE]),
        lsoa_top5_share=float(lsoa.concentration.top_unit_share[TOP_SHARE]),
        grid_cell_m=grid.meta.get("cell_size_m"),
        grid_units=int(grid.concentration.n_units),
        lsoa_units=int(lsoa.concentration.n_units),
        lsoa_polygons="bundled" if lsoa.meta.get("boundaries") == "bundled" else "codes",
        patrol_areas=len(areas),
        patrol_area_harm_share=float(areas[C.SHARE_OF_HARM].sum()) if len(areas) else 0.0,
        seconds=time.perf_counter() - started,
    )
    if row["lsoa_polygons"] == "codes":
        row["note"] = "LSOA units by code only (no bundled polygons for this force)"
    return row


def summarise_in_worker(path: str, force: str, params: NationalParams) -> dict[str, Any]:
    """:func:`summarise_force` on a read-only workspace file (the process-pool entry point)."""
    logging.getLogger("gripkit").setLevel(logging.WARNING)
    with Workspace(path, read_only=True) as ws:
        return summarise_force(ws, force, params)
