"""GPS ingest accounting (nothing lost), readers, time zones, and compliance; traces are SIMULATED."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from gripkit import Workspace
from gripkit.dosage import (
    ingest_gps,
    match_visits,
    officer_visits,
    patrol_visits,
    read_ping_gpx,
    workspace_pings,
)
from gripkit.dosage.clean import clean_pings
from gripkit.errors import InputError

from .simulate import A_IN, B_IN, areas, one_patrol, raw, track

T = pd.Timestamp
NOW = T("2025-01-01")


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    text = raw(frame).rename(
        columns={"officer_id": "radio", "timestamp": "time", "x": "easting", "y": "northing"}
    )
    text[["radio", "time", "easting", "northing"]].to_csv(path, index=False)
    return path


def test_every_row_is_loaded_or_quarantined(tmp_path: Path) -> None:
    frame = pd.concat([one_patrol("R1"), one_patrol("R1").head(3), one_patrol("X9").head(4)])
    path = write_csv(tmp_path / "pings.csv", frame)
    with open(path, "a") as f:
        f.write(
            "R1,not a time,509100,221100\n,2024-06-01T14:00:00Z,509100,221100\nR1,2024-06-01T15:00:00Z,,\n"
            "R1,2024-06-01T16:00:00Z,0,0\nR1,2024-06-01T17:00:00Z,380000,400000\n"
        )
    with Workspace(":memory:") as ws:
        report = ingest_gps([path], ws, officers=["R1", "R2"], now=NOW, area="auto")
        assert report.read == len(frame) + 5 == report.loaded + report.quarantined
        # hand count: 3 repeated rows, 4 from X9, then one row per bad line written above. The last
        # point (380000, 400000) is in Lancashire but is loaded: area "auto" needs crimes in the
        # workspace to know the force (none here), and 180 km in 2 h 35 min is under 100 km/h.
        assert report.by_reason == {
            "duplicate": 3,
            "unknown_officer": 4,
            "bad_timestamp": 1,
            "missing_officer": 1,
            "bad_coordinates": 2,
        }
        assert report.loaded == 71 + 1 and report.unknown_officers == ["X9"]  # one_patrol: 71 pings
        assert ws.con.execute("SELECT count(*) FROM gps_quarantine").fetchone() == (report.quarantined,)
        row = ws.con.execute("SELECT rows_read, rows_loaded, rows_quarantined FROM gps_sources").fetchone()
        assert row == (report.read, report.loaded, report.quarantined)
        again = ingest_gps([path], ws, officers=["R1"], now=NOW)
        assert again.read == 0 and again.skipped_files == [str(path)]
        pings = workspace_pings(ws)
        assert pings["ts_utc"].min() == T("2024-06-01 13:50")


def test_out_of_area_against_a_polygon() -> None:
    text = raw(one_patrol())
    text.loc[0, ["x", "y"]] = ["380000", "400000"]
    from gripkit.datasets import force_area

    _, bad = clean_pings(text, area=force_area("Bedfordshire"), now=NOW)
    assert bad["reason"].tolist() == ["out_of_area"]


def test_all_unknown_officers_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", one_patrol("Z1"))  # 20 + 31 + 20 pings (simulate.py)
    with (
        Workspace(":memory:") as ws,
        pytest.raises(InputError, match="none of its 71 pings is from an officer"),
    ):
        ingest_gps([path], ws, officers=["R1"], now=NOW)


def test_time_zones() -> None:
    text = raw(one_patrol().head(2))
    text["timestamp"] = ["2024-10-27 01:30:00", "2024-07-01 15:00:00+01:00"]  # clocks go back at 02:00 BST
    clean, bad = clean_pings(text, tz="Europe/London", now=NOW)
    assert bad["reason"].tolist() == ["ambiguous_local_time"]
    assert clean["ts_utc"].tolist() == [T("2024-07-01 14:00")]
    with pytest.raises(InputError, match="unknown time zone 'Europe/Lundun'"):
        clean_pings(text, tz="Europe/Lundun")


def test_missing_columns_message(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("who,when\nR1,2024-06-01\n")
    with Workspace(":memory:") as ws, pytest.raises(InputError, match="no column for officer_id, timestamp"):
        ingest_gps([path], ws)


def test_gpx_reader_matches_gpxpy(tmp_path: Path) -> None:
    pytest.importorskip("gpxpy")
    import gpxpy
    import gpxpy.gpx

    gpx = gpxpy.gpx.GPX()
    trk = gpxpy.gpx.GPXTrack(name="R7")
    seg = gpxpy.gpx.GPXTrackSegment()
    for i in range(5):
        seg.points.append(
            gpxpy.gpx.GPXTrackPoint(
                52.13 + i * 1e-4, -0.46, time=dt.datetime(2024, 6, 1, 14, i, tzinfo=dt.UTC)
            )
        )
    trk.segments.append(seg)
    gpx.tracks.append(trk)
    path = tmp_path / "r7.gpx"
    path.write_text(gpx.to_xml())
    ours = read_ping_gpx(path)
    theirs = gpxpy.parse(path.read_text()).tracks[0].segments[0].points
    assert ours["officer_id"].unique().tolist() == ["R7"] and len(ours) == len(theirs)
    clean, bad = clean_pings(ours, now=NOW)
    assert bad.empty
    assert [t.to_pydatetime() for t in clean["ts_utc"]] == [p.time.replace(tzinfo=None) for p in theirs]
    assert clean["lat"].round(6).tolist() == [round(p.latitude, 6) for p in theirs]


def test_compliance_against_a_plan() -> None:
    day1, day2 = dt.date(2024, 6, 1), dt.date(2024, 6, 2)
    plan = pd.DataFrame(
        {
            "date": [day1, day1, day2],
            "area_id": ["A", "B", "A"],
            "visit": [1, 1, 1],
            "start_utc": [T("2024-06-01 14:00"), T("2024-06-01 15:00"), T("2024-06-02 14:00")],
        }
    )
    plan["end_utc"] = plan["start_utc"] + pd.Timedelta(minutes=15)
    assignments = pd.DataFrame(
        {"date": [day1, day1, day2, day2], "area_id": ["A", "B", "A", "B"], "treated": [1, 1, 1, 0]}
    )
    pings = pd.concat(
        [
            one_patrol("R1", "2024-06-01"),  # A on time, 15 min
            track("R1", [("2024-06-02 14:40", "2024-06-02 14:55", A_IN)]),  # A 40 min late
            track("R2", [("2024-06-02 16:00", "2024-06-02 16:12", B_IN)]),  # B on a control day
            track("R2", [("2024-06-01 15:00", "2024-06-01 15:04", B_IN)]),  # B: 4 min, too short to count
        ]
    )
    clean, _ = clean_pings(raw(pings), now=NOW)
    visits = patrol_visits(officer_visits(clean, areas()))
    result = match_visits(plan, visits, assignments, tolerance_minutes=30, min_dwell_minutes=10)
    # hand count: 2 of 3 planned visits delivered, 1 of 3 on time, 1 visit on a control area-day
    assert result.figures["compliance"] == pytest.approx(2 / 3)
    assert result.figures["on_time_share"] == pytest.approx(1 / 3)
    assert result.figures["visits_on_control_days"] == 1
    assert result.figures["delivered_minutes"] == pytest.approx(15 + 15 + 12)
    assert result.matches["lateness_minutes"].dropna().tolist() == [0.0, 40.0]
    by_area = result.by_area.set_index("area_id")
    assert by_area.loc["A", "compliance"] == 1.0 and by_area.loc["B", "compliance"] == 0.0
    assert result.by_officer.set_index("officer_id").loc["R1", "planned_visits_delivered"] == 2
