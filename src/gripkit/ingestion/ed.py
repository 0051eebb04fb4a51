"""Hospital emergency-department (ED) assault records, Cardiff Model: ``gripkit ingest --format ed``.

A VRU or hospital shares the information-sharing minimum dataset (ISB 1594): incident date and
time, arrival date and time, the specific location of the incident, the means of assault (weapon),
optionally age band, sex and location type. Records are stored in ``crimes`` with source
``health`` (crime type ``Violence and sexual offences``) and their ED fields (``arrival_at``,
``weapon``, ``location_type``, ``age_band``, ``sex``, ``placed_by``). The mapping is a TOML file
as for a force's CSV (:class:`~gripkit.ingestion.generic.ColumnMapping`)::

    force = "Bedfordshire"             # optional: records placed outside it are quarantined
    date_format = "%d/%m/%Y %H:%M"     # optional; otherwise parsed day-first
    [columns]
    crime_id = "Attendance ref"        # optional: the department's attendance reference
    occurred_at = "Incident date time" # required (ISB 1594)
    arrival_at = "Arrival date time"   # required (ISB 1594)
    weapon = "Means of assault"        # required (ISB 1594)
    postcode = "Incident postcode"     # a location: postcode, place, x/y or lon/lat (one or more)
    place = "Incident location"
    location_type = "Location type"    # optional
    age_band = "Age band"              # optional
    sex = "Sex"                        # optional

Each row is placed by the first location it has, in this order: coordinates (``x``/``y`` in
``crs``, or ``lon``/``lat``), a postcode (OS Code-Point Open, ``postcodes``), free text matched in
a gazetteer (``gazetteer``, see :mod:`gripkit.ingestion.gazetteer`). A row whose first location
cannot be placed is quarantined with that method's reason (:data:`ED_REASONS`); the next method is
not tried, so no record is placed by a weaker clue than the one it gives. No patient identifiers
are stored: a mapping naming a column such as NHS number, name or date of birth is refused, and a
quarantined row keeps only its mapped fields, not the raw line. See docs/ed.md.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gripkit import columns as C
from gripkit.datasets import normalise_force
from gripkit.errors import InputError
from gripkit.ingestion.checks import blank, months_of, stripped, to_float, transformer
from gripkit.ingestion.gazetteer import gazetteer
from gripkit.ingestion.generic import ColumnMapping, check_source, parse_datetimes
from gripkit.ingestion.postcodes import postcode_index, postcode_key
from gripkit.ingestion.records import CrimeColumns, FileResult, Stack, crime_results
from gripkit.ingestion.table import normalise_name
from gripkit.validate import projected_crs

ARRIVAL_AT = "arrival_at"
POSTCODE = "postcode"
PLACE = "place"
WEAPON = "weapon"
LOCATION_TYPE = "location_type"
AGE_BAND = "age_band"
SEX = "sex"
PLACED_BY = "placed_by"
#: the ED fields kept on each record (columns of ``crimes``; null for police records)
ED_COLUMNS = (ARRIVAL_AT, WEAPON, LOCATION_TYPE, AGE_BAND, SEX, PLACED_BY)
TARGETS = (
    C.CRIME_ID,
    C.OCCURRED_AT,
    ARRIVAL_AT,
    WEAPON,
    POSTCODE,
    PLACE,
    C.X,
    C.Y,
    C.LON,
    C.LAT,
    LOCATION_TYPE,
    AGE_BAND,
    SEX,
)
REQUIRED = (C.OCCURRED_AT, ARRIVAL_AT, WEAPON)
#: every ED record is an assault attendance
CRIME_TYPE = "Violence and sexual offences"
#: quarantine reasons of ED rows, beyond :data:`gripkit.ingestion.checks.REASONS`
ED_REASONS: dict[str, str] = {
    "bad_arrival": "the arrival date-time is missing or could not be parsed",
    "arrival_before_incident": "the arrival at the department is before the incident",
    "bad_postcode": "the postcode is not written as a UK postcode (e.g. LU1 1AA)",
    "no_postcode_file": "the row is located by postcode but no Code-Point Open file was given (--postcodes)",
    "unknown_postcode": "the postcode is not in the Code-Point Open file, or OS gives it no coordinates",
    "no_gazetteer": "the row is located by a place name but no gazetteer was given (--gazetteer)",
    "unknown_place": "the place name is not in the gazetteer (after normalising case and punctuation)",
    "ambiguous_place": "the place name is listed in the gazetteer at more than one place",
    "no_location": "the row has no coordinates, postcode or place name",
}
#: column names that hold patient identifiers (matched on the normalised, lower-case name)
IDENTIFIER = re.compile(
    r"\bnhs\b|\bchi\b|\bmrn\b|hospital (number|no)|patient (id|number|no|name|address)|^name$|"
    r"\b(first|last|full|given|family|middle) name|forename|surname|birth|\bdob\b|\bd o b\b|"
    r"home address|home postcode|phone|e ?mail|\bni number\b|national insurance"
)
_REDACTED = "(line not kept: an ED file may hold patient identifiers; see the file at this line)"


def identifier_columns(names: list[str]) -> list[str]:
    """The names among ``names`` that look like patient identifiers (:data:`IDENTIFIER`).

    >>> identifier_columns(["NHS Number", "Incident postcode", "Date of birth", "Patient name", "Weapon"])
    ['NHS Number', 'Date of birth', 'Patient name']
    """
    return [n for n in names if IDENTIFIER.search(" ".join(re.sub(r"[^\w]+", " ", n.casefold()).split()))]


@dataclass(frozen=True)
class EdMapping(ColumnMapping):
    """How an ED file maps onto gripkit (see the module docstring); ``source`` defaults to health."""

    source: str = "health"
    postcodes: str | None = None
    gazetteer: str | None = None

    def __post_init__(self) -> None:
        check_source(self.source)
        cols = dict(self.columns)
        named = identifier_columns([*cols, *cols.values()])
        if named:
            raise InputError(
                f"the ED mapping names patient identifier column(s) {named}; gripkit stores no patient "
                "identifiers (NHS number, name, date of birth, address...), so it will not read them. "
                "Remove them from the mapping: the minimum dataset (ISB 1594) needs none."
            )
        unknown = sorted(set(cols) - set(TARGETS))
        if unknown:
            raise InputError(
                f"unknown target column(s) {unknown} in the ED mapping; received {cols}. Map onto: "
                f"{', '.join(TARGETS)}."
            )
        missing = [t for t in REQUIRED if t not in cols]
        if missing:
            raise InputError(
                f"the ED mapping must name {', '.join(missing)} (the ISB 1594 minimum dataset: incident "
                'and arrival date-times, weapon); e.g. [columns] arrival_at = "Arrival date time".'
            )
        if not ({C.X, C.Y} <= set(cols) or {C.LON, C.LAT} <= set(cols) or {POSTCODE, PLACE} & set(cols)):
            raise InputError(
                "the ED mapping must name the incident's location: postcode, place, x and y, or lon and lat; "
                f"received {sorted(cols)}."
            )
        if self.crs is not None and {C.X, C.Y} <= set(cols):
            projected_crs("crs", self.crs)
        for name in ("postcodes", "gazetteer"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, str(value))

    @classmethod
    def from_toml(cls, path: str | Path, **options: Any) -> EdMapping:
        """Read an ED mapping TOML file; ``options`` (e.g. ``postcodes``) override its keys."""
        try:
            doc: dict[str, Any] = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"cannot read the ED mapping file {path}: {exc}.") from exc
        keys = ("crs", "date_format", "force", "source", "postcodes", "gazetteer")
        given = {k: doc[k] for k in keys if k in doc} | {k: v for k, v in options.items() if v is not None}
        return cls(columns=dict(doc.get("columns", {})), **given)

    def read(self, stack: Stack) -> list[FileResult]:
        """Check, place and canonicalise ED rows (see the module docstring)."""
        return _read_ed(stack, self)


def _read_ed(stack: Stack, mapping: EdMapping) -> list[FileResult]:
    def get(target: str) -> pa.Array:
        source = mapping.columns.get(target)
        return stack.column(normalise_name(source) if source else "\0")

    checker = stack.checker()
    occurred = parse_datetimes(get(C.OCCURRED_AT), mapping.date_format)
    arrival = parse_datetimes(get(ARRIVAL_AT), mapping.date_format)
    checker.fail(_np(occurred.is_null()), "bad_date", "the incident date-time is missing or unreadable")
    checker.fail(_np(arrival.is_null()), "bad_arrival")
    checker.fail(_np(pc.less(arrival, occurred)), "arrival_before_incident")
    x, y, placed_by, location = _place(stack, checker, mapping, get)
    force = normalise_force(mapping.force) if mapping.force else None
    text = {name: stripped(get(name)) for name in (WEAPON, LOCATION_TYPE, AGE_BAND, SEX)}
    cols = CrimeColumns(
        month=months_of(occurred),
        crime_type=pa.array([CRIME_TYPE] * stack.n, pa.string()),
        force=pa.array([force] * stack.n, pa.string()),
        crime_id=get(C.CRIME_ID),
        first=pc.cast(pa.array(x, from_pandas=True), pa.string()),
        second=pc.cast(pa.array(y, from_pandas=True), pa.string()),
        crs=C.BNG,
        text={
            **text,
            ARRIVAL_AT: arrival,
            PLACED_BY: pa.array(placed_by, pa.string()),
            C.LOCATION: pa.array(location, pa.string()),
        },
        occurred_at=occurred,
        source=mapping.source,
    )
    results = crime_results(stack, checker, "csv", cols)
    for parsed, result in zip(stack.parsed, results, strict=True):
        result.format = "ed"
        result.quarantine = _redact(parsed, result.quarantine, mapping)
        unread = identifier_columns(list(parsed.header))
        if unread:
            result.notes.append(f"column(s) {', '.join(unread)} not read: patient identifiers are not stored")
    return results


def _place(
    stack: Stack, checker: Any, mapping: EdMapping, get: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BNG ``x, y`` of each row by its first location (coordinates, postcode, place), the method
    used and the location text; rows that cannot be placed get their reason in ``checker``."""
    n = stack.n
    x, y = np.full(n, np.nan), np.full(n, np.nan)
    placed_by = np.full(n, None, dtype=object)
    location = np.full(n, None, dtype=object)
    todo = np.ones(n, dtype=bool)
    cols = set(mapping.columns)
    for first, second, crs in ((C.X, C.Y, mapping.crs or C.BNG), (C.LON, C.LAT, C.WGS84)):
        if {first, second} <= cols:
            a, b = get(first), get(second)
            rows = todo & ~blank(a) & ~blank(b)
            u, v = to_float(a), to_float(b)
            if crs != C.BNG:
                u, v = (np.asarray(t, dtype=float) for t in transformer(crs).transform(u, v))
            checker.fail(rows & ~(np.isfinite(u) & np.isfinite(v)), "bad_coordinates")
            x[rows], y[rows] = u[rows], v[rows]
            placed_by[rows] = "coordinates"
            todo &= ~rows
    if POSTCODE in cols:
        raw = np.asarray(stripped(get(POSTCODE)).to_numpy(zero_copy_only=False), dtype=object)
        rows = todo & (raw != None)  # noqa: E711 (elementwise)
        keys = np.array(
            [postcode_key(v) if r else None for v, r in zip(raw, rows, strict=True)], dtype=object
        )
        detail = np.array([f"postcode {v!r}" for v in raw], dtype=object)
        checker.fail(rows & (keys == None), "bad_postcode", detail)  # noqa: E711
        placed = rows & (keys != None)  # noqa: E711
        if mapping.postcodes is None:
            checker.fail(
                placed, "no_postcode_file", "pass OS Code-Point Open (codepo_gb.zip) with --postcodes"
            )
        elif placed.any():
            index = postcode_index(mapping.postcodes)
            px, py, found = index.locate(keys[placed])
            hit = placed.copy()
            hit[placed] = found
            checker.fail(
                placed & ~hit,
                "unknown_postcode",
                np.array([f"postcode {v!r} not in {mapping.postcodes}" for v in raw], dtype=object),
            )
            x[placed], y[placed] = px, py
            placed_by[hit] = "postcode"
            location[hit] = [f"postcode {k[:-3]} {k[-3:]}" for k in keys[hit]]
        todo &= ~rows
    if PLACE in cols:
        raw = np.asarray(stripped(get(PLACE)).to_numpy(zero_copy_only=False), dtype=object)
        rows = todo & (raw != None)  # noqa: E711
        if mapping.gazetteer is None:
            checker.fail(rows, "no_gazetteer", "pass a gazetteer CSV name,x,y with --gazetteer")
        elif rows.any():
            gx, gy, names, status = gazetteer(mapping.gazetteer).match(list(raw[rows]))
            detail = np.array([f"place {v!r}" for v in raw], dtype=object)
            for reason, value in (("ambiguous_place", "ambiguous"), ("unknown_place", "unknown")):
                mask = rows.copy()
                mask[rows] = status == value
                checker.fail(mask, reason, detail)
            x[rows], y[rows] = gx, gy
            hit = rows.copy()
            hit[rows] = status == "found"
            placed_by[hit] = "gazetteer"
            location[hit] = names[status == "found"]
        todo &= ~rows
    checker.fail(todo, "no_location")
    return x, y, placed_by, location


def _np(mask: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _redact(parsed: Any, quarantine: pa.Table, mapping: EdMapping) -> pa.Table:
    """The quarantine with each row's raw text replaced by its mapped fields only (``col=value; ...``)."""
    if quarantine.num_rows == 0:
        return quarantine
    where = {int(r): i for i, r in enumerate(parsed.row_numbers)}
    sources = [s for s in mapping.columns.values() if normalise_name(s) in parsed.header]
    values = {s: parsed.table.column(normalise_name(s)).to_pylist() for s in sources}
    raw = []
    for row in quarantine.column("source_row").to_pylist():
        i = where.get(int(row))
        raw.append(_REDACTED if i is None else "; ".join(f"{s}={values[s][i]}" for s in sources))
    return quarantine.set_column(quarantine.schema.get_field_index("raw"), "raw", pa.array(raw, pa.string()))
