"""hotspots.profile: hand examples and the real timestamped Chicago data vs independent pandas.

gripkit's ingest checks that coordinates lie in England and Wales, so Chicago rows would be
quarantined: the Chicago crimes frame is built here directly from the CSV with pandas
(``occurred_at`` = the ``date`` column, minute resolution).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from tests.conftest import DATA, need_data

from gripkit.errors import InputError
from gripkit.hotspots import peak_windows, time_profile
from gripkit.hotspots.profile import _time_profile

CHICAGO = DATA / "chicago" / "chicago_aggravated_assaults.csv.gz"


@functools.cache
def _chicago() -> pd.DataFrame:
    raw = pd.read_csv(need_data(CHICAGO))
    return pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(raw["date"], format="%Y-%m-%d %H:%M"),
            "district": raw["district"].astype(str),
            # a made-up weight to test summing: 2 for assaults on the street, else 1
            "harm": np.where(raw["loc_cat"] == "street", 2.0, 1.0),
        }
    )


@pytest.fixture()
def chicago() -> pd.DataFrame:
    return _chicago().copy()


def test_hand_three_crimes() -> None:
    # 2024-01-01 is a Monday (calendar); 2024-01-07 a Sunday
    crimes = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(["2024-01-01 22:15", "2024-01-01 22:59", "2024-01-07 03:00"]),
            "harm": [10.0, 5.0, 1.0],
        }
    )
    p = time_profile(crimes)
    assert len(p) == 168 and list(p.columns) == ["weekday", "day", "hour", "value", "share"]
    nonzero = p[p["value"] > 0]
    expected = [[0, "Mon", 22, 2.0], [6, "Sun", 3, 1.0]]
    assert nonzero[["weekday", "day", "hour", "value"]].values.tolist() == expected
    assert nonzero["share"].tolist() == pytest.approx([2 / 3, 1 / 3])
    weighted = time_profile(crimes, weights="harm")
    # Mon 22h: 10 + 5 = 15 of 16; Sun 3h: 1 of 16
    assert weighted.loc[weighted["value"] > 0, "value"].tolist() == [15.0, 1.0]
    assert weighted.loc[weighted["value"] > 0, "share"].tolist() == pytest.approx([15 / 16, 1 / 16])
    assert crimes["harm"].tolist() == [10.0, 5.0, 1.0]  # not mutated


def test_chicago_totals_and_hours_match_pandas(chicago: pd.DataFrame) -> None:
    p = time_profile(chicago)
    assert p["value"].sum() == len(chicago) == 148_636  # row count from data/README.md
    # independent: pandas groupby on the hour and a weekday × hour crosstab
    by_hour = chicago.groupby(chicago["occurred_at"].dt.hour).size()
    np.testing.assert_array_equal(p.groupby("hour")["value"].sum().to_numpy(), by_hour.to_numpy())
    table = pd.crosstab(chicago["occurred_at"].dt.day_of_week, chicago["occurred_at"].dt.hour)
    np.testing.assert_array_equal(p["value"].to_numpy().reshape(7, 24), table.to_numpy())
    assert p["share"].sum() == pytest.approx(1.0)
    weighted = time_profile(chicago, weights="harm")
    ref = chicago.groupby(chicago["occurred_at"].dt.hour)["harm"].sum()
    np.testing.assert_allclose(weighted.groupby("hour")["value"].sum().to_numpy(), ref.to_numpy())


def test_chicago_per_district(chicago: pd.DataFrame) -> None:
    p = time_profile(chicago, by=chicago["district"])
    districts = chicago["district"].value_counts().sort_index()
    assert p["unit_id"].nunique() == len(districts)
    assert len(p) == 168 * len(districts)
    totals = p.groupby("unit_id")["value"].sum()
    np.testing.assert_array_equal(totals.to_numpy(), districts.reindex(totals.index).to_numpy())
    np.testing.assert_allclose(p.groupby("unit_id")["share"].sum().to_numpy(), 1.0)
    # one cell checked against a direct filter: district "11", Saturday (5) 23:00-23:59
    sel = chicago[(chicago["district"] == "11") & (chicago["occurred_at"].dt.day_of_week == 5)
                  & (chicago["occurred_at"].dt.hour == 23)]
    cell = p[(p["unit_id"] == "11") & (p["weekday"] == 5) & (p["hour"] == 23)]
    assert cell["value"].item() == len(sel)


def test_chicago_peak_windows_match_brute_force(chicago: pd.DataFrame) -> None:
    p = time_profile(chicago, by=chicago["district"])
    windows = peak_windows(p, hours=4, top=3)
    assert (windows.groupby("unit_id").size() == 3).all()
    for unit_id, group in p.groupby("unit_id"):
        week = group["value"].to_numpy()  # 168 hours, Mon 00:00 first
        circular = np.concatenate([week, week[:3]])
        sums = np.array([circular[s : s + 4].sum() for s in range(168)])  # brute force
        mine = windows[windows["unit_id"] == unit_id]
        first = int(mine["weekday"].iloc[0] * 24 + mine["start_hour"].iloc[0])
        assert mine["value"].iloc[0] == sums.max() == sums[first]
        starts = (mine["weekday"] * 24 + mine["start_hour"]).to_numpy()
        for a in starts:  # non-overlapping: starts at least 4 h apart around the week
            gaps = np.abs((starts - a + 84) % 168 - 84)
            assert (gaps[gaps > 0] >= 4).all()
        assert mine["value"].is_monotonic_decreasing


def test_peak_windows_wrap_midnight_and_week() -> None:
    # Sun 2024-01-07 23:10, Mon 2024-01-08 00:30 and 01:10: one 3-hour window Sun 23:00-02:00 holds all 3
    crimes = pd.DataFrame({"occurred_at": pd.to_datetime(
        ["2024-01-07 23:10", "2024-01-08 00:30", "2024-01-08 01:10", "2024-01-03 12:00"])})
    w = peak_windows(time_profile(crimes), hours=3, top=2)
    assert w["label"].tolist()[0] == "Sun 23:00-02:00"
    assert w["value"].tolist() == [3.0, 1.0]
    assert w["share"].tolist() == [0.75, 0.25]
    # the second window holds Wed 12:00; ties among its 3 possible starts go to the earliest (10:00)
    assert w["label"].tolist()[1] == "Wed 10:00-13:00"


def test_month_only_data_is_refused(bedfordshire_crimes) -> None:
    crimes = bedfordshire_crimes(1)  # real police.uk: month only
    with pytest.raises(InputError, match=r"police\.uk data has the month only"):
        time_profile(crimes)
    crimes["occurred_at"] = pd.NaT
    with pytest.raises(InputError, match="only missing values"):
        time_profile(crimes)


def test_missing_times_and_units_are_reported() -> None:
    crimes = pd.DataFrame({"occurred_at": pd.to_datetime(["2024-01-01 10:00", None, "2024-01-02 11:00"])})
    p, record = _time_profile(crimes, by=pd.Series(["a", "a", None], dtype="string"))
    assert record["missing_times"] == 1 and record["unassigned"] == 1 and not p.attrs
    assert p["value"].sum() == 1.0 and p["unit_id"].unique().tolist() == ["a"]


def test_bad_arguments() -> None:
    crimes = pd.DataFrame({"occurred_at": pd.to_datetime(["2024-01-01 10:00"]), "w": [-1.0]})
    with pytest.raises(InputError, match="finite weights >= 0"):
        time_profile(crimes, weights="w")
    with pytest.raises(InputError, match="not a column"):
        time_profile(crimes, weights="harm")
    with pytest.raises(InputError, match=r"aligned to crimes\.index"):
        time_profile(crimes, by=pd.Series(["a", "b"]))
    with pytest.raises(InputError, match="at most 24"):
        peak_windows(time_profile(crimes), hours=25)
    with pytest.raises(InputError, match="lacks column"):
        peak_windows(pd.DataFrame({"x": [1]}))
