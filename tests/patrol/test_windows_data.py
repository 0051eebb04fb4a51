"""Windows from the data (issue 17): ``--window auto`` and the budget plan's share inside each window.

The workspace is REAL Bedfordshire police.uk rows (6 months of serious-violence categories, their
real ids, categories, coordinates and LSOA codes) written as a force-style CSV and ingested with a
column mapping. The offence TIMES ARE SYNTHETIC (police.uk publishes the month only): a seeded
draw puts 80% of an LSOA's crimes between 14:00 and 24:00 when the last digit of its code is even
and between 04:00 and 10:00 when it is odd, the rest uniform over the day; the day of the month is
uniform. Monthly-only behaviour uses the real police.uk workspace (no times) of tests/patrol.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gripkit import Workspace
from gripkit.cli import app
from gripkit.harm import apply_harm, load_harm_table, serious_violence_types
from gripkit.ingestion import ColumnMapping, ingest
from gripkit.patrol.job import plan_patrols
from gripkit.patrol.windows import WeekWindows
from gripkit.units.build import UnitSpec, build_units

BUDGET = {"mode": "budget", "budget_hours": 3.0, "travel_minutes": 0.0, "start": "2024-05-01", "days": 7,
          "seed": 5, "store": False}


@pytest.fixture(scope="module")
def timed_workspace(bedfordshire_crimes: Callable[..., pd.DataFrame], tmp_path_factory) -> Path:
    crimes = bedfordshire_crimes(6)
    crimes = crimes[crimes["crime_type"].isin(serious_violence_types())].reset_index(drop=True)
    rng = np.random.default_rng(2026)
    evening = crimes["lsoa_code"].str[-1].astype(int) % 2 == 0
    peak = np.where(evening, rng.integers(14, 24, len(crimes)), rng.integers(4, 10, len(crimes)))
    hour = np.where(rng.random(len(crimes)) < 0.8, peak, rng.integers(0, 24, len(crimes)))
    days = crimes["month"].dt.days_in_month.to_numpy()
    when = (crimes["month"] + pd.to_timedelta(rng.integers(0, days), unit="D")
            + pd.to_timedelta(hour, unit="h") + pd.to_timedelta(rng.integers(0, 60, len(crimes)), unit="min"))
    frame = pd.DataFrame({"URN": crimes["crime_id"], "Offence": crimes["crime_type"],
                          "Committed": when.dt.strftime("%Y-%m-%d %H:%M"), "Longitude": crimes["lon"],
                          "Latitude": crimes["lat"], "LSOA code": crimes["lsoa_code"]})
    folder = tmp_path_factory.mktemp("timed")
    frame.to_csv(folder / "force.csv", index=False)
    mapping = ColumnMapping.from_pairs(
        ["crime_id=URN", "crime_type=Offence", "occurred_at=Committed", "lon=Longitude", "lat=Latitude",
         "lsoa_code=LSOA code"], force="Bedfordshire", date_format="%Y-%m-%d %H:%M")
    path = folder / "timed.duckdb"
    with Workspace(path) as ws:
        ingest([folder / "force.csv"], ws, mapping=mapping)
    return path


def _sv(ws: Workspace) -> pd.DataFrame:
    return ws.crimes(crime_types=sorted(serious_violence_types()))


def _hand_share(crimes: pd.DataFrame, area: str, hours: range) -> float:
    """Share of the area's serious-violence CCHI harm with an offence hour in ``hours`` (pandas)."""
    crimes = crimes[crimes["lsoa_code"] == area]
    harm = apply_harm(crimes, load_harm_table("cchi"))
    inside = pd.to_datetime(crimes["occurred_at"]).dt.hour.isin(list(hours)).to_numpy()
    return float(harm[inside].sum() / harm.sum())


def test_the_window_changes_the_budget_plan(timed_workspace: Path) -> None:
    with Workspace(timed_workspace) as ws:
        late = plan_patrols(ws, window="14:00-24:00", **BUDGET)
        early = plan_patrols(ws, window="04:00-10:00", **BUDGET)
        areas = late.candidates.set_index("area_id")
        crimes = _sv(ws)
    # an area whose crimes all carry its own code (2021 codes unknown to the 2011 polygons are placed
    # by point in polygon, as the hotspot step does): its crimes are those with its code
    codes = crimes["lsoa_code"].value_counts()
    area = next(str(a) for a, n in areas["crimes"].items() if codes.get(a, 0) == n)
    hand_late, hand_early = _hand_share(crimes, area, range(14, 24)), _hand_share(crimes, area, range(4, 10))
    assert late.meta["windows"]["shares"] == "from offence times"
    assert late.figures["objective"] != pytest.approx(early.figures["objective"])
    late_ids, early_ids = set(late.choice.chosen["area_id"]), set(early.choice.chosen["area_id"])
    assert late_ids != early_ids and len(late_ids) == len(early_ids) == 6  # 180 officer-min / (2 x 15)
    # the evening areas (even last digit) are those the late window favours, the odd ones the early
    assert sum(int(a[-1]) % 2 == 0 for a in late_ids) > sum(int(a[-1]) % 2 == 0 for a in early_ids)
    early_areas = early.candidates.set_index("area_id")
    assert areas.at[area, "window_share"] == pytest.approx(hand_late)
    assert early_areas.at[area, "window_share"] == pytest.approx(hand_early)
    if areas.at[area, "chosen"]:  # one visit covers h_i x s_i (max_visits = 1)
        assert areas.at[area, "covered_harm"] == pytest.approx(areas.at[area, "harm"] * hand_late)
    chosen = late.choice.chosen
    assert late.figures["objective"] == pytest.approx(float((chosen["harm"] * chosen["window_share"]).sum()))
    assert "weighted by its share inside its window" in late.summary()


def test_auto_windows_follow_the_areas_offence_times(timed_workspace: Path) -> None:
    with Workspace(timed_workspace) as ws:
        plan = plan_patrols(ws, window="auto", window_hours=6, areas=21, seed=2, start="2024-05-01", days=21,
                            store=False)
        crimes = _sv(ws)
    info = plan.meta["windows"]
    assert info["source"] == "auto" and info["hours"] == 6
    week = WeekWindows.parse(info["label"])
    assert all(len(w) == 1 and w[0].minutes == 360 for w in week.days)
    # share inside, by hand: hours of the week inside the chosen windows, over the areas' CCHI harm
    # crimes placed in LSOAs as the hotspot step places them (code, else polygon for unknown 2021 codes)
    unit = build_units(crimes, UnitSpec("lsoa"))[0].assign(crimes).astype(object)
    crimes = crimes[unit.isin(set(plan.candidates["area_id"].astype(str))).to_numpy()]
    harm = apply_harm(crimes, load_harm_table("cchi")).to_numpy()
    when = pd.to_datetime(crimes["occurred_at"])
    hour_of_week = (when.dt.day_of_week * 24 + when.dt.hour).to_numpy()
    covered = {(d * 24 + k) % 168 for d in range(7) for k in range(week.on(d)[0].start // 60,
                                                                   week.on(d)[0].end // 60)}
    hand = harm[np.isin(hour_of_week, list(covered))].sum() / harm.sum()
    assert info["share_inside"] == pytest.approx(hand)
    assert info["share_inside"] > 6 / 24  # better than any window on flat times
    assert "Windows from the data (6-hour)" in plan.summary()
    assert set(plan.schedule["shift"]) == {w[0].label for w in week.days}


def test_monthly_only_data_keeps_the_default_and_weighs_one(bedfordshire_workspace: Path) -> None:
    with Workspace(bedfordshire_workspace) as ws:
        auto = plan_patrols(ws, window="auto", seed=2, start="2024-05-01", days=21, store=False)
        budget = plan_patrols(ws, window="04:00-10:00", **BUDGET)
        other = plan_patrols(ws, window="14:00-24:00", **BUDGET)
    assert auto.meta["windows"]["source"] == "default"
    assert set(auto.schedule["shift"]) == {"14:00-24:00"}
    assert "cannot derive windows: the data hold no offence times" in auto.summary()
    assert budget.meta["windows"]["shares"] == "1 (no offence times)"
    assert budget.figures["objective"] == pytest.approx(other.figures["objective"])  # weight 1 either way
    assert "weighs 1: no offence times" in budget.summary()


def test_cli_window_auto_and_a_bad_window(timed_workspace: Path, tmp_path: Path) -> None:
    args = ["plan", "-w", str(timed_workspace), "--experiment", "--days", "21", "--seed", "4", "--no-store"]
    files = ["-o", str(tmp_path / "p.csv"), "--schedule", str(tmp_path / "s.csv"), "--json"]
    ok = CliRunner().invoke(app, [*args, "--window", "auto Fri-Sat,Sun-Thu", "--window-hours", "4", *files])
    assert ok.exit_code == 0, ok.output
    payload = json.loads(ok.stdout)
    assert "Windows from the data (4-hour)" in payload["summary"]
    shifts = pd.read_csv(tmp_path / "s.csv")["shift"]
    assert shifts.str.len().eq(11).all() and shifts.nunique() <= 2  # one window per weekday group
    bad = CliRunner().invoke(app, [*args, "--window", "Fri-Sat 20:00-03:00", "-o", str(tmp_path / "x.csv")])
    assert bad.exit_code != 0 and not (tmp_path / "x.csv").exists()
    assert "leaves Mon, Tue, Wed, Thu, Sun without one" in str(bad.exception)
