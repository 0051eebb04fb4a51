"""What real exports contain: each corruption lands in quarantine (or is tolerated) with its reason.

Rows are real police.uk rows (conftest templates) altered by hand; expected counts are hand counts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.ingestion.ingest_rows import HEADER, ROW_ASB, ROW_DAMAGE

from gripkit import Workspace
from gripkit.ingestion import ingest

Writer = Callable[..., Path]


def quarantine(ws: Workspace) -> list[tuple[int, str, str]]:
    return [
        tuple(r)
        for r in ws.con.execute(
            "SELECT source_row, reason, raw FROM quarantine ORDER BY source_row"
        ).fetchall()
    ]


def test_each_bad_row_gets_its_reason(ws: Workspace, write_csv: Writer) -> None:
    rows = [
        ROW_ASB,  # line 2: fine
        ROW_DAMAGE,  # 3: fine
        ROW_DAMAGE.replace(",2021-05,", ",2021-13,"),  # 4: bad month
        ROW_ASB.replace("Anti-social behaviour", "Jaywalking"),  # 5: unknown crime type
        ROW_ASB.replace("-0.472054,52.301536", ","),  # 6: no coordinates
        ROW_ASB.replace("-0.472054", "abc"),  # 7: bad coordinates
        ROW_ASB.replace("-0.472054,52.301536", "-0.47,0.5"),  # 8: outside England and Wales
        ROW_ASB.replace("-0.472054,52.301536", "-1.835122,52.487453"),  # 9: Birmingham: outside force
        ROW_DAMAGE,  # 10: duplicate Crime ID
        ROW_ASB + ",extra,field",  # 11: malformed (extra content)
        "only,three,fields",  # 12: malformed
    ]
    report = ingest([write_csv("2021-05-bedfordshire-street.csv", [HEADER, *rows])], ws)
    got = [(row, reason) for row, reason, _ in quarantine(ws)]
    assert got == [
        (4, "bad_month"),
        (5, "unknown_crime_type"),
        (6, "no_coordinates"),
        (7, "bad_coordinates"),
        (8, "outside_england_wales"),
        (9, "outside_force"),
        (10, "duplicate_crime_id"),
        (11, "malformed_line"),
        (12, "malformed_line"),
    ]
    assert (report.crimes.read, report.crimes.loaded, report.crimes.quarantined) == (11, 2, 9)
    raws = {row: raw for row, _, raw in quarantine(ws)}
    assert raws[12] == "only,three,fields" and raws[10] == ROW_DAMAGE


def test_bom_crlf_blank_lines_reordered_and_extra_columns(ws: Workspace, write_csv: Writer) -> None:
    names = HEADER.split(",")
    order = [9, 1, 0, 5, 4, 3, 2, 6, 7, 8, 10, 11]  # reordered columns
    header = ",".join(names[i] for i in order) + ",Analyst note"
    rows = [
        ",".join(r.split(",")[i] if i != 10 else "" for i in order) + ",checked"
        for r in (ROW_ASB, ROW_DAMAGE)
    ]
    lines = [header, rows[0], "", ",,,,,", rows[1], "", "", ""]
    path = write_csv("2021-05-bedfordshire-street.csv", lines, newline="\r\n", prefix=b"\xef\xbb\xbf")
    report = ingest([path], ws)
    assert (report.crimes.read, report.crimes.loaded, report.crimes.quarantined) == (2, 2, 0)
    got = ws.con.execute("SELECT crime_type, lon, source_row FROM crimes ORDER BY source_row").fetchall()
    assert got == [("Anti-social behaviour", -0.472054, 2), ("Criminal damage and arson", -0.467024, 5)]
    assert ws.table("sources")["encoding"].tolist() == ["utf-8-sig"]


def test_latin1_file_is_read_and_mixed_encoding_lines_quarantined(ws: Workspace, write_csv: Writer) -> None:
    latin = write_csv(
        "a/2021-05-bedfordshire-street.csv",
        [HEADER, ROW_ASB.replace("Shelton Road", "Café Road")],
        encoding="latin-1",
    )
    report = ingest([latin], ws)
    assert report.crimes.loaded == 1
    assert ws.con.execute("SELECT location FROM crimes").fetchone() == ("On or near Café Road",)
    mixed = write_csv(
        "b/2021-06-bedfordshire-street.csv", [HEADER, ROW_ASB.replace("Shelton Road", "Crêpe Road")]
    )
    with mixed.open("ab") as handle:
        handle.write(
            ROW_DAMAGE.replace("Church Lane", "Caf\xe9 Lane").replace("2021-05", "2021-06").encode("latin-1")
        )
        handle.write(b"\n")
    report = ingest([mixed], ws)
    assert (report.crimes.read, report.crimes.loaded) == (2, 1)
    assert report.by_reason == {"wrong_encoding": 1}


def test_excel_saved_semicolons_and_mangled_months(ws: Workspace, write_csv: Writer) -> None:
    rows = [r.replace(",2021-05,", ",May-21,") for r in (ROW_ASB, ROW_DAMAGE)]
    rows[1] = rows[1].replace("May-21", "01/05/2021")
    lines = [line.replace(",", ";") for line in [HEADER, *rows]]
    report = ingest([write_csv("export.csv", lines, newline="\r\n")], ws)
    assert report.crimes.loaded == 2
    assert [str(m) for (m,) in ws.con.execute("SELECT month FROM crimes").fetchall()] == ["2021-05-01"] * 2


def test_not_a_crime_file_is_rejected_and_the_batch_goes_on(ws: Workspace, write_csv: Writer) -> None:
    good = write_csv("2021-05-bedfordshire-street.csv", [HEADER, ROW_ASB])
    bad = write_csv("people.csv", ["name,age", "Ann,43"])
    empty = write_csv("empty.csv", [""])
    report = ingest([bad, good, empty], ws)
    assert report.crimes.loaded == 1
    reasons = {Path(r["path"]).name: r["reason"] for r in report.rejected_files}
    assert set(reasons) == {"people.csv", "empty.csv"}
    assert "not a police.uk crime file" in reasons["people.csv"]
    assert "found columns: name, age" in reasons["people.csv"]
    assert "people.csv" in reasons["people.csv"] and "empty" in reasons["empty.csv"]
    assert report.exit_code == 0


def test_every_file_rejected_gives_exit_code_2(ws: Workspace, write_csv: Writer) -> None:
    report = ingest([write_csv("people.csv", ["name,age", "Ann,43"])], ws)
    assert report.exit_code == 2 and ws.counts()["crimes"] == 0


def test_corrected_file_replaces_earlier_version(ws: Workspace, write_csv: Writer) -> None:
    first = write_csv("v1/2021-05-bedfordshire-street.csv", [HEADER, ROW_ASB, ROW_DAMAGE])
    second = write_csv("v2/2021-05-bedfordshire-street.csv", [HEADER, ROW_DAMAGE])
    ingest([first], ws)
    report = ingest([second], ws)
    assert len(report.replaced_files) == 1
    assert ws.counts()["crimes"] == 1
    status = dict(ws.con.execute("SELECT path, status FROM sources").fetchall())
    assert status == {str(first): "superseded", str(second): "active"}  # kept, restorable


def test_duplicate_file_in_one_batch_is_skipped(ws: Workspace, write_csv: Writer) -> None:
    a = write_csv("a/2021-05-bedfordshire-street.csv", [HEADER, ROW_ASB])
    b = write_csv("b/2021-05-bedfordshire-street.csv", [HEADER, ROW_ASB])
    report = ingest([a, b], ws)
    assert report.crimes.loaded == 1 and len(report.skipped_files) == 1


def test_quoted_field_spanning_lines(ws: Workspace, write_csv: Writer) -> None:
    row = ROW_ASB.replace("On or near Shelton Road", '"On or near\nShelton Road"')
    report = ingest([write_csv("2021-05-bedfordshire-street.csv", [HEADER, row, ROW_DAMAGE])], ws)
    assert report.crimes.loaded == 2
    got = ws.con.execute("SELECT location, source_row FROM crimes ORDER BY source_row").fetchall()
    assert got == [("On or near\nShelton Road", 2), ("On or near Church Lane", 4)]


def test_gzipped_and_zipped_inputs(ws: Workspace, write_csv: Writer, tmp_path: Path) -> None:
    import gzip
    import zipfile

    plain = write_csv("2021-05-bedfordshire-street.csv", [HEADER, ROW_ASB])
    gz = tmp_path / "2021-06-bedfordshire-street.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes().replace(b"2021-05", b"2021-06")))
    archive = tmp_path / "bulk.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(
            "2021-07/2021-07-bedfordshire-street.csv", plain.read_bytes().replace(b"2021-05", b"2021-07")
        )
    report = ingest([gz, archive], ws)
    assert report.crimes.loaded == 2 and report.crimes.files == 2
