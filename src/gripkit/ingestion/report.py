"""The summary an ingest returns and ``gripkit ingest --json`` prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow.compute as pc

from gripkit.ingestion.records import FileResult


@dataclass
class KindTally:
    """Rows read, loaded and quarantined for one kind of file."""

    files: int = 0
    read: int = 0
    loaded: int = 0
    quarantined: int = 0

    def add(self, result: FileResult) -> None:
        """Count one file's rows."""
        self.files += 1
        self.read += result.rows_read
        self.loaded += result.rows_loaded
        self.quarantined += result.rows_quarantined


@dataclass
class IngestReport:
    """What an ingest did. ``read/loaded/quarantined`` count street-crime (or force CSV) rows.

    ``files`` counts every file found; each is counted in exactly one of: a tally (crimes,
    outcomes, stop_and_search), ``rejected_files``, ``skipped_files`` (already ingested), or
    ``superseded`` (replaced by a corrected version later in the same run).
    """

    files: int = 0
    crimes: KindTally = field(default_factory=KindTally)
    outcomes: KindTally = field(default_factory=KindTally)
    stop_and_search: KindTally = field(default_factory=KindTally)
    by_reason: Counter[str] = field(default_factory=Counter)
    rejected_files: list[dict[str, str]] = field(default_factory=list)
    skipped_files: list[dict[str, str]] = field(default_factory=list)
    replaced_files: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, result: FileResult) -> None:
        """Count a loaded file in its kind's tally (and its quarantine reasons)."""
        if result.kind == "outcomes":
            self.outcomes.add(result)
        elif result.kind == "stop-and-search":
            self.stop_and_search.add(result)
        else:
            self.crimes.add(result)
            counts = pc.value_counts(result.quarantine.column("reason"))
            self.by_reason.update(dict(zip(counts.field("values").to_pylist(),
                                           counts.field("counts").to_pylist(), strict=True)))

    def reject(self, path: str, reason: str) -> None:
        """Record a whole file rejected."""
        self.rejected_files.append({"path": path, "reason": reason})

    @property
    def exit_code(self) -> int:
        """0 when anything loaded or everything was already there; 2 when every file was rejected."""
        return 2 if self.files and len(self.rejected_files) == self.files else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (the ``--json`` output)."""
        return {
            "files": self.files,
            "read": self.crimes.read,
            "loaded": self.crimes.loaded,
            "quarantined": self.crimes.quarantined,
            "by_reason": dict(sorted(self.by_reason.items())),
            "rejected_files": self.rejected_files,
            "skipped_files": self.skipped_files,
            "replaced_files": self.replaced_files,
            "street_files": self.crimes.files,
            "outcomes": vars(self.outcomes),
            "stop_and_search": vars(self.stop_and_search),
            "seconds": round(self.seconds, 3),
        }
