"""Lower-layer Super Output Areas (LSOAs), keyed by the code police.uk publishes with each crime.

police.uk gives every crime an ``LSOA code`` (canonical column ``lsoa_code``), so assignment is a
lookup, not a point-in-polygon test. The series switched from 2011 to 2021 codes part-way through;
codes the boundary file does not know (e.g. 2021 codes against 2011 boundaries) are placed in the
polygon containing the crime's coordinates when there are polygons, else assigned ``<NA>``; both
are counted in :meth:`LsoaUnits.describe` under ``last_assignment``.

Without boundaries the units are the codes themselves: geometry is empty and ``area_m2`` is NaN,
so maps and concentration *by area* (share of harm in the top k% of area, PAI) need boundaries;
concentration by number of units works either way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from scipy import sparse

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.units.base import UNIT_ID_DTYPE, Units, check_crimes, metre_crs, unit_frame

logger = logging.getLogger("gripkit")

#: How many unmatched codes :meth:`LsoaUnits.describe` lists as examples.
UNMATCHED_EXAMPLES = 10


class LsoaUnits(Units):
    """LSOAs as units: crimes are assigned by their published ``lsoa_code``.

        Parameters
        ----------
        boundaries : geopandas.GeoDataFrame, optional
            LSOA polygons in a projected metre CRS (e.g. from :func:`read_lsoa_boundaries`), one row
            per code. The units are exactly these polygons; ``area_m2`` is computed from geometry.
        code_column : str, default "lsoa11cd"
            Column of ``boundaries`` holding the LSOA code.
        codes : iterable of str, optional
            Without boundaries: the unit codes (geometry empty, area NaN). If neither ``boundaries``
            nor ``codes`` is given the unit set is *open*: every non-blank code a crime carries is a
            unit (``closed`` is False), see :meth:`from_crimes` for a closed equivalent.

        Attributes
        ----------
        names : numpy.ndarray or None
            The LSOA name of each unit (frame order) when the boundaries carry one: the column named
            like ``code_column`` with ``nm`` for ``cd`` (``lsoa11nm``, ``lsoa21nm``), else ``name``;
            None without boundaries (names then come from the crimes, see
            :mod:`gripkit.hotspots.labels`).
        last_assignment : dict or None
            Counts from the latest :meth:`assign` call: ``crimes``, ``matched``, ``unmatched`` (code
            not among the units), ``no_code`` (blank code) and example ``unmatched_codes``.

        Examples
        --------
        >>> import pandas as pd
        >>> crimes = pd.DataFrame({"lsoa_code": ["E01000001", "E01000002", None]})
        >>> units = LsoaUnits(codes=["E01000001"])
        >>> units.assign(crimes).tolist()
        ['E01000001', <NA>, <NA>]
        >>> units.describe()["last_assignment"]["unmatched"]
        1
    """

    kind: ClassVar[str] = "lsoa"

    def __init__(
        self,
        boundaries: gpd.GeoDataFrame | None = None,
        code_column: str = "lsoa11cd",
        *,
        codes: Iterable[str] | None = None,
    ) -> None:
        self.code_column = code_column
        self.last_assignment: dict[str, Any] | None = None
        if boundaries is not None and codes is not None:
            raise InputError(
                "pass either 'boundaries' or 'codes', not both; received both. The boundaries "
                "already define the units."
            )
        if boundaries is not None:
            self._frame = _boundary_frame(boundaries, code_column)
            self.has_boundaries = True
            self.names: np.ndarray | None = _boundary_names(boundaries, code_column)
        else:
            given = [] if codes is None else list(codes)
            ids = sorted(set(_clean_codes(pd.Series(given, dtype=object)).dropna()))
            self._frame = unit_frame(ids, np.full(len(ids), np.nan), [None] * len(ids), col.BNG)
            self.has_boundaries = False
            self.names = None
            self.closed = codes is not None
        self._known = pd.Index(self._frame[col.UNIT_ID].astype(object))

    @classmethod
    def from_crimes(
        cls,
        crimes: pd.DataFrame,
        boundaries: gpd.GeoDataFrame | None = None,
        code_column: str = "lsoa11cd",
    ) -> LsoaUnits:
        """Units from boundaries if given, else from the distinct codes the crimes carry.

        Examples
        --------
        >>> import pandas as pd
        >>> crimes = pd.DataFrame({"lsoa_code": ["E01000002", "E01000001", "E01000002"]})
        >>> LsoaUnits.from_crimes(crimes).frame["unit_id"].tolist()
        ['E01000001', 'E01000002']
        """
        if boundaries is not None:
            return cls(boundaries, code_column)
        frame = check_crimes(crimes, (col.LSOA_CODE,))
        labels, distinct = _code_labels(frame[col.LSOA_CODE])
        used = distinct[np.unique(labels)]
        return cls(codes=used[pd.notna(used)].tolist())

    @property
    def frame(self) -> gpd.GeoDataFrame:
        """Every LSOA: ``unit_id`` (the code), ``area_m2`` (NaN without boundaries), ``geometry``."""
        return self._frame.copy()

    def assign(self, crimes: pd.DataFrame) -> pd.Series:
        """Return each crime's LSOA code if it is one of the units, else ``<NA>``.

        Also records match counts in :attr:`last_assignment` and logs unmatched codes.

        Parameters
        ----------
        crimes : pandas.DataFrame
            Crimes with an ``lsoa_code`` column (blank or missing codes give ``<NA>``).

        Returns
        -------
        pandas.Series
            String dtype, aligned to ``crimes.index``.
        """
        frame = check_crimes(crimes, (col.LSOA_CODE,))
        labels, distinct = _code_labels(frame[col.LSOA_CODE])  # one test per distinct code
        distinct_has = pd.notna(distinct)
        distinct_matched = distinct_has & (
            pd.Series(distinct, dtype=object).isin(self._known).to_numpy() if self.closed else True
        )
        has_code, matched = distinct_has[labels], distinct_matched[labels]
        unmatched = pd.Series(distinct[labels[has_code & ~matched]], dtype=object)
        located = (
            self._locate(frame, pd.Series(~matched, index=frame.index))
            if self.has_boundaries
            else pd.Series(dtype=object)
        )
        self.last_assignment = {
            "crimes": len(frame),
            "matched": int(matched.sum()),
            "unmatched": len(unmatched),
            "no_code": int((~has_code).sum()),
            "located": len(located),
            "unmatched_codes": [str(c) for c in unmatched.value_counts().index[:UNMATCHED_EXAMPLES]],
        }
        if len(unmatched):
            logger.info(
                "%d of %d crimes carry LSOA codes not among the %d units (%d distinct, e.g. %s): %d of "
                "them placed in the unit whose polygon contains their coordinates (e.g. 2021 codes in "
                "2011 boundaries), the rest are unassigned.",
                len(unmatched),
                len(frame),
                len(self._known),
                unmatched.nunique(),
                ", ".join(self.last_assignment["unmatched_codes"][:3]),
                len(located),
            )
        distinct_ids = distinct.copy()
        distinct_ids[~distinct_matched] = None
        ids = pd.Series(
            pd.array(distinct_ids, dtype=UNIT_ID_DTYPE).take(labels), index=frame.index, name=col.UNIT_ID
        )
        if len(located):
            ids.loc[located.index] = located.to_numpy(dtype=object)
        return ids

    def _locate(self, frame: pd.DataFrame, todo: pd.Series) -> pd.Series:
        """Unit ids, by point in polygon, of rows in ``todo`` that have x/y coordinates."""
        if col.X not in frame.columns or col.Y not in frame.columns or not todo.any():
            return pd.Series(dtype=object)
        rows = frame.loc[todo, [col.X, col.Y]].dropna()
        if rows.empty:
            return pd.Series(dtype=object)
        points = shapely.points(rows[col.X].to_numpy(dtype=float), rows[col.Y].to_numpy(dtype=float))
        polygons = self._frame.geometry.to_numpy()
        point_idx, polygon_idx = shapely.STRtree(polygons).query(points, predicate="intersects")
        first = pd.Series(polygon_idx, index=point_idx).groupby(level=0).min()  # a point on a shared edge
        ids = self._frame[col.UNIT_ID].to_numpy(dtype=object)[first.to_numpy()]
        return pd.Series(ids, index=rows.index[first.index.to_numpy()], dtype=object)

    def neighbours(self) -> sparse.csr_matrix:
        """Polygon contiguity (queen: a shared edge or corner), in :attr:`frame` order.

        Two LSOAs are neighbours when their polygons intersect (one vectorised
        ``shapely.STRtree`` query); on a clean tessellation this is exactly "share a boundary
        point", i.e. ``libpysal.weights.Queen``. Slightly overlapping neighbours (slivers from
        generalised boundaries) also count.

        Returns
        -------
        scipy.sparse.csr_matrix
            ``n x n`` binary (1.0) matrix, symmetric, zero diagonal.

        Raises
        ------
        InputError
            If the units have no polygons (built from codes only).

        Examples
        --------
        >>> import geopandas as gpd, shapely
        >>> squares = gpd.GeoDataFrame({"lsoa11cd": ["A", "B", "C"]}, crs="EPSG:27700",
        ...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2), shapely.box(5, 5, 6, 6)])
        >>> LsoaUnits(squares).neighbours().toarray().tolist()  # A and B share a corner
        [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
        """
        if not self.has_boundaries:
            raise InputError(
                f"LSOA neighbours (Gi*, contiguous areas) need polygons; received {len(self._frame)} LSOA "
                "units built from codes only (no bundled LSOA 2011 polygons for the crimes' force). Pass "
                "'boundaries', an LSOA polygon file with lsoa11cd such as lsoa_2011_ew.gpkg."
            )
        polygons = self._frame.geometry.to_numpy()
        left, right = shapely.STRtree(polygons).query(polygons, predicate="intersects")
        other = left != right
        n = len(polygons)
        return sparse.csr_matrix(
            (np.ones(int(other.sum())), (left[other], right[other])), shape=(n, n)
        )

    def describe(self) -> dict[str, Any]:
        """Return the JSON-safe parameters, with match counts of the latest :meth:`assign`."""
        crs = self._frame.crs
        return {
            "kind": self.kind,
            "n_units": len(self._frame),
            "has_boundaries": self.has_boundaries,
            "closed": self.closed,
            "code_column": self.code_column if self.has_boundaries else None,
            "crs": crs.to_string() if (crs is not None and self.has_boundaries) else None,
            "last_assignment": None if self.last_assignment is None else dict(self.last_assignment),
        }


def read_lsoa_boundaries(
    path: str | Path, force: str | None = None, layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read LSOA polygons, optionally only those of one police force.

    Parameters
    ----------
    path : str or Path
        A vector file readable by pyogrio, e.g. ``lsoa_2011_ew.gpkg``.
    force : str, optional
        Keep rows whose ``police_force`` equals this name (case-insensitive), e.g.
        ``"Bedfordshire"``.
    layer : str, optional
        Layer to read; defaults to the file's only (or first) layer.

    Returns
    -------
    geopandas.GeoDataFrame
        The file's columns with a ``geometry`` column, in the file's (projected) CRS.

    Raises
    ------
    InputError
        If the file is missing, its CRS is not projected in metres, or ``force`` is unknown (the
        message lists the available forces).

    Examples
    --------
    >>> lsoas = read_lsoa_boundaries("lsoa_2011_ew.gpkg", force="Bedfordshire")  # doctest: +SKIP
    >>> len(lsoas)  # doctest: +SKIP
    381
    """
    source = Path(path)
    if not source.is_file():
        raise InputError(
            f"LSOA boundary file not found; received {str(path)!r}. Pass the path of a GeoPackage "
            "such as boundaries/lsoa_2011_ew.gpkg."
        )
    layers = [str(name) for name in pyogrio.list_layers(source)[:, 0]]
    if layer is None:
        layer = layers[0]
    elif layer not in layers:
        raise InputError(f"layer {layer!r} is not in {source.name}; available: {', '.join(layers)}.")
    where = None
    if force is not None:
        where = _force_filter(source, layer, force)
    frame = pyogrio.read_dataframe(source, layer=layer, where=where)
    metre_crs("LSOA boundaries CRS", frame.crs)
    return frame


def _force_filter(source: Path, layer: str, force: str) -> str:
    """SQL filter selecting one force, after checking it exists (case-insensitive)."""
    info = pyogrio.read_info(source, layer=layer)
    if "police_force" not in list(info["fields"]):
        raise InputError(
            f"{source.name} layer {layer!r} has no 'police_force' column to filter on; received "
            f"columns {', '.join(info['fields'])}. Pass force=None and filter yourself."
        )
    names = pyogrio.read_dataframe(source, layer=layer, columns=["police_force"], read_geometry=False)
    available = sorted(set(names["police_force"].dropna().astype(str)))
    match = [name for name in available if name.casefold() == str(force).strip().casefold()]
    if not match:
        raise InputError(
            f"unknown police force {force!r} in {source.name}; available forces: {', '.join(available)}."
        )
    escaped = match[0].replace("'", "''")
    return f"police_force = '{escaped}'"


def _clean_codes(codes: pd.Series) -> pd.Series:
    """Codes as stripped strings (object dtype), blank or missing as None.

    Text codes are cleaned once per distinct code (police.uk repeats a few thousand codes over
    many crimes); other values (e.g. numbers, where 1 and 1.0 are one key) one by one.
    """
    labels, distinct = _code_labels(codes)
    return pd.Series(distinct[labels], index=codes.index, dtype=object)


def _code_labels(codes: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, distinct)``: the cleaned code of row ``i`` is ``distinct[labels[i]]``.

    ``distinct`` (object array) holds cleaned codes, blank or missing as None, its last entry for
    missing values.
    """
    uniques: Any
    if isinstance(codes.dtype, pd.CategoricalDtype) and pd.api.types.infer_dtype(
        codes.cat.categories, skipna=True
    ) in ("string", "empty"):
        labels, uniques = codes.cat.codes.to_numpy(), np.asarray(codes.cat.categories, dtype=object)
    else:
        text = codes.astype(object).where(codes.notna(), None)
        if pd.api.types.infer_dtype(text, skipna=True) in ("string", "empty"):
            labels, uniques = pd.factorize(text, use_na_sentinel=True)
        else:
            labels, uniques = np.arange(len(text)), text.to_numpy(dtype=object)
    distinct = pd.Series([*uniques, None], dtype=object).map(_clean_code).astype(object).to_numpy()
    return np.where(labels < 0, len(uniques), labels), distinct


def _clean_code(value: Any) -> str | None:
    return None if value is None else (str(value).strip() or None)


def _boundary_names(boundaries: gpd.GeoDataFrame, code_column: str) -> np.ndarray | None:
    """The boundaries' LSOA names (``lsoa11cd`` -> ``lsoa11nm``, else ``name``), blanks as None."""
    guess = code_column[:-2] + "nm" if code_column.lower().endswith("cd") else None
    column = next((c for c in (guess, "name") if c and c in boundaries.columns), None)
    if column is None:
        return None
    names = boundaries[column].astype(object).to_numpy()
    return np.array([str(v).strip() or None if isinstance(v, str) else None for v in names], dtype=object)


def _boundary_frame(boundaries: Any, code_column: str) -> gpd.GeoDataFrame:
    """Validate LSOA polygons and turn them into a unit frame."""
    if not isinstance(boundaries, gpd.GeoDataFrame):
        raise InputError(
            f"'boundaries' must be a GeoDataFrame of LSOA polygons; received {type(boundaries).__name__}. "
            "Read them with gripkit.units.read_lsoa_boundaries."
        )
    if code_column not in boundaries.columns:
        raise InputError(
            f"'boundaries' lacks the code column {code_column!r}; received columns "
            f"{', '.join(map(str, boundaries.columns))}. Pass code_column= e.g. 'lsoa21cd'."
        )
    crs = metre_crs("boundaries CRS", boundaries.crs) if boundaries.crs is not None else None
    if crs is None:
        raise InputError("'boundaries' has no CRS; received crs=None. Set it, e.g. .set_crs('EPSG:27700').")
    codes = _clean_codes(boundaries[code_column])
    duplicated = codes[codes.duplicated() & codes.notna()]
    if codes.isna().any() or len(duplicated):
        raise InputError(
            f"'boundaries' column {code_column!r} must hold one non-blank code per row; received "
            f"{int(codes.isna().sum())} blank and {len(duplicated)} duplicated codes "
            f"(e.g. {', '.join(map(str, duplicated.unique()[:3]))}). Dissolve by code first."
        )
    geometry = boundaries.geometry
    return unit_frame(codes.to_numpy(), geometry.area.to_numpy(), geometry.to_numpy(), crs)
