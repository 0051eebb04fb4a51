"""The compliance job from Python: SIMULATED GPS traces at real places (tests/dosage/simulate.py) and
visits officers recorded on the dashboard, against a plan made by plan_patrols; stored as "compliance".
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import gripkit as gk
from gripkit import Workspace
from gripkit.dosage import Compliance, compliance, ingest_gps, plan_visits
from gripkit.errors import InputError
from gripkit.patrol import plan_patrols

from .simulate import A_IN, B_IN, areas, raw, track

NOW = pd.Timestamp("2025-01-01")
WHERE = {"A": A_IN, "B": B_IN}


def planned(ws: Workspace) -> pd.DataFrame:
    """Two areas, one treated a day for 4 days (hand: 4 planned visits of 15 minutes)."""
    plan = plan_patrols(ws, areas_file=areas(), areas=2, treated_per_day=1, days=4, seed=1,
                        start="2024-06-01", window="14:00-20:00")
    assert len(plan.schedule) == 4
    return plan.schedule


def follow(schedule: pd.DataFrame, tmp_path: Path, *, late_minutes: dict[int, int] | None = None,
           skip: tuple[int, ...] = ()) -> Path:
    """Pings of R1 and R2 standing in the planned area for each planned visit (some late or skipped)."""
    frames = []
    for i, row in enumerate(schedule.itertuples()):
        if i in skip:
            continue
        shift = pd.Timedelta(minutes=(late_minutes or {}).get(i, 0))
        segment = [(str(row.start_utc + shift), str(row.end_utc + shift), WHERE[row.area_id])]
        frames += [track(officer, segment) for officer in ("R1", "R2")]
    path = tmp_path / "pings.csv"
    raw(pd.concat(frames))[["officer_id", "timestamp", "x", "y"]].to_csv(path, index=False)
    return path


def test_followed_plan_is_fully_compliant_and_stored(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.duckdb") as ws:
        schedule = planned(ws)
        ingest_gps([follow(schedule, tmp_path)], ws, officers=["R1", "R2"], now=NOW)
        result = gk.compliance(ws)
        stored = ws.latest_result("compliance")
        gps_rows = ws.con.execute("SELECT count(*), sum(dwell_minutes) FROM visits").fetchone()
    assert gk.compliance is compliance and isinstance(result, Compliance) and result.kind == "compliance"
    assert stored is not None and stored.result_id == result.meta["result_id"]
    assert stored.meta["plan_id"] == 1 and stored.meta["sources"] == ["gps", "officer"]
    assert stored.meta["tolerance_minutes"] == 30 and stored.meta["buffer_m"] == 25
    # hand: 4 planned visits, each delivered on time by two officers standing 15 minutes in the area
    assert stored.payload["planned_visits"] == stored.payload["delivered_visits"] == 4
    assert stored.payload["compliance"] == 1.0 and stored.payload["on_time_share"] == 1.0
    assert stored.payload["median_dwell_minutes"] == 15.0
    assert stored.payload["delivered_by_source"] == {"gps": 4}
    assert stored.summary.startswith(
        "Of 4 planned visits in plan 1, 4 (100.0%) were delivered and 4 (100%) on time (starting within "
        "30 minutes of the plan), median 15 minutes on site"
    )
    assert set(stored.table_names) == {"by_area", "by_officer", "by_visit", "by_area_day", "visits"}
    assert gps_rows == (8, 8 * 15.0)  # the visits table as before: 2 officers x 4 visits of 15 minutes
    by_officer = result.by_officer.set_index("officer_id")
    assert by_officer["planned_visits_delivered"].to_dict() == {"R1": 4, "R2": 4}


def test_late_and_missed_visits(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.duckdb") as ws:
        schedule = planned(ws)
        ingest_gps([follow(schedule, tmp_path, late_minutes={1: 40}, skip=(2,))], ws, officers=["R1", "R2"],
                   now=NOW)
        result = compliance(ws, tolerance_minutes=30)
    # hand: visit 3 of 4 missed (3 of 4 delivered); visit 2 started 40 minutes late (> 30): 2 of 4 on time
    assert result.figures["delivered_visits"] == 3 and result.figures["compliance"] == pytest.approx(0.75)
    assert result.figures["on_time_share"] == pytest.approx(0.5)
    assert sorted(result.matches["lateness_minutes"].dropna().tolist()) == [0.0, 0.0, 40.0]
    assert "Of 4 planned visits in plan 1, 3 (75.0%) were delivered and 2 (50%) on time" in result.summary()


def _record(ws: Workspace, visit_id: int, patrol_id: int, area: str, start: str | None, stop: str | None,
            plan_id: int | None = 1) -> None:
    """A visit as the dashboard's phone page stores it: now() cast into the connection's zone."""
    ws.con.execute(
        "INSERT INTO officer_patrols (patrol_id, officer, area_id, date, start_time, minutes, plan_id, note, "
        "created_by, created_at) VALUES (?, 'pc_one', ?, ?, NULL, 15, ?, NULL, 'analyst', now())",
        [patrol_id, area, pd.Timestamp(start or "2024-06-01").date(), plan_id],
    )
    ws.con.execute(
        "INSERT INTO officer_visits VALUES (?, ?, 'pc_one', ?, CAST(CAST(? AS TIMESTAMPTZ) AS TIMESTAMP), "
        "CAST(CAST(? AS TIMESTAMPTZ) AS TIMESTAMP))",
        [visit_id, patrol_id, area, f"{start}+00" if start else None, f"{stop}+00" if stop else None],
    )


def test_officers_own_records_count_as_a_second_source(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.duckdb") as ws:
        schedule = planned(ws)
        ingest_gps([follow(schedule, tmp_path, skip=(3,))], ws, officers=["R1", "R2"], now=NOW)
        missed = schedule.iloc[3]
        start = missed["start_utc"]
        # the visit GPS missed, recorded by the officer on the phone page (start/stop, UTC)
        _record(ws, 1, 1, missed["area_id"], str(start), str(start + pd.Timedelta(minutes=15)))
        # never stopped, and a record on another plan's patrol: neither counts
        _record(ws, 2, 2, "A", str(start), None)
        _record(ws, 3, 3, "A", str(start), str(start + pd.Timedelta(minutes=15)), plan_id=9)
        both = compliance(ws)
        gps_only = compliance(ws, sources=["gps"])
        found = plan_visits(ws, store=False)
    # hand: GPS delivers 3 of the 4 planned visits, the officer's record the fourth
    assert both.figures["delivered_visits"] == 4
    assert both.figures["delivered_by_source"] == {"gps": 3, "officer": 1}
    assert gps_only.figures["delivered_visits"] == 3 and gps_only.meta["sources"] == ["gps"]
    assert both.meta["officer_records"] == 1 and both.meta["officer_records_open"] == 1
    record = found.officer_level[found.officer_level["source"] == "officer"]
    assert record[["officer_id", "dwell_minutes", "pings"]].values.tolist() == [["pc_one", 15.0, 0]]
    assert record["start_utc"].iloc[0] == start  # read back in UTC
    assert "officers' own records (1)" in both.summary() and "GPS pings (3)" in both.summary()


def test_bad_sources_and_no_plan(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.duckdb") as ws:
        with pytest.raises(InputError, match="holds no patrol plan"):
            compliance(ws)
        planned(ws)
        with pytest.raises(InputError, match="'sources' must name one or more of gps, officer; received"):
            compliance(ws, sources=["radio"])


def test_empty_schedule_with_visits_counts_them_as_unplanned() -> None:
    """A month with no planned visits (e.g. before a plan starts) but an officer's visit: nothing is
    planned or delivered, and the one visit is unplanned (hand count), instead of a KeyError."""
    from gripkit.dosage.tracking import match_visits

    day = pd.Timestamp("2024-06-01").date()
    schedule = pd.DataFrame({"date": [], "area_id": [], "start_utc": pd.to_datetime([]),
                             "end_utc": pd.to_datetime([])})
    visits = pd.DataFrame({"area_id": ["a"], "date": [day], "start_utc": [pd.Timestamp("2024-06-01 13:10")],
                           "end_utc": [pd.Timestamp("2024-06-01 13:25")], "dwell_minutes": [15.0],
                           "officers": [1], "officer_ids": ["R1"], "officer_minutes": [15.0]})
    found = match_visits(schedule, visits)
    assert found.figures["planned_visits"] == 0 and found.figures["delivered_visits"] == 0
    assert found.figures["unplanned_visits"] == 1 and found.figures["compliance"] is None


def test_compliance_to_date_judges_only_the_days_up_to_it(tmp_path: Path) -> None:
    """The 4-day plan (2024-06-01..04, one visit a day) judged to 2024-06-02: 2 planned visits, both
    delivered; the 2 later ones are not judged yet (hand count), and the summary says so. Visits of
    the last day (skipped here) would otherwise count against the plan."""
    with Workspace(tmp_path / "w.duckdb") as ws:
        schedule = planned(ws)
        ingest_gps([follow(schedule, tmp_path, skip=(3,))], ws, officers=["R1", "R2"], now=NOW)
        to_date = gk.compliance(ws, to="2024-06-02", store=False)
        whole = gk.compliance(ws, store=False)  # default: today, after the plan's last day
        with pytest.raises(InputError, match="'to'"):
            gk.compliance(ws, to="June", store=False)
    assert to_date.figures["planned_visits"] == 2 and to_date.figures["delivered_visits"] == 2
    assert to_date.meta["to"] == "2024-06-02" and to_date.meta["later_visits"] == 2
    assert "Judged to 2024-06-02: 2 planned visit(s) after it are not counted yet." in to_date.summary()
    assert whole.figures["planned_visits"] == 4 and whole.figures["delivered_visits"] == 3
    assert whole.meta["later_visits"] == 0 and "Judged to" not in whole.summary()
