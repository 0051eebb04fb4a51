"""Text to rows: header detection, delimiter sniffing, malformed and multi-line records.

A *row* is a non-blank line after the header (a line holding only white space and delimiters, as
Excel leaves behind, is blank), or several lines when a quoted field spans line breaks. Every row is
either parsed into the table or returned as a reject with its raw text and reason, so that
``table.num_rows + len(rejects)`` equals the number of rows.

The common case (one line per row, no blank lines) is parsed by Arrow's C++ CSV reader; anything
else falls back to Python's :mod:`csv` line by line, with the same result.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from gripkit.errors import InputError
from gripkit.ingestion.decode import Decoded

MALFORMED = "malformed_line"
WRONG_ENCODING = "wrong_encoding"
_MAX_RECORD_LINES = 20
#: Longest field the line-by-line parser splits (Python's :func:`csv.field_size_limit`, 128 KiB);
#: a spreadsheet cell holds at most 32,767 characters, so a longer field is a damaged row.
MAX_FIELD_CHARS = csv.field_size_limit()
_BLANK_LINE = re.compile(rb"\n[ \t,;|]*\r?\n")
_BLANK_START = re.compile(rb"[ \t,;|]*\r?\n")


@dataclass
class Reject:
    """A row that could not be parsed: where (1-based line), its raw text, why."""

    row: int
    raw: str
    reason: str
    detail: str


@dataclass
class ParsedTable:
    """Header names (normalised), well-formed rows as string columns, and rejected rows."""

    header: list[str]
    table: pa.Table
    row_numbers: np.ndarray
    decoded: Decoded
    rejects: list[Reject] = field(default_factory=list)
    raw_rows: dict[int, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows read: parsed + rejected."""
        return self.table.num_rows + len(self.rejects)

    def raw(self, row: int) -> str:
        """The raw text of the row starting at 1-based line ``row``.

        Rows parsed line by line keep their raw text (they may span lines, or the file may end
        lines with a lone CR); others are cut from the file's bytes when asked for.
        """
        return self.raw_rows.get(row) or self.decoded.line(row - 1)

    def raws(self, rows: np.ndarray) -> pa.Array:
        """The raw text of several rows (1-based first lines), as :meth:`raw` gives them."""
        if self.raw_rows:
            return pa.array([self.raw(int(r)) for r in rows], pa.string())
        return self.decoded.lines_at(np.asarray(rows, dtype=np.int64) - 1)

    def column(self, name: str) -> pa.Array:
        """A column as one Arrow string array, or all-null when the file lacks it."""
        if name in self.table.column_names:
            return self.table.column(name).combine_chunks()
        return pa.nulls(self.table.num_rows, pa.string())


def normalise_name(name: str) -> str:
    """Header normalisation: strip BOM/quotes/space, case-fold, ``_`` as space, collapse space."""
    return " ".join(name.replace("\ufeff", "").strip().strip('"').casefold().replace("_", " ").split())


def _sniff(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _dedupe(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return out


def _fit(fields: list[str], width: int) -> list[str] | None:
    """The row's fields if it has the header's width (extra trailing empty fields dropped)."""
    if len(fields) == width:
        return fields
    if len(fields) > width and not any(f.strip() for f in fields[width:]):
        return fields[:width]
    return None


def _malformed(row: int, raw: str, got: int, width: int) -> Reject:
    return Reject(row, raw, MALFORMED, f"{got} fields where the header has {width}")


def _split(line: str, delimiter: str) -> list[str] | Reject:
    """The fields of one line, or (for a line Python's :mod:`csv` cannot split, such as a field
    over :data:`MAX_FIELD_CHARS` characters) a reject whose row the caller sets."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error as exc:
        return Reject(0, line, MALFORMED, f"the line cannot be split into fields ({exc})")


def _header_line(decoded: Decoded) -> tuple[int, str] | None:
    """(0-based index, text) of the first non-blank line, or None for a blank file."""
    first_end = decoded.data.find(b"\n")
    first = decoded.data[: first_end if first_end >= 0 else len(decoded.data)]
    if not decoded.bad_lines and first.strip(b" \t,;|\r"):
        return 0, first.decode("utf-8").rstrip("\r")
    lines = decoded.lines
    start = next((i for i, line in enumerate(lines) if line.strip(" \t,;|")), None)
    return None if start is None else (start, lines[start])


def parse(decoded: Decoded) -> ParsedTable:
    """Split decoded text into a header and rows (see module docstring)."""
    found = _header_line(decoded)
    if found is None:
        return ParsedTable([], pa.table({}), np.empty(0, dtype=np.int64), decoded)
    start, line = found
    delimiter = _sniff(line)
    names = _split(line, delimiter)
    if isinstance(names, Reject):
        raise InputError(f"the header (line {start + 1}) cannot be read: {names.detail}. Expected one "
                         f"line of column names; received {line[:80]!r}.")
    header = _dedupe([normalise_name(h) for h in names])
    if not decoded.bad_lines:
        fast = _parse_arrow(decoded, header, start, delimiter)
        if fast is not None:
            return fast
    return _parse_python(header, decoded, start, delimiter)


def _parse_arrow(decoded: Decoded, header: list[str], start: int, delimiter: str) -> ParsedTable | None:
    """Arrow's reader, when every row is one line and no line is blank; else None.

    The body is never copied: the checks search the file's bytes between offsets and Arrow reads
    a zero-copy slice of them.
    """
    data = decoded.data
    at = 0
    for _ in range(start + 1):
        at = data.find(b"\n", at) + 1
        if at == 0:
            return None
    end = len(data)
    while end > at and data[end - 1] in b"\r\n":  # trailing line ends (blank last lines too)
        end -= 1
    if end <= at:
        return None  # no rows
    last = data.rfind(b"\n", at, end) + 1 or at  # where the last row starts
    if (
        not data[last:end].strip(b" \t,;|\r")
        or _BLANK_START.match(data, at, end)
        or _BLANK_LINE.search(data, at, end)
    ):
        return None  # a blank line among the rows: the line-by-line parser skips it
    invalid: list[tuple[int, str]] = []

    def keep(row: pacsv.InvalidRow) -> str:
        invalid.append((row.number, row.text))
        return "skip"

    strings = {name: pa.string() for name in header}
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(data)[at:end]),
            read_options=pacsv.ReadOptions(use_threads=False, column_names=header, block_size=1 << 26),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=keep),
            convert_options=pacsv.ConvertOptions(
                column_types=strings, strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:
        return None
    n_lines = data.count(b"\n", at, end) + 1
    if table.num_rows + len(invalid) != n_lines or any(n is None for n, _ in invalid):
        return None  # a quoted field spans lines: let the line-by-line parser pair them up
    numbers = np.arange(1, n_lines + 1, dtype=np.int64)
    if invalid:
        numbers = np.setdiff1d(numbers, np.array([n for n, _ in invalid], dtype=np.int64))
    parsed = ParsedTable(header, table, numbers + start + 1, decoded)
    if invalid:
        _recover(parsed, invalid, start, delimiter)
    return parsed


def _recover(parsed: ParsedTable, invalid: list[tuple[int, str]], start: int, delimiter: str) -> None:
    """Rows Arrow rejected: keep those with extra empty trailing fields, reject the others."""
    header = parsed.header
    recovered: list[list[str]] = []
    rows: list[int] = []
    for number, raw in invalid:
        fields = _split(raw.rstrip("\r"), delimiter)
        row = number + start + 1
        if isinstance(fields, Reject):
            parsed.rejects.append(Reject(row, parsed.raw(row), fields.reason, fields.detail))
            continue
        fixed = _fit(fields, len(header))
        if fixed is None:
            parsed.rejects.append(_malformed(row, parsed.raw(row), len(fields), len(header)))
        else:
            recovered.append(fixed)
            rows.append(row)
    if recovered:
        extra = pa.table(
            {name: pa.array([r[j] for r in recovered], pa.string()) for j, name in enumerate(header)}
        )
        parsed.table = pa.concat_tables([parsed.table, extra])
        parsed.row_numbers = np.concatenate([parsed.row_numbers, np.array(rows, dtype=np.int64)])


def _parse_python(header: list[str], decoded: Decoded, start: int, delimiter: str) -> ParsedTable:
    """Line by line; a line with an open quote absorbs following lines while that completes a row."""
    lines, bad = decoded.lines, decoded.bad_lines
    width = len(header)
    body = [i for i in range(start + 1, len(lines)) if lines[i].strip(" \t,;|")]
    rows: list[list[str]] = []
    numbers: list[int] = []
    out = ParsedTable(header, pa.table({}), np.empty(0, dtype=np.int64), decoded)
    k = 0
    while k < len(body):
        i = body[k]
        if i in bad:
            out.rejects.append(Reject(i + 1, lines[i], WRONG_ENCODING, "line is not valid UTF-8"))
            k += 1
            continue
        fields = _split(lines[i], delimiter)
        if isinstance(fields, Reject):
            out.rejects.append(Reject(i + 1, lines[i], fields.reason, fields.detail))
            k += 1
            continue
        span = 1
        if lines[i].count('"') % 2:
            fields, span = _join_quoted(lines, body, k, bad, delimiter, width, fields)
        raw = "\n".join(lines[body[j]] for j in range(k, k + span))
        fixed = _fit(fields, width)
        if fixed is None:
            out.rejects.append(_malformed(i + 1, raw, len(fields), width))
        else:
            rows.append(fixed)
            numbers.append(i + 1)
            out.raw_rows[i + 1] = raw
        k += span
    out.table = pa.table({name: pa.array([r[j] for r in rows], pa.string()) for j, name in enumerate(header)})
    out.row_numbers = np.array(numbers, dtype=np.int64)
    return out


def _join_quoted(
    lines: list[str], body: list[int], k: int, bad: set[int], delimiter: str, width: int, fields: list[str]
) -> tuple[list[str], int]:
    for extra in range(1, _MAX_RECORD_LINES):
        if k + extra >= len(body) or body[k + extra] in bad:
            break
        text = "\n".join(lines[body[j]] for j in range(k, k + extra + 1))
        if text.count('"') % 2 == 0:
            try:
                joined = list(csv.reader(io.StringIO(text), delimiter=delimiter))
            except csv.Error:  # e.g. a field over the limit: the first line is rejected alone
                break
            if len(joined) == 1 and _fit(joined[0], width) is not None:
                return joined[0], extra + 1
            break
    return fields, 1
