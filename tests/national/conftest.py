"""Fixtures: a small multi-force police.uk input built from REAL Bedfordshire months.

The input is not synthetic: :func:`gripkit.national.replica.build_replica` copies real
Bedfordshire street files (data.police.uk, OGL v3; the real-data folder's bedfordshire zip) into the Kent and
Cleveland force areas by a stated affine map, relabelling "Falls within"/"Reported by" and file
names; Bedfordshire itself goes through the same map. Four real months, 2023-01..2023-04.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from gripkit.national.replica import ReplicaManifest, build_replica, read_source_months

ZIP = ("bedfordshire", "police-uk-bedfordshire-2021-05-to-2024-04.zip")  # in the shared data folder
FORCES = ["Bedfordshire", "Cleveland", "Kent"]
MONTHS = ["2023-01", "2023-02", "2023-03", "2023-04"]


@pytest.fixture(scope="session")
def source_zip(shared_data: Callable[..., Path]) -> Path:
    """The real 36-month Bedfordshire police.uk zip (skipped locally, failed on CI, if missing)."""
    return shared_data(*ZIP)


@pytest.fixture(scope="session")
def real_months(source_zip: Path) -> dict[str, pd.DataFrame]:
    """The real street files of the shared Bedfordshire zip, by month."""
    return read_source_months(source_zip)


@pytest.fixture(scope="session")
def replica_dir(
    tmp_path_factory: pytest.TempPathFactory, real_months: dict[str, pd.DataFrame], source_zip: Path
) -> Path:
    """Three forces x four real months (a relabelled, translated replica; see module docstring)."""
    folder = tmp_path_factory.mktemp("replica") / "police-uk"
    build_replica(source_zip, folder, forces=FORCES, months=MONTHS, sources=real_months)
    return folder


@pytest.fixture()
def national_input(tmp_path: Path, replica_dir: Path) -> Path:
    """A private copy of the replica (tests add months to it)."""
    target = tmp_path / "police-uk"
    shutil.copytree(replica_dir, target)
    return target


@pytest.fixture()
def add_month(real_months: dict[str, pd.DataFrame], source_zip: Path):  # type: ignore[no-untyped-def]
    """``add_month(folder, force, month)``: add one more real month for one force."""

    def add(folder: Path, force: str, month: str) -> ReplicaManifest:
        return build_replica(source_zip, folder, forces=[force], months=[month], sources=real_months)

    return add
