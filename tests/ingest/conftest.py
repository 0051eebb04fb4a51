"""Fixtures for ingest tests: the real Bedfordshire zip and helpers to write small police.uk files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gripkit import Workspace

ZIP = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "bedfordshire"
    / ("police-uk-bedfordshire-2021-05-to-2024-04.zip")
)
HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)
# Real rows from 2021-05-bedfordshire-street.csv (police.uk, OGL v3), used as templates.
ROW_ASB = (
    ",2021-05,Bedfordshire Police,Bedfordshire Police,-0.472054,52.301536,On or near Shelton Road,"
    "E01017540,Bedford 001A,Anti-social behaviour,,"
)
ROW_DAMAGE = (
    "2e4dcf0126e894bd6f00eab97349c6bc96c05a5f325719ea8177c630e9d2f3aa,2021-05,Bedfordshire Police,"
    "Bedfordshire Police,-0.467024,52.297290,On or near Church Lane,E01017540,Bedford 001A,"
    "Criminal damage and arson,Investigation complete; no suspect identified,"
)


@pytest.fixture(scope="session")
def bedfordshire_zip() -> Path:
    """The real 36-month Bedfordshire police.uk archive from ../shared/data."""
    if not ZIP.exists():
        pytest.fail(f"real data missing at {ZIP}: CI must run with ../shared beside the repository")
    return ZIP


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A fresh file workspace (the default kind), closed after the test."""
    workspace = Workspace(tmp_path / "gripkit.duckdb")
    yield workspace
    workspace.close()


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write ``lines`` (joined by ``newline``) encoded as ``encoding`` to ``tmp_path/name``."""

    def write(
        name: str, lines: list[str], *, encoding: str = "utf-8", newline: str = "\n", prefix: bytes = b""
    ) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(prefix + newline.join(lines).encode(encoding) + newline.encode())
        return path

    return write
