"""Randomised schedules (windows, DST, determinism) and the CSV / iCalendar / HTML exports."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from gripkit import datasets
from gripkit.errors import InputError
from gripkit.patrol import (
    Window,
    briefing_html,
    experiment_design,
    schedule_csv,
    schedule_ics,
    schedule_visits,
    window_from_profile,
)

LSOA = datasets.bedfordshire_lsoa().head(21).rename(columns={"lsoa11cd": "area_id"})


def plan(start: str = "2024-05-01", days: int = 9):
    return experiment_design(LSOA["area_id"].tolist(), treated_per_day=7, days=days, seed=7, start=start)


def test_visits_fall_inside_the_window_on_the_minute() -> None:
    s = schedule_visits(plan().assignments, window="14:00-24:00", seed=7)
    assert len(s) == 63  # 7 treated areas x 9 days
    local_start = pd.to_datetime(s["start_local"].str[:16])
    local_end = pd.to_datetime(s["end_local"].str[:16])
    minutes = local_start.dt.hour * 60 + local_start.dt.minute
    assert (minutes >= 14 * 60).all() and (minutes <= 24 * 60 - 15).all()
    assert ((local_end - local_start) == pd.Timedelta(minutes=15)).all()
    assert s.equals(schedule_visits(plan().assignments, window="14:00-24:00", seed=7))
    assert not s.equals(schedule_visits(plan().assignments, window="14:00-24:00", seed=8))


def test_several_visits_never_overlap() -> None:
    a = pd.DataFrame({"date": [dt.date(2024, 6, 1)], "area_id": ["x"], "visits": [4]})
    s = schedule_visits(a, window="14:00-15:00", seed=3)  # 4 x 15 min fill the hour exactly
    assert s["start_local"].str[11:16].tolist() == ["14:00", "14:15", "14:30", "14:45"]
    with pytest.raises(InputError, match="5 visits of 15 minutes do not fit"):
        schedule_visits(a.assign(visits=5), window="14:00-15:00", seed=3)


def test_times_are_stored_in_utc_and_shown_in_london() -> None:
    a = pd.DataFrame(
        {"date": [dt.date(2024, 7, 1), dt.date(2024, 12, 1)], "area_id": ["x", "x"], "visits": [1, 1]}
    )
    s = schedule_visits(a, window="14:00-14:15", seed=1)
    # BST (UTC+1) in July, GMT in December: 14:00 local is 13:00 and 14:00 UTC
    assert s["start_utc"].dt.strftime("%H:%M").tolist() == ["13:00", "14:00"]
    assert s["start_local"].tolist() == ["2024-07-01T14:00+01:00", "2024-12-01T14:00+00:00"]
    late = schedule_visits(a.head(1), window="23:45-24:00", seed=1)
    assert late["end_local"].iloc[0] == "2024-07-02T00:00+01:00"  # 24:00 is midnight the next day


def test_windows_and_profiles() -> None:
    assert Window.parse("9-17") == Window(540, 1020)
    assert Window.parse("18:00-09:00") == Window(1080, 1980)  # overnight: 15 hours, ends next day
    for bad in ("14:00", "25:00-26:00", "18:00-18:00"):
        with pytest.raises(InputError, match="window"):
            Window.parse(bad)
    profile = [1] * 24
    profile[18:22] = [10, 10, 10, 10]  # hand: 4 x 10 + 2 x 1 of a total of 20 + 40 = 60
    window, share = window_from_profile(profile, hours=6)
    assert window.label == "16:00-22:00" and share == pytest.approx(42 / 60)
    with pytest.raises(InputError, match="24 finite values"):
        window_from_profile([1, 2, 3])


def test_ics_is_valid_icalendar() -> None:
    icalendar = pytest.importorskip("icalendar")
    s = schedule_visits(plan().assignments, seed=7)
    text = schedule_ics(s, LSOA, plan_id=1)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    cal = icalendar.Calendar.from_ical(text)
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    assert len(events) == len(s)
    first = events[0]
    assert first.decoded("dtstart").replace(tzinfo=None) == s["start_utc"].iloc[0].to_pydatetime()
    assert str(first["uid"]).startswith(f"1-{s['date'].iloc[0].isoformat()}-")
    assert first.get("geo") is not None


def test_csv_and_briefing(tmp_path) -> None:
    s = schedule_visits(plan().assignments, seed=7)
    text = schedule_csv(s, tmp_path / "s.csv")
    assert (tmp_path / "s.csv").read_bytes() == text.encode()
    assert text == schedule_csv(schedule_visits(plan().assignments, seed=7))  # byte-identical re-derivation
    page = briefing_html(s, LSOA, tmp_path / "b.html")
    day_areas = set(s.loc[s["date"] == s["date"].iloc[0], "area_id"])
    assert all(a in page for a in day_areas) and page.count("<img") == len(day_areas)
    assert "Open Government Licence" in page
    with pytest.raises(InputError, match="no visits planned on 2030-01-01"):
        briefing_html(s, LSOA, day="2030-01-01")
