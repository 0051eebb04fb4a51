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

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.units.base import Units
from gripkit.units.grid import GridUnits

_G, _UNDERSCORE, _MINUS, _ZERO = ord("g"), ord("_"), ord("-"), ord("0")
#: Longest number (in characters, sign included) parsed exactly through float64 sums.
_MAX_DIGITS = 15
_POWERS = 10 ** np.arange(_MAX_DIGITS + 1, dtype=np.int64)


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
    """``(col, row)`` of ids that all read ``g{col}_{row}`` canonically, else None."""
    try:
        array = pa.array(ids.array) if isinstance(ids.dtype, pd.StringDtype) else pa.array(ids)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return None
    array = array.cast(pa.large_string())
    n = len(array)
    if n == 0 or array.null_count:
        return None
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + n + 1]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
    start, end = offsets[:-1], offsets[1:]
    data = data[start[0] : end[-1]]
    start, end = start - start[0], end - start[0]
    length = end - start
    if length.min() < 4 or length.max() > 2 * _MAX_DIGITS + 2 or (data[start] != _G).any():
        return None
    # find the one "_" of each id, scanning all ids one character position at a time
    underscores = np.zeros(n, dtype=np.int64)
    underscore = np.zeros(n, dtype=np.int64)
    for k in range(1, int(length.max())):
        hit = (k < length) & (data[np.minimum(start + k, len(data) - 1)] == _UNDERSCORE)
        underscores += hit
        underscore[hit] = start[hit] + k
    if (underscores != 1).any():
        return None
    cols = _parse_field(data, start + 1, underscore)
    rows = _parse_field(data, underscore + 1, end)
    if cols is None or rows is None:
        return None
    return cols, rows


def _parse_field(data: np.ndarray, first: np.ndarray, stop: np.ndarray) -> np.ndarray | None:
    """Canonical signed integers written in ``data[first[i]:stop[i]]`` for every i, else None."""
    width = stop - first
    if width.min() < 1 or width.max() > _MAX_DIGITS:
        return None
    negative = data[first] == _MINUS
    digits = width - negative
    if digits.min() < 1:
        return None
    value = np.zeros(len(first), dtype=np.int64)
    for k in range(int(digits.max())):  # k-th digit from the right
        take = k < digits
        digit = data[np.where(take, stop - 1 - k, first)].astype(np.int64) - _ZERO
        if ((digit < 0) | (digit > 9))[take].any():
            return None
        value += np.where(take, digit, 0) * _POWERS[k]
    # canonical: the written width equals the width of the number (no leading zeros, no "-0")
    written = np.maximum(np.searchsorted(_POWERS, value, side="right"), 1)
    if (written != digits).any() or (negative & (value == 0)).any():
        return None
    return np.where(negative, -value, value)
