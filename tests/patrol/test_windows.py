"""Visit windows crossing midnight (issue 17, "When to patrol"): grammar, errors and the schedule.

Synthetic assignments only (area ids and dates); times are checked by hand against the window.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from gripkit.errors import InputError
from gripkit.patrol.job import plan_patrols
from gripkit.patrol.schedule import Window, schedule_visits


@pytest.mark.parametrize(
    ("text", "start", "end", "label", "minutes"),
    [
        ("14:00-24:00", 840, 1440, "14:00-24:00", 600),
        ("20:00-03:00", 1200, 1620, "20:00-03:00", 420),  # 4 h before midnight + 3 h after
        ("20:00-24:00,00:00-03:00", 1200, 1620, "20:00-03:00", 420),  # the old error's own advice
        ("22-2", 1320, 1560, "22:00-02:00", 240),
    ],
)
def test_window_grammar(text: str, start: int, end: int, label: str, minutes: int) -> None:
    window = Window.parse(text)
    assert (window.start, window.end, window.label, window.minutes) == (start, end, label, minutes)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("10:00-10:00", "last at most 24 hours"),
        ("25:00-03:00", "clock times"),
        ("evening", "HH:MM-HH:MM"),
        ("14:00-16:00,18:00-20:00", "2 spans"),
    ],
)
def test_window_errors_name_what_was_received(text: str, said: str) -> None:
    with pytest.raises(InputError) as info:
        Window.parse(text)
    assert said in str(info.value) and repr(text) in str(info.value)


def test_overnight_visits_belong_to_the_day_they_start() -> None:
    days = [dt.date(2024, 6, 1) + dt.timedelta(days=d) for d in range(30)]
    plan = pd.DataFrame({"date": days, "area_id": "A", "visits": 3})
    s = schedule_visits(plan, window="20:00-03:00", seed=5)
    assert len(s) == 90 and set(s["shift"]) == {"20:00-03:00"}
    start = pd.to_datetime(s["start_local"].str[:16])
    end = pd.to_datetime(s["end_local"].str[:16])
    day = pd.to_datetime(s["date"])
    # hand rule: start in [day 20:00, day+1 03:00 - 15 min], end 15 minutes later
    assert (start >= day + pd.Timedelta(hours=20)).all()
    assert (end <= day + pd.Timedelta(hours=27)).all()
    assert ((s["end_utc"] - s["start_utc"]) == pd.Timedelta(minutes=15)).all()
    assert (start.dt.date != day.dt.date).any(), "some visits should fall after midnight"
    # visits to one area on one day never overlap
    for _, group in s.groupby("date"):
        times = group.sort_values("start_utc")
        assert (times["start_utc"].iloc[1:].to_numpy() >= times["end_utc"].iloc[:-1].to_numpy()).all()


def test_plan_accepts_an_overnight_window() -> None:
    areas = pd.DataFrame({"area_id": [f"A{i}" for i in range(21)]})
    plan = plan_patrols(None, areas_file=areas, seed=7, start="2024-05-01", window="20:00-24:00,00:00-03:00")
    assert len(plan.schedule) == 630
    assert "between 20:00 and 03:00" in plan.summary()
