"""A human ``label`` for every hotspot unit, computed once, where crimes meet units (:func:`count`).

The rule (``docs/labels.md``):

grid cells, H3 hexagons (and any other area unit)
    ``"<most frequent police.uk Location text>, <most frequent LSOA name>"`` of the crimes inside,
    e.g. ``"On or near George Street, Luton 012A"``. ONS LSOA names (2011 and 2021) are the local
    authority's name and a number, so the LSOA name also names the local authority. Without any
    Location text (blank or police.uk's ``"No Location"``) the LSOA name alone; without either,
    ``"grid cell g2028_881"`` (the unit's kind and id). Cells with no crime have no label (null).
LSOAs
    the LSOA name: from the boundary file when it has one (``lsoa11nm`` beside ``lsoa11cd``), else the
    most frequent published ``LSOA name`` of the LSOA's crimes, else ``"LSOA <code>"``.
street segments
    the street name of the road link the segment begins on (:attr:`SegmentUnits.names`:
    ``name (ref)`` for OpenStreetMap, ``name (road_number)`` for OS roads, either alone when the
    other is blank); unnamed roads are ``"Unnamed road near <most frequent LSOA name>"`` of their
    crimes, or ``"Unnamed road"`` when they hold none.

Ties ("most frequent"): most crimes first, then alphabetical (Unicode code-point order, so
``"On or near A Street"`` before ``"On or near B Street"``), so a label never depends on row order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gripkit import columns as col
from gripkit.units.base import Units
from gripkit.units.lsoa import LsoaUnits
from gripkit.units.segments import SegmentUnits

#: police.uk's Location text for crimes it could not place; never used as a label.
NO_LOCATION = "no location"
UNNAMED_ROAD = "Unnamed road"
_KIND_WORDS = {"grid": "grid cell", "hex": "H3 hexagon", "lsoa": "LSOA", "segment": "street segment"}


def unit_labels(
    crimes: pd.DataFrame, units: Units, rows: np.ndarray, ids: Any, crimes_per_unit: np.ndarray
) -> Any:
    """The label of every unit, in the order of ``ids`` (a string extension array).

    Parameters
    ----------
    crimes
        The crimes counted (``location`` and ``lsoa_name`` are used when present).
    units
        The units they were counted in.
    rows
        Position in ``ids`` of each crime's unit (-1: in no unit), aligned to ``crimes``.
    ids
        Every unit's id: ``units.frame`` order, then (open unit sets) ids the crimes brought in.
    crimes_per_unit
        Crimes in each unit (same order): area units without crimes get no label.

    Examples
    --------
    >>> import pandas as pd
    >>> from gripkit.units import GridUnits
    >>> crimes = pd.DataFrame({"x": [10.0, 20, 30, 150], "y": [10.0, 10, 10, 10],
    ...     "location": ["On or near B Street", "On or near A Street", "On or near B Street", "No Location"],
    ...     "lsoa_name": ["Luton 012A"] * 3 + [None]})
    >>> units = GridUnits(100, (0, 0, 299, 99))
    >>> ids = units.frame["unit_id"].array
    >>> unit_labels(crimes, units, units.positions(crimes), ids, np.array([3, 1, 0])).tolist()
    ['On or near B Street, Luton 012A', 'grid cell g1_0', <NA>]
    """
    rows = np.asarray(rows, dtype=np.int64)
    n = len(ids)
    area = most_frequent(rows, _column(crimes, col.LSOA_NAME), n)
    labels = np.full(n, None, dtype=object)
    if isinstance(units, SegmentUnits):
        labels[: len(units.names)] = units.names
        unnamed = np.flatnonzero(pd.isna(labels))
        labels[unnamed] = [f"{UNNAMED_ROAD} near {a}" if a else UNNAMED_ROAD for a in area[unnamed]]
    elif isinstance(units, LsoaUnits):
        if units.names is not None:
            labels[: len(units.names)] = units.names
        labels = _first(labels, area)
    else:
        place = most_frequent(rows, _column(crimes, col.LOCATION), n, drop=NO_LOCATION)
        has = np.flatnonzero(np.asarray(crimes_per_unit) > 0)
        labels[has] = [
            f"{p}, {a}" if p and a else (p or a) for p, a in zip(place[has], area[has], strict=True)
        ]
    missing = np.flatnonzero(
        pd.isna(labels) & ((np.asarray(crimes_per_unit) > 0) | isinstance(units, LsoaUnits))
    )
    if len(missing):
        word = _KIND_WORDS.get(units.kind, f"{units.kind} unit")
        labels[missing] = [f"{word} {i}" for i in np.asarray(ids, dtype=object)[missing]]
    return pd.array(labels, dtype=pd.StringDtype())


def place(row: Mapping[Any, Any]) -> str:
    """A unit as people read it: ``"<label> (<unit_id>)"``, or the id alone when it has no label.

    The id stays beside the name: it is what the plan, GPS visits and the dashboard link by.

    >>> place({"unit_id": "g2028_881", "label": "On or near Flowers Way, Luton 021G"})
    'On or near Flowers Way, Luton 021G (g2028_881)'
    >>> place({"unit_id": "g1_1", "label": None}), place({"unit_id": "g1_1"})
    ('g1_1', 'g1_1')
    """
    label = row.get(col.LABEL)
    unit = str(row[col.UNIT_ID])
    return f"{label} ({unit})" if isinstance(label, str) and label.strip() else unit


def most_frequent(rows: np.ndarray, text: pd.Series | None, n: int, *, drop: str | None = None) -> np.ndarray:
    """The most frequent non-blank ``text`` of the crimes of each of ``n`` units (None: no text).

    Ties: most crimes, then alphabetical. ``drop`` (compared case-insensitively) counts as blank.

    Examples
    --------
    >>> rows = np.array([0, 0, 1, 1, 1, -1])
    >>> text = pd.Series(["b", "a", "c", "c", " ", "z"])
    >>> most_frequent(rows, text, 3).tolist()  # unit 0: a tie of one each, "a" first; row -1 ignored
    ['a', 'c', None]
    """
    out = np.full(n, None, dtype=object)
    if text is None or not len(text):
        return out
    codes, uniques = pd.factorize(np.asarray(text.astype(object)), use_na_sentinel=True)
    cleaned = np.array([_clean(v, drop) for v in np.asarray(uniques, dtype=object)], dtype=object)
    if not len(cleaned):
        return out
    # merge spellings that clean to the same text, then drop the blanks
    distinct, merged = np.unique(np.where(pd.isna(cleaned), "", cleaned).astype(str), return_inverse=True)
    code = np.where(codes >= 0, merged.ravel()[np.maximum(codes, 0)], -1)
    blank = np.flatnonzero(distinct == "")
    keep = (rows >= 0) & (code >= 0) & ~np.isin(code, blank)
    if not keep.any():
        return out
    k = len(distinct)  # np.unique sorts, so a smaller code is alphabetically first
    pairs, counts = np.unique(rows[keep] * k + code[keep], return_counts=True)
    unit, which = np.divmod(pairs, k)
    order = np.lexsort((which, -counts, unit))
    unit, which = unit[order], which[order]
    first = np.r_[True, unit[1:] != unit[:-1]]
    out[unit[first]] = distinct[which[first]]
    return out


def _clean(value: Any, drop: str | None = None) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = " ".join(str(value).split())
    if not text or (drop is not None and text.casefold() == drop):
        return None
    return text


def _column(crimes: pd.DataFrame, name: str) -> pd.Series | None:
    return crimes[name] if name in crimes.columns else None


def _first(*choices: np.ndarray) -> np.ndarray:
    """Element-wise the first non-null of the ``choices``."""
    out = np.array(choices[-1], dtype=object)
    for choice in reversed(choices[:-1]):
        out = np.where(pd.isna(choice), out, choice)
    return out
