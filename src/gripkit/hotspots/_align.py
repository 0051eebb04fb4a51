"""Match the rows of a hotspot frame to units in frame order, by ``unit_id``.

Hashing hundreds of thousands of strings costs most of a Gi* run on a fine grid, so grid ids
(``g{col}_{row}``) are parsed straight from the Arrow string buffers with NumPy instead. Only
canonical ids are accepted on that path (no leading zeros, no ``-0``, nothing else), so it matches
exactly the ids that a string comparison would; anything else falls back to the general lookup.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.units.base import Units
from gripkit.units.grid import GridUnits

_G, _UNDERSCORE, _MINUS, _ZERO = ord("g"), ord("_"), ord("-"), ord("0")
#: 1, 10, ..., 10**18: the number of these <= |v| is the number of digits of v (v != 0).
_POWERS = 10 ** np.arange(19, dtype=np.int64)


def unit_positions(ids: pd.Series, units: Units) -> np.ndarray:
    """Position in ``units.frame`` order of each id; InputError unless ids are the units, once each.

    Examples
    --------
    >>> from gripkit.units import GridUnits
    >>> units = GridUnits(100, (0, 0, 199, 199))  # frame order g0_0, g1_0, g0_1, g1_1
    >>> unit_positions(pd.Series(["g1_1", "g0_0", "g0_1", "g1_0"], dtype="string"), units).tolist()
    [3, 0, 2, 1]
    """
    if isinstance(units, GridUnits):
        found = _grid_positions(ids, units)
        if found is not None:
            return found
    known = pd.Index(units.frame[col.UNIT_ID].astype(object))
    given = ids.astype(object)
    position = known.get_indexer(given)
    if (position < 0).any() or given.duplicated().any() or len(given) != len(known):
        unknown = given[position < 0]
        raise InputError(
            f"hotspots must hold each of the {len(known)} units exactly once; received {len(given)} "
            f"rows with {len(unknown)} unknown id(s) (e.g. {', '.join(map(str, unknown[:3]))}) and "
            f"{int(given.duplicated().sum())} duplicate(s). Pass count(crimes, units) for these units, "
            "unfiltered."
        )
    return position


def _grid_positions(ids: pd.Series, units: GridUnits) -> np.ndarray | None:
    """Frame positions of canonical grid ids forming a permutation of the cells, else None."""
    parsed = _parse_grid_ids(ids)
    if parsed is None:
        return None
    cols, rows = parsed
    rows, cols = rows - units._row0, cols - units._col0
    n = len(units)
    inside = (cols >= 0) & (cols < units.n_cols) & (rows >= 0) & (rows < units.n_rows)
    if len(cols) != n or not inside.all():
        return None
    position = units._position[rows * units.n_cols + cols]
    if (position < 0).any() or np.bincount(position, minlength=n).max(initial=0) > 1:
        return None
    return position


def _parse_grid_ids(ids: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``(col, row)`` of ids that all read ``g{col}_{row}`` canonically, else None.

    The bytes are rewritten so that each id becomes two integers Arrow can cast in C++:
    ``g-12_345`` -> ``-012`` and ``0345``. The written widths are then checked against the
    numbers, which rejects leading zeros, ``-0`` and any id a string comparison would not match.
    """
    array = _large_strings(ids)
    if array is None:
        return None
    n = len(array)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + n + 1]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].copy()
    start, end = offsets[:-1] - offsets[0], offsets[1:] - offsets[0]
    underscore = np.flatnonzero(data == _UNDERSCORE)
    # n sorted underscores, each strictly inside its own id: exactly one per id, both fields non-empty
    if len(underscore) != n or ((underscore <= start + 1) | (underscore >= end - 1)).any():
        return None
    if (data[start] != _G).any():
        return None
    negative = []
    for lead in (start, underscore):  # "g" / "_" become the sign, or a harmless leading zero
        minus = data[lead + 1] == _MINUS
        data[lead] = np.where(minus, _MINUS, _ZERO)
        data[lead[minus] + 1] = _ZERO
        negative.append(minus)
    bounds = np.empty(2 * n + 1, dtype=np.int64)
    bounds[0:-1:2], bounds[1:-1:2], bounds[-1] = start, underscore, end[-1]
    fields = pa.LargeStringArray.from_buffers(2 * n, pa.py_buffer(bounds), pa.py_buffer(data))
    try:
        values = pc.cast(fields, pa.int64()).to_numpy()
    except pa.ArrowException:
        return None
    cols, rows = values[0::2], values[1::2]
    widths = (underscore - start - 1, end - underscore - 1)
    for value, minus, width in zip((cols, rows), negative, widths, strict=True):
        written = np.maximum(np.searchsorted(_POWERS, np.abs(value), side="right"), 1) + minus
        if (written != width).any() or (minus & (value == 0)).any():
            return None
    return cols, rows


def _large_strings(ids: pd.Series) -> pa.LargeStringArray | None:
    """The ids as one Arrow large_string array without nulls, or None."""
    try:
        array = pa.array(ids.array) if isinstance(ids.dtype, pd.StringDtype) else pa.array(ids)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return None
    if not pa.types.is_large_string(array.type):
        array = array.cast(pa.large_string())
    if len(array) == 0 or array.null_count:
        return None
    return array
