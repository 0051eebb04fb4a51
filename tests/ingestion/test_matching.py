"""Probable ED-police matches (gripkit.ingestion.matching), on SYNTHETIC ED records planted at REAL
police places.

No open record-level ED data exists. The police records are the REAL violence rows of the bundled
Bedfordshire police.uk street file for May 2023 (read by ``ed_data/make_ed.py``'s ``police_rows``);
where a test needs police times (a force's own data has them, police.uk does not) they are drawn,
seeded. ED records are planted beside police records chosen **isolated** (no other police violence
record within 600 m and 6 h), so which police record each ED record should match, or that it
should match none, is known by construction: the expected counts are hand counts of the plan.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from gripkit.errors import InputError
from gripkit.ingestion.matching import MatchRule, ed_only, match_records

VSO = "Violence and sexual offences"
_SPEC = importlib.util.spec_from_file_location("make_ed", Path(__file__).parent / "ed_data" / "make_ed.py")
assert _SPEC and _SPEC.loader
make_ed = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(make_ed)


def police_frame(*, timed: bool) -> pd.DataFrame:
    """The real May 2023 violence rows as canonical police records; drawn times when ``timed``."""
    rows = make_ed.police_rows()
    rng = np.random.default_rng(20230502)
    minutes = rng.integers(0, 31 * 24 * 60, len(rows))
    when = pd.Timestamp("2023-05-01") + pd.to_timedelta(minutes, unit="min")
    return pd.DataFrame(
        {
            "crime_id": [f"P{i}" for i in range(len(rows))],
            "month": pd.Timestamp("2023-05-01"),
            "occurred_at": when if timed else pd.NaT,
            "crime_type": VSO,
            "x": rows["x"].to_numpy(),
            "y": rows["y"].to_numpy(),
            "source": "police",
        }
    )


def isolated(police: pd.DataFrame, *, metres: float = 600, hours: float = 6) -> list[int]:
    """Positions of police records with no other record within ``metres`` and ``hours``
    (any time when the records have none), found with scipy independently of gripkit."""
    xy = police[["x", "y"]].to_numpy()
    t = police["occurred_at"]
    out = []
    for i, near in enumerate(cKDTree(xy).query_ball_point(xy, metres)):
        others = [j for j in near if j != i]
        if t.isna().all():
            clash = bool(others)
        else:
            clash = any(abs((t.iloc[j] - t.iloc[i]).total_seconds()) < hours * 3600 for j in others)
        if not clash:
            out.append(i)
    return out


def ed_record(x: float, y: float, when: pd.Timestamp, ref: str) -> dict[str, object]:
    return {
        "crime_id": ref, "month": when.to_period("M").to_timestamp(), "occurred_at": when,
        "crime_type": VSO, "x": x, "y": y, "source": "health",
    }


def test_planted_matches_found_and_unmatched_left_with_timed_police_records() -> None:
    police = police_frame(timed=True)
    lone = isolated(police)
    assert len(lone) >= 20
    planted, ed = {}, []
    for k, i in enumerate(lone[:12]):  # N = 12 matched: 50 m away (40 east, 30 north), 1 h apart
        p = police.iloc[i]
        hours = 1 if k % 2 else -1
        ed.append(ed_record(p.x + 40, p.y + 30, p.occurred_at + pd.Timedelta(hours=hours), f"M{k}"))
        planted[f"M{k}"] = p.crime_id
    for k, i in enumerate(lone[12:15]):  # unmatched: the same place, 5 h later (window 3 h)
        p = police.iloc[i]
        ed.append(ed_record(p.x, p.y, p.occurred_at + pd.Timedelta(hours=5), f"U{k}"))
    for k, i in enumerate(lone[15:18]):  # unmatched: 300 m away (limit 250 m), the same minute
        p = police.iloc[i]
        ed.append(ed_record(p.x + 300, p.y, p.occurred_at, f"U{3 + k}"))
    for k, i in enumerate(lone[18:20]):  # unmatched: the police record there is public order
        police.loc[police.index[i], "crime_type"] = "Public order"
        p = police.iloc[i]
        ed.append(ed_record(p.x, p.y, p.occurred_at, f"U{6 + k}"))
    crimes = pd.concat([police, pd.DataFrame(ed)], ignore_index=True)
    before = crimes.copy()
    result = match_records(crimes)
    pairs = result.pairs
    ids = crimes["crime_id"]
    found = dict(zip(ids[pairs["ed_index"]], ids[pairs["police_index"]], strict=True))
    assert found == planted  # N = 12 by hand, each with its own police record
    assert result.meta["matched"] == 12 and result.meta["ed_unmatched"] == 8  # M = 3 + 3 + 2
    assert result.meta["ed_records"] == 20 and result.meta["police_records"] == len(police) - 2
    # score by hand: (1 - 1/3) * (1 - 50/250) = 0.5333
    assert pairs["distance_m"].tolist() == [50.0] * 12 and pairs["hours_apart"].tolist() == [1.0] * 12
    assert pairs["score"].tolist() == [round((1 - 1 / 3) * (1 - 50 / 250), 4)] * 12
    assert set(pairs["time_rule"]) == {"time"}
    only = ed_only(crimes, result)
    assert sorted(ids[only]) == [f"U{k}" for k in range(8)]
    pd.testing.assert_frame_equal(crimes, before)  # nothing deleted or changed


def test_month_rule_when_police_records_have_no_time() -> None:
    police = police_frame(timed=False)  # police.uk: the month only
    lone = isolated(police)
    a, b = police.iloc[lone[0]], police.iloc[lone[1]]
    ed = [
        ed_record(a.x + 100, a.y, pd.Timestamp("2023-05-20 23:00"), "same_month"),
        ed_record(b.x, b.y, pd.Timestamp("2023-06-01 00:30"), "next_month"),
    ]
    crimes = pd.concat([police, pd.DataFrame(ed)], ignore_index=True)
    result = match_records(crimes)
    assert result.pairs["ed_crime_id"].tolist() == ["same_month"]
    row = result.pairs.iloc[0]
    # month rule: time closeness 0.5 (stated), distance 1 - 100/250 = 0.6, score 0.3
    assert (row.time_rule, row.time_closeness, row.distance_closeness, row.score) == ("month", 0.5, 0.6, 0.3)
    assert np.isnan(row.hours_apart)


def test_one_to_one_best_score_first() -> None:
    police = police_frame(timed=True)
    p = police.iloc[isolated(police)[0]]
    ed = [
        ed_record(p.x + 100, p.y, p.occurred_at, "far"),  # score 1 * (1 - 100/250) = 0.6
        ed_record(p.x + 20, p.y, p.occurred_at + pd.Timedelta(hours=1.5), "near"),  # 0.5 * 0.92 = 0.46
        ed_record(p.x, p.y + 10, p.occurred_at + pd.Timedelta(hours=2.7), "late"),  # 0.1 * 0.96 = 0.096
    ]
    result = match_records(pd.concat([police, pd.DataFrame(ed)], ignore_index=True))
    # three candidates for one police record; the best score (0.6) wins, the others stay unmatched
    assert result.meta["candidates"] == 3
    assert result.pairs["ed_crime_id"].tolist() == ["far"] and result.pairs["score"].tolist() == [0.6]
    assert result.pairs["candidates"].tolist() == [1]  # "far" had one police candidate
    assert result.meta["ed_unmatched"] == 2


def test_rule_is_validated_and_stated() -> None:
    with pytest.raises(InputError, match="'window_hours' must be > 0"):
        MatchRule(window_hours=0)
    with pytest.raises(InputError, match=r"police\.uk crime types"):
        MatchRule(police_types=("Assault",))
    rule = MatchRule().describe()
    assert (rule["window_hours"], rule["max_distance_m"]) == (3.0, 250.0)
    assert rule["police_types"] == [VSO, "Robbery"]
    empty = match_records(police_frame(timed=False))  # no ED records: nothing to match
    assert empty.meta["matched"] == 0 and empty.pairs.empty


def test_chance_share_is_calibrated_on_unrelated_incidents(bedfordshire_crimes) -> None:
    """Under the null -- ED records that are NOT police incidents -- the share matched should equal
    the chance share the matcher reports. Stand-ins: REAL anti-social behaviour places of
    Bedfordshire (3 months), relabelled as ED assaults; the police records are the other crimes."""
    crimes = bedfordshire_crimes(3).assign(source="police", occurred_at=pd.NaT)
    asb = crimes["crime_type"] == "Anti-social behaviour"
    ed = crimes[asb].sample(1000, random_state=7).assign(source="health", crime_type=VSO)
    null = pd.concat([crimes[~asb], ed], ignore_index=True)
    month = match_records(null)  # police.uk: the month rule
    share = month.meta["matched"] / 1000
    # binomial sd of each share <= sqrt(0.25 / 1000) = 0.016: 0.06 is about 3 sd of the difference
    assert month.meta["chance_share"] == pytest.approx(share, abs=0.06)
    assert share > 0.5  # the month rule pairs most unrelated incidents in a town: the caveat of docs/ed.md
    rng = np.random.default_rng(11)
    minutes = rng.integers(0, 28 * 24 * 60, len(null))
    timed = null.assign(occurred_at=pd.to_datetime(null["month"]) + pd.to_timedelta(minutes, unit="min"))
    result = match_records(timed)
    share = result.meta["matched"] / 1000  # about 0.05; sd <= 0.007 each
    assert share < 0.15 and result.meta["chance_share"] == pytest.approx(share, abs=0.03)
