"""``gripkit sources`` and ``gripkit sources restore`` on a real month and a cut-short copy of it.

The month is the real ``2023-05-bedfordshire-street.csv`` of the shared Bedfordshire archive; the
truncated version (its first 1,000 rows) is cut from it with a few lines of Python below.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gripkit.cli import app

MONTH = "2023-05/2023-05-bedfordshire-street.csv"


@pytest.fixture
def two_versions(shared_data: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path, int]:
    """The full real month and a copy cut after 1,000 rows, and the full file's row count."""
    zip_path = shared_data("bedfordshire", "police-uk-bedfordshire-2021-05-to-2024-04.zip")
    with zipfile.ZipFile(zip_path) as archive:
        text = archive.read(MONTH).decode("utf-8")
    lines = text.splitlines(keepends=True)
    paths = []
    for folder, content in (("full", text), ("short", "".join(lines[:1001]))):
        path = tmp_path / folder / MONTH
        path.parent.mkdir(parents=True)
        path.write_text(content, encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1], len(lines) - 1  # no line breaks inside fields in this file


def run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_sources_lists_versions_and_restore_brings_the_full_month_back(
    two_versions: tuple[Path, Path, int], tmp_path: Path
) -> None:
    full, short, full_rows = two_versions
    w = str(tmp_path / "w.duckdb")
    run("ingest", str(full), "-w", w, "--json")
    held = json.loads(run("ingest", str(short), "-w", w, "--json").stdout)
    assert [(h["rows"], h["active_rows"]) for h in held["held_files"]] == [(1_000, full_rows)]
    assert held["meta"]["files_held_back"] == 1

    listed = json.loads(run("sources", "-w", w, "--json").stdout)
    assert listed["total"] == 2
    fields = ("source_id", "month", "kind", "rows_read", "status")
    assert [tuple(v[f] for f in fields) for v in listed["versions"]] == [
        (1, "2023-05", "street", full_rows, "active"),
        (2, "2023-05", "street", 1_000, "held back"),
    ]
    assert all(len(v["sha256"]) == 64 and v["ingested_at"] for v in listed["versions"])
    assert json.loads(run("sources", "list", "-w", w, "--json").stdout) == listed

    text = run("sources", "-w", w).stdout
    assert "held back" in text and "gripkit sources restore ID" in text

    accepted = json.loads(run("ingest", str(short), "-w", w, "--accept-shrink", "--json").stdout)
    assert [r["path"] for r in accepted["replaced_files"]] == [str(short)]
    statuses = [v["status"] for v in json.loads(run("sources", "-w", w, "--json").stdout)["versions"]]
    assert statuses == ["superseded", "active"]

    restored = json.loads(run("sources", "restore", "1", "-w", w, "--json").stdout)
    assert (restored["source_id"], restored["superseded"], restored["was"]) == (1, 2, "superseded")
    statuses = [v["status"] for v in json.loads(run("sources", "-w", w, "--json").stdout)["versions"]]
    assert statuses == ["active", "superseded"]
    status = json.loads(run("status", "-w", w, "--json").stdout)
    assert "2023-05" in json.dumps(status)  # the month is there, from the full version

    again = run("sources", "restore", "1", "-w", w)
    assert "already active" in again.stdout
    missing = CliRunner().invoke(app, ["sources", "restore", "42", "-w", w])
    assert missing.exit_code != 0 and "no such version" in str(missing.exception)


def test_ingest_prints_a_held_back_line(two_versions: tuple[Path, Path, int], tmp_path: Path) -> None:
    full, short, full_rows = two_versions
    w = str(tmp_path / "w.duckdb")
    run("ingest", str(full), "-w", w)
    out = run("ingest", str(short), "-w", w).stdout
    assert "held back" in out and f"{full_rows:,}" in out and "--accept-shrink" in out
