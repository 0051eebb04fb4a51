"""One file from bytes to checked rows: read, hash, parse, check; shared by threads and processes.

:func:`load` reads, hashes and parses a file (skipping files whose SHA-256 is already in the
workspace); :func:`check` runs the row checks of several parsed files of a kind at once. In the
thread pipeline the main thread checks each batch; in the process pipeline
(:mod:`gripkit.ingestion.staged`) a worker process checks its files and spills the rows to Arrow IPC
files that the writer memory-maps.

Example
-------
>>> from gripkit import datasets
>>> from gripkit.ingestion.discover import discover
>>> loaded = load(discover(datasets.bedfordshire_street_files()[:1])[0], None, frozenset())
>>> pending = loaded.pending
>>> check([pending], None)
>>> pending.kind, pending.result.rows_read == pending.rows
('street', True)
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from gripkit.errors import InputError
from gripkit.ingestion.decode import decode
from gripkit.ingestion.discover import POLICE_UK_NAME, InputFile, describe_read_error
from gripkit.ingestion.generic import ColumnMapping, check_mapping, read_generic
from gripkit.ingestion.policeuk import READERS, detect_kind, expected_header
from gripkit.ingestion.records import FileResult, Stack
from gripkit.ingestion.table import ParsedTable, parse

log = logging.getLogger("gripkit")


@dataclass
class Pending:
    """A parsed file waiting to be checked (``result`` None) or written (``result`` set)."""

    file: InputFile
    sha256: str
    encoding: str
    kind: str
    rows: int
    parsed: ParsedTable | None = None
    result: FileResult | None = None
    key: str = ""


@dataclass
class Loaded:
    """A file read: its hash, and either pending work or why it is rejected (or already known)."""

    file: InputFile
    sha256: str = ""
    pending: Pending | None = None
    error: str | None = None


def source_key(file: InputFile, result: FileResult) -> str:
    """What a corrected file shares with the one it replaces: kind, force and month (or name)."""
    if result.kind == "csv":
        return f"csv:{Path(file.name).name}"
    match = POLICE_UK_NAME.search(file.name)
    force = result.force or (match.group("force") if match else file.name)
    month = result.month.strftime("%Y-%m") if result.month else (match.group("month") if match else "?")
    return f"{result.kind}:{force}:{month}"


def _parse_file(file: InputFile, data: bytes, mapping: ColumnMapping | None) -> tuple[ParsedTable, str, str]:
    """Parse one file's bytes; return (parsed, kind, encoding) or raise InputError if not a crime file."""
    decoded = decode(data)
    parsed = parse(decoded)
    if not parsed.header:
        raise InputError(f"{file.display}: the file is empty; expected {expected_header()}.")
    if mapping is not None:
        check_mapping(parsed, mapping, file.display)
        return parsed, "csv", decoded.encoding
    kind = detect_kind(parsed.header)
    if kind is None:
        found = ", ".join(parsed.header[:12]) or "nothing"
        raise InputError(
            f"{file.display}: not a police.uk crime file; expected {expected_header()} "
            f"(or an outcomes/stop-and-search file); found columns: {found}. For a force's own CSV "
            "use --format csv with --map or --col."
        )
    return parsed, kind, decoded.encoding


def load(file: InputFile, mapping: ColumnMapping | None, known: frozenset[str]) -> Loaded:
    """Read, hash and (unless its SHA-256 is in ``known``) parse one file.

    Every failure is this file's alone: it comes back as ``error`` (the file named, the cause in
    words) and the batch goes on; only :class:`MemoryError` (the machine's, not the file's) and
    interrupts propagate.
    """
    try:
        data = file.read()
    except InputError as exc:
        return Loaded(file, error=str(exc))
    except MemoryError:
        raise
    except Exception as exc:  # any reading failure rejects this file only
        return Loaded(file, error=f"{file.display}: {describe_read_error(exc)}")
    sha = hashlib.sha256(data).hexdigest()
    if sha in known:
        return Loaded(file, sha)
    try:
        parsed, kind, encoding = _parse_file(file, data, mapping)
    except InputError as exc:
        message = str(exc)
        return Loaded(file, sha, error=message if file.display in message else f"{file.display}: {message}")
    except MemoryError:
        raise
    except Exception as exc:  # a parser failure rejects this file only
        log.debug("parsing %s failed", file.display, exc_info=True)
        return Loaded(file, sha, error=f"{file.display}: the file could not be parsed "
                                        f"({type(exc).__name__}: {exc})")
    return Loaded(file, sha, Pending(file, sha, encoding, kind, parsed.rows, parsed))


def check(items: list[Pending], mapping: ColumnMapping | None) -> None:
    """Run the row checks of parsed files (per kind, vectorised over all of them); sets ``result``."""
    todo = [p for p in items if p.result is None]
    for kind in dict.fromkeys(p.kind for p in todo):
        group = [p for p in todo if p.kind == kind]
        stack = Stack([p.parsed for p in group if p.parsed is not None])
        if kind == "csv":
            if mapping is None:
                raise ValueError("a force CSV needs its column mapping")
            results = read_generic(stack, mapping)
        else:
            results = READERS[kind](stack)
        for item, result in zip(group, results, strict=True):
            item.result = result
            item.key = source_key(item.file, result)
            item.parsed = None  # the raw text is in the result's quarantine now
