"""Candidate patrol areas: the places a plan chooses from.

An *area frame* is a GeoDataFrame in EPSG:27700 (or another metre CRS) with the columns
``area_id`` (string), ``harm`` (float, harm in the period the hotspots were counted over),
``crimes`` (int), ``area_m2`` (float) and ``geometry`` (polygons; may be empty when unknown).

Two sources feed it:

* :func:`default_areas` — the top ``n`` LSOAs by serious-violence harm in a workspace, as
  Operation Rowan chose its 21 areas (Bland et al. 2021);
* :func:`read_areas` — a file written by the hotspot step (``gripkit hotspots --out`` or
  ``hotspots.select.candidate_areas``): GeoParquet, GeoPackage, GeoJSON or CSV with an
  ``area_id`` or ``unit_id`` column and, ideally, ``harm``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.units.base import UNIT_ID_DTYPE, metre_crs
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")

AREA_ID = "area_id"
AREA_COLUMNS: tuple[str, ...] = (AREA_ID, C.CRIMES, C.HARM, C.AREA_M2, C.GEOMETRY)


def default_areas(ws: Workspace, n: int = 21, *, harm: str = "cchi") -> gpd.GeoDataFrame:
    """The ``n`` LSOAs with the most serious-violence harm in the workspace.

    Uses :func:`gripkit.hotspots.find.find_hotspots` with ``unit="lsoa"`` and
    ``serious_violence=True`` (bundled LSOA polygons are used for Bedfordshire).

    Parameters
    ----------
    ws : Workspace
        Workspace with ingested crimes.
    n : int, default 21
        Number of areas (Operation Rowan used 21).
    harm : str, default "cchi"
        Harm table name or CSV path.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`AREA_COLUMNS`, ranked by harm (ties: more crimes, then code).

    Examples
    --------
    >>> from gripkit import Workspace, datasets
    >>> from gripkit.ingestion import ingest
    >>> ws = Workspace(":memory:")
    >>> _ = ingest(datasets.bedfordshire_street_files()[:2], ws)
    >>> len(default_areas(ws, 5))
    5
    """
    from gripkit.hotspots.find import find_hotspots  # deferred: hotspots import is heavy

    count = _count("n", n)
    result = find_hotspots(ws, unit="lsoa", serious_violence=True, harm=harm, store=False)
    ranked = result.hotspots[result.hotspots[C.HARM] > 0]
    if len(ranked) < count:
        raise InputError(
            f"the workspace has only {len(ranked)} LSOAs with serious-violence harm; received n={count}. "
            f"Pass --areas {len(ranked)} or fewer, or ingest more months."
        )
    top = ranked.head(count).rename(columns={C.UNIT_ID: AREA_ID})
    log.info(
        "areas: top %d LSOAs by serious-violence harm (%s, %s), %.1f%% of that harm",
        count, result.meta.get("harm_table"), result.meta.get("months"),
        100 * float(top[C.SHARE_OF_HARM].sum()),
    )
    return check_areas(top)


def read_areas(path: str | Path, n: int | None = None) -> gpd.GeoDataFrame:
    """Read candidate areas written by the hotspot step.

    Parameters
    ----------
    path : str or Path
        ``.parquet`` (GeoParquet), ``.gpkg``, ``.geojson`` or ``.csv`` with an ``area_id`` (or
        ``unit_id``) column; ``harm`` and ``crimes`` are used when present (else 1 and 0).
    n : int, optional
        Keep the first ``n`` rows after sorting by harm (descending).

    Examples
    --------
    >>> areas = read_areas("candidates.parquet", n=21)  # doctest: +SKIP
    """
    source = Path(path)
    if not source.is_file():
        raise InputError(
            f"areas file not found; received {str(path)!r}. Write one with "
            "`gripkit hotspots --unit lsoa --out areas.parquet`."
        )
    suffix = source.suffix.lower()
    frame: pd.DataFrame
    if suffix == ".parquet":
        frame = gpd.read_parquet(source)
    elif suffix in (".gpkg", ".geojson", ".json", ".shp"):
        frame = gpd.read_file(source)
    elif suffix == ".csv":
        frame = pd.read_csv(source, dtype={AREA_ID: str, C.UNIT_ID: str})
    else:
        raise InputError(
            f"areas file must be .parquet, .gpkg, .geojson or .csv; received {source.name}. "
            "Write the hotspot layer in one of those formats."
        )
    if AREA_ID not in frame.columns and C.UNIT_ID in frame.columns:
        frame = frame.rename(columns={C.UNIT_ID: AREA_ID})
    areas = check_areas(frame, what=source.name)
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None and not frame.crs.is_projected:
        areas = areas.to_crs(C.BNG)
    if n is not None:
        count = _count("n", n)
        if count > len(areas):
            raise InputError(
                f"{source.name} holds {len(areas)} areas; received n={count}. Pass n <= {len(areas)}."
            )
        areas = areas.head(count).reset_index(drop=True)
    return areas


def check_areas(frame: Any, what: str = "areas") -> gpd.GeoDataFrame:
    """Validate a candidate-area frame and return a new one with :data:`AREA_COLUMNS`.

    Sorted by harm (descending), then ``area_id``. Polygons in a geographic CRS (degrees) are
    reprojected to EPSG:27700; other CRSs must measure in metres. Without polygons the geometry is
    empty and ``area_m2`` NaN (travel times and visits then need to be given another way).

    Examples
    --------
    >>> import pandas as pd
    >>> check_areas(pd.DataFrame({"area_id": ["b", "a"], "harm": [1.0, 5.0]}))["area_id"].tolist()
    ['a', 'b']
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"'{what}' must be a DataFrame of candidate areas; received {type(frame).__name__}. "
            "Use gripkit.patrol.default_areas(ws) or read_areas(path)."
        )
    if AREA_ID not in frame.columns:
        raise InputError(
            f"{what} lacks an 'area_id' (or 'unit_id') column; received columns "
            f"{', '.join(map(str, frame.columns))}. Rename the id column to area_id."
        )
    if len(frame) == 0:
        raise InputError(f"{what} has no rows; received an empty frame. Pass at least one candidate area.")
    ids = frame[AREA_ID].astype(object).map(lambda v: None if pd.isna(v) else str(v).strip() or None)
    dup = ids[ids.duplicated()].dropna().unique()
    if ids.isna().any() or len(dup):
        raise InputError(
            f"{what} 'area_id' must be unique and non-blank; received {int(ids.isna().sum())} blank and "
            f"{len(dup)} duplicated id(s) (e.g. {', '.join(map(str, dup[:3]))}). Dissolve or rename them."
        )
    has_harm = C.HARM in frame.columns
    harm = pd.to_numeric(frame[C.HARM], errors="coerce") if has_harm else pd.Series(1.0, frame.index)
    if harm.isna().any() or (harm < 0).any():
        raise InputError(
            f"{what} 'harm' must be numbers >= 0; received {int(harm.isna().sum())} missing and "
            f"{int((harm < 0).sum())} negative value(s). Recount the hotspots with a harm table."
        )
    crimes = frame[C.CRIMES] if C.CRIMES in frame.columns else pd.Series(0, index=frame.index)
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        crs = frame.crs
        geometry = frame.geometry.to_numpy()
        if crs is not None and _is_geographic(crs):
            frame = frame.to_crs(C.BNG)
            crs, geometry = frame.crs, frame.geometry.to_numpy()
        elif crs is not None:
            metre_crs(f"{what} CRS", crs)
    else:
        crs, geometry = C.BNG, np.array([shapely.Polygon()] * len(frame), dtype=object)
    out = gpd.GeoDataFrame(
        {
            AREA_ID: pd.array(ids.to_numpy(dtype=object), dtype=UNIT_ID_DTYPE),
            C.CRIMES: pd.to_numeric(crimes, errors="coerce").fillna(0).to_numpy(dtype=np.int64),
            C.HARM: harm.to_numpy(dtype=float),
        },
        geometry=gpd.GeoSeries(geometry, crs=crs),
        crs=crs,
    )
    empty = out.geometry.isna() | out.geometry.is_empty
    out[C.AREA_M2] = np.where(empty, np.nan, out.geometry.area)
    out = out.sort_values([C.HARM, AREA_ID], ascending=[False, True], kind="mergesort")
    return gpd.GeoDataFrame(out[list(AREA_COLUMNS)].reset_index(drop=True), geometry=C.GEOMETRY, crs=crs)


def _is_geographic(crs: Any) -> bool:
    """True when ``crs`` is a geographic (degrees) CRS."""
    import pyproj

    return bool(pyproj.CRS.from_user_input(crs).is_geographic)


def _count(name: str, value: Any) -> int:
    """``value`` as an int >= 1, else InputError."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"'{name}' must be a whole number >= 1; received {value!r}. Pass e.g. 21.")
    return int(value)
