"""A force's own CSV: column mapping, date-times, easting/northing, crime-type vocabulary.

Rows are made by hand here (a force export is not public); coordinates are real Bedfordshire
places: Luton town centre (E 509_150, N 221_250) and Bedford (E 504_900, N 249_900), from the
grid references of the top hotspot cells found in the real data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyproj
import pytest

from gripkit import Workspace
from gripkit.errors import InputError
from gripkit.ingestion import ColumnMapping, ingest

Writer = Callable[..., Path]
LINES = [
    "URN,Offence,Committed,Easting,Northing",
    "A1,Assault with injury,03/02/2024 21:15,509150,221250",
    "A2,Robbery of personal property,04/02/2024 01:05,504900,249900",
    "A3,Dog fouling,05/02/2024 10:00,504900,249900",
    "A4,Assault with injury,31/02/2024 10:00,504900,249900",
    "A5,Assault with injury,06/02/2024 10:00,,",
]
VOCAB = {"Assault with injury": "Violence and sexual offences", "Robbery of personal property": "Robbery"}


def test_mapping_toml(ws: Workspace, write_csv: Writer, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        'force = "Bedfordshire"\ndate_format = "%d/%m/%Y %H:%M"\n'
        '[columns]\ncrime_id = "URN"\ncrime_type = "Offence"\noccurred_at = "Committed"\n'
        'x = "Easting"\ny = "Northing"\n'
        '[crime_types]\n"Assault with injury" = "Violence and sexual offences"\n'
        '"Robbery of personal property" = "Robbery"\n'
    )
    report = ingest([write_csv("force.csv", LINES)], ws, mapping=ColumnMapping.from_toml(mapping))
    assert (report.crimes.read, report.crimes.loaded) == (5, 2)
    assert report.by_reason == {"unknown_crime_type": 1, "bad_date": 1, "no_coordinates": 1}
    rows = ws.con.execute(
        "SELECT crime_id, crime_type, occurred_at, month, force, x, y, lon, lat FROM crimes ORDER BY crime_id"
    ).fetchall()
    assert [r[:2] for r in rows] == [("A1", "Violence and sexual offences"), ("A2", "Robbery")]
    assert str(rows[0][2]) == "2024-02-03 21:15:00" and str(rows[0][3]) == "2024-02-01"
    assert rows[0][4] == "Bedfordshire" and rows[0][5:7] == (509150.0, 221250.0)
    # lon/lat derived by the inverse projection (independent pyproj transformer here)
    lon, lat = pyproj.Transformer.from_crs(27700, 4326, always_xy=True).transform(509150, 221250)
    assert rows[0][7] == pytest.approx(lon, abs=1e-9) and rows[0][8] == pytest.approx(lat, abs=1e-9)
    detail = ws.con.execute("SELECT detail FROM quarantine WHERE reason = 'unknown_crime_type'").fetchone()
    assert detail == ("crime type 'Dog fouling'",)
    # a force CSV carries no month in its name: the months covered come from its rows (both February)
    assert report.months == {"first": "2024-02", "last": "2024-02"}
    stored = ws.latest_result("ingest")
    assert stored is not None and stored.meta["format"] == "csv"
    assert stored.meta["mapping"]["columns"]["crime_type"] == "Offence"


def test_col_pairs_and_lonlat(ws: Workspace, write_csv: Writer) -> None:
    lines = ["ref,type,when,lng,lat", "B1,robbery,2024-02-03T21:15,-0.4157,51.8792"]
    mapping = ColumnMapping.from_pairs(
        ["crime_id=ref", "crime_type=type", "occurred_at=when", "lon=lng", "lat=lat"], force="Bedfordshire"
    )
    report = ingest([write_csv("f.csv", lines)], ws, mapping=mapping)
    assert report.crimes.loaded == 1
    assert ws.con.execute("SELECT crime_type FROM crimes").fetchone() == ("Robbery",)


def test_mapping_naming_missing_column_rejects_file(ws: Workspace, write_csv: Writer) -> None:
    mapping = ColumnMapping.from_pairs(["crime_type=Offence", "occurred_at=Date", "x=E", "y=N"])
    report = ingest([write_csv("f.csv", LINES)], ws, mapping=mapping)
    assert report.exit_code == 2
    assert "['Date', 'E', 'N'] named in the mapping are not in the file" in report.rejected_files[0]["reason"]


def test_bad_mappings_say_how_to_fix() -> None:
    with pytest.raises(InputError, match="must name the crime type column"):
        ColumnMapping.from_pairs(["occurred_at=Date", "x=E", "y=N"])
    with pytest.raises(InputError, match="must name coordinates"):
        ColumnMapping.from_pairs(["crime_type=Offence", "occurred_at=Date"])
    with pytest.raises(InputError, match="target=SourceColumn"):
        ColumnMapping.from_pairs(["crime_type"])
    with pytest.raises(InputError, match=r"not police\.uk categories"):
        ColumnMapping(
            columns={"crime_type": "a", "month": "b", "x": "c", "y": "d"}, crime_types={"x": "Murder"}
        )
    with pytest.raises(InputError, match="unknown target column"):
        ColumnMapping.from_pairs(["crime_type=a", "month=b", "x=c", "y=d", "weather=e"])
    # x/y are eastings/northings: a CRS in degrees is refused (lon/lat are mapped as lon=..., lat=...)
    with pytest.raises(InputError, match=r"'crs' must be a projected CRS in metres"):
        ColumnMapping.from_pairs(["crime_type=a", "month=b", "x=c", "y=d"], crs="EPSG:4326")
    with pytest.raises(InputError, match=r"'crs' is not a CRS pyproj understands"):
        ColumnMapping.from_pairs(["crime_type=a", "month=b", "x=c", "y=d"], crs="EPSG:nonsense")
    assert VOCAB  # the vocabulary used above maps onto police.uk categories


def test_offence_code_column_is_stored_and_weighs_per_offence(ws: Workspace, write_csv: Writer) -> None:
    from gripkit.harm import apply_harm, load_harm_table

    lines = [
        "URN,Offence,HO code,Committed,Easting,Northing",
        "C1,Assault with injury, 8n ,03/02/2024 21:15,509150,221250",
        "C2,Assault with injury,5D,04/02/2024 01:05,504900,249900",
        "C3,Assault with injury,,05/02/2024 10:00,504900,249900",
    ]
    mapping = ColumnMapping.from_pairs(
        [
            "crime_id=URN",
            "crime_type=Offence",
            "offence_code=HO code",
            "occurred_at=Committed",
            "x=Easting",
            "y=Northing",
        ],
        crime_types=VOCAB,
        force="Bedfordshire",
    )
    report = ingest([write_csv("codes.csv", lines)], ws, mapping=mapping)
    assert report.crimes.loaded == 3
    crimes = ws.crimes()
    assert crimes.sort_values("crime_id")["offence_code"].tolist()[:2] == ["8N", "5D"]
    assert crimes["offence_code"].isna().sum() == 1  # blank code stored as NULL
    # ONS CSS offence weights (shared data harm/ons_css_weights_by_offence.csv): 8N assault with injury
    # 189.1538871, 5D assault with intent to cause serious harm 2034.74186; no code: the category's 280.0
    table = load_harm_table("ons_css")
    harm = dict(zip(crimes["crime_id"], apply_harm(crimes, table), strict=True))
    assert harm == pytest.approx({"C1": 189.1538871, "C2": 2034.74186, "C3": 280.0})
