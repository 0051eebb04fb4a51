"""Visits recovered from SIMULATED GPS traces (tests/dosage/simulate.py) with known visits."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gripkit import datasets
from gripkit.dosage import clean_pings, locate, officer_visits, patrol_visits
from gripkit.errors import InputError

from .simulate import A_IN, A_OUT, areas, one_patrol, raw, track

T = pd.Timestamp


def visits_of(pings: pd.DataFrame, **kwargs) -> pd.DataFrame:
    clean, bad = clean_pings(raw(pings), now=T("2025-01-01"))
    assert bad.empty, bad
    return officer_visits(clean, areas(), **kwargs)


def test_known_visit_is_recovered_exactly() -> None:
    v = visits_of(one_patrol())
    assert v[["area_id", "officer_id", "pings"]].values.tolist() == [["A", "R1", 31]]
    assert v["start_utc"].iloc[0] == T("2024-06-01 14:00") and v["end_utc"].iloc[0] == T("2024-06-01 14:15")
    assert v["dwell_minutes"].iloc[0] == 15.0 and v["date"].iloc[0].isoformat() == "2024-06-01"


def test_two_officers_make_one_patrol_visit() -> None:
    r2 = track("R2", [("2024-06-01 14:01", "2024-06-01 14:16", A_IN)])
    v = patrol_visits(visits_of(pd.concat([one_patrol(), r2])))
    # union of 14:00-14:15 and 14:01-14:16 is 16 minutes; 15 + 15 officer-minutes
    assert v[["area_id", "officers", "officer_ids", "dwell_minutes", "officer_minutes"]].values.tolist() == [
        ["A", 2, "R1;R2", 16.0, 30.0]
    ]


def test_leave_and_reenter_within_the_gap_is_one_visit() -> None:
    pings = track(
        "R1",
        [
            ("2024-06-01 14:00:00", "2024-06-01 14:05:00", A_IN),
            ("2024-06-01 14:05:30", "2024-06-01 14:07:30", A_OUT),  # out for 3 minutes between inside pings
            ("2024-06-01 14:08:00", "2024-06-01 14:15:00", A_IN),
        ],
    )
    one = visits_of(pings, gap_minutes=5)
    assert one["dwell_minutes"].tolist() == [15.0]
    two = visits_of(pings, gap_minutes=2)  # 3 minutes > 2: two visits of 5 and 7 minutes
    assert two["dwell_minutes"].tolist() == [5.0, 7.0]


def test_duplicates_and_shuffled_rows_change_nothing() -> None:
    pings = one_patrol()
    doubled = raw(pd.concat([pings, pings]))
    doubled["source_row"] = range(2, len(doubled) + 2)
    shuffled = doubled.sample(frac=1.0, random_state=1)
    clean, bad = clean_pings(shuffled, now=T("2025-01-01"))
    assert len(bad) == len(pings) and set(bad["reason"]) == {"duplicate"}
    assert officer_visits(clean, areas()).equals(visits_of(pings))


def test_clock_skew_is_corrected_and_absurd_clocks_quarantined() -> None:
    pings = one_patrol("R2")
    ahead = pings.assign(ts_utc=pings["ts_utc"] + pd.Timedelta(seconds=120))  # device 2 min fast
    text = raw(ahead)
    clean, _ = clean_pings(text, clock_offsets={"R2": 120}, now=T("2025-01-01"))
    assert officer_visits(clean, areas()).equals(visits_of(pings))
    skewed, _ = clean_pings(text, now=T("2025-01-01"))
    assert officer_visits(skewed, areas())["start_utc"].iloc[0] == T("2024-06-01 14:02")
    text.loc[0, "timestamp"], text.loc[1, "timestamp"] = "2099-01-01T00:00:00Z", "1980-01-06T00:00:00Z"
    _, bad = clean_pings(text, now=T("2025-01-01"))
    assert bad["reason"].tolist() == ["future_timestamp", "bad_timestamp"]


def test_local_times_give_the_same_visits() -> None:
    clean, bad = clean_pings(raw(one_patrol(), fmt="london"), tz="Europe/London", now=T("2025-01-01"))
    assert bad.empty and officer_visits(clean, areas()).equals(visits_of(one_patrol()))


def test_gps_spike_is_quarantined() -> None:
    pings = one_patrol()
    text = raw(pings)
    text.loc[25, ["x", "y"]] = ["559100.0", "221100.0"]  # 50 km jump for one ping
    clean, bad = clean_pings(text, now=T("2025-01-01"))
    assert bad["reason"].tolist() == ["impossible_speed"] and bad["source_row"].tolist() == [27]
    assert officer_visits(clean, areas())["dwell_minutes"].tolist() == [15.0]


def test_buffer_counts_pings_just_outside() -> None:
    edge = track("R1", [("2024-06-01 14:00", "2024-06-01 14:10", (509100.0, 221210.0))])  # 10 m north of A
    assert visits_of(edge, buffer_m=0).empty
    assert visits_of(edge, buffer_m=25)["dwell_minutes"].tolist() == [10.0]


def test_locate_matches_geopandas_sjoin_on_real_lsoas() -> None:
    lsoa = datasets.bedfordshire_lsoa().rename(columns={"lsoa11cd": "area_id"})
    rng = np.random.default_rng(0)
    minx, miny, maxx, maxy = lsoa.total_bounds
    x, y = rng.uniform(minx, maxx, 20_000), rng.uniform(miny, maxy, 20_000)
    got_p, got_a = locate(x, y, lsoa)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=lsoa.crs)
    ref = gpd.sjoin(points, lsoa, predicate="intersects")
    expected = sorted(zip(ref.index.to_numpy(), ref["index_right"].to_numpy(), strict=True))
    assert sorted(zip(got_p.tolist(), got_a.tolist(), strict=True)) == expected


def test_bad_areas() -> None:
    pings = one_patrol()
    with pytest.raises(InputError, match="degrees"):
        officer_visits(pings, areas().to_crs("EPSG:4326"))
    with pytest.raises(InputError, match="no polygons"):
        officer_visits(pings, areas().assign(geometry=None).set_crs("EPSG:27700", allow_override=True))
