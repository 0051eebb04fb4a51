"""Place records that carry only a postcode: OS Code-Point Open postcode centres (EPSG:27700).

Code-Point Open is Ordnance Survey's open file of the centre of every postcode unit in Great
Britain (Open Government Licence). It is not bundled with gripkit: a user passes their own copy,
``codepo_gb.zip`` as OS publishes it (``Data/CSV/<area>.csv`` without headers: Postcode,
Positional_quality_indicator, Eastings, Northings, ...), or one of its CSVs. Only the areas a
file's postcodes need are read (``LU``, ``MK``... of Bedfordshire: a few MB, not 160).

A postcode is matched after upper-casing and removing spaces (``lu1 1aa`` = ``LU1 1AA``);
nothing else is guessed. Positional quality 90 means OS has no coordinates for it: such a
postcode is unplaceable (see docs/ed.md).

Example
-------
>>> from gripkit.ingestion.postcodes import postcode_key
>>> postcode_key(" lu1  1aa "), postcode_key("LU11AA"), postcode_key("not a postcode")
('LU11AA', 'LU11AA', None)
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from gripkit.errors import InputError

#: a UK postcode written any way (outward code, optional space, inward code), spaces removed
POSTCODE = re.compile(r"^([A-Z]{1,2})[0-9][0-9A-Z]?[0-9][A-Z]{2}$")
#: Code-Point Open's quality indicator for a postcode with no coordinates
NO_COORDINATES_QUALITY = 90
_NAMES = ["postcode", "quality", "x", "y"]


def postcode_key(text: object) -> str | None:
    """The postcode upper-cased without spaces if it looks like a UK postcode, else None."""
    if text is None:
        return None
    key = re.sub(r"\s+", "", str(text)).upper()
    return key if POSTCODE.match(key) else None


def _area(key: str) -> str:
    match = POSTCODE.match(key)
    assert match is not None
    return match.group(1).lower()


def _read_csv(data: bytes, display: str) -> pa.Table:
    """One Code-Point Open CSV (headerless, or with a header row starting ``Postcode``)."""
    first = data[:64].lstrip(b"\xef\xbb\xbf").lstrip(b'"').lower()
    skip = 1 if first.startswith(b"postcode") else 0
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, skip_rows=skip),
            convert_options=pacsv.ConvertOptions(
                include_columns=["f0", "f1", "f2", "f3"],
                column_types={"f0": pa.string(), "f1": pa.int32(), "f2": pa.float64(), "f3": pa.float64()},
            ),
        )
    except (pa.ArrowInvalid, KeyError) as exc:
        raise InputError(
            f"{display} is not a Code-Point Open file (Postcode, quality, Eastings, Northings...): "
            f"{exc}. Pass OS Code-Point Open (codepo_gb.zip, or one of its Data/CSV files) with --postcodes."
        ) from exc
    return table.rename_columns(_NAMES)


class PostcodeIndex:
    """Postcode centres from a Code-Point Open zip or CSV, read per postcode area on demand."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(
                f"--postcodes must be a Code-Point Open file (codepo_gb.zip or a CSV); received "
                f"{str(path)!r}, which is not a file. Download Code-Point Open from the OS Data Hub."
            )
        self._zip = zipfile.is_zipfile(self.path)
        self._areas: dict[str, dict[str, tuple[int, float, float]]] = {}
        if self._zip:
            with zipfile.ZipFile(self.path) as archive:
                self._members = {
                    Path(n).stem.lower(): n
                    for n in archive.namelist()
                    if n.lower().startswith("data/csv/") and n.lower().endswith(".csv")
                }
            if not self._members:
                raise InputError(
                    f"{self.path} is a zip without Data/CSV/<area>.csv members, so not OS Code-Point Open "
                    "as published; pass codepo_gb.zip as downloaded (or one of its CSVs)."
                )
        else:
            self._areas["*"] = self._lookup(_read_csv(self.path.read_bytes(), str(self.path)))

    @staticmethod
    def _lookup(table: pa.Table) -> dict[str, tuple[int, float, float]]:
        keys = pc.utf8_upper(pc.replace_substring(table["postcode"], " ", "")).to_pylist()
        quality = table["quality"].to_numpy(zero_copy_only=False)
        x = table["x"].to_numpy(zero_copy_only=False)
        y = table["y"].to_numpy(zero_copy_only=False)
        return {k: (int(q), float(a), float(b)) for k, q, a, b in zip(keys, quality, x, y, strict=True) if k}

    def _area_table(self, area: str) -> dict[str, tuple[int, float, float]]:
        if not self._zip:
            return self._areas["*"]
        if area not in self._areas:
            member = self._members.get(area)
            if member is None:
                self._areas[area] = {}
            else:
                with zipfile.ZipFile(self.path) as archive:
                    self._areas[area] = self._lookup(_read_csv(archive.read(member), f"{self.path}:{member}"))
        return self._areas[area]

    def locate(self, keys: Iterable[str | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, y, found)`` for normalised keys (:func:`postcode_key`): NaN and False where a key is
        None, not in the file, or has no coordinates (quality 90)."""
        keys = list(keys)
        x = np.full(len(keys), np.nan)
        y = np.full(len(keys), np.nan)
        for i, key in enumerate(keys):
            if key is None:
                continue
            hit = self._area_table(_area(key)).get(key)
            if hit is not None and hit[0] != NO_COORDINATES_QUALITY:
                x[i], y[i] = hit[1], hit[2]
        return x, y, np.isfinite(x)


@lru_cache(maxsize=4)
def postcode_index(path: str) -> PostcodeIndex:
    """A cached :class:`PostcodeIndex` of ``path`` (one per process)."""
    return PostcodeIndex(path)
