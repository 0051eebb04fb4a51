"""Derive a weight per police.uk category from published offence-level weights and volumes.

Harm weights are published per Home Office offence code; police.uk files carry only 14 broad
categories. A category's weight is the **volume-weighted mean of its offences' weights**:

.. math::

    w_c = \\frac{\\sum_{o \\in c} n_o \\, w_o}{\\sum_{o \\in c} n_o}

where :math:`n_o` is the number of offences with Home Office code :math:`o` recorded in 2017/18
(nationally: summed over the 43 territorial forces of England and Wales; per force: that force's own
count) and :math:`w_o` the offence's weight:

``ons_css``
    :math:`w_o` is the ONS Crime Severity Score weight of the offence code.
``cchi``
    :math:`w_o` is the Cambridge Crime Harm Index value (days of custody) of the offence's
    subgroup, with the 2017/18 subgroup names mapped onto the 2024/25 names of the CCHI summary
    (:data:`SUBGROUP_EDITIONS`).

The source tables ship in ``gripkit/harm/data/`` (see its ``README.md`` for attribution and
licences). ``python -m gripkit.harm.derive`` rewrites the bundled ``cchi.csv`` and ``ons_css.csv``
from them; a test checks the shipped files equal the derivation.

Rules, stated once:

- **Territorial forces only** for the national weight: Action Fraud, CIFAS, UK Finance and Financial
  Fraud Action UK record fraud, which police.uk street files do not publish, and British Transport
  Police polices the railways with its own offence mix. Per force, British Transport Police is kept
  (it publishes on police.uk); the fraud bodies are not forces.
- **A category with no recorded offence weighs 0, with the reason in its note**: only anti-social
  behaviour, which is an incident, not a notifiable offence (no CSS weight, no sentence).
- Offences with no count (outcome-only codes) or no weight contribute nothing; a counted offence
  without a weight is an error, so no volume is dropped silently.
- Per force, a category the force recorded no offence of takes the national weight (said in its note).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError

Scheme = Literal["ons_css", "cchi"]
SCHEMES: tuple[Scheme, ...] = ("cchi", "ons_css")

WEIGHTS_FILE = "ons_css_weights_by_offence.csv"
COUNTS_FILE = "prc_pfa_2017_18_offence_counts.csv"
CCHI_FILE = "cchi_subgroup_days.csv"

COUNTS_EDITION = "Home Office police recorded crime by police force area and offence, 2017/18"
EDITIONS = {
    "ons_css": "ONS Crime Severity Score (experimental statistics) offence weights, data tool as "
    "downloaded around 2020-21; volumes: " + COUNTS_EDITION,
    "cchi": "Cambridge Crime Harm Index 2026 update, median days per offence subgroup (secondary "
    "summary); volumes: " + COUNTS_EDITION,
}
SOURCES = {
    "ons_css": "ONS Crime Severity Score offence weights (Open Government Licence v3.0), as joined to "
    "police.uk categories in M-O-P-D/Police-Supply-Demand (MIT); Home Office police recorded crime "
    "2017/18 (OGL v3.0), as redistributed in crime-sim-toolkit 1.5.0 (MIT)",
    "cchi": "Sherman, Neyroud & Neyroud (2016) Cambridge Crime Harm Index; subgroup days from the "
    "Cambridge 2026 update as summarised in isthisben/cbl-realcrime; Home Office police recorded crime "
    "2017/18 (OGL v3.0), as redistributed in crime-sim-toolkit 1.5.0 (MIT)",
}

NOT_TERRITORIAL = frozenset(
    {"Action Fraud", "CIFAS", "UK Finance", "Financial Fraud Action UK", "British Transport Police"}
)
"""Bodies in the 2017/18 counts that are not territorial police forces of England and Wales."""

NOT_FORCES = frozenset({"Action Fraud", "CIFAS", "UK Finance", "Financial Fraud Action UK"})
"""Fraud recording bodies: no police.uk data, so no per-force table."""

FORCE_NAMES = {"London, City of": "City of London"}
"""Home Office force names -> gripkit's force-area names (``gripkit.datasets.force_areas``)."""

CODE_ALIASES = {"1, 4.1/2/10": "1/4.1/4.10/4.2"}
"""ONS weight-table codes written differently in the counts (homicide: codes 1, 4.1, 4.2, 4.10)."""

SUBGROUP_EDITIONS = {
    "Domestic burglary": "Residential burglary",
    "Non-domestic burglary": "Non-residential burglary",
    "Theft of a motor vehicle": "Vehicle offences",
    "Theft from a vehicle": "Vehicle offences",
    "Vehicle interference": "Vehicle offences",
    "Miscellaneous crimes": "Miscellaneous crimes against society",
}
"""2017/18 Home Office subgroup names -> the 2024/25 names the CCHI summary uses. Every other
2017/18 subgroup has the same name in both editions (the 2024/25 subgroup "Death or serious injury -
unlawful driving" was inside "Violence with injury" in 2017/18; both are 365 days). The four fraud
subgroups have no CCHI value and occur only at the fraud bodies."""

ZERO_NOTES = {
    "Anti-social behaviour": "not a crime: anti-social behaviour is an incident, not a notifiable offence, "
    "so it has no offence weight and weighs 0 (exclude it, or edit a copy of this table to weigh it)",
}


@dataclass(frozen=True)
class Derivation:
    """Category weights derived from offence-level weights and counts.

    Attributes
    ----------
    weights : pandas.DataFrame
        ``[force,] crime_type, weight, offences, offence_codes, note``; ``offences`` is the volume the
        mean is weighted by, ``offence_codes`` how many codes contributed.
    offences : pandas.DataFrame
        ``offence_code, offence, offence_subgroup, crime_type, weight``: the weight of each offence
        code (for crimes that carry their offence code).
    scheme, edition, source, derivation : str
        What the table is and how it was made.
    """

    scheme: str
    weights: pd.DataFrame
    offences: pd.DataFrame
    edition: str
    source: str
    derivation: str


def _data(name: str) -> bytes:
    return resources.files("gripkit.harm").joinpath("data", name).read_bytes()


def _police_uk_category(raw: pd.Series) -> pd.Series:
    """Home Office names (``Violence and Sexual Offences``) -> police.uk street-file names."""
    by_lower = {t.lower(): t for t in C.CRIME_TYPES}
    mapped = raw.str.strip().str.lower().map(by_lower)
    unknown = sorted(set(raw[mapped.isna()]))
    if unknown:
        raise InputError(f"offence table names police.uk categories gripkit does not know: {unknown}.")
    return mapped


@lru_cache(maxsize=1)
def offence_counts() -> pd.DataFrame:
    """Offences recorded in 2017/18 per force and Home Office offence code (all 48 bodies).

    Returns
    -------
    pandas.DataFrame
        ``force, offence_code, offence, offence_subgroup, crime_type, offences``; force names as in
        gripkit's force areas (``City of London``).
    """
    raw = pd.read_csv(io.BytesIO(_data(COUNTS_FILE)), dtype=str, keep_default_na=False)
    frame = pd.DataFrame(
        {
            C.FORCE: raw["force"].str.strip().replace(FORCE_NAMES),
            "offence_code": raw["offence_code"].str.strip(),
            "offence": raw["offence"].str.strip(),
            "offence_subgroup": raw["offence_subgroup"].str.strip(),
            C.CRIME_TYPE: _police_uk_category(raw["policeuk_category"]),
            "offences": pd.to_numeric(raw["offences"]).astype("int64"),
        }
    )
    return frame


@lru_cache(maxsize=1)
def css_weights() -> pd.DataFrame:
    """ONS CSS weight per Home Office offence code (codes as written in the counts)."""
    raw = pd.read_csv(io.BytesIO(_data(WEIGHTS_FILE)), dtype=str, keep_default_na=False)
    codes = raw["offence_code"].str.strip().replace(CODE_ALIASES)
    return pd.DataFrame({"offence_code": codes, "weight": pd.to_numeric(raw["weight"]).astype(float)})


@lru_cache(maxsize=1)
def cchi_subgroup_days() -> pd.DataFrame:
    """CCHI days per offence subgroup (2024/25 names), as shipped."""
    raw = pd.read_csv(io.BytesIO(_data(CCHI_FILE)), dtype=str, keep_default_na=False)
    return pd.DataFrame(
        {
            "offence_subgroup": raw["offence_subgroup"].str.strip(),
            "weight": pd.to_numeric(raw["cchi_days"]).astype(float),
        }
    )


def offence_weights(scheme: str) -> pd.DataFrame:
    """The weight of every offence code in the 2017/18 counts under ``scheme`` (NaN: none published).

    Returns
    -------
    pandas.DataFrame
        ``offence_code, offence, offence_subgroup, crime_type, weight``, one row per code.
    """
    _check_scheme(scheme)
    codes = offence_counts().drop_duplicates("offence_code")[
        ["offence_code", "offence", "offence_subgroup", C.CRIME_TYPE]
    ]
    if scheme == "ons_css":
        return codes.merge(css_weights(), on="offence_code", how="left").reset_index(drop=True)
    days = cchi_subgroup_days().set_index("offence_subgroup")["weight"]
    subgroup = codes["offence_subgroup"].replace(SUBGROUP_EDITIONS)
    return codes.assign(weight=subgroup.map(days).to_numpy()).reset_index(drop=True)


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise InputError(
            f"'scheme' must be one of {', '.join(SCHEMES)}; received {scheme!r}. Pass 'cchi' (days of "
            "custody) or 'ons_css' (ONS Crime Severity Score)."
        )


def _weighted(counts: pd.DataFrame, weights: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    joined = counts.merge(weights[["offence_code", "weight"]], on="offence_code", how="left")
    joined = joined[joined["offences"] > 0]
    missing = joined[joined["weight"].isna()]
    if not missing.empty:
        listed = sorted(set(missing["offence_code"]))[:5]
        raise InputError(
            f"offences {listed} are recorded but have no weight; give them one or drop those forces."
        )
    joined = joined.assign(product=joined["offences"] * joined["weight"])
    grouped = joined.groupby(keys, sort=True).agg(
        product=("product", "sum"), offences=("offences", "sum"), offence_codes=("offence_code", "nunique")
    )
    grouped["weight"] = grouped["product"] / grouped["offences"]
    return grouped.drop(columns="product").reset_index()


def _note(row: pd.Series, what: str, where: str) -> str:
    return (
        f"volume-weighted mean of {int(row['offence_codes'])} offence code(s)' {what} over "
        f"{int(row['offences']):,} offences recorded {where} in 2017/18"
    )


def national_weights(scheme: str) -> pd.DataFrame:
    """Weight per police.uk category from the 43 territorial forces' 2017/18 offence mix.

    Returns
    -------
    pandas.DataFrame
        ``crime_type, weight, offences, offence_codes, note``, one row per police.uk category (14).

    Examples
    --------
    >>> w = national_weights("ons_css").set_index("crime_type")["weight"]
    >>> float(round(w["Robbery"], 2))
    799.63
    """
    _check_scheme(scheme)
    counts = offence_counts()
    counts = counts[~counts[C.FORCE].isin(NOT_TERRITORIAL)]
    derived = _weighted(counts, offence_weights(scheme), [C.CRIME_TYPE])
    where = "by the 43 territorial forces of England and Wales"
    rows: list[tuple[str, float, int, int, str]] = [
        (
            str(row[C.CRIME_TYPE]),
            float(row["weight"]),
            int(row["offences"]),
            int(row["offence_codes"]),
            _note(row, _WHAT[scheme], where),
        )
        for _, row in derived.iterrows()
    ]
    rows += [(t, 0.0, 0, 0, ZERO_NOTES[t]) for t in C.CRIME_TYPES if t not in set(derived[C.CRIME_TYPE])]
    frame = pd.DataFrame(rows, columns=[C.CRIME_TYPE, "weight", "offences", "offence_codes", "note"])
    return frame.sort_values(C.CRIME_TYPE, ignore_index=True)


_WHAT = {"ons_css": "ONS CSS weights", "cchi": "CCHI subgroup days"}


def force_weights(scheme: str) -> pd.DataFrame:
    """Weight per force and police.uk category, each from that force's own 2017/18 offence mix.

    Forces: the 43 territorial forces and British Transport Police. A category a force recorded no
    offence of takes the national weight (said in ``note``).

    Returns
    -------
    pandas.DataFrame
        ``force, crime_type, weight, offences, offence_codes, note``: 44 forces x 14 categories.
    """
    _check_scheme(scheme)
    counts = offence_counts()
    counts = counts[~counts[C.FORCE].isin(NOT_FORCES)]
    derived = _weighted(counts, offence_weights(scheme), [C.FORCE, C.CRIME_TYPE])
    national = national_weights(scheme)
    forces = sorted(counts[C.FORCE].unique())
    grid = pd.MultiIndex.from_product([forces, national[C.CRIME_TYPE]], names=[C.FORCE, C.CRIME_TYPE])
    frame = derived.set_index([C.FORCE, C.CRIME_TYPE]).reindex(grid).reset_index()
    national = national.rename(columns={c: f"{c}_national" for c in national.columns if c != C.CRIME_TYPE})
    fallback = frame.merge(national, on=C.CRIME_TYPE, how="left")
    own = fallback["weight"].notna()
    what = _WHAT[scheme]
    notes = [
        _note(row, what, f"by {row[C.FORCE]}")
        if ok
        else (
            row["note_national"]
            if row["offences_national"] == 0
            else f"{row[C.FORCE]} recorded none in 2017/18: national weight ({row['note_national']})"
        )
        for ok, (_, row) in zip(own, fallback.iterrows(), strict=True)
    ]
    return pd.DataFrame(
        {
            C.FORCE: fallback[C.FORCE],
            C.CRIME_TYPE: fallback[C.CRIME_TYPE],
            "weight": fallback["weight"].where(own, fallback["weight_national"]).astype(float),
            "offences": fallback["offences"].fillna(0).astype("int64"),
            "offence_codes": fallback["offence_codes"].fillna(0).astype("int64"),
            "note": notes,
        }
    )


def derivation_text(scheme: str) -> str:
    """One sentence saying how the bundled table ``scheme`` was derived."""
    _check_scheme(scheme)
    what = {
        "ons_css": "ONS Crime Severity Score weight per Home Office offence code",
        "cchi": "CCHI days of the offence's subgroup (2017/18 subgroup names mapped onto the 2024/25 "
        "ones: domestic/non-domestic burglary -> residential/non-residential burglary, theft of/from a "
        "motor vehicle and vehicle interference -> vehicle offences, miscellaneous crimes -> "
        "miscellaneous crimes against society)",
    }[scheme]
    return (
        "Each police.uk category weighs the volume-weighted mean of its offences' weights: the "
        f"{what}, weighted by the offences recorded in 2017/18 by the 43 territorial forces of England "
        "and Wales (Action Fraud, CIFAS, UK Finance, Financial Fraud Action UK and British Transport "
        "Police excluded); per force, by that force's own counts. Anti-social behaviour has no offence "
        "and weighs 0."
    )


def derive(scheme: str) -> Derivation:
    """The national derivation of ``scheme`` with its provenance."""
    _check_scheme(scheme)
    return Derivation(
        scheme=scheme,
        weights=national_weights(scheme),
        offences=offence_weights(scheme),
        edition=EDITIONS[scheme],
        source=SOURCES[scheme],
        derivation=derivation_text(scheme),
    )


def table_csv(scheme: str) -> str:
    """The bundled table ``scheme`` as CSV text (``crime_type, weight, source, note``)."""
    weights = national_weights(scheme)
    frame = pd.DataFrame(
        {
            C.CRIME_TYPE: weights[C.CRIME_TYPE],
            "weight": weights["weight"].round(2),
            "source": SOURCES[scheme],
            "note": weights["note"],
        }
    )
    return frame.to_csv(index=False, lineterminator="\n")


def _main() -> None:  # pragma: no cover - maintenance entry point
    tables = resources.files("gripkit.harm").joinpath("tables")
    for scheme in SCHEMES:
        path = tables.joinpath(f"{scheme}.csv")
        with resources.as_file(path) as file:
            file.write_text(table_csv(scheme), encoding="utf-8")
            print(f"wrote {file}")


if __name__ == "__main__":  # pragma: no cover
    _main()
