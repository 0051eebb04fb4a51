"""Anti-social behaviour in harm-weighted hotspots: a stated floor per incident, and the selection.

The CCHI and the ONS CSS weigh anti-social behaviour 0: it is an incident, not a notifiable offence,
so neither has a sentence or a severity score for it. A partnership selecting hotspots on serious
violence *and* ASB needs ASB to weigh something; :func:`with_asb_floor` gives each ASB incident a
**floor** weight, by default the table's **lowest non-zero category weight** (``"lowest"``: CCHI 1
day, shoplifting; ONS CSS 11.86, shoplifting), i.e. an ASB incident weighs what the least harmful
recorded crime category weighs, never more. A unit's harm is then the sum over its records::

    harm = serious-violence harm + floor x ASB incidents

(:func:`focus_types` selects serious violence, ASB, or both). See docs/harm.md.

Example
-------
>>> from gripkit.harm import load_harm_table
>>> table = with_asb_floor(load_harm_table("cchi"))
>>> table.weights[ASB], table.name
(1.0, 'cchi+asb_floor_1')
>>> focus_types("both")
['Possession of weapons', 'Robbery', 'Violence and sexual offences', 'Anti-social behaviour']
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gripkit.errors import InputError
from gripkit.harm.tables import HarmTable, serious_violence_types

ASB = "Anti-social behaviour"
#: the default floor: the table's lowest non-zero category weight
LOWEST = "lowest"
#: hotspot selections: serious violence, anti-social behaviour, or both
FOCUS = ("sv", "asb", "both")


def check_floor(floor: Any) -> float | str:
    """``floor`` as :func:`asb_floor` takes it: :data:`LOWEST`, or a finite weight >= 0.

    >>> check_floor("Lowest"), check_floor("2.5")
    ('lowest', 2.5)
    """
    if isinstance(floor, str) and floor.strip().lower() == LOWEST:
        return LOWEST
    try:
        value = float(floor)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0 <= value < float("inf") or isinstance(floor, bool):
        raise InputError(
            f"'asb_floor' must be a weight >= 0 per ASB incident or {LOWEST!r}; received {floor!r}. "
            f"Pass e.g. 1 (CCHI days) or {LOWEST} (the table's lowest non-zero category weight)."
        )
    return value


def asb_floor(table: HarmTable, floor: float | str = LOWEST) -> float:
    """The weight of one ASB incident: ``floor``, or the lowest non-zero weight of ``table``.

    >>> from gripkit.harm import load_harm_table
    >>> asb_floor(load_harm_table("ons_css")), asb_floor(load_harm_table("cchi"), 2)
    (11.86, 2.0)
    """
    checked = check_floor(floor)
    if checked == LOWEST:
        return float(min(w for t, w in table.weights.items() if t != ASB and w > 0))
    return float(checked)


def with_asb_floor(table: HarmTable, floor: float | str = LOWEST) -> HarmTable:
    """``table`` with anti-social behaviour weighing ``floor`` per incident (every force too, per force).

    The copy is named ``<name>+asb_floor_<floor>`` and its SHA-256 is that of the table's hash and the
    floor, so results record that ASB was weighed.
    """
    value = asb_floor(table, floor)
    frame = table.frame.copy()
    rows = frame["crime_type"] == ASB
    frame.loc[rows, "weight"] = value
    note = f"floor: {value:g} per incident ({floor if isinstance(floor, str) else 'given'}; gripkit.harm.asb)"
    if "note" in frame.columns:
        frame.loc[rows, "note"] = note
    forces = MappingProxyType(
        {f: MappingProxyType({**dict(w), ASB: value}) for f, w in table.force_weights.items()}
    )
    digest = hashlib.sha256(f"{table.sha256}|asb_floor={value!r}".encode()).hexdigest()
    return replace(
        table,
        name=f"{table.name}+asb_floor_{value:g}",
        sha256=digest,
        weights={**table.weights, ASB: value},
        frame=frame,
        derivation=f"{table.derivation} Anti-social behaviour: {note}.".strip(),
        force_weights=forces,
    )


def focus_types(focus: str, sv_table: str | Path | None = None) -> list[str]:
    """Crime types of a hotspot selection: ``"sv"`` (the serious-violence categories of ``sv_table``,
    default the police.uk proxy), ``"asb"`` (anti-social behaviour) or ``"both"``."""
    if focus not in FOCUS:
        raise InputError(f"'focus' must be one of {', '.join(FOCUS)}; received {focus!r}.")
    sv = sorted(serious_violence_types(sv_table))
    return {"sv": sv, "asb": [ASB], "both": [*sv, ASB]}[focus]

