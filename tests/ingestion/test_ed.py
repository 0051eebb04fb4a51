"""Hospital ED (Cardiff Model) ingest and record sources, on SYNTHETIC ED records.

No open record-level ED data exists, so ``ed_data/bedfordshire_ed_synthetic.csv`` is synthetic
(see ed_data/README.md and make_ed.py): built from REAL police.uk violence rows of Bedfordshire
(May 2023), with REAL Code-Point Open postcodes near them, a small gazetteer of real street names,
drawn arrival delays, and planted rows that cannot be placed (column ``Planted`` says which, so
the expected reason of every row is known without gripkit).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import shapely

from gripkit import Workspace, datasets
from gripkit.datasets import force_area
from gripkit.errors import InputError
from gripkit.hotspots.find import find_hotspots
from gripkit.hotspots.request import HotspotRequest
from gripkit.ingestion import ingest
from gripkit.ingestion.ed import EdMapping
from gripkit.ingestion.matching import match_records

DATA = Path(__file__).parent / "ed_data"
ED = DATA / "bedfordshire_ed_synthetic.csv"
PLACED = ("postcode", "coordinates", "gazetteer")


@pytest.fixture(scope="module")
def codepoint(shared_data: Callable[..., Path]) -> Path:
    return shared_data("postcodes", "codepo_gb.zip")


def planted() -> list[dict[str, str]]:
    with ED.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def mapping(codepoint: Path | None, **extra: object) -> EdMapping:
    return EdMapping.from_toml(
        DATA / "ed.toml",
        postcodes=str(codepoint) if codepoint else None,
        gazetteer=str(DATA / "gazetteer.csv"),
        **extra,
    )


def test_every_row_loaded_or_quarantined_with_its_planted_reason(ws: Workspace, codepoint: Path) -> None:
    rows = planted()
    report = ingest([ED], ws, mapping=mapping(codepoint))
    # by hand: 190 rows = 90 postcode + 40 coordinates + 30 gazetteer placed, 30 planted failures
    assert report.crimes.read == len(rows) == 190
    assert report.crimes.loaded == 160 and report.crimes.quarantined == 30
    expected = Counter(r["Planted"] for r in rows if r["Planted"] not in PLACED)
    assert report.to_dict()["by_reason"] == dict(expected)
    assert expected == {
        "unknown_postcode": 6,
        "bad_postcode": 4,
        "unknown_place": 5,
        "ambiguous_place": 3,
        "no_location": 5,
        "bad_arrival": 3,
        "arrival_before_incident": 2,
        "bad_date": 2,
    }
    # row by row: line n+2 of the file is rows[n]
    got = dict(ws.con.execute("SELECT source_row, reason FROM quarantine").fetchall())
    got |= dict(ws.con.execute("SELECT source_row, placed_by FROM crimes").fetchall())
    assert {n + 2: r["Planted"] for n, r in enumerate(rows)} == got
    sources = ws.con.execute("SELECT DISTINCT source, crime_type FROM crimes").fetchall()
    assert sources == [("health", "Violence and sexual offences")]
    fmt = ws.con.execute("SELECT format, rows_read, rows_loaded, rows_quarantined FROM sources").fetchall()
    assert fmt == [("ed", 190, 160, 30)]


def test_ed_fields_kept_and_no_patient_identifier_stored(ws: Workspace, codepoint: Path) -> None:
    rows = planted()
    ingest([ED], ws, mapping=mapping(codepoint))
    first = rows[0]
    stored = ws.con.execute(
        "SELECT strftime(occurred_at, '%d/%m/%Y %H:%M'), strftime(arrival_at, '%d/%m/%Y %H:%M'), weapon, "
        "location_type, age_band, sex FROM crimes WHERE crime_id = ?",
        [first["Attendance ref"]],
    ).fetchone()
    assert stored == (
        first["Incident date time"],
        first["Arrival date time"],
        first["Means of assault"],
        first["Location type"],
        first["Age band"],
        first["Sex"],
    )
    dump = "\n".join(str(ws.table(t).to_dict()) for t in ("crimes", "quarantine", "sources"))
    assert not [r["NHS Number"] for r in rows if r["NHS Number"] in dump]
    assert "not read: patient identifiers" in ws.table("sources")["note"][0]


def test_real_postcodes_land_at_their_centres_inside_bedfordshire(ws: Workspace, codepoint: Path) -> None:
    ingest([ED], ws, mapping=mapping(codepoint))
    centres = {}
    with zipfile.ZipFile(codepoint) as archive:  # read independently of gripkit
        for area in ("lu", "mk", "sg"):
            for rec in csv.reader(io.TextIOWrapper(archive.open(f"Data/CSV/{area}.csv"), "utf-8")):
                centres[rec[0].replace(" ", "")] = (float(rec[2]), float(rec[3]))
    by_row = {n + 2: r for n, r in enumerate(planted())}
    placed = ws.con.execute("SELECT source_row, x, y FROM crimes WHERE placed_by = 'postcode'").fetchall()
    assert len(placed) == 90
    for row, x, y in placed:
        assert (x, y) == centres[by_row[row]["Incident postcode"].upper().replace(" ", "")]
    area = force_area("Bedfordshire")
    xs, ys = zip(*[(x, y) for _, x, y in placed], strict=True)
    assert shapely.contains_xy(area, xs, ys).all()


def test_without_a_postcode_file_postcode_rows_are_quarantined_saying_how(ws: Workspace) -> None:
    report = ingest([ED], ws, mapping=mapping(None))
    reasons = report.to_dict()["by_reason"]
    # the 90 real and 6 unknown but well-formed postcodes cannot be looked up; 4 malformed stay bad_postcode
    assert reasons["no_postcode_file"] == 96 and reasons["bad_postcode"] == 4
    detail = ws.con.execute(
        "SELECT DISTINCT detail FROM quarantine WHERE reason = 'no_postcode_file'"
    ).fetchall()
    assert "--postcodes" in detail[0][0]


@pytest.mark.parametrize("column", ["NHS Number", "Patient name", "Date of birth", "DOB"])
def test_a_mapping_naming_a_patient_identifier_is_refused(column: str) -> None:
    with pytest.raises(InputError, match="patient identifier"):
        mapping(None).__class__(columns={**mapping(None).columns, "crime_id": column})


def test_source_filters_hotspots_as_planted(ws: Workspace, codepoint: Path) -> None:
    police_file = datasets.bedfordshire_street_files()[0]  # May 2023, the month the ED rows come from
    ingest([police_file], ws)

    def total(sources: tuple[str, ...] | None) -> int:
        result = find_hotspots(ws, HotspotRequest(unit="grid", cell_size=500, sources=sources, harm="none"))
        return int(result.hotspots["crimes"].sum())

    police_only = total(None)  # before the ED file: the police records alone
    ingest([ED], ws, mapping=mapping(codepoint))
    assert ws.record_sources() == ["health", "police"]
    assert total(("health",)) == 160  # the planted placed rows, all inside the force's grid
    assert total(("police",)) == police_only
    # combined, the ED side of each matched pair is dropped (gripkit.hotspots.combined): the ED rows
    # were made from these police rows, so most match (tests/ingestion/test_matching.py plants them)
    matched = match_records(ws.crimes()).meta["matched"]
    assert 0 < matched <= 160
    assert total(None) == total(("police", "health")) == police_only + 160 - matched
    with pytest.raises(InputError, match="holds records of: health, police"):
        total(("partner",))


def test_cli_ingest_ed_and_hotspots_source(tmp_path: Path, codepoint: Path) -> None:
    """The console commands: ``gripkit ingest --format ed`` then ``hotspots --source``."""
    import json

    from typer.testing import CliRunner

    from gripkit.cli import app

    runner = CliRunner()
    wsp = str(tmp_path / "w.duckdb")
    police = str(datasets.bedfordshire_street_files()[0])
    assert runner.invoke(app, ["ingest", police, "--workspace", wsp, "--json"]).exit_code == 0
    args = ["ingest", str(ED), "--format", "ed", "--map", str(DATA / "ed.toml"), "--workspace", wsp]
    run = runner.invoke(
        app, [*args, "--postcodes", str(codepoint), "--gazetteer", str(DATA / "gazetteer.csv"), "--json"]
    )
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["loaded"] == 160

    def crimes(source: str) -> int:
        out = tmp_path / f"{source.replace(',', '_')}.gpkg"
        cmd = [
            "hotspots",
            "--workspace",
            wsp,
            "--out",
            str(out),
            "--harm",
            "none",
            "--json",
            "--source",
            source,
        ]
        run = runner.invoke(app, cmd)
        assert run.exit_code == 0, run.output
        return int(json.loads(run.output)["crimes"])

    assert crimes("health") == 160
    with Workspace(wsp) as ws:  # the ED side of matched pairs is counted once, as the police record
        matched = match_records(ws.crimes()).meta["matched"]
    assert crimes("all") == crimes("police,health") == crimes("police") + 160 - matched
    bad = runner.invoke(
        app, ["hotspots", "--workspace", wsp, "--out", str(tmp_path / "x.gpkg"), "--source", "vru"]
    )
    assert bad.exit_code != 0 and "health, police" in str(bad.exception or bad.output)
