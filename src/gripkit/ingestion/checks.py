"""Vectorised row checks (Arrow compute + NumPy) shared by the police.uk and generic readers.

Each check gives a quarantine reason to rows that fail it; a row keeps the first reason it gets,
in the order of :data:`REASONS`. Rows with no reason are loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from gripkit import columns as C
from gripkit.datasets import force_area, force_areas

#: Quarantine reasons, in the order rows are checked.
REASONS: dict[str, str] = {
    "malformed_line": "the line does not have the header's number of fields",
    "wrong_encoding": "the line is not valid text in the file's encoding",
    "bad_month": "the month is missing, not a month (expected YYYY-MM), or impossible (before 1990-01 "
    "or after next month)",
    "bad_date": "the date-time is missing or could not be parsed",
    "unknown_crime_type": "the crime type is not a police.uk category and has no mapping",
    "no_coordinates": "the row has no coordinates",
    "bad_coordinates": "the coordinates are not numbers",
    "outside_england_wales": "the coordinates lie outside England and Wales",
    "outside_force": "the coordinates lie outside the force area that recorded the crime",
    "duplicate_crime_id": "the Crime ID appeared earlier in the same file",
}

#: England and Wales bounds, EPSG:27700 metres (generous: Scilly to Berwick, plus a margin).
EW_BOUNDS_BNG = (-10_000.0, -10_000.0, 670_000.0, 670_000.0)
#: Points up to this far outside a force's (generalised) boundary are accepted.
FORCE_TOLERANCE_M = 1_000.0
#: The earliest month a crime row may have (see :func:`month_bounds`).
FIRST_MONTH = date(1990, 1, 1)
_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
_MONTH_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%Y", "%b-%y", "%b %Y", "%B %Y", "%Y/%m")
_CRIME_TYPE_KEYS = {t.casefold(): t for t in C.CRIME_TYPES}


@lru_cache(maxsize=8)
def transformer(crs: str) -> pyproj.Transformer:
    """A cached transformer from ``crs`` to British National Grid (x = easting, y = northing)."""
    return pyproj.Transformer.from_crs(crs, C.BNG, always_xy=True)


@lru_cache(maxsize=64)
def _buffered_force(name: str) -> BaseGeometry | None:
    area = force_area(name)
    if area is None:
        return None
    grown = area.buffer(FORCE_TOLERANCE_M)
    shapely.prepare(grown)
    return grown


def warm_caches() -> None:
    """Load what every worker's checks need first: the 43 force areas (read and prepared) and the
    WGS84 transformer. Called before forking worker processes, which then inherit them.

    The force areas grown by the tolerance (~8 ms each) are left to the workers, each building
    those of the forces it meets: a monthly update's workers share the 43 between them.
    """
    transformer(C.WGS84)
    for name in force_areas()["police_force"]:
        force_area(str(name))


def _np(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def stripped(values: pa.Array) -> pa.Array:
    """Trim white space; blank strings become null."""
    s = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)


def blank(values: pa.Array) -> np.ndarray:
    """True where a string cell is missing or only white space."""
    return _np(pc.is_null(stripped(values)))


def to_float(values: pa.Array) -> np.ndarray:
    """Parse numbers; NaN where a cell is blank or not a number."""
    s = stripped(values)
    try:
        numbers = pc.cast(s, pa.float64())
    except pa.ArrowInvalid:  # some cell is not a number: null those, then cast
        numbers = pc.cast(pc.if_else(pc.match_substring_regex(s, _NUMBER), s, None), pa.float64())
    return np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=float)


def month_bounds(today: date | None = None) -> tuple[date, date]:
    """The first and last possible month of a crime: :data:`FIRST_MONTH` and next month (UTC).

    police.uk's series starts in December 2010 and forces' own records rarely reach back before
    the 1990s; a month after next month has not happened yet (next month is allowed for a file
    stamped in another time zone near a month's end).

    Examples
    --------
    >>> month_bounds(date(2024, 12, 31))
    (datetime.date(1990, 1, 1), datetime.date(2025, 1, 1))
    """
    today = today or datetime.now(UTC).date()
    last = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return FIRST_MONTH, last


def _plausible(months: pa.Array) -> pa.Array:
    """``months`` (date32) with those outside :func:`month_bounds` set to null."""
    first, last = month_bounds()
    inside = pc.and_(pc.greater_equal(months, pa.scalar(first, pa.date32())),
                     pc.less_equal(months, pa.scalar(last, pa.date32())))
    return pc.if_else(inside, months, pa.scalar(None, pa.date32()))


def parse_months(values: pa.Array) -> pa.Array:
    """Months as date32 (first of the month), police.uk ``YYYY-MM`` or Excel-mangled; null if none fits.

    A month outside :func:`month_bounds` (such as ``0000-01`` or ``2999-01``) is null too: the row
    is quarantined as ``bad_month``.
    """
    s = stripped(values)
    out = _plausible(pc.cast(pc.strptime(s, format="%Y-%m", unit="s", error_is_null=True), pa.date32()))
    todo = _np(pc.and_(pc.is_null(out), pc.is_valid(s)))
    if not todo.any():
        return out
    text = pd.Series(np.asarray(s.to_numpy(zero_copy_only=False), dtype=object)[todo], dtype="string")
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")
    for fmt in _MONTH_FORMATS:
        missing = parsed.isna()
        if not missing.any():
            break
        parsed = parsed.fillna(pd.to_datetime(text.where(missing), format=fmt, errors="coerce"))
    firsts = parsed.dt.to_period("M").dt.to_timestamp().dt.date
    merged = np.asarray(out.to_pylist(), dtype=object)
    merged[todo] = [None if pd.isna(v) else v for v in firsts]
    return _plausible(pa.array(merged, pa.date32()))


def months_of(timestamps: pa.Array) -> pa.Array:
    """First day of each timestamp's month, as date32 (null outside :func:`month_bounds`)."""
    return _plausible(pc.cast(pc.floor_temporal(timestamps, unit="month"), pa.date32()))


def canonical_crime_types(values: pa.Array, mapping: Mapping[str, str] | None = None) -> pa.Array:
    """Map raw crime types onto police.uk categories (case- and space-insensitive); null if unknown."""
    s = stripped(values)
    lookup = dict(_CRIME_TYPE_KEYS)
    for source, target in (mapping or {}).items():
        lookup[" ".join(str(source).casefold().split())] = target
    exact = _np(pc.is_in(s, value_set=pa.array(C.CRIME_TYPES))) if not mapping else np.zeros(len(s), bool)
    if exact.all():
        return s
    out = np.asarray(s.to_numpy(zero_copy_only=False), dtype=object)
    for i in np.flatnonzero(~exact):
        raw = out[i]
        out[i] = None if raw is None else lookup.get(" ".join(str(raw).casefold().split()))
    return pa.array(out, pa.string())


class RowChecker:
    """Accumulates the first failing reason per row."""

    def __init__(self, n: int) -> None:
        self.reason = np.full(n, None, dtype=object)
        self.detail = np.full(n, None, dtype=object)
        self._ok = np.ones(n, dtype=bool)

    @property
    def ok(self) -> np.ndarray:
        """Rows with no reason so far (a copy)."""
        return self._ok.copy()

    def fail(self, mask: np.ndarray, reason: str, detail: np.ndarray | str | None = None) -> None:
        """Give ``reason`` to rows in ``mask`` that have none yet."""
        hit = np.asarray(mask, dtype=bool) & self._ok
        self._ok &= ~hit
        self.reason[hit] = reason
        if detail is not None:
            self.detail[hit] = detail[hit] if isinstance(detail, np.ndarray) else detail


def check_coordinates(
    checker: RowChecker, first: pa.Array, second: pa.Array, *, crs: str, force: pa.Array | None
) -> dict[str, np.ndarray]:
    """Check and project coordinates; return ``lon, lat, x, y`` arrays (NaN where a row failed).

    ``first``/``second`` are longitude/latitude when ``crs`` is EPSG:4326, else easting/northing
    (x first) in ``crs``.
    """
    checker.fail(blank(first) | blank(second), "no_coordinates")
    a, b = to_float(first), to_float(second)
    checker.fail(~(np.isfinite(a) & np.isfinite(b)), "bad_coordinates")
    with np.errstate(invalid="ignore"):
        if crs == C.WGS84:
            lon, lat = a, b
            x, y = _project_distinct(transformer(crs), lon, lat)
        else:
            x, y = (a, b) if crs == C.BNG else _project_distinct(transformer(crs), a, b)
            lon, lat = _project_distinct(transformer(C.WGS84), x, y, inverse=True)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    x0, y0, x1, y1 = EW_BOUNDS_BNG
    checker.fail(~((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)), "outside_england_wales")
    if force is not None:
        _check_force(checker, force, x, y)
    bad = ~checker.ok
    out = {C.LON: lon, C.LAT: lat, C.X: x, C.Y: y}
    return {k: np.where(bad, np.nan, np.asarray(v, dtype=float)) for k, v in out.items()}


def _project_distinct(
    projection: pyproj.Transformer, first: np.ndarray, second: np.ndarray, *, inverse: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Transform each distinct coordinate pair once (police.uk snaps crimes to shared points)."""
    codes, distinct = pd.factorize(first + 1j * second)
    if len(distinct) == 0:
        return np.full(len(first), np.nan), np.full(len(first), np.nan)
    direction = "INVERSE" if inverse else "FORWARD"
    u, v = projection.transform(distinct.real, distinct.imag, direction=direction)
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    missing = codes < 0  # NaN pairs (factorize gives them no code)
    return np.where(missing, np.nan, u[codes]), np.where(missing, np.nan, v[codes])


def _check_force(checker: RowChecker, force: pa.Array, x: np.ndarray, y: np.ndarray) -> None:
    names = np.asarray(pc.fill_null(force, "").to_numpy(zero_copy_only=False), dtype=object)
    for name in pd.unique(names):
        area = _buffered_force(str(name)) if name else None
        if area is None:
            continue
        rows = (names == name) & checker.ok
        if not rows.any():
            continue
        outside = rows.copy()
        outside[rows] = ~shapely.contains_xy(area, x[rows], y[rows])
        checker.fail(outside, "outside_force", f"more than {FORCE_TOLERANCE_M:.0f} m outside {name}")


def check_duplicates(checker: RowChecker, crime_id: pa.Array, group: np.ndarray) -> None:
    """Quarantine repeats of a non-blank Crime ID within a file (``group``) among rows still valid."""
    ids = stripped(crime_id)
    candidates = np.flatnonzero(checker.ok & ~_np(pc.is_null(ids)))
    keys = pa.table({"file": group[candidates], "id": ids.take(pa.array(candidates)), "row": candidates})
    firsts = keys.group_by(["file", "id"], use_threads=False).aggregate([("row", "min")])
    dup = np.zeros(len(ids), dtype=bool)
    dup[candidates] = True
    dup[firsts.column("row_min").to_numpy()] = False
    checker.fail(dup, "duplicate_crime_id")
