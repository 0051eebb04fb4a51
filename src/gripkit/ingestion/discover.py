"""Find input files: police.uk month folders, bulk zips, single CSVs (optionally gzipped).

Reading is bounded (see docs/ingest.md, "Bad files and limits"): a file, zip member or gzip
stream is read in chunks and refused once it passes :data:`MAX_FILE_BYTES` decompressed, or
:data:`MAX_RATIO` times its compressed size (a zip bomb; only above :data:`RATIO_FLOOR_BYTES`, so
small files of blank lines pass). Paths that are not regular files (a FIFO, ``/dev/zero``, a
socket) are refused without being opened. A zip member is read past the size its directory
entry states, so one whose header understates its size is refused, not cut short. Each problem is
one file's: it is rejected, named, with its cause, and the rest of the batch goes on.
"""

from __future__ import annotations

import copy
import gzip
import io
import os
import re
import stat
import threading
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gripkit.errors import InputError

#: ``2023-05-bedfordshire-street.csv`` -> month, force slug, kind.
POLICE_UK_NAME = re.compile(
    r"(?P<month>\d{4}-\d{2})-(?P<force>.+?)-(?P<kind>street|outcomes|stop-and-search)\.csv(\.gz)?$",
    re.IGNORECASE,
)
KIND_ORDER = {"street": 0, "outcomes": 1, "stop-and-search": 2}
#: Largest file (decompressed) ingested: 512 MiB. The largest police.uk month file (the
#: Metropolitan Police's street crimes) is about 30 MB; the parser holds a file in memory.
MAX_FILE_BYTES = 512 * 1024 * 1024
#: Largest decompressed / compressed size ratio of a zip member or gzip file (police.uk CSVs
#: compress 4-15 times); above it, and above :data:`RATIO_FLOOR_BYTES`, the file is a zip bomb.
MAX_RATIO = 100
#: Decompressed size below which any ratio is accepted (16 MiB).
RATIO_FLOOR_BYTES = 16 * 1024 * 1024
_CHUNK = 1 << 20
_ZIP_ENCRYPTED = 0x1
#: Open archives per thread, reused for every member (re-reading a zip's directory per member
#: made a 10,000-member zip quadratic).
_ARCHIVES_PER_THREAD = 4
_local = threading.local()


def _mib(n: float) -> str:
    return f"{n / 1024 / 1024:,.0f} MiB"


def _too_big(display: str, size: float, compressed: int | None) -> InputError | None:
    """The error for a file of ``size`` bytes decompressed from ``compressed``, if over a limit."""
    if size > MAX_FILE_BYTES:
        return InputError(
            f"{display}: decompresses to more than {_mib(MAX_FILE_BYTES)} (the limit per file; read "
            f"{_mib(size)} so far{f' from {compressed:,} bytes' if compressed else ''}). Split it into "
            "smaller files (police.uk publishes one per force and month)."
        )
    if compressed and size > RATIO_FLOOR_BYTES and size > MAX_RATIO * compressed:
        return InputError(
            f"{display}: refused as a zip bomb: {compressed:,} compressed bytes expand to more than "
            f"{_mib(size)} (ratio {size / compressed:,.0f}; the limit is {MAX_RATIO} above "
            f"{_mib(RATIO_FLOOR_BYTES)}). Check where the archive came from."
        )
    return None


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_bounded(stream: _Readable, display: str, compressed: int | None, stated: int | None = None) -> bytes:
    """Read ``stream`` to its end in chunks, refusing it once over a limit (:func:`_too_big`), or
    once past the ``stated`` size of its zip directory entry (a header that understates it)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        error = _too_big(display, size, compressed)
        if error is not None:
            raise error
        if stated is not None and size > stated:
            raise InputError(
                f"{display}: refused: the zip member holds more than the {stated:,} bytes its header "
                "states (a damaged or crafted archive; a zip bomb hides its size this way). Download "
                "it again from its source."
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _member_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo, display: str) -> bytes:
    """A zip member's bytes, streamed within the limits, checked against its directory entry.

    :mod:`zipfile` stops reading a member at the size its header states, so a header that
    understates it would cut the data short silently (with a CRC-32 made to match the cut). The
    member is read through a copy of its entry that states one byte more and has no CRC-32, so
    that data beyond the stated size is seen (:func:`read_bounded` refuses it); the length and
    CRC-32 are then checked here.
    """
    probe = copy.copy(info)
    probe.file_size = info.file_size + 1
    del probe.CRC  # zipfile would check the longer data against it; checked below instead
    with archive.open(probe) as member:
        data = read_bounded(member, display, info.compress_size, stated=info.file_size)
    if len(data) < info.file_size:
        raise zipfile.BadZipFile(
            f"member {info.filename!r} holds {len(data):,} bytes, its header states {info.file_size:,}"
        )
    if zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
    return data


def _archive(path: str) -> zipfile.ZipFile:
    """An open :class:`zipfile.ZipFile` of ``path`` for this process and thread (cached)."""
    cache: OrderedDict[tuple[int, str], zipfile.ZipFile] | None = getattr(_local, "archives", None)
    if cache is None:
        cache = _local.archives = OrderedDict()
    key = (os.getpid(), path)  # a forked worker opens its own (the parent's file offset is shared)
    archive = cache.get(key)
    if archive is None:
        archive = zipfile.ZipFile(path)
        cache[key] = archive
        while len(cache) > _ARCHIVES_PER_THREAD:
            (owner, _), old = cache.popitem(last=False)
            if owner == os.getpid():
                old.close()
    cache.move_to_end(key)
    return archive


def not_regular(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file (FIFO, device, socket), without opening it; or None."""
    mode = path.stat().st_mode
    if stat.S_ISREG(mode):
        return None
    what = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a character device"
        if stat.S_ISCHR(mode)
        else "a block device"
        if stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a directory"
        if stat.S_ISDIR(mode)
        else "not a regular file"
    )
    return f"{what}, not a regular file; refused unread. Copy its content into a file and ingest that."


@dataclass(frozen=True)
class InputFile:
    """One CSV to ingest, wherever it lives (plain file, gzip, or zip member); picklable.

    ``path`` is the file on disk (the archive for a zip member, named by ``member``); ``size``
    its size in bytes as stored (uncompressed for a zip member); ``stamp`` what changes when its
    content does, cheaply: ``size:mtime_ns`` of a file, ``size:crc32`` of a zip member.
    ``problem`` says why it is refused unread (not a regular file, an unreadable archive).
    """

    display: str
    name: str
    path: str
    member: str | None = None
    size: int = 0
    stamp: str = ""
    problem: str | None = None

    def read(self) -> bytes:
        """The file's bytes (a ``.gz`` file or member decompressed), read within the limits.

        Raises
        ------
        InputError
            If the file is refused (``problem``), over :data:`MAX_FILE_BYTES` or a zip bomb.
        OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError
            If the file or archive cannot be read (:func:`describe_read_error` puts it in words).
        """
        if self.problem is not None:
            raise InputError(f"{self.display}: {self.problem}")
        gz = (self.member or self.path).lower().endswith(".gz")
        if self.member is None:
            path = Path(self.path)
            problem = not_regular(path)  # checked again: it may have changed since discovered
            if problem is not None:
                raise InputError(f"{self.display}: {problem}")
            with path.open("rb") as raw:
                compressed = os.fstat(raw.fileno()).st_size
                if not gz:
                    data = raw.read(MAX_FILE_BYTES + 1)
                    error = _too_big(self.display, len(data), None)
                    if error is not None:
                        raise error
                    return data
                with gzip.GzipFile(fileobj=raw) as stream:
                    return read_bounded(stream, self.display, compressed)
        archive = _archive(self.path)
        info = archive.getinfo(self.member)
        if info.flag_bits & _ZIP_ENCRYPTED:
            raise InputError(
                f"{self.display}: the zip member is encrypted (password-protected); "
                "extract it with its password and ingest the CSV."
            )
        declared = _too_big(self.display, info.file_size, info.compress_size if not gz else None)
        if declared is not None:
            raise declared  # refused from the zip's directory, before decompressing anything
        data = _member_bytes(archive, info, self.display)
        if not gz:
            return data
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:  # a .csv.gz member: gzip, streamed
            return read_bounded(stream, self.display, info.compress_size)

    @property
    def name_kind(self) -> str | None:
        """The police.uk kind given by the file name, if it follows the naming scheme."""
        match = POLICE_UK_NAME.search(self.name)
        return match.group("kind").lower() if match else None


def describe_read_error(exc: BaseException) -> str:
    """A read failure of one file in words (the exception's own text kept in brackets)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, EOFError):
        return f"the compressed data is truncated: it ends before its end-of-stream marker ({text})"
    if isinstance(exc, gzip.BadGzipFile):
        return f"it is named .gz but is not gzip data ({text})"
    if isinstance(exc, zlib.error):
        return f"the compressed data is damaged ({text})"
    if isinstance(exc, zipfile.BadZipFile):
        return f"the zip archive is damaged ({text})"
    if isinstance(exc, NotImplementedError):
        return f"the zip member uses a compression method Python cannot read ({text}); re-zip it with deflate"
    if isinstance(exc, RuntimeError) and "encrypt" in text.lower():
        return f"the zip member is encrypted ({text})"
    if isinstance(exc, PermissionError):
        return f"permission denied ({text}); check the file's permissions"
    if isinstance(exc, OSError):
        return f"cannot read the file ({text})"
    return f"{type(exc).__name__}: {text}"


def _zip_members(path: Path) -> list[InputFile]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        problem = f"not a readable zip archive ({exc}); the other inputs are read. Download it again."
        return [InputFile(str(path), path.name, str(path), problem=problem)]
    with archive:
        return [
            InputFile(
                f"{path}!{info.filename}",
                Path(info.filename).name,
                str(path),
                info.filename,
                info.file_size,
                f"{info.file_size}:{info.CRC:08x}",
            )
            for info in archive.infolist()
            if not info.is_dir() and _is_csv(info.filename)
        ]


def _plain(path: Path) -> InputFile:
    try:
        stat_ = path.stat()
        problem = not_regular(path)
    except OSError as exc:  # a broken link in a folder, a file gone since listed
        return InputFile(str(path), path.name, str(path), problem=describe_read_error(exc))
    return InputFile(
        str(path),
        path.name,
        str(path),
        size=stat_.st_size if problem is None else 0,
        stamp=f"{stat_.st_size}:{stat_.st_mtime_ns}" if problem is None else "",
        problem=problem,
    )


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
                if child.is_dir():
                    continue
                if _is_csv(child.name):
                    found.append(_plain(child))  # a FIFO named .csv is refused, named
                elif child.suffix.lower() == ".zip":
                    found.extend(_zip_members(child) if child.is_file() else [_plain(child)])
        elif path.suffix.lower() == ".zip" and path.is_file():
            found.extend(_zip_members(path))
        else:
            found.append(_plain(path))
    if not found:
        raise InputError(
            f"no CSV files found under {', '.join(map(str, paths))}. Expected police.uk month folders, "
            "bulk zip archives or *-street.csv files."
        )
    return sorted(found, key=lambda f: (KIND_ORDER.get(f.name_kind or "", 3), f.name, f.display))
