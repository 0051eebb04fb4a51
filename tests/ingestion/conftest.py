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
