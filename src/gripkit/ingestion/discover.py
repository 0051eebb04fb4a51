"""Find input files: police.uk month folders, bulk zips, single CSVs (optionally gzipped)."""

from __future__ import annotations

import gzip
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gripkit.errors import InputError

#: ``2023-05-bedfordshire-street.csv`` -> month, force slug, kind.
POLICE_UK_NAME = re.compile(
    r"(?P<month>\d{4}-\d{2})-(?P<force>.+?)-(?P<kind>street|outcomes|stop-and-search)\.csv(\.gz)?$",
    re.IGNORECASE,
)
KIND_ORDER = {"street": 0, "outcomes": 1, "stop-and-search": 2}


@dataclass(frozen=True)
class InputFile:
    """One CSV to ingest, wherever it lives (plain file, gzip, or zip member); picklable.

    ``path`` is the file on disk (the archive for a zip member, named by ``member``); ``size``
    its size in bytes as stored (uncompressed for a zip member); ``stamp`` what changes when its
    content does, cheaply: ``size:mtime_ns`` of a file, ``size:crc32`` of a zip member.
    """

    display: str
    name: str
    path: str
    member: str | None = None
    size: int = 0
    stamp: str = ""

    def read(self) -> bytes:
        """The file's bytes (a ``.gz`` file or member decompressed)."""
        if self.member is None:
            data = Path(self.path).read_bytes()
        else:
            with zipfile.ZipFile(self.path) as archive:
                data = archive.read(self.member)
        return gzip.decompress(data) if (self.member or self.path).lower().endswith(".gz") else data

    @property
    def name_kind(self) -> str | None:
        """The police.uk kind given by the file name, if it follows the naming scheme."""
        match = POLICE_UK_NAME.search(self.name)
        return match.group("kind").lower() if match else None


def _zip_members(path: Path) -> list[InputFile]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{path} is not a readable zip archive ({exc}).") from exc
    with archive:
        return [
            InputFile(f"{path}!{info.filename}", Path(info.filename).name, str(path), info.filename,
                      info.file_size, f"{info.file_size}:{info.CRC:08x}")
            for info in archive.infolist()
            if not info.is_dir() and _is_csv(info.filename)
        ]


def _plain(path: Path) -> InputFile:
    stat = path.stat()
    return InputFile(str(path), path.name, str(path), size=stat.st_size,
                     stamp=f"{stat.st_size}:{stat.st_mtime_ns}")


def _is_csv(name: str) -> bool:
    lower = name.lower()
    return lower.endswith((".csv", ".csv.gz")) and not Path(lower).name.startswith(("._", "~$"))


def discover(paths: Iterable[str | Path]) -> list[InputFile]:
    """Expand folders (recursively) and zips into CSV files, street files first.

    Raises
    ------
    InputError
        If a path does not exist, or nothing CSV-like is found under any path.
    """
    found: list[InputFile] = []
    for raw in paths:
        # absolute, so a file's recorded path (and its stamp's key) is the same from any directory
        path = Path(raw).absolute()
        if not path.exists():
            raise InputError(f"no such file or folder: {raw}. Check the path.")
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and _is_csv(child.name):
                    found.append(_plain(child))
                elif child.is_file() and child.suffix.lower() == ".zip":
                    found.extend(_zip_members(child))
        elif path.suffix.lower() == ".zip":
            found.extend(_zip_members(path))
        else:
            found.append(_plain(path))
    if not found:
        raise InputError(
            f"no CSV files found under {', '.join(map(str, paths))}. Expected police.uk month folders, "
            "bulk zip archives or *-street.csv files."
        )
    return sorted(found, key=lambda f: (KIND_ORDER.get(f.name_kind or "", 3), f.name, f.display))
