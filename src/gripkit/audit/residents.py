"""Who lives in the chosen hotspots: 2011 census residents and households, crimes and harm per 1,000.

For Bedfordshire the package carries what it needs: residents per LSOA 2011 come with the bundled
LSOA polygons (:func:`gripkit.datasets.lsoa_2011`, ``population_2011``) and households from
``data/bedfordshire_households_2011.csv`` (the 381 Bedfordshire rows of the ONS 2011 census file
``census_2011_population_hh.csv`` as shipped in the PyPI package crime-sim-toolkit 1.5.0; ONS, Open
Government Licence v3.0). Other forces pass the all-England-and-Wales census file (``population=``):
either the ONS layout (``LSOA Code``, ``Persons``, ``Households``; counts with thousands separators)
or a CSV with ``lsoa_code, population, households``.
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
    "2011 census usual residents and households per LSOA: Office for National Statistics "
    "(as shipped in the PyPI package crime-sim-toolkit 1.5.0), Open Government Licence v3.0."
)
BUNDLED = "bundled Bedfordshire 2011 census (residents with the LSOA polygons, households file)"
_ONS = {"LSOA Code": C.LSOA_CODE, "Persons": POPULATION, "Households": HOUSEHOLDS}


def _bundled() -> pd.DataFrame:
    """The Bedfordshire rows: residents from the bundled LSOA polygons, households from the CSV."""
    from gripkit import datasets  # deferred: geopandas is read only when the default is used

    people = pd.DataFrame(datasets.bedfordshire_lsoa()[["lsoa11cd", "population_2011"]])
    people = people.rename(columns={"lsoa11cd": C.LSOA_CODE, "population_2011": POPULATION})
    source = resources.files("gripkit.audit").joinpath("data", "bedfordshire_households_2011.csv")
    homes = pd.read_csv(BytesIO(source.read_bytes()), dtype={C.LSOA_CODE: str})
    out = people.merge(homes, on=C.LSOA_CODE, how="inner", validate="one_to_one")
    return out.astype({POPULATION: "int64", HOUSEHOLDS: "int64"}).reset_index(drop=True)


def load_population(path: str | Path | None = None) -> pd.DataFrame:
    """Residents and households per LSOA (``lsoa_code, population, households``).

    Examples
    --------
    >>> frame = load_population()
    >>> len(frame), int(frame["population"].sum())
    (381, 615061)
    """
    if path is None:
        return _bundled()
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
