"""Ingest police.uk files and forces' own CSVs into the workspace, losing nothing."""

from gripkit.ingestion.checks import REASONS
from gripkit.ingestion.generic import ColumnMapping
from gripkit.ingestion.run import IngestReport, ingest

__all__ = ["REASONS", "ColumnMapping", "IngestReport", "ingest"]
