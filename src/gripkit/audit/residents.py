"""Who lives in the chosen hotspots: 2011 census residents and households, crimes and harm per 1,000.

The Bedfordshire rows of the 2011 census (usual residents and households per LSOA 2011; ONS, Open
Government Licence v3.0) are bundled; other forces pass the census file (``population=``): either
the ONS layout (``LSOA Code``, ``Persons``, ``Households``; counts with thousands separators) or a
CSV with ``lsoa_code, population, households``.
"""

from __future__ import annotations

from importlib import resources
from io import BytesIO
from pathlib import Path
from typing import Any

import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError

POPULATION = "population"
HOUSEHOLDS = "households"
CENSUS_ATTRIBUTION = (
    "2011 census usual residents and households per LSOA: Office for National Statistics, "
    "Open Government Licence v3.0."
)
_ONS = {"LSOA Code": C.LSOA_CODE, "Persons": POPULATION, "Households": HOUSEHOLDS}


def load_population(path: str | Path | None = None) -> pd.DataFrame:
    """Residents and households per LSOA (``lsoa_code, population, households``).

    Examples
    --------
    >>> frame = load_population()
    >>> len(frame), int(frame["population"].sum())
    (381, 615061)
    """
    if path is None:
        source = resources.files("gripkit.audit").joinpath("data").joinpath("bedfordshire_census_2011.csv")
        return pd.read_csv(BytesIO(source.read_bytes()), dtype={C.LSOA_CODE: str})
    file = Path(path).expanduser()
    if not file.is_file():
        raise InputError(
            f"'population' file not found; received {str(path)[:120]!r}. Pass the 2011 census LSOA file "
            "(ONS layout, or columns lsoa_code,population,households)."
        )
    frame = pd.read_csv(file, thousands=",", dtype=str)
    if "LSOA Code" in frame.columns:
        frame = frame.rename(columns=_ONS)
    missing = [c for c in (C.LSOA_CODE, POPULATION, HOUSEHOLDS) if c not in frame.columns]
    if missing:
        raise InputError(
            f"population file {file.name} lacks column(s) {', '.join(missing)}; received "
            f"{', '.join(map(str, frame.columns[:12]))}. It needs lsoa_code,population,households "
            "(or the ONS census layout)."
        )
    out = frame[[C.LSOA_CODE, POPULATION, HOUSEHOLDS]].copy()
    for column in (POPULATION, HOUSEHOLDS):
        out[column] = pd.to_numeric(out[column].str.replace(",", ""), errors="coerce")
    bad = int(out[[POPULATION, HOUSEHOLDS]].isna().any(axis=1).sum())
    if bad:
        raise InputError(
            f"population file {file.name} has {bad} row(s) whose population or households is not a number. "
            "Fix or remove them."
        )
    out[C.LSOA_CODE] = out[C.LSOA_CODE].str.strip()
    return out.astype({POPULATION: "int64", HOUSEHOLDS: "int64"})


def per_1000(count: float, residents: float) -> float | None:
    """``count`` per 1,000 residents (None without residents).

    >>> per_1000(25, 5000)
    5.0
    """
    return 1000.0 * count / residents if residents > 0 else None


def residents(
    crimes: pd.DataFrame, unit_ids: list[str], chosen: list[str], population: pd.DataFrame
) -> dict[str, Any]:
    """Residents, households, crimes and harm (per 1,000 residents) in the chosen units, outside them
    and in the force (``unit_ids``: every unit of the force).

    Crimes carry ``unit_id`` and ``harm``. Units without a census row count no residents (listed as
    ``units_without_population``).
    """
    people = population.set_index(C.LSOA_CODE)
    known = [u for u in unit_ids if u in people.index]
    missing = sorted(set(unit_ids) - set(known))
    groups = {"hotspots": set(chosen), "outside": set(unit_ids) - set(chosen), "force": set(unit_ids)}
    ids = crimes[C.UNIT_ID].astype(str)
    out: dict[str, Any] = {}
    for name, members in groups.items():
        rows = people.reindex(sorted(members & set(known)))
        inside = crimes[ids.isin(members)]
        count, harm = len(inside), float(inside[C.HARM].sum())
        population_n = int(rows[POPULATION].sum())
        out[name] = {
            "units": len(members),
            "residents": population_n,
            "households": int(rows[HOUSEHOLDS].sum()),
            "crimes": count,
            "harm": harm,
            "crimes_per_1000": per_1000(count, population_n),
            "harm_per_1000": per_1000(harm, population_n),
        }
    force_residents = out["force"]["residents"]
    out["hotspots"]["resident_share"] = (
        out["hotspots"]["residents"] / force_residents if force_residents else None
    )
    out["units_without_population"] = missing
    return out
