"""What a hotspot selection rests on: reactive vs proactive harm, record sources, and the selection
without proactively found offences.

Proactively found offences (drugs, weapons possession) are recorded where police look, not where
harm happens to victims; the Cambridge Crime Harm Index leaves them out for that reason (Sherman,
Neyroud & Neyroud 2016). The default list is the one the harm tables already carry: the crime types
the bundled ``serious_violence_reactive`` table marks as "mostly found by police activity".
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from io import BytesIO
from typing import Any

import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.patrol.areas import select_areas

#: the phrase by which the bundled reactive serious-violence table marks proactively found types
_FOUND_BY_POLICE = "found by police activity"


def proactive_types() -> frozenset[str]:
    """Crime types mostly found by police activity, as the bundled ``serious_violence_reactive`` table says.

    Examples
    --------
    >>> sorted(proactive_types())
    ['Drugs', 'Possession of weapons']
    """
    data = resources.files("gripkit.harm").joinpath("tables", "serious_violence_reactive.csv").read_bytes()
    table = pd.read_csv(BytesIO(data), dtype=str)
    found = table["source"].str.contains(_FOUND_BY_POLICE, case=False, regex=False)
    return frozenset(table.loc[found, C.CRIME_TYPE].str.strip())


def check_types(name: str, types: Iterable[str] | None, default: frozenset[str]) -> frozenset[str]:
    """``types`` as a set of known police.uk crime types (``default`` when None)."""
    if types is None:
        return default
    chosen = frozenset(str(t).strip() for t in ([types] if isinstance(types, str) else types))
    unknown = sorted(chosen - set(C.CRIME_TYPES))
    if unknown:
        raise InputError(
            f"{name!r} holds unknown crime type(s) {unknown}; choose from: {', '.join(C.CRIME_TYPES)}."
        )
    return chosen


def unit_harm(crimes: pd.DataFrame, types: Iterable[str]) -> pd.DataFrame:
    """Harm and crimes per unit from crimes of ``types`` (columns ``area_id, harm, crimes``).

    ``crimes`` carries ``unit_id``, ``crime_type`` and ``harm``; units with no harm are left out,
    as the Operation Rowan selection leaves them out.
    """
    keep = crimes[crimes[C.CRIME_TYPE].isin(list(types)) & crimes[C.UNIT_ID].notna()]
    grouped = keep.groupby(C.UNIT_ID, observed=True).agg(harm=(C.HARM, "sum"), crimes=(C.HARM, "size"))
    grouped = grouped[grouped[C.HARM] > 0].reset_index().rename(columns={C.UNIT_ID: C.AREA_ID})
    return grouped.assign(**{C.AREA_ID: grouped[C.AREA_ID].astype(str)})


def select_top(frame: pd.DataFrame, n: int) -> list[str]:
    """The ``n`` units a harm frame selects, by the patrol step's own rule (:func:`select_areas`)."""
    return select_areas(frame, min(n, len(frame)), what="audit units")[C.AREA_ID].astype(str).tolist()


def shares(crimes: pd.DataFrame, proactive: frozenset[str]) -> dict[str, Any]:
    """Harm of ``crimes`` and the shares from proactive vs reactive types and from each record source."""
    total = float(crimes[C.HARM].sum())
    found = crimes[C.CRIME_TYPE].isin(list(proactive))
    proactive_harm = float(crimes.loc[found, C.HARM].sum())
    by_source = crimes.groupby("record_source", observed=True)[C.HARM].sum()
    return {
        "crimes": len(crimes),
        "harm": total,
        "proactive_harm": proactive_harm,
        "proactive_share": proactive_harm / total if total > 0 else None,
        "reactive_share": (total - proactive_harm) / total if total > 0 else None,
        "source_share": {str(k): float(v) / total for k, v in by_source.items()} if total > 0 else {},
    }


def rests_on(
    crimes: pd.DataFrame, chosen: list[str], basis: frozenset[str], proactive: frozenset[str]
) -> dict[str, Any]:
    """The audit's first part for ``chosen`` units (see the module docstring).

    Parameters
    ----------
    crimes
        Crimes with ``unit_id``, ``crime_type``, ``harm`` and ``record_source``.
    chosen
        The selected unit ids (the hotspot selection).
    basis
        The crime types the selection ranks on (the serious-violence proxy).
    proactive
        The crime types counted as proactively found.

    Returns
    -------
    dict
        ``hotspots`` and ``force`` (all recorded harm, and the harm of the ``basis`` types, each with
        ``proactive_share``, ``reactive_share``, ``source_share``), and ``without_proactive``: the
        selection re-made from the basis types minus the proactive ones (``kept``, ``dropped``,
        ``added``, and the share of that reactive harm each selection covers).
    """
    inside = crimes[C.UNIT_ID].astype(str).isin(chosen)
    on_basis = crimes[C.CRIME_TYPE].isin(list(basis))
    reactive_basis = basis - proactive
    reactive = unit_harm(crimes, reactive_basis)
    again = select_top(reactive, len(chosen))
    total = float(reactive[C.HARM].sum())
    harm_of = reactive.set_index(C.AREA_ID)[C.HARM]
    covered = float(harm_of.reindex(chosen).fillna(0).sum())
    covered_again = float(harm_of.reindex(again).fillna(0).sum())
    return {
        "proactive_types": sorted(proactive),
        "basis_types": sorted(basis),
        "hotspots": {
            "all": shares(crimes[inside], proactive),
            "basis": shares(crimes[inside & on_basis], proactive),
        },
        "force": {"all": shares(crimes, proactive), "basis": shares(crimes[on_basis], proactive)},
        "without_proactive": {
            "types": sorted(reactive_basis),
            "kept": sorted(set(chosen) & set(again)),
            "dropped": sorted(set(chosen) - set(again)),
            "added": sorted(set(again) - set(chosen)),
            "harm_share_selected": covered / total if total > 0 else None,
            "harm_share_reselected": covered_again / total if total > 0 else None,
        },
    }
