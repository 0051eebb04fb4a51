"""One exception hierarchy for gripkit.

Every message says what was wrong, what was received and how to fix it, e.g.
``InputError: 'cell_size' must be > 0 metres; received -50. Pass a positive size such as 150.``
"""

from __future__ import annotations


class GripkitError(Exception):
    """Base class of every error gripkit raises on purpose."""


class InputError(GripkitError, ValueError):
    """An argument or input file is not what gripkit expects."""


class WorkspaceError(GripkitError):
    """The DuckDB workspace is missing, locked, or of an unknown schema version."""


class WorkerError(GripkitError):
    """A worker process died (e.g. killed by the system when memory ran out)."""


class IngestError(InputError):
    """A whole input file cannot be ingested (e.g. it is not a crime file)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = message
