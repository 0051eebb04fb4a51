"""Candidate patrol areas: the places a plan chooses from.

An *area frame* is a GeoDataFrame in EPSG:27700 (or another metre CRS) with the columns
``area_id`` (string), ``harm`` (float, harm in the period the hotspots were counted over),
``crimes`` (int), ``area_m2`` (float) and ``geometry`` (polygons; may be empty when unknown).

Two sources feed it:

* :func:`default_areas` — the top ``n`` LSOAs by serious-violence harm in a workspace, as
  Operation Rowan chose its 21 areas (Bland et al. 2021);
* :func:`read_areas` — a file written by the hotspot step (``gripkit hotspots --out`` or
  ``hotspots.select.candidate_areas``): GeoParquet, GeoPackage, GeoJSON or CSV with an
  ``area_id`` or ``unit_id`` column and, ideally, ``harm``;
* :func:`select_areas` — the same from a frame in memory.

One spelling for unit ids from hotspots to patrol: an area made from a hotspot unit has the unit's
``unit_id`` string as its ``area_id``, unchanged (e.g. ``g10_20`` for a grid cell, ``E01017540``
for an LSOA), and the plan, schedule, exports and GPS visits carry that same string.
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

AREA_COLUMNS: tuple[str, ...] = (C.AREA_ID, C.CRIMES, C.HARM, C.AREA_M2, C.GEOMETRY)


def default_areas(
    ws: Workspace, n: int = 21, *, harm: str = C.DEFAULT_HARM_TABLE, force: str | None = None
) -> gpd.GeoDataFrame:
    """The ``n`` LSOAs with the most serious-violence harm in the workspace.

    Uses :func:`gripkit.hotspots.find.find_hotspots` with ``unit="lsoa"`` and
    ``serious_violence=True`` (bundled LSOA polygons are used for Bedfordshire). Each area's
    ``area_id`` is the LSOA unit's ``unit_id`` (its code), unchanged.

    Parameters
    ----------
    ws : Workspace
        Workspace with ingested crimes.
    n : int, default 21
        Number of areas (Operation Rowan used 21).
    harm : str, default "cchi"
        Harm table name or CSV path.
    force : str, optional
        Only this force's crimes.

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
    return workspace_areas(ws, n, harm=harm, force=force)[0]


def workspace_areas(
    ws: Workspace,
    n: int = 21,
    *,
    harm: str = C.DEFAULT_HARM_TABLE,
    force: str | None = None,
    months: tuple[Any, Any] | None = None,
    allow_gaps: bool = False,
    sources: tuple[str, ...] | None = None,
    boundaries: str | Path | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`default_areas` and their provenance (harm table and SHA-256, months, share of harm).

    ``months`` (first, last) is the window the areas are chosen over (default: every month held,
    announced). Every force read must hold every month of it (:func:`gripkit.coverage.check_window`):
    a missing month would count as no crime and push that place down the ranking, so the plan
    refuses, naming the force, its months and the window, unless ``allow_gaps`` (then the gaps go
    into the provenance's ``data_coverage``). ``sources``: the record sources counted (None: all
    combined, e.g. police and hospital ED records together).
    """
    from gripkit.coverage import check_window
    from gripkit.hotspots.find import find_hotspots  # deferred: hotspots import is heavy

    count = _count("n", n)
    first, last = _window(ws, months, force)
    coverage = check_window(
        ws, first, last, forces=[force] if force else None, allow_gaps=allow_gaps, what="plan area choice"
    )
    if months is None:
        log.info(
            "areas chosen over every month held: %s (pass months=/--months FROM..TO or --last N "
            "for another window)",
            coverage.window,
        )
    if coverage.flagged:
        log.warning(coverage.note())
    result = find_hotspots(
        ws, unit="lsoa", serious_violence=True, harm=harm, force=force, months=(first, last), sources=sources,
        store=False,
        boundaries=boundaries,
    )
    ranked = result.hotspots[result.hotspots[C.HARM] > 0]
    if len(ranked) < count:
        raise InputError(
            f"the workspace has only {len(ranked)} LSOAs with serious-violence harm; received n={count}. "
            f"Ask for {len(ranked)} or fewer areas, or ingest more months."
        )
    top = ranked.head(count).rename(columns={C.UNIT_ID: C.AREA_ID})
    share = float(top[C.SHARE_OF_HARM].sum())
    meta = {key: result.meta.get(key) for key in ("harm_table", "harm_sha256", "months")}
    log.info(
        "areas: top %d LSOAs by serious-violence harm (%s, %s), %.1f%% of that harm",
        count,
        meta["harm_table"],
        meta["months"],
        100 * share,
    )
    provenance = {
        "source": "workspace",
        "unit": "lsoa",
        "serious_violence": True,
        "force": force,
        "sources": list(sources) if sources else None,
        "share_of_harm": share,
        **meta,
        "area_window": coverage.window,
        "area_window_default": months is None,
        "data_coverage": coverage.to_dict(),
    }
    return check_areas(top), provenance


def _window(ws: Workspace, months: tuple[Any, Any] | None, force: str | None) -> tuple[str, str]:
    """The (first, last) ``YYYY-MM`` window asked, open ends filled from the months held."""
    sql = "SELECT min(month), max(month) FROM crimes" + (" WHERE force = ?" if force else "")
    row = ws.con.execute(sql, [force] if force else []).fetchone()
    if not row or row[0] is None:
        raise InputError(
            f"no crimes in workspace {ws.path}"
            + (f" for force {force!r}" if force else "")
            + "; ingest data with `gripkit ingest PATH` first."
        )
    asked = months or (None, None)
    first, last = (
        f"{pd.Timestamp(given if given is not None else seen):%Y-%m}"
        for given, seen in zip(asked, row, strict=True)
    )
    return first, last


def read_areas(path: str | Path, n: int | None = None, *, weights: str | None = C.HARM) -> gpd.GeoDataFrame:
    """Read candidate areas written by the hotspot step.

    Parameters
    ----------
    path : str or Path
        ``.parquet`` (GeoParquet), ``.gpkg``, ``.geojson`` or ``.csv`` with an ``area_id`` (or
        ``unit_id``) column; ``harm`` and ``crimes`` are used when present (else 1 and 0). A
        hotspot layer's ``unit_id`` becomes the ``area_id``, unchanged (grid ids, LSOA codes).
        Polygons in degrees (GeoJSON is WGS84 by its specification) are reprojected to EPSG:27700.
    n : int, optional
        Keep the first ``n`` rows after sorting by ``weights`` (descending).
    weights : str or None, default "harm"
        Column that ranks the areas (see :func:`check_areas`).

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
        frame = pd.read_csv(source, dtype={C.AREA_ID: str, C.UNIT_ID: str})
    else:
        raise InputError(
            f"areas file must be .parquet, .gpkg, .geojson or .csv; received {source.name}. "
            "Write the hotspot layer in one of those formats."
        )
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None and frame.crs.is_geographic:
        log.info("%s: polygons in %s (degrees) reprojected to %s", source.name, frame.crs.to_string(), C.BNG)
        frame = frame.to_crs(C.BNG)
    return select_areas(frame, n, what=source.name, weights=weights)


def select_areas(
    frame: Any, n: int | None = None, *, what: str = "areas", weights: str | None = C.HARM
) -> gpd.GeoDataFrame:
    """:func:`check_areas`, then the first ``n`` areas by ``weights`` (all when ``n`` is None).

    A hotspot layer's ``unit_id`` column is taken as ``area_id`` when there is no ``area_id``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"unit_id": ["g1_2", "g3_4", "g5_6"], "harm": [1.0, 9.0, 5.0]})
    >>> select_areas(frame, 2)["area_id"].tolist()
    ['g3_4', 'g5_6']
    """
    if isinstance(frame, pd.DataFrame) and C.AREA_ID not in frame.columns and C.UNIT_ID in frame.columns:
        frame = frame.rename(columns={C.UNIT_ID: C.AREA_ID})
    areas = check_areas(frame, what=what, weights=weights)
    if n is not None:
        count = _count("n", n)
        if count > len(areas):
            raise InputError(
                f"{what} holds {len(areas)} areas; received a request for {count}. Ask for at most "
                f"{len(areas)} areas."
            )
        areas = areas.head(count).reset_index(drop=True)
    return areas


def check_areas(frame: Any, what: str = "areas", *, weights: str | None = C.HARM) -> gpd.GeoDataFrame:
    """Validate a candidate-area frame and return a new one with :data:`AREA_COLUMNS` (and ``label``
    when the frame has one).

    ``area_id`` values are kept as given (as strings). Sorted by ``weights`` (descending), then
    ``area_id``. Polygons must be in a CRS measuring metres (a CRS in degrees is an error: reproject
    first). Without polygons the geometry is empty and ``area_m2`` NaN (travel times and visits
    then need to be given another way).

    Parameters
    ----------
    frame : DataFrame
        ``area_id`` and, optionally, ``harm``, ``crimes`` and polygons.
    what : str
        How messages name the frame.
    weights : str or None, default "harm"
        The column that weighs the areas (ranks them here; :func:`~gripkit.patrol.choose.choose_areas`
        covers it). ``"harm"`` is 1 for every area when the frame has no harm column; another
        column must exist and is kept in the result; None weighs every area equally.

    Examples
    --------
    >>> import pandas as pd
    >>> check_areas(pd.DataFrame({"area_id": ["b", "a"], "harm": [1.0, 5.0]}))["area_id"].tolist()
    ['a', 'b']
    >>> check_areas(pd.DataFrame({"area_id": ["b", "a"], "harm": [1.0, 5.0], "crimes": [4, 2]}),
    ...             weights="crimes")["area_id"].tolist()
    ['b', 'a']
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"'{what}' must be a DataFrame of candidate areas; received {type(frame).__name__}. "
            "Use gripkit.patrol.default_areas(ws) or read_areas(path)."
        )
    if C.AREA_ID not in frame.columns:
        raise InputError(
            f"{what} lacks an 'area_id' (or 'unit_id') column; received columns "
            f"{', '.join(map(str, frame.columns))}. Rename the id column to area_id."
        )
    if len(frame) == 0:
        raise InputError(f"{what} has no rows; received an empty frame. Pass at least one candidate area.")
    ids = frame[C.AREA_ID].astype(object).map(lambda v: None if pd.isna(v) else str(v).strip() or None)
    dup = ids[ids.duplicated()].dropna().unique()
    if ids.isna().any() or len(dup):
        raise InputError(
            f"{what} 'area_id' must be unique and non-blank; received {int(ids.isna().sum())} blank and "
            f"{len(dup)} duplicated id(s) (e.g. {', '.join(map(str, dup[:3]))}). Dissolve or rename them."
        )
    harm = _non_negative(frame, C.HARM, what, "Recount the hotspots with a harm table.")
    crimes = frame[C.CRIMES] if C.CRIMES in frame.columns else pd.Series(0, index=frame.index)
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        crs = frame.crs
        geometry = frame.geometry.to_numpy()
        if crs is not None:
            metre_crs(f"{what} CRS", crs)
    else:
        crs, geometry = C.BNG, np.array([shapely.Polygon()] * len(frame), dtype=object)
    out = gpd.GeoDataFrame(
        {
            C.AREA_ID: pd.array(ids.to_numpy(dtype=object), dtype=UNIT_ID_DTYPE),
            C.CRIMES: pd.to_numeric(crimes, errors="coerce").fillna(0).to_numpy(dtype=np.int64),
            C.HARM: harm.to_numpy(dtype=float),
        },
        geometry=gpd.GeoSeries(geometry, crs=crs),
        crs=crs,
    )
    empty = out.geometry.isna() | out.geometry.is_empty
    out[C.AREA_M2] = np.where(empty, np.nan, out.geometry.area)
    columns = list(AREA_COLUMNS)
    if C.LABEL in frame.columns:  # a hotspot layer's unit names (gripkit.hotspots.labels), kept for briefings
        labels = frame[C.LABEL].astype(object).to_numpy()
        out[C.LABEL] = pd.array([v if isinstance(v, str) and v else None for v in labels], dtype="string")
        columns.insert(1, C.LABEL)
    if weights is not None and weights not in columns:
        if weights not in frame.columns:
            raise InputError(
                f"'weights' must name a column of {what}; received {weights!r}, columns are "
                f"{', '.join(map(str, frame.columns))}. Pass weights='harm', a column name, or None."
            )
        out[weights] = _non_negative(frame, weights, what, "Pass a column of weights >= 0.").to_numpy()
        columns.append(weights)
    rank = out[weights] if weights is not None else pd.Series(1.0, index=out.index)
    out = out.assign(_rank=rank.to_numpy(dtype=float))
    out = out.sort_values(["_rank", C.AREA_ID], ascending=[False, True], kind="mergesort")
    return gpd.GeoDataFrame(out[columns].reset_index(drop=True), geometry=C.GEOMETRY, crs=crs)


def area_weights(areas: pd.DataFrame, weights: str | None) -> np.ndarray:
    """The weight of each area of a :func:`check_areas` frame (1 each when ``weights`` is None)."""
    if weights is None:
        return np.ones(len(areas))
    return areas[weights].to_numpy(dtype=float)


def _non_negative(frame: pd.DataFrame, column: str, what: str, fix: str) -> pd.Series:
    """``frame[column]`` as floats >= 0 (1 for every row when ``column`` is missing), else InputError."""
    if column not in frame.columns:
        return pd.Series(1.0, index=frame.index)
    values = pd.to_numeric(frame[column], errors="coerce")
    if values.isna().any() or (values < 0).any():
        raise InputError(
            f"{what} '{column}' must be numbers >= 0; received {int(values.isna().sum())} missing and "
            f"{int((values < 0).sum())} negative value(s). {fix}"
        )
    return values.astype(float)


def _count(name: str, value: Any) -> int:
    """``value`` as an int >= 1, else InputError."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"'{name}' must be a whole number >= 1; received {value!r}. Pass e.g. 21.")
    return int(value)
