"""A workspace of the bundled real Bedfordshire street crime (police.uk, 2023-05..2024-04), shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from gripkit import Workspace, datasets
from gripkit.ingestion import ingest


@pytest.fixture(scope="session")
def bedfordshire_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a workspace holding every bundled month; tests add plans to it, never remove any."""
    path = tmp_path_factory.mktemp("patrol") / "w.duckdb"
    with Workspace(path) as ws:
        ingest(datasets.bedfordshire_street_files(), ws)
    return path
