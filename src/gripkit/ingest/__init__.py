"""Ingest police.uk files and forces' own CSVs into the workspace, losing nothing."""

from gripkit.ingest.checks import REASONS
from gripkit.ingest.generic import ColumnMapping
from gripkit.ingest.run import IngestReport, ingest

__all__ = ["REASONS", "ColumnMapping", "IngestReport", "ingest"]
