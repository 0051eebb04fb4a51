"""Windows per weekday, several a day, crossing midnight (issue 17): grammar, errors, schedules, teams.

Synthetic assignments (area ids and dates) except the team test, which plans real Bedfordshire
LSOAs (police.uk); every time is checked by hand against the window it was drawn in.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from gripkit import Workspace
from gripkit.errors import InputError
from gripkit.patrol.job import plan_patrols
from gripkit.patrol.schedule import schedule_visits
from gripkit.patrol.teams import check_teams
from gripkit.patrol.windows import WeekWindows, Window, derive_windows, share_inside

NIGHTS = "Fri-Sat 20:00-03:00,Sun-Thu 18:00-24:00"
NIGHTS_LABEL = "Sun-Thu 18:00-24:00,Fri-Sat 20:00-03:00"  # the canonical label: runs of days from Monday


@pytest.mark.parametrize(
    ("text", "days", "label"),
    [
        # Mon..Sun (start, end) in minutes after the day's midnight, by hand
        (NIGHTS, [(1080, 1440)] * 4 + [(1200, 1620)] * 2 + [(1080, 1440)], NIGHTS_LABEL),
        ("20:00-03:00", [(1200, 1620)] * 7, "20:00-03:00"),
        ("20:00-24:00,00:00-03:00", [(1200, 1620)] * 7, "20:00-03:00"),
        (
            "fri 22-4,saturday 21:00-02:00,Sun-Thu 19:00-23:00",
            [(1140, 1380)] * 4 + [(1320, 1680), (1260, 1560), (1140, 1380)],
            "Sun-Thu 19:00-23:00,Fri 22:00-04:00,Sat 21:00-02:00",
        ),
    ],
)
def test_week_grammar(text: str, days: list[tuple[int, int]], label: str) -> None:
    week = WeekWindows.parse(text)
    assert [(w[0].start, w[0].end) for w in week.days] == days and all(len(w) == 1 for w in week.days)
    assert week.label == label and WeekWindows.parse(week.label) == week  # the label parses back


def test_two_windows_a_day_and_days_inherited() -> None:
    week = WeekWindows.parse("Mon-Fri 08:00-10:00,16:00-20:00,Sat-Sun 12:00-24:00")
    assert week.on(0) == (Window(480, 600), Window(960, 1200)) and week.on(6) == (Window(720, 1440),)
    assert week.minutes == 360  # Mon-Fri: 2 h + 4 h; Sat-Sun 12 h; the shortest day binds
    assert week.fits(25) == 4 + 9  # whole 25-minute visits per window: 120 // 25 + 240 // 25
    assert WeekWindows.parse(week.label) == week


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Fri-Sat 20:00-03:00", "leaves Mon, Tue, Wed, Thu, Sun without one"),
        ("Fri 20:00-03:00,Sat 02:00-05:00,Sun-Thu 18:00-24:00", "Fri 20:00-03:00 runs into Sat 02:00"),
        ("Sun 22:00-02:00,Mon-Sat 01:00-05:00", "Sun 22:00-02:00 runs into Mon 01:00-05:00"),
        ("08:00-12:00,11:00-13:00", "runs into"),
        ("Fry 20:00-03:00", "unknown weekday 'Fry'"),
        ("Fri-Sat evenings", "[DAYS] HH:MM-HH:MM"),
        ("Mon-Sun 25:00-03:00", "clock times"),
        ("10:00-10:00", "last at most 24 hours"),
    ],
)
def test_bad_windows_say_what_was_received_and_give_an_example(text: str, said: str) -> None:
    with pytest.raises(InputError) as info:
        WeekWindows.parse(text)
    message = str(info.value)
    assert said in message and repr(text) in message and ("e.g." in message or "Pass" in message)


def test_share_inside_counts_the_overnight_part_on_the_next_morning() -> None:
    week = WeekWindows.parse(NIGHTS)
    # Sat 01:30 is inside Fri 20:00-03:00; Sat 03:00 is not (the end is exclusive); Mon 18:00 is inside
    minutes = np.array([5 * 1440 + 90, 5 * 1440 + 180, 0 * 1440 + 1080, 2 * 1440 + 600])
    weights = np.array([10.0, 1.0, 2.0, 7.0])
    assert share_inside(minutes, weights, week) == pytest.approx((10 + 2) / 20)


def _brute_force(profile: np.ndarray, hours: int, groups: list[tuple[int, ...]]) -> float:
    """Best total over every start hour per group (overlapping combinations refused by WeekWindows)."""
    best = -1.0
    for starts in itertools.product(range(24), repeat=len(groups)):
        days: list[list[Window]] = [[] for _ in range(7)]
        for group, h in zip(groups, starts, strict=True):
            for d in group:
                days[d] = [Window(h * 60, (h + hours) * 60)]
        try:
            week = WeekWindows.of(days)
        except InputError:
            continue
        hours_in = [(d * 24 + k) % 168 for d in range(7) for k in range(week.on(d)[0].start // 60,
                                                                           week.on(d)[0].end // 60)]
        best = max(best, float(profile.reshape(-1)[hours_in].sum()))
    return best


@pytest.mark.parametrize("hours", [3, 8, 14])
def test_derived_windows_match_brute_force(hours: int) -> None:
    profile = np.random.default_rng(hours).gamma(0.3, size=(7, 24))  # lumpy, synthetic
    groups = [(4, 5), (6, 0, 1, 2, 3)]
    week, share = derive_windows(profile, hours=hours, groups=groups)
    assert share * profile.sum() == pytest.approx(_brute_force(profile, hours, groups))
    assert len({week.on(d) for d in (4, 5)}) == 1 and len({week.on(d) for d in (6, 0, 1, 2, 3)}) == 1


def test_derived_windows_per_day_are_each_days_best_when_they_do_not_collide() -> None:
    profile = np.zeros((7, 24))
    for d in range(7):
        profile[d, 10 + d] = 1.0 + d  # one peak a day, far apart: no collision
    week, share = derive_windows(profile, hours=2)
    assert share == 1.0 and [w[0].start // 60 for w in week.days] == [9 + d for d in range(7)]


def test_multi_window_schedules_stay_inside_and_never_overlap() -> None:
    days = [dt.date(2024, 6, 3) + dt.timedelta(days=d) for d in range(28)]  # Mon 3 June, four weeks
    plan = pd.DataFrame({"date": np.repeat(days, 2), "area_id": ["A", "B"] * 28, "visits": 5})
    text = "Mon-Fri 08:00-10:00,16:00-20:00,Sat-Sun 21:00-02:00"
    s = schedule_visits(plan, window=text, seed=11)
    assert len(s) == 280 and s.equals(schedule_visits(plan, window=text, seed=11))
    assert not s["start_utc"].equals(schedule_visits(plan, window=text, seed=12)["start_utc"])
    start = pd.to_datetime(s["start_local"].str[:16])
    day = pd.to_datetime(s["date"])
    after = (start - day) / pd.Timedelta(minutes=1)  # minutes after the visit's own day's midnight
    weekday = day.dt.day_of_week
    morning, evening = after.between(480, 600 - 15), after.between(960, 1200 - 15)
    assert ((weekday < 5) & (morning | evening) | (weekday >= 5) & after.between(1260, 1560 - 15)).all()
    assert set(s.loc[weekday < 5, "shift"]) == {"08:00-10:00", "16:00-20:00"}
    assert set(s.loc[weekday >= 5, "shift"]) == {"21:00-02:00"}
    # the day's visits are shared by slots: 8 of the 24 quarter-hours of a weekday are in the morning
    assert (s.loc[weekday < 5, "shift"] == "08:00-10:00").mean() == pytest.approx(1 / 3, abs=0.12)
    for _, group in s.groupby(["date", "area_id"]):
        t = group.sort_values("start_utc")
        assert (t["start_utc"].iloc[1:].to_numpy() >= t["end_utc"].iloc[:-1].to_numpy()).all()
        assert t["visit"].tolist() == list(range(1, 6))


def test_a_day_too_short_for_its_visits_is_named() -> None:
    plan = pd.DataFrame({"date": [dt.date(2024, 6, 7)], "area_id": ["A"], "visits": [3]})  # a Friday
    said = "3 visits of 15 minutes do not fit in the 20:00-20:30 window of area A on Fri 2024-06-07"
    with pytest.raises(InputError, match=said):
        schedule_visits(plan, window="Fri 20:00-20:30,Sat-Thu 08:00-20:00", seed=1)


def test_team_guarantees_hold_for_multi_window_plans(bedfordshire_workspace) -> None:
    with Workspace(bedfordshire_workspace) as ws:
        plan = plan_patrols(
            ws, seed=3, start="2024-05-01", days=27, visits=2, window=NIGHTS, store=False
        )
    assert plan.figures["teams_needed"] >= 1 and check_teams(plan.schedule, plan.candidates) == 0
    assert f"in the windows {NIGHTS_LABEL}" in plan.summary()
    fri = plan.schedule[pd.to_datetime(plan.schedule["date"]).dt.day_of_week == 4]
    assert set(fri["shift"]) == {"20:00-03:00"} and len(plan.schedule) == 27 * 7 * 2


def _chicago_profile(shared_data) -> np.ndarray:
    raw = pd.read_csv(shared_data("chicago", "chicago_aggravated_assaults.csv.gz"))
    when = pd.to_datetime(raw["date"], format="%Y-%m-%d %H:%M")
    table = pd.crosstab(when.dt.day_of_week, when.dt.hour).reindex(index=range(7), columns=range(24))
    return table.fillna(0).to_numpy(dtype=float)


def _own_bests(flat: np.ndarray, hours: int) -> list[list[float]]:
    """sums[d][s]: the profile in day d's span starting at s h, by brute force."""
    return [[flat[[(d * 24 + s + k) % 168 for k in range(hours)]].sum() for s in range(24)] for d in range(7)]


def test_chicago_10_hour_windows_are_each_days_best_span(shared_data) -> None:
    """Real Chicago aggravated assaults 2010-2019 (minute times): each day's own best does not collide."""
    profile = _chicago_profile(shared_data)
    sums = _own_bests(profile.reshape(-1), 10)
    own = [int(np.argmax(row)) for row in sums]  # ties: earliest, as derive_windows
    WeekWindows.of([[Window(s * 60, (s + 10) * 60)] for s in own])  # no collision
    week, share = derive_windows(profile, hours=10)
    assert [w[0].start // 60 for w in week.days] == own
    assert share == pytest.approx(sum(max(row) for row in sums) / profile.sum())
    assert week.on(4)[0].end > 1440 and week.on(5)[0].end > 1440  # Friday and Saturday nights cross midnight


def test_chicago_6_hour_windows_resolve_the_saturday_night_collision(shared_data) -> None:
    """With 6 hours Sunday's own best (00:00-06:00) is Saturday night's tail: the joint choice resolves it."""
    profile = _chicago_profile(shared_data)
    sums = _own_bests(profile.reshape(-1), 6)
    own = [int(np.argmax(row)) for row in sums]
    with pytest.raises(InputError, match="Sat 22:00-04:00 runs into Sun 00:00-06:00"):
        WeekWindows.of([[Window(s * 60, (s + 6) * 60)] for s in own])
    week, share = derive_windows(profile, hours=6)
    best = 0.0  # brute force over Fri, Sat and Sun starts, the other days at their own best
    for fri, sat, sun in itertools.product(range(24), repeat=3):
        starts = [*own[:4], fri, sat, sun]
        if all(starts[(d + 1) % 7] + 24 >= starts[d] + 6 for d in range(7)):
            best = max(best, sum(sums[d][s] for d, s in enumerate(starts)))
    assert share * profile.sum() == pytest.approx(best)
    assert week.on(6)[0].start >= week.on(5)[0].end - 1440  # Sunday starts after Saturday night ends
