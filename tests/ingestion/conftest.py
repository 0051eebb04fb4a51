"""Fixtures for ingest tests: the real Bedfordshire zip and helpers to write small police.uk files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gripkit import Workspace

ZIP = ("bedfordshire", "police-uk-bedfordshire-2021-05-to-2024-04.zip")  # in the shared data folder


@pytest.fixture(scope="session")
def bedfordshire_zip(shared_data: Callable[..., Path]) -> Path:
    """The real 36-month Bedfordshire police.uk archive (skipped locally, failed on CI, if missing)."""
    return shared_data(*ZIP)


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
