"""Three real months of Bedfordshire police.uk street and stop-and-search files, ingested once."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from gripkit import Workspace
from gripkit.audit import AuditResult, audit_hotspots
from gripkit.ingestion import ingest

MONTHS = ("2024-02", "2024-03", "2024-04")


@pytest.fixture(scope="package")
def folder(shared_data, tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = shared_data("bedfordshire", "police-uk-bedfordshire-2021-05-to-2024-04.zip")
    out = tmp_path_factory.mktemp("audit")
    with zipfile.ZipFile(archive) as z:
        for name in z.namelist():
            if name[:7] in MONTHS and name.endswith(("-street.csv", "-stop-and-search.csv")):
                z.extract(name, out / "raw")
    return out


@pytest.fixture(scope="package")
def workspace(folder: Path) -> Workspace:
    ws = Workspace(str(folder / "ws.duckdb"))
    ingest([str(folder / "raw")], ws)
    return ws


@pytest.fixture(scope="package")
def result(workspace: Workspace) -> AuditResult:
    """The stored audit of the three months (3 rounds, 40 null re-draws, seed 1)."""
    return audit_hotspots(workspace, rounds=3, null_draws=40, seed=1)
