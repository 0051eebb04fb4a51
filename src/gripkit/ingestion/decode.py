"""Bytes to text: UTF-8 (with or without BOM), Windows-1252/Latin-1, CRLF, mixed encodings.

A file is read as UTF-8 when it decodes as UTF-8. If it does not, but other lines of it carry
non-ASCII UTF-8 text, the file is UTF-8 with a few lines in another encoding: those lines are kept
(decoded as Latin-1 for display) and flagged so that ingest quarantines them as ``wrong_encoding``.
Otherwise the whole file is a single-byte export and is decoded as Windows-1252 (Excel's default
on UK Windows), falling back to Latin-1 for the five bytes Windows-1252 leaves undefined.

:attr:`Decoded.lines` has line endings normalised to ``\\n`` and trailing blank lines dropped; a lone
CR (CR-only "CSV (Macintosh)" files, or a CR inside a line) ends a line, as in a spreadsheet.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BLANK_CHARS = " \t,;|"
_LONE_CR = re.compile(rb"\r(?!\n)")


@dataclass
class Decoded:
    """A decoded file: UTF-8 bytes (BOM removed), the encoding it came in, undecodable lines."""

    data: bytes
    encoding: str
    bad_lines: set[int] = field(default_factory=set)
    text_override: str | None = None

    @cached_property
    def _line_starts(self) -> np.ndarray:
        newlines = np.flatnonzero(np.frombuffer(self.data, dtype=np.uint8) == 10)
        return np.concatenate([[0], newlines + 1, [len(self.data) + 1]])

    def line(self, index: int) -> str:
        """Line ``index`` (0-based, counting ``\n`` line ends) as text, without its line end."""
        if self.text_override is not None:
            return self.lines[index]
        start, end = self._line_starts[index], self._line_starts[index + 1] - 1
        return self.data[start:end].decode("utf-8").rstrip("\r")

    def lines_at(self, indices: np.ndarray) -> pa.Array:
        """Lines ``indices`` (0-based) as a string array, like :meth:`line` but vectorised."""
        if self.text_override is not None:
            return pa.array([self.lines[i] for i in indices], pa.string())
        # every line as a zero-copy view of the bytes (with its line end), then take and trim
        starts = np.minimum(self._line_starts, len(self.data)).astype(np.int64)
        every = pa.LargeStringArray.from_buffers(
            len(starts) - 1, pa.py_buffer(starts), pa.py_buffer(self.data)
        )
        taken = every.take(pa.array(np.asarray(indices, dtype=np.int64)))
        return pc.utf8_rtrim(taken, characters="\r\n").cast(pa.string())

    @cached_property
    def lines(self) -> list[str]:
        """The file's lines (0-based), without line ends or trailing blank lines."""
        text = self.text_override if self.text_override is not None else self.data.decode("utf-8")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        while lines and not lines[-1].strip(BLANK_CHARS):
            lines.pop()
        return lines


def _windows_1252(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def line_ends(data: bytes) -> bytes:
    r"""``data`` with every lone CR (not followed by LF) made LF, as a spreadsheet reads them.

    "CSV (Macintosh)" exports end lines with CR alone; a CR inside an unquoted header or row ends
    that line in Excel and LibreOffice too. CRLF is kept (the parsers strip the CR).

    Examples
    --------
    >>> line_ends(b"a,b\rc,d\r\ne,f")
    b'a,b\nc,d\r\ne,f'
    """
    if b"\r" not in data or not _LONE_CR.search(data):
        return data
    return _LONE_CR.sub(b"\n", data)


def decode(data: bytes) -> Decoded:
    """Decode ``data``, choosing the encoding as described in the module docstring.

    Lone CRs are line ends (:func:`line_ends`).
    """
    bom = data.startswith(codecs.BOM_UTF8)
    if bom:
        data = data[len(codecs.BOM_UTF8) :]
    data = line_ends(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return _decode_mixed(data)
    return Decoded(data, "utf-8-sig" if bom else "utf-8")


def _decode_mixed(data: bytes) -> Decoded:
    raw_lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    lines: list[str] = []
    bad: set[int] = set()
    utf8_text = False
    for i, raw in enumerate(raw_lines):
        try:
            line = raw.decode("utf-8")
            utf8_text = utf8_text or not line.isascii()
        except UnicodeDecodeError:
            line = raw.decode("latin-1")
            bad.add(i)
        lines.append(line)
    if utf8_text:
        text = "\n".join(lines)
        return Decoded(text.encode("utf-8"), "utf-8 (mixed)", bad, text_override=text)
    text = _windows_1252(data)
    return Decoded(text.encode("utf-8"), "cp1252")
