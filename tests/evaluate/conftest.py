"""Fixtures for evaluation tests: a workspace of the bundled real Bedfordshire police.uk months."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest

from gripkit import Workspace, datasets
from gripkit.ingestion import ingest


@pytest.fixture(scope="session")
def bedfordshire_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The 12 bundled Bedfordshire months (2023-05..2024-04, police.uk, OGL v3) in a tmp workspace."""
    path = Path(tmp_path_factory.getbasetemp()) / "evaluate-bedfordshire.duckdb"
    ws = Workspace(path)
    if ws.counts()["crimes"] == 0:
        ingest(datasets.bedfordshire_street_files(), ws)
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def bedfordshire_areas(bedfordshire_ws: Workspace) -> gpd.GeoDataFrame:
    """The 21 real Bedfordshire LSOAs with most serious-violence harm (CCHI) there, with their polygons."""
    from gripkit.patrol import default_areas

    return default_areas(bedfordshire_ws, 21)
