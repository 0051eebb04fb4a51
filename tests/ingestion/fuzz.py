"""A corpus of broken inputs built from the real Bedfordshire police.uk files (not a test module).

Each *kind* of damage found by fuzzing the ingest (CR in a header, CR-only line ends, a field over
128 KiB, zip/gzip damage, encrypted or unsupported members, truncated gzip, impossible months, a
zip bomb, many members, a FIFO, ``/dev/zero``...) has a maker here that writes one broken input
from a real month file and says what ingest must do with it (:class:`Case`). The suite runs each
kind once beside four good month files (tests/ingestion/test_bad_files.py); tests/stress/run_fuzz.py
runs many random combinations.

Every byte of a case comes from a real file (police.uk, Open Government Licence v3.0); only the
damage is made here.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Months whose street files are the good files of a batch; the broken ones use later months.
GOOD_MONTHS = ("2021-05", "2021-06", "2021-07", "2021-08")
FORCE = "bedfordshire"


@dataclass(frozen=True)
class Case:
    """One broken input and what ingest must do with it.

    ``outcome``: ``"rejected"`` (the file is rejected whole; its reason matches ``cause``),
    ``"loaded"`` (read as a spreadsheet would; ``rows`` rows loaded if given) or ``"bad_month"``
    (loaded, with ``rows`` rows quarantined as ``bad_month``). ``paths`` are given to ingest.
    """

    kind: str
    paths: tuple[Path, ...]
    outcome: str
    cause: str = ""
    rows: int | None = None


class Corpus:
    """Real month files from the Bedfordshire zip, and makers of broken inputs in ``folder``."""

    def __init__(self, bedfordshire_zip: Path, folder: Path) -> None:
        self.zip = Path(bedfordshire_zip)
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._cache: dict[str, bytes] = {}

    def month(self, month: str, kind: str = "street") -> bytes:
        """The real ``YYYY-MM-bedfordshire-<kind>.csv`` bytes."""
        name = f"{month}/{month}-{FORCE}-{kind}.csv"
        if name not in self._cache:
            with zipfile.ZipFile(self.zip) as archive:
                self._cache[name] = archive.read(name)
        return self._cache[name]

    def rows(self, month: str) -> int:
        """Data rows of a real street file (lines after the header)."""
        return self.month(month).rstrip(b"\n").count(b"\n")

    def write(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def good(self) -> list[Path]:
        """The four good street files of a batch, written as plain CSVs."""
        return [self.write(f"good/{m}-{FORCE}-street.csv", self.month(m)) for m in GOOD_MONTHS]

    def make(self, kind: str, month: str = "2021-09") -> Case:
        """The broken input of ``kind`` (a key of :data:`KINDS`) built from ``month``'s file."""
        return KINDS[kind](self, month)


def _name(month: str, suffix: str = "") -> str:
    return f"broken/{month}-{FORCE}-street.csv{suffix}"


def _header_end(data: bytes) -> int:
    return data.index(b"\n")


def cr_in_header(c: Corpus, month: str) -> Case:
    """A CR inside the header (after "Crime type"): a spreadsheet ends the line there, as ingest does."""
    data = c.month(month)
    data = data.replace(b"Crime type,", b"Crime type\r,", 1)
    # the header ends at the CR: rows with empty trailing fields load, the others are malformed
    return Case("cr_in_header", (c.write(_name(month), data),), "loaded")


def cr_only(c: Corpus, month: str) -> Case:
    """CR-only line ends ("CSV (Macintosh)"): every row loads as from the original."""
    data = c.month(month).replace(b"\r\n", b"\n").replace(b"\n", b"\r")
    return Case("cr_only", (c.write(_name(month), data),), "loaded")


def huge_field(c: Corpus, month: str) -> Case:
    """A 200 KiB field in a row (over Python's 128 KiB csv field limit) and a blank line."""
    lines = c.month(month).split(b"\n")
    lines[3] = lines[3].replace(b"On or near", b"On or near " + b"x" * 200_000, 1)
    lines.insert(5, b"")  # a blank line: read line by line, where the field limit applies
    return Case("huge_field", (c.write(_name(month), b"\n".join(lines)),), "loaded")


def _zipped(c: Corpus, month: str, name: str, method: int = zipfile.ZIP_DEFLATED) -> tuple[Path, bytes]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        archive.writestr(f"{month}/{month}-{FORCE}-street.csv", c.month(month))
    return c.folder / name, buffer.getvalue()


def _local_header(data: bytes) -> tuple[int, int]:
    """(offset of the compressed data, its size) of the zip's first member (local header layout)."""
    assert data[:4] == b"PK\x03\x04"
    size, name_len, extra_len = struct.unpack("<I4xHH", data[18:30])
    return 30 + name_len + extra_len, size


def bad_crc(c: Corpus, month: str) -> Case:
    """A zip member whose stored CRC-32 does not match its content."""
    path, data = _zipped(c, month, "broken/bad-crc.zip")
    raw = bytearray(data)
    for at in (14, data.index(b"PK\x01\x02") + 16):  # the CRC in the local and central headers
        raw[at] ^= 0xFF
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(raw))
    return Case("bad_crc", (path,), "rejected", "damaged.*CRC")


def bad_deflate(c: Corpus, month: str) -> Case:
    """A zip member whose deflate stream is damaged in the middle."""
    path, data = _zipped(c, month, "broken/bad-deflate.zip")
    start, size = _local_header(data)
    raw = bytearray(data)
    for at in range(start + size // 2, start + size // 2 + 64):
        raw[at] = 0xFF
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(raw))
    return Case("bad_deflate", (path,), "rejected", "damaged|CRC")


def _flag(c: Corpus, month: str, name: str, *, bits: int = 0, method: int | None = None) -> Path:
    path, data = _zipped(c, month, name)
    raw = bytearray(data)
    central = data.index(b"PK\x01\x02")
    for flag_at, method_at in ((6, 8), (central + 8, central + 10)):
        raw[flag_at] |= bits
        if method is not None:
            raw[method_at:method_at + 2] = struct.pack("<H", method)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(raw))
    return path


def encrypted(c: Corpus, month: str) -> Case:
    """A zip member flagged as encrypted (password-protected)."""
    return Case("encrypted", (_flag(c, month, "broken/encrypted.zip", bits=0x1),), "rejected", "encrypted")


def unsupported(c: Corpus, month: str) -> Case:
    """A zip member compressed with a method Python cannot read (Deflate64, method 9)."""
    path = _flag(c, month, "broken/deflate64.zip", method=9)
    return Case("unsupported", (path,), "rejected", "compression method")


def truncated_gzip(c: Corpus, month: str) -> Case:
    """A ``.csv.gz`` cut in half (a download stopped early)."""
    data = gzip.compress(c.month(month))
    return Case("truncated_gzip", (c.write(_name(month, ".gz"), data[: len(data) // 2]),), "rejected",
                "truncated")


def not_gzip(c: Corpus, month: str) -> Case:
    """A plain CSV named ``.csv.gz``."""
    return Case("not_gzip", (c.write(_name(month, ".gz"), c.month(month)),), "rejected", "not gzip")


def truncated_zip(c: Corpus, month: str) -> Case:
    """A zip archive cut before its central directory."""
    path, data = _zipped(c, month, "broken/truncated.zip")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: len(data) // 2])
    return Case("truncated_zip", (path,), "rejected", "not a readable zip")


def month_zero(c: Corpus, month: str) -> Case:
    """Three rows of month ``0000-01`` (and one of ``2999-01``) among good rows."""
    lines = c.month(month).split(b"\n")
    for i in (1, 2, 3):
        lines[i] = lines[i].replace(f",{month},".encode(), b",0000-01,", 1)
    lines[4] = lines[4].replace(f",{month},".encode(), b",2999-01,", 1)
    return Case("month_zero", (c.write(_name(month), b"\n".join(lines)),), "bad_month", rows=4)


def zip_bomb(c: Corpus, month: str, size: int = 40 * 1024 * 1024) -> Case:
    """A zip member of ``size`` bytes (one real row repeated) that compresses ~1,000 times."""
    data = c.month(month)
    header, row = data[: _header_end(data) + 1], data.split(b"\n")[1] + b"\n"
    body = header + row * (size // len(row))
    path = c.folder / "broken/bomb.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{month}/{month}-{FORCE}-street.csv", body)
    return Case("zip_bomb", (path,), "rejected", "zip bomb")


def lying_bomb(c: Corpus, month: str, size: int = 40 * 1024 * 1024) -> Case:
    """A zip bomb whose directory claims a small member: refused while streaming, by its ratio."""
    path = zip_bomb(c, month, size).paths[0]
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")
    for at in (22, central + 24):  # uncompressed size in the local and central headers
        raw[at:at + 4] = struct.pack("<I", 1_000_000)
    lying = path.with_name("lying-bomb.zip")
    lying.write_bytes(bytes(raw))
    path.unlink()
    return Case("lying_bomb", (lying,), "rejected", "zip bomb|damaged")


def many_members(c: Corpus, month: str, members: int = 3_000) -> Case:
    """A zip of ``members`` small non-CSV members plus one real month (listing must be linear)."""
    path = c.folder / "broken/many.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for i in range(members):
            archive.writestr(f"notes/{i:05d}.txt", b"x")
        archive.writestr(f"{month}/{month}-{FORCE}-street.csv", c.month(month))
    return Case("many_members", (path,), "loaded", rows=c.rows(month))


def fifo(c: Corpus, month: str) -> Case:
    """A named pipe with a police.uk name: refused unopened (opening it would wait for a writer)."""
    path = c.folder / "fifo" / _name(month)  # its own folder: writing another case there would block
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    os.mkfifo(path)
    return Case("fifo", (path,), "rejected", "named pipe")


def dev_zero(c: Corpus, month: str) -> Case:
    """``/dev/zero`` (endless) given as a path."""
    return Case("dev_zero", (Path("/dev/zero"),), "rejected", "character device")


def garbage(c: Corpus, month: str) -> Case:
    """A real file's bytes shuffled (binary noise with a police.uk name)."""
    data = bytearray(c.month(month)[:50_000])
    random.Random(month).shuffle(data)
    return Case("garbage", (c.write(_name(month), bytes(data)),), "rejected", "not a police.uk crime file")


def nul_bytes(c: Corpus, month: str) -> Case:
    """NUL bytes in two rows (a disk or transfer fault): those rows are quarantined or loaded."""
    lines = c.month(month).split(b"\n")
    lines[2] = lines[2][:10] + b"\x00\x00\x00" + lines[2][10:]
    lines[3] = b"\x00" * 40
    return Case("nul_bytes", (c.write(_name(month), b"\n".join(lines)),), "loaded")


def header_only(c: Corpus, month: str) -> Case:
    """A street file with its header and no rows."""
    data = c.month(month)
    return Case("header_only", (c.write(_name(month), data[: _header_end(data) + 1]),), "loaded", rows=0)


def empty(c: Corpus, month: str) -> Case:
    """An empty file with a police.uk name."""
    return Case("empty", (c.write(_name(month), b""),), "rejected", "empty")


KINDS: dict[str, Callable[[Corpus, str], Case]] = {
    "cr_in_header": cr_in_header,
    "cr_only": cr_only,
    "huge_field": huge_field,
    "bad_crc": bad_crc,
    "bad_deflate": bad_deflate,
    "encrypted": encrypted,
    "unsupported": unsupported,
    "truncated_gzip": truncated_gzip,
    "not_gzip": not_gzip,
    "truncated_zip": truncated_zip,
    "month_zero": month_zero,
    "zip_bomb": zip_bomb,
    "lying_bomb": lying_bomb,
    "many_members": many_members,
    "fifo": fifo,
    "dev_zero": dev_zero,
    "garbage": garbage,
    "nul_bytes": nul_bytes,
    "header_only": header_only,
    "empty": empty,
}


def matches(case: Case, reason: str) -> bool:
    """True when a rejection ``reason`` names the case's file and matches its ``cause``."""
    named = any(str(p) in reason or p.name in reason for p in case.paths)
    return named and re.search(case.cause, reason, re.IGNORECASE) is not None
