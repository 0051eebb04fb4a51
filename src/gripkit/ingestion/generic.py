"""A force's own CSV: map its columns and crime-type vocabulary onto gripkit's canonical columns.

A mapping is a TOML file (``--map mapping.toml``) or ``--col target=Source`` pairs::

    force = "Bedfordshire"          # optional: force area name, checks coordinates lie within it
    crs = "EPSG:27700"              # of x/y; lon/lat are always EPSG:4326
    date_format = "%d/%m/%Y %H:%M"  # optional; otherwise parsed day-first
    source = "police"               # optional: whose records (police, health, a partner's name)
    [columns]
    crime_id = "URN"
    occurred_at = "Date"
    crime_type = "Offence"
    offence_code = "HO code"      # optional: Home Office offence code, weighed per offence by cchi/ons_css
    x = "Easting"
    y = "Northing"
    [crime_types]
    "Assault with injury" = "Violence and sexual offences"
    "Theft of motor vehicle" = "Vehicle crime"

Every row is stored with the mapping's ``source`` (default ``police``; see :func:`check_source`).
Hospital ED records have their own mapping, :class:`gripkit.ingestion.ed.EdMapping`.

An ``offence_code`` column is stored (stripped, upper case) in the crimes table's nullable
``offence_code`` column; :func:`gripkit.harm.apply_harm` then weighs each crime by its offence's
weight rather than its category's (see docs/harm.md).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gripkit import columns as C
from gripkit.datasets import normalise_force
from gripkit.errors import InputError
from gripkit.ingestion.checks import (
    canonical_crime_types,
    months_of,
    parse_months,
    stripped,
)
from gripkit.ingestion.records import CrimeColumns, FileResult, Stack, crime_results
from gripkit.ingestion.table import ParsedTable, normalise_name
from gripkit.validate import projected_crs

TARGETS = (
    C.CRIME_ID,
    C.MONTH,
    C.OCCURRED_AT,
    C.CRIME_TYPE,
    C.FORCE,
    C.LON,
    C.LAT,
    C.X,
    C.Y,
    C.LSOA_CODE,
    C.LSOA_NAME,
    C.LOCATION,
    C.OUTCOME,
    C.OFFENCE_CODE,
)


@dataclass(frozen=True)
class ColumnMapping:
    """How a force's CSV maps onto canonical columns (see the module docstring)."""

    columns: Mapping[str, str]
    crime_types: Mapping[str, str] = field(default_factory=dict)
    crs: str | None = None
    date_format: str | None = None
    force: str | None = None
    source: str = "police"

    def __post_init__(self) -> None:
        check_source(self.source)
        unknown = sorted(set(self.columns) - set(TARGETS))
        if unknown:
            raise InputError(
                f"unknown target column(s) {unknown} in the mapping; received {dict(self.columns)}. "
                f"Map onto: {', '.join(TARGETS)}."
            )
        cols = set(self.columns)
        if C.CRIME_TYPE not in cols:
            raise InputError("the mapping must name the crime type column, e.g. --col crime_type=Offence.")
        if not cols & {C.MONTH, C.OCCURRED_AT}:
            raise InputError("the mapping must name a date column: --col occurred_at=Date (or month=...).")
        if not ({C.LON, C.LAT} <= cols or {C.X, C.Y} <= cols):
            raise InputError(
                "the mapping must name coordinates: --col x=Easting --col y=Northing, or lon=... lat=...; "
                f"received {sorted(cols)}."
            )
        if self.crs is not None and not {C.LON, C.LAT} <= cols:
            projected_crs("crs", self.crs)  # x/y are eastings/northings; degrees go in lon/lat
        bad = sorted({v for v in self.crime_types.values() if v not in C.CRIME_TYPES})
        if bad:
            raise InputError(
                f"crime_types maps onto {bad}, which are not police.uk categories. Use one of: "
                f"{', '.join(C.CRIME_TYPES)}."
            )

    @classmethod
    def from_toml(cls, path: str | Path) -> ColumnMapping:
        """Read a mapping TOML file."""
        try:
            doc: dict[str, Any] = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"cannot read the mapping file {path}: {exc}.") from exc
        return cls(
            columns=dict(doc.get("columns", {})),
            crime_types=dict(doc.get("crime_types", {})),
            crs=doc.get("crs"),
            date_format=doc.get("date_format"),
            force=doc.get("force"),
            source=doc.get("source", "police"),
        )

    @classmethod
    def from_pairs(cls, pairs: Iterable[str], **options: Any) -> ColumnMapping:
        """Build a mapping from ``target=Source`` strings (the CLI's ``--col``)."""
        columns: dict[str, str] = {}
        for pair in pairs:
            target, sep, source = pair.partition("=")
            if not sep or not target.strip() or not source.strip():
                raise InputError(
                    f"--col takes target=SourceColumn; received {pair!r}. E.g. --col crime_type=Offence."
                )
            columns[target.strip()] = source.strip()
        return cls(columns=columns, **options)

    def read(self, stack: Stack) -> list[FileResult]:
        """Check and canonicalise a stack of files read with this mapping (see :func:`read_generic`)."""
        return _read_csv(stack, self)


#: a record source: police, health, or a partner's short name (lower case, digits, - or _)
SOURCE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def check_source(source: object) -> str:
    """``source`` if it is a valid record source name, else an :class:`InputError` saying why.

    >>> check_source("health")
    'health'
    """
    if not isinstance(source, str) or not SOURCE_PATTERN.match(source):
        raise InputError(
            f"'source' must be police, health or a partner's short name (lower case letters, digits, - or _, "
            f"up to 32 characters, e.g. council-asb); received {source!r}."
        )
    return source


def check_mapping(parsed: ParsedTable, mapping: ColumnMapping, display: str) -> None:
    """Raise InputError if a column named in ``mapping`` is not in the file's header."""
    missing = [src for src in mapping.columns.values() if normalise_name(src) not in parsed.header]
    if missing:
        raise InputError(
            f"{display}: column(s) {missing} named in the mapping are not in the file; "
            f"found: {', '.join(parsed.header)}. Fix the mapping."
        )


def read_generic(stack: Stack, mapping: ColumnMapping) -> list[FileResult]:
    """Check and canonicalise mapped rows (files checked by :func:`check_mapping`): the mapping's own
    reader (a force CSV's here, hospital ED records' in :mod:`gripkit.ingestion.ed`)."""
    return mapping.read(stack)


def _read_csv(stack: Stack, mapping: ColumnMapping) -> list[FileResult]:
    """Check and canonicalise force CSV rows with ``mapping``."""

    def get(target: str) -> pa.Array:
        source = mapping.columns.get(target)
        return stack.column(normalise_name(source) if source else "\0")

    checker = stack.checker()
    occurred = parse_datetimes(get(C.OCCURRED_AT), mapping.date_format)
    if C.OCCURRED_AT in mapping.columns:
        checker.fail(_null(occurred), "bad_date")
    raw_type = np.asarray(get(C.CRIME_TYPE).to_numpy(zero_copy_only=False), dtype=object)
    if mapping.force:
        force = pa.array([normalise_force(mapping.force)] * stack.n, pa.string())
    else:
        force = stripped(get(C.FORCE))
    lonlat = {C.LON, C.LAT} <= set(mapping.columns)
    cols = CrimeColumns(
        month=parse_months(get(C.MONTH)) if C.MONTH in mapping.columns else months_of(occurred),
        crime_type=canonical_crime_types(get(C.CRIME_TYPE), mapping.crime_types),
        force=force,
        crime_id=get(C.CRIME_ID),
        first=get(C.LON) if lonlat else get(C.X),
        second=get(C.LAT) if lonlat else get(C.Y),
        crs=C.WGS84 if lonlat else (mapping.crs or C.BNG),
        text={
            **{name: get(name) for name in (C.LSOA_CODE, C.LSOA_NAME, C.LOCATION, C.OUTCOME)},
            **(
                {C.OFFENCE_CODE: _offence_codes(get(C.OFFENCE_CODE))}
                if C.OFFENCE_CODE in mapping.columns
                else {}
            ),
        },
        occurred_at=occurred,
        crime_type_detail=np.array([f"crime type {t!r}" for t in raw_type], dtype=object),
        source=mapping.source,
    )
    return crime_results(stack, checker, "csv", cols)


def _offence_codes(raw: pa.Array) -> pa.Array:
    """Home Office offence codes as the harm tables write them: stripped, upper case, blank -> null."""
    return pc.utf8_upper(stripped(raw))


def _null(values: pa.Array) -> np.ndarray:
    return np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def parse_datetimes(raw: pa.Array, fmt: str | None) -> pa.Array:
    values = pd.Series(np.asarray(stripped(raw).to_numpy(zero_copy_only=False), dtype=object), dtype="string")
    if fmt:
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
    else:
        parsed = pd.to_datetime(values, format="mixed", dayfirst=True, errors="coerce")
    return pa.array(parsed.astype("datetime64[us]"), pa.timestamp("us"))
