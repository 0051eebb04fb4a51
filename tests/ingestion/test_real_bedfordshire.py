"""Ingest reconciliation on all 36 real Bedfordshire months (the real-data folder, conftest.shared_data).

Expected numbers come from an independent count of the files with Python's csv module (written
below), and the data README's published totals: 182,113 street rows, 6,381 without coordinates.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from gripkit import Workspace
from gripkit.ingestion import ingest
from gripkit.ingestion.run import UNCHANGED

README_STREET_ROWS = 182_113  # the real-data folder's README.md
README_NO_COORDS = 6_381  # the real-data folder's README.md


def independent_counts(zip_path: Path) -> dict[str, dict[str, int]]:
    """Rows, rows without coordinates and blank-ID rows per street file, by csv.DictReader."""
    out: dict[str, dict[str, int]] = {}
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            if not name.endswith("-street.csv"):
                continue
            text = archive.read(name).decode("utf-8-sig")
            rows = list(csv.DictReader(io.StringIO(text)))
            out[Path(name).name] = {
                "rows": len(rows),
                "no_coords": sum(1 for r in rows if not r["Longitude"] or not r["Latitude"]),
            }
    return out


@pytest.fixture(scope="module")
def ingested(bedfordshire_zip: Path, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("bedfordshire") / "gripkit.duckdb"
    with Workspace(path) as ws:
        report = ingest([bedfordshire_zip], ws)
    return path, report


def test_every_street_row_is_loaded_or_quarantined(ingested, bedfordshire_zip: Path) -> None:
    path, report = ingested
    expected = independent_counts(bedfordshire_zip)
    assert sum(v["rows"] for v in expected.values()) == README_STREET_ROWS
    assert report.crimes.files == 36
    assert report.crimes.read == README_STREET_ROWS
    assert report.crimes.read == report.crimes.loaded + report.crimes.quarantined
    with Workspace(path, read_only=True) as ws:
        sources = ws.table("sources")
        street = sources[sources["kind"] == "street"]
        per_file = dict(zip(street["name"], street["rows_read"], strict=True))
        assert per_file == {name: v["rows"] for name, v in expected.items()}
        assert (street["rows_read"] == street["rows_loaded"] + street["rows_quarantined"]).all()
        counts = ws.counts()
        assert counts["crimes"] == report.crimes.loaded == street["rows_loaded"].sum()
        street_ids = set(street["source_id"])
        q = ws.table("quarantine")
        assert q["source_id"].isin(street_ids).sum() == report.crimes.quarantined


def test_the_ingest_stores_its_report(ingested, bedfordshire_zip: Path) -> None:
    path, report = ingested
    expected = independent_counts(bedfordshire_zip)
    with Workspace(path, read_only=True) as ws:
        stored = ws.latest_result("ingest")
        assert stored is not None and stored.table_names == ("files",)
        files = ws.result_table(stored.result_id, "files")
    assert stored.kind == "ingest"
    assert {k: v for k, v in stored.payload.items() if k != "meta"} == {
        k: v for k, v in report.to_dict().items() if k != "meta"  # meta gained its result_id on storing
    }
    assert report.meta["result_id"] == stored.result_id
    meta = stored.meta
    assert meta["inputs"] == [str(bedfordshire_zip)] and meta["format"] == "police.uk"
    # the zip's 36 months (its name: 2021-05 to 2024-04); 6,381 rows without coordinates (data README)
    assert meta["months"] == {"first": "2021-05", "last": "2024-04"}
    assert meta["by_reason"]["no_coordinates"] == README_NO_COORDS
    assert (meta["files_skipped"], meta["files_replaced"], meta["files_rejected"]) == (0, 0, 0)
    head = (f"Read {README_STREET_ROWS:,} rows from 36 files: {report.crimes.loaded:,} loaded, "
            f"{report.crimes.quarantined:,} quarantined (")
    assert stored.summary.startswith(head) and f"no_coordinates {README_NO_COORDS:,}" in stored.summary
    assert "months 2021-05 to 2024-04" in stored.summary
    street = files[files["kind"] == "street"]
    names = street["path"].map(lambda p: Path(p.split("!")[-1]).name)
    per_file = dict(zip(names, street["read"].astype(int), strict=True))
    assert per_file == {n: v["rows"] for n, v in expected.items()}
    assert (street["read"] == street["loaded"] + street["quarantined"]).all()


def test_rows_without_coordinates_are_quarantined_with_reason(ingested, bedfordshire_zip: Path) -> None:
    _, report = ingested
    expected = sum(v["no_coords"] for v in independent_counts(bedfordshire_zip).values())
    assert expected == README_NO_COORDS
    assert report.by_reason["no_coordinates"] == README_NO_COORDS


def test_far_away_points_are_quarantined_as_outside_force(ingested) -> None:
    """README: some coordinates lie far outside Bedfordshire (longitude -5.54 ... 1.73)."""
    path, report = ingested
    assert report.by_reason["outside_force"] > 0
    with Workspace(path, read_only=True) as ws:
        lon = ws.con.execute("SELECT min(lon), max(lon), min(lat), max(lat) FROM crimes").fetchone()
        raw = ws.con.execute("SELECT raw FROM quarantine WHERE reason = 'outside_force' LIMIT 50").fetchall()
    # Bedfordshire spans -0.70 ... -0.14, 51.81 ... 52.32 (README); 1 km tolerance adds ~0.015 degrees.
    assert lon[0] > -0.72 and lon[1] < -0.12 and lon[2] > 51.79 and lon[3] < 52.34
    for (text,) in raw:
        fields = next(csv.reader([text]))
        assert fields[3] == "Bedfordshire Police"


def test_quarantined_raw_text_is_the_source_line(ingested, bedfordshire_zip: Path) -> None:
    path, _ = ingested
    with Workspace(path, read_only=True) as ws:
        sample = ws.con.execute(
            "SELECT s.name, q.source_row, q.raw FROM quarantine q JOIN sources s USING (source_id) "
            "ORDER BY s.name, q.source_row LIMIT 200"
        ).fetchall()
    with zipfile.ZipFile(bedfordshire_zip) as archive:
        names = {Path(n).name: n for n in archive.namelist()}
        for name, row, raw in sample:
            lines = archive.read(names[name]).decode("utf-8-sig").splitlines()
            assert lines[row - 1] == raw


def test_crime_types_survive(ingested, bedfordshire_zip: Path) -> None:
    """Loaded + quarantined per crime type equals the independent count (README: 14 types)."""
    path, _ = ingested
    expected: Counter[str] = Counter()
    with zipfile.ZipFile(bedfordshire_zip) as archive:
        for name in archive.namelist():
            if name.endswith("-street.csv"):
                text = archive.read(name).decode("utf-8-sig")
                expected.update(r["Crime type"] for r in csv.DictReader(io.StringIO(text)))
    assert len(expected) == 14
    assert expected["Violence and sexual offences"] == 57_998  # README
    with Workspace(path, read_only=True) as ws:
        loaded = dict(ws.con.execute("SELECT crime_type, count(*) FROM crimes GROUP BY 1").fetchall())
        raws = [
            r[0]
            for r in ws.con.execute(
                "SELECT q.raw FROM quarantine q JOIN sources s USING (source_id) WHERE s.kind = 'street'"
            ).fetchall()
        ]
    quarantined = Counter(next(csv.reader([r]))[9] for r in raws)
    assert {t: loaded.get(t, 0) + quarantined.get(t, 0) for t in expected} == dict(expected)


def test_outcomes_and_searches_load_into_their_own_tables(ingested, bedfordshire_zip: Path) -> None:
    path, report = ingested
    with zipfile.ZipFile(bedfordshire_zip) as archive:
        outcomes = sum(
            len(list(csv.DictReader(io.StringIO(archive.read(n).decode("utf-8-sig")))))
            for n in archive.namelist()
            if n.endswith("-outcomes.csv")
        )
    assert report.outcomes.files == 36 and report.stop_and_search.files == 36
    assert report.outcomes.read == outcomes
    with Workspace(path, read_only=True) as ws:
        assert ws.counts()["outcomes"] == report.outcomes.loaded
        assert ws.counts()["stop_search"] == report.stop_and_search.loaded


def test_reingest_adds_nothing(ingested, bedfordshire_zip: Path) -> None:
    path, _ = ingested
    with Workspace(path) as ws:
        before = ws.counts()
        again = ingest([bedfordshire_zip], ws)
        assert ws.counts() == before
    assert again.crimes.read == 0
    assert len(again.skipped_files) == 108
    # zip members whose size and CRC-32 match an ingested source are not even read
    assert all(f["reason"] == UNCHANGED for f in again.skipped_files)
    assert again.exit_code == 0
    with Workspace(path) as ws:
        rehashed = ingest([bedfordshire_zip], ws, rehash=True)  # read and hash: same SHA-256
        assert ws.counts() == before
    assert all("already ingested (same SHA-256" in f["reason"] for f in rehashed.skipped_files)
    assert len(rehashed.skipped_files) == 108
