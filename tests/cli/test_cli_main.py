"""The real `gripkit` console script, run as a user would (subprocess, real files)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import geopandas as gpd

from gripkit.columns import HOTSPOT_COLUMNS
from gripkit.datasets import bedfordshire_street_files

FILES = bedfordshire_street_files()


def gripkit(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gripkit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_ingest_json_is_one_object_and_reingest_adds_nothing(tmp_path: Path) -> None:
    first = gripkit("ingest", "--json", "--workspace", "w.duckdb", *map(str, FILES[:2]), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    payload = json.loads(first.stdout)  # the whole of stdout is one JSON object
    assert payload["files"] == 2 and payload["read"] == payload["loaded"] + payload["quarantined"]
    assert set(payload) >= {"files", "read", "loaded", "quarantined", "by_reason", "rejected_files"}
    again = gripkit("ingest", "--json", "--workspace", "w.duckdb", *map(str, FILES[:2]), cwd=tmp_path)
    assert again.returncode == 0
    repeat = json.loads(again.stdout)
    assert repeat["read"] == 0 and len(repeat["skipped_files"]) == 2


def test_all_files_rejected_exits_2(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("name,age\nAnn,43\n")
    result = gripkit("ingest", "--json", "people.csv", cwd=tmp_path)
    assert result.returncode == 2
    payload = json.loads(result.stdout)
    rejected = Path(payload["rejected_files"][0]["path"])  # recorded absolute, whatever the directory
    assert rejected.is_absolute() and rejected.samefile(tmp_path / "people.csv")


def test_bad_input_is_an_error_with_a_fix(tmp_path: Path) -> None:
    result = gripkit("ingest", "missing-folder", cwd=tmp_path)
    assert result.returncode == 1 and "no such file or folder: missing-folder" in result.stderr


def test_hotspots_writes_a_layer_qgis_can_open(tmp_path: Path) -> None:
    env = {"GRIPKIT_WORKSPACE": str(tmp_path / "env.duckdb")}
    assert gripkit("ingest", str(FILES[0]), cwd=tmp_path, env=env).returncode == 0
    result = gripkit("hotspots", "--cell-size", "500", "--out", "hot.gpkg", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    layer = gpd.read_file(tmp_path / "hot.gpkg", layer="hotspots")
    assert list(layer.columns) == list(HOTSPOT_COLUMNS)
    assert layer.crs.to_epsg() == 27700
    assert int(layer["crimes"].sum()) + payload["meta"]["unassigned"] == payload["meta"]["crimes"]
    assert payload["meta"]["cell_size_m"] == 500.0
    bad = gripkit("hotspots", "--cell-size", "-5", "--out", "x.parquet", cwd=tmp_path, env=env)
    # the library says 'cell_size'; the CLI prints its flag (gripkit.cli.command_flags)
    assert bad.returncode == 1 and "--cell-size must be > 0" in " ".join(bad.stderr.split())


def test_demo_writes_everything_and_says_where(tmp_path: Path) -> None:
    result = gripkit("demo", "--out", "d", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("gripkit.duckdb", "hotspots.parquet", "hotspots.gpkg", "top_hotspots.csv", "index.html"):
        assert (tmp_path / "d" / name).stat().st_size > 0
    assert "d/index.html" in result.stdout.splitlines()[-1] or "d/index.html" in result.stdout
    page = (tmp_path / "d" / "index.html").read_text()
    assert "Open Government Licence v3.0" in page
    top = (tmp_path / "d" / "top_hotspots.csv").read_text().splitlines()
    assert len(top) == 51 and top[0].startswith("unit_id,label,crimes,harm,harm_rank")
