"""police.uk street, outcomes and stop-and-search files (data.police.uk/about/#columns)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gripkit import columns as C
from gripkit.datasets import normalise_force
from gripkit.ingestion.checks import (
    RowChecker,
    blank,
    canonical_crime_types,
    check_coordinates,
    parse_months,
    stripped,
)
from gripkit.ingestion.records import CrimeColumns, FileResult, Stack, crime_results

STREET_REQUIRED = ("month", "longitude", "latitude", "crime type")
OUTCOMES_REQUIRED = ("crime id", "month", "outcome type")
STOP_SEARCH_REQUIRED = ("type", "date", "latitude", "longitude", "object of search")
KINDS = {"street": STREET_REQUIRED, "outcomes": OUTCOMES_REQUIRED, "stop-and-search": STOP_SEARCH_REQUIRED}


def detect_kind(header: list[str]) -> str | None:
    """The police.uk file kind whose required columns the header has, or None."""
    for kind, required in KINDS.items():
        if all(name in header for name in required):
            return kind
    return None


def expected_header() -> str:
    """Human-readable description of what a police.uk street file's header looks like."""
    return "a police.uk street file header with Month, Longitude, Latitude and Crime type"


def force_of(stack: Stack) -> pa.Array:
    """Force area names from ``Falls within`` (or ``Reported by``), normalised."""
    falls = stripped(stack.column("falls within"))
    if falls.null_count:
        falls = pc.coalesce(falls, stripped(stack.column("reported by")))
    uniques = pc.unique(falls).to_pylist()
    names = [normalise_force(u) for u in uniques if u is not None]
    keys = pa.array([u for u in uniques if u is not None], pa.string())
    idx = pc.index_in(falls, value_set=keys)
    return pc.take(pa.array(names, pa.string()), idx) if len(names) else falls


def read_street(stack: Stack) -> list[FileResult]:
    """Check and canonicalise a street file's rows; every row is loaded or quarantined."""
    cols = CrimeColumns(
        month=parse_months(stack.column("month")),
        crime_type=canonical_crime_types(stack.column("crime type")),
        force=force_of(stack),
        crime_id=stack.column("crime id"),
        first=stack.column("longitude"),
        second=stack.column("latitude"),
        crs=C.WGS84,
        # stored as published (the workspace insert stores blanks as NULL)
        text={
            C.LSOA_CODE: stack.column("lsoa code"),
            C.LSOA_NAME: stack.column("lsoa name"),
            C.LOCATION: stack.column("location"),
            C.OUTCOME: stack.column("last outcome category"),
        },
    )
    return crime_results(stack, stack.checker(), "street", cols)


def _optional_coordinates(stack: Stack, checker: RowChecker) -> dict[str, np.ndarray]:
    """Coordinates that may be blank (outcomes, searches): only present-but-bad ones quarantine."""
    lon, lat = stack.column("longitude"), stack.column("latitude")
    present = ~(blank(lon) | blank(lat))
    sub = stack.checker()
    coords = check_coordinates(sub, lon, lat, crs=C.WGS84, force=None)
    checker.fail(present & ~sub.ok, "bad_coordinates")
    return coords


def read_outcomes(stack: Stack) -> list[FileResult]:
    """Outcomes rows, loaded as published (coordinates projected when present)."""
    checker = stack.checker()
    month = parse_months(stack.column("month"))
    checker.fail(np.asarray(month.is_null().to_numpy(zero_copy_only=False)), "bad_month")
    force = force_of(stack)
    values: dict[str, pa.Array | np.ndarray] = {
        C.CRIME_ID: stripped(stack.column("crime id")),
        C.MONTH: month,
        C.FORCE: force,
        **_optional_coordinates(stack, checker),
        C.LSOA_CODE: stripped(stack.column("lsoa code")),
        "outcome_type": stripped(stack.column("outcome type")),
    }
    return stack.split("outcomes", checker, values, identity=(C.FORCE, C.MONTH))


def read_stop_search(stack: Stack) -> list[FileResult]:
    """Stop-and-search rows, loaded as published (coordinates projected when present)."""
    checker = stack.checker()
    names = {
        "search_type": "type",
        C.OCCURRED_AT: "date",
        "gender": "gender",
        "age_range": "age range",
        "ethnicity": "self-defined ethnicity",
        "legislation": "legislation",
        "object_of_search": "object of search",
        C.OUTCOME: "outcome",
    }
    values: dict[str, pa.Array | np.ndarray] = {k: stripped(stack.column(v)) for k, v in names.items()}
    values.update(_optional_coordinates(stack, checker))
    values[C.MONTH] = parse_months(pc.utf8_slice_codeunits(stack.column("date"), 0, 7))
    return stack.split("stop-and-search", checker, values, identity=(C.FORCE, C.MONTH))


READERS: dict[str, Callable[[Stack], list[FileResult]]] = {
    "street": read_street,
    "outcomes": read_outcomes,
    "stop-and-search": read_stop_search,
}
