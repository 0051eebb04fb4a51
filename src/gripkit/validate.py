"""Shared argument validators: every public function starts with these.

Each raises :class:`~gripkit.errors.InputError` with one format: what was wrong, what was
received, and how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import pyproj

from gripkit.errors import InputError


def positive(name: str, value: Any, unit: str = "", example: str = "") -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise InputError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number > 0 or number == float("inf"):
        suffix = f" {unit}" if unit else ""
        hint = f" Pass a positive number such as {example}." if example else " Pass a positive number."
        raise InputError(f"'{name}' must be > 0{suffix}; received {value!r}.{hint}")
    return number


def fraction(name: str, value: Any, *, inclusive_zero: bool = False) -> float:
    """Return ``value`` as a float in (0, 1] (or [0, 1]), else raise InputError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    low_ok = number >= 0 if inclusive_zero else number > 0
    if not (low_ok and number <= 1):
        raise InputError(
            f"'{name}' must be a fraction between 0 and 1; received {value!r}. Pass e.g. 0.05 for 5%."
        )
    return number


def one_of(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise InputError listing them."""
    options = list(choices)
    if value not in options:
        raise InputError(f"'{name}' must be one of {', '.join(options)}; received {value!r}.")
    return str(value)


def has_columns(frame: pd.DataFrame, columns: Iterable[str], what: str = "frame") -> None:
    """Raise InputError naming the missing columns of ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {', '.join(missing)}; received columns "
            f"{', '.join(map(str, frame.columns))}. Load crimes with gripkit.Workspace.crimes()."
        )


def projected_crs(name: str, crs: Any) -> pyproj.CRS:
    """Return ``crs`` as a pyproj CRS if it is projected (metres), else raise InputError."""
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise InputError(f"'{name}' is not a CRS pyproj understands; received {crs!r}.") from exc
    if not parsed.is_projected:
        raise InputError(
            f"'{name}' must be a projected CRS in metres for distances; received {parsed.to_string()} "
            "(geographic, degrees). Reproject first, e.g. to EPSG:27700 for England and Wales."
        )
    return parsed
