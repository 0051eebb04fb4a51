"""Place records whose location is free text: an exact match in a user's gazetteer CSV.

The gazetteer is a CSV with a header ``name,x,y`` (x, y: British National Grid, EPSG:27700
metres), e.g. a VRU's list of town-centre venues. A record's text matches a name when both are
equal after :func:`normalise_place` (case folded, punctuation and runs of spaces made one space,
``&`` read as ``and``); nothing else is guessed: no fuzzy matching, no partial names. A name listed
twice with different coordinates is *ambiguous*: a record naming it is quarantined, not placed
at one of them.

Example
-------
>>> normalise_place("  The  Mall, LUTON! "), normalise_place("Bar & Grill")
('the mall luton', 'bar and grill')
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from gripkit.errors import InputError
from gripkit.ingestion.checks import EW_BOUNDS_BNG

_PUNCT = re.compile(r"[^\w]+")


def normalise_place(text: object) -> str:
    """``text`` case-folded, ``&`` as ``and``, punctuation and white space runs as one space."""
    folded = str(text).casefold().replace("&", " and ")
    return " ".join(_PUNCT.sub(" ", folded).replace("_", " ").split())


@dataclass(frozen=True)
class Gazetteer:
    """Normalised place name -> ``(x, y, name as listed)``; names listed with two places are ambiguous."""

    path: str
    places: dict[str, tuple[float, float, str]]
    ambiguous: dict[str, int]

    @classmethod
    def read(cls, path: str | Path) -> Gazetteer:
        """Read a ``name,x,y`` CSV; an :class:`InputError` names the line and what is wrong."""
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the gazetteer {path}: {exc}. Pass a UTF-8 CSV name,x,y.") from exc
        rows = list(csv.reader(text.splitlines()))
        header = [h.strip().casefold() for h in rows[0]] if rows else []
        if header[:3] != ["name", "x", "y"]:
            raise InputError(
                f"the gazetteer {path} must start with the header name,x,y (x, y in EPSG:27700 metres); "
                f"received {rows[0] if rows else 'an empty file'}."
            )
        found: dict[str, set[tuple[float, float]]] = {}
        listed: dict[str, str] = {}
        x0, y0, x1, y1 = EW_BOUNDS_BNG
        for number, row in enumerate(rows[1:], start=2):
            if not any(cell.strip() for cell in row):
                continue
            try:
                name, x, y = row[0], float(row[1]), float(row[2])
            except (IndexError, ValueError):
                raise InputError(
                    f"the gazetteer {path}, line {number}: expected name,x,y (numbers x, y); got {row}."
                ) from None
            if not (x0 <= x <= x1 and y0 <= y <= y1) or not normalise_place(name):
                raise InputError(
                    f"the gazetteer {path}, line {number}: {name!r} at ({x}, {y}) is not a named place in "
                    "England and Wales in EPSG:27700 metres (eastings/northings). Fix the line."
                )
            key = normalise_place(name)
            found.setdefault(key, set()).add((x, y))
            listed.setdefault(key, name.strip())
        places = {k: (*next(iter(v)), listed[k]) for k, v in found.items() if len(v) == 1}
        ambiguous = {k: len(v) for k, v in found.items() if len(v) > 1}
        return cls(str(path), places, ambiguous)

    def match(self, texts: list[object]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(x, y, name, status)`` per text; status ``"found"``, ``"ambiguous"`` or ``"unknown"``."""
        n = len(texts)
        x, y = np.full(n, np.nan), np.full(n, np.nan)
        name = np.full(n, None, dtype=object)
        status = np.full(n, "unknown", dtype=object)
        for i, text in enumerate(texts):
            key = normalise_place(text) if text is not None else ""
            if key in self.places:
                x[i], y[i], name[i] = self.places[key]
                status[i] = "found"
            elif key in self.ambiguous:
                status[i] = "ambiguous"
        return x, y, name, status


@lru_cache(maxsize=4)
def gazetteer(path: str) -> Gazetteer:
    """A cached :class:`Gazetteer` of ``path`` (one per process)."""
    return Gazetteer.read(path)
