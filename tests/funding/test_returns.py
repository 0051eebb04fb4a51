"""Home Office returns (gripkit.funding.returns) on real Bedfordshire months, SIMULATED patrols.

The workspace holds the real police.uk street and stop-and-search files of 2024-03 and of the same
month a year before (2023-03); a plan of the top 6 LSOAs (serious-violence harm, 2024-03) is made by
plan_patrols. The patrols are SIMULATED (no real officer data exists in the open): GPS pings of one
officer per area standing at its representative point for each planned visit, except two; one of
those two is recorded by the officer on the dashboard instead; plus an unplanned GPS visit in
2023-03 and a 5-minute walk-through (below the 10-minute minimum) in 2024-03.

Expected numbers are hand counts in the test: patrol minutes summed from the simulated visits, and
stop-searches, serious violence and ASB counted with plain pandas + pyproj + shapely
point-in-polygon over the raw police.uk CSV rows of the month, independently of the workspace.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyproj
import pytest
import shapely

from dosage.simulate import raw, track  # tests/dosage (tests/ is on sys.path)
from gripkit import Workspace
from gripkit.dosage import ingest_gps
from gripkit.errors import InputError
from gripkit.funding.returns import COLUMNS, FIGURES, PREV, Returns, home_office_returns
from gripkit.harm import load_harm_table
from gripkit.ingestion import ingest
from gripkit.patrol import plan_patrols
from gripkit.results import KINDS

MONTH, BEFORE = "2024-03", "2023-03"
NOW = pd.Timestamp("2025-01-01")
ZIP = ("bedfordshire", "police-uk-bedfordshire-2021-05-to-2024-04.zip")
SKIPPED, RECORDED = 1, 0  # planned visits with no GPS: the first is recorded on the dashboard instead
RECORDED_MINUTES, BEFORE_MINUTES, WALK_MINUTES = 20, 25, 5
SERIOUS = ("Violence and sexual offences", "Robbery", "Possession of weapons")


def _record(ws: Workspace, area: str, start: pd.Timestamp, minutes: int, plan_id: int) -> None:
    """A visit as the dashboard's phone page stores it (as in tests/dosage/test_compliance_job.py)."""
    ws.con.execute(
        "INSERT INTO officer_patrols (patrol_id, officer, area_id, date, start_time, minutes, plan_id, note, "
        "created_by, created_at) VALUES (1, 'pc_one', ?, ?, NULL, 15, ?, NULL, 'analyst', now())",
        [area, start.date(), plan_id],
    )
    stop = start + pd.Timedelta(minutes=minutes)
    ws.con.execute(
        "INSERT INTO officer_visits VALUES (1, 1, 'pc_one', ?, CAST(CAST(? AS TIMESTAMPTZ) AS TIMESTAMP), "
        "CAST(CAST(? AS TIMESTAMPTZ) AS TIMESTAMP))",
        [area, f"{start}+00", f"{stop}+00"],
    )


@pytest.fixture(scope="module")
def built(shared_data, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    archive = shared_data(*ZIP)
    out = tmp_path_factory.mktemp("returns")
    with zipfile.ZipFile(archive) as z:
        for name in z.namelist():
            if name[:7] in (MONTH, BEFORE) and name.endswith(("-street.csv", "-stop-and-search.csv")):
                z.extract(name, out / "raw")
    ws = Workspace(out / "ws.duckdb")
    ingest([str(out / "raw")], ws)
    plan = plan_patrols(ws, areas=6, treated_per_day=3, days=8, seed=3, start="2024-03-20",
                        months=(MONTH, MONTH), window="14:00-20:00")
    where = plan.candidates.set_index("area_id").geometry.representative_point()
    schedule = plan.schedule.reset_index(drop=True)
    officers = {a: i for i, a in enumerate(plan.candidates["area_id"])}
    frames = []
    for i, visit in enumerate(schedule.itertuples()):
        if i in (SKIPPED, RECORDED):
            continue
        point = where[visit.area_id]
        officer = f"R{officers[visit.area_id]}"  # one officer per area: visits of two areas may overlap
        frames.append(track(officer, [(str(visit.start_utc), str(visit.end_utc), (point.x, point.y))]))
    first = plan.candidates["area_id"].iloc[0]
    p0 = where[first]
    frames.append(track("R0", [("2023-03-15 14:00", f"2023-03-15 14:{BEFORE_MINUTES}", (p0.x, p0.y))]))
    frames.append(track("R0", [("2024-03-05 14:00", f"2024-03-05 14:0{WALK_MINUTES}", (p0.x, p0.y))]))
    pings = out / "pings.csv"
    raw(pd.concat(frames))[["officer_id", "timestamp", "x", "y"]].to_csv(pings, index=False)
    ingest_gps([pings], ws, officers=[f"R{i}" for i in officers.values()], now=NOW)
    recorded = schedule.iloc[RECORDED]
    _record(ws, recorded["area_id"], recorded["start_utc"], RECORDED_MINUTES, plan.plan_id)
    result = home_office_returns(ws, month=MONTH)
    return {"ws": ws, "plan": plan, "schedule": schedule, "result": result, "folder": out, "first": first}


def _hand_counts(folder: Path, kind: str, month: str, areas: Any) -> pd.DataFrame:
    """The raw police.uk rows of ``month``'s ``kind`` file with the plan area each point lies in."""
    rows = pd.read_csv(folder / "raw" / month / f"{month}-bedfordshire-{kind}.csv")
    rows = rows.dropna(subset=["Longitude", "Latitude"]).reset_index(drop=True)
    to_bng = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(rows["Longitude"].to_numpy(), rows["Latitude"].to_numpy())
    points = shapely.points(x, y)
    rows["area_id"] = None
    for area_id, polygon in zip(areas["area_id"], areas.geometry, strict=True):
        rows.loc[shapely.contains(polygon, points), "area_id"] = area_id
    return rows[rows["area_id"].notna()]


def test_patrol_hours_are_the_visits_minutes_summed(built: dict[str, Any]) -> None:
    result: Returns = built["result"]
    rows = result.table.set_index("area_id")
    schedule = built["schedule"]
    # hand: every planned visit is 15 minutes; GPS follows all but visits 0 and 1; visit 0 is recorded
    # by the officer for 20 minutes; the 5-minute walk-through is under the 10-minute minimum
    minutes: dict[str, float] = {a: 0.0 for a in built["plan"].candidates["area_id"]}
    planned: dict[str, int] = dict.fromkeys(minutes, 0)
    delivered: dict[str, int] = dict.fromkeys(minutes, 0)
    for i, visit in enumerate(schedule.itertuples()):
        planned[visit.area_id] += 1
        if i == SKIPPED:
            continue
        delivered[visit.area_id] += 1
        minutes[visit.area_id] += RECORDED_MINUTES if i == RECORDED else 15
    assert len(schedule) == 3 * 8  # 3 treated areas a day for 8 days, one visit each
    for area in minutes:
        assert rows.loc[area, "patrols_planned"] == planned[area]
        assert rows.loc[area, "patrols_delivered"] == delivered[area]
        assert rows.loc[area, "patrol_hours_delivered"] == pytest.approx(minutes[area] / 60)
    total = rows.loc["total"]
    assert total["patrols_planned"] == 24 and total["patrols_delivered"] == 23
    assert total["patrol_hours_delivered"] == pytest.approx((22 * 15 + RECORDED_MINUTES) / 60)
    # a year before: no plan yet (0 planned), one unplanned 25-minute GPS visit in the first area
    assert total["patrols_planned_prev_year"] == 0
    assert rows.loc[built["first"], "patrol_hours_delivered_prev_year"] == pytest.approx(BEFORE_MINUTES / 60)
    assert total["patrol_hours_delivered_prev_year"] == pytest.approx(BEFORE_MINUTES / 60)


@pytest.mark.parametrize("month, suffix", [(MONTH, ""), (BEFORE, PREV)])
def test_stop_searches_equal_a_hand_count_over_the_raw_csv(
    built: dict[str, Any], month: str, suffix: str
) -> None:
    rows = built["result"].table.set_index("area_id")
    found = _hand_counts(built["folder"], "stop-and-search", month, built["plan"].candidates)
    by_area = found.groupby("area_id").size()
    arrests = found[found["Outcome"] == "Arrest"].groupby("area_id").size()
    nfa = found[found["Outcome"] == "A no further action disposal"].groupby("area_id").size()
    assert len(found) > 0  # the test would be empty otherwise
    for area in built["plan"].candidates["area_id"]:
        assert rows.loc[area, "stop_searches" + suffix] == by_area.get(area, 0), area
        assert rows.loc[area, "stop_search_arrests" + suffix] == arrests.get(area, 0), area
        assert rows.loc[area, "stop_search_no_further_action" + suffix] == nfa.get(area, 0), area
    # the outcome groups partition the searches
    parts = ["stop_search_arrests", "stop_search_other_action", "stop_search_no_further_action",
             "stop_search_outcome_not_recorded"]
    assert (rows[[p + suffix for p in parts]].sum(axis=1) == rows["stop_searches" + suffix]).all()


@pytest.mark.parametrize("month, suffix", [(MONTH, ""), (BEFORE, PREV)])
def test_crimes_and_asb_equal_a_hand_count_over_the_raw_csv(
    built: dict[str, Any], month: str, suffix: str
) -> None:
    rows = built["result"].table.set_index("area_id")
    found = _hand_counts(built["folder"], "street", month, built["plan"].candidates)
    serious = found[found["Crime type"].isin(SERIOUS)]
    weights = load_harm_table("cchi").weights  # hand: harm = sum of each crime's CCHI weight
    harm = serious.assign(w=serious["Crime type"].map(weights)).groupby("area_id")["w"].sum()
    asb = found[found["Crime type"] == "Anti-social behaviour"].groupby("area_id").size()
    assert len(serious) > 0 and asb.sum() > 0
    for area in built["plan"].candidates["area_id"]:
        assert rows.loc[area, "serious_violence_crimes" + suffix] == (serious["area_id"] == area).sum(), area
        assert rows.loc[area, "serious_violence_harm" + suffix] == pytest.approx(harm.get(area, 0.0)), area
        assert rows.loc[area, "asb_incidents" + suffix] == asb.get(area, 0), area


def test_total_row_is_the_column_sums_and_the_csv_opens_in_pandas(
    built: dict[str, Any], tmp_path: Path
) -> None:
    result: Returns = built["result"]
    path = result.write_csv(tmp_path / "returns.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == list(COLUMNS) and len(back) == 6 + 1
    assert all(f in back.columns and f + PREV in back.columns for f in FIGURES)
    areas, total = back.iloc[:-1], back.iloc[-1]
    assert total["area_id"] == "total" and total["label"] == "All hotspots"
    for name in COLUMNS[2:]:
        assert total[name] == pytest.approx(areas[name].sum()), name
    # every hotspot is named: the LSOA name police.uk publishes (e.g. "Luton 012A")
    assert areas["label"].str.match(r"^(Bedford|Luton|Central Bedfordshire) \d{3}[A-Z]$").all()


def test_stored_with_its_provenance(built: dict[str, Any]) -> None:
    ws, result = built["ws"], built["result"]
    stored = ws.latest_result("returns")
    assert KINDS["returns"].writer_class() is Returns
    assert stored is not None and stored.meta["plan_id"] == built["plan"].plan_id
    assert stored.meta["plan_default"]
    assert stored.meta["month"] == MONTH and stored.meta["prev_month"] == BEFORE
    assert stored.meta["harm_table"] == "cchi" and len(stored.meta["harm_sha256"]) == 64
    assert stored.payload["total"]["patrols_planned"] == 24 and stored.payload["areas"] == 6
    assert stored.table_names == ("returns",)
    assert stored.summary == result.summary() and "24 planned patrols" in result.summary()


def test_missing_month_is_a_clear_error_or_blank_with_allow_gaps(built: dict[str, Any]) -> None:
    ws = built["ws"]
    # 2024-04 is not ingested (nor 2023-04): refused, naming the month and the fixes
    with pytest.raises(InputError, match=r"holds no street crime data for 2024-04.*'allow_gaps'"):
        home_office_returns(ws, month="2024-04", store=False)
    with pytest.raises(InputError, match="'month' must"):
        home_office_returns(ws, month="March", store=False)
    # 2025-03 is not held, its year-before month 2024-03 is
    gaps = home_office_returns(ws, month="2025-03", allow_gaps=True, store=False)
    assert gaps.table["stop_searches"].isna().all() and gaps.table["asb_incidents"].isna().all()
    assert gaps.table["stop_searches_prev_year"].tolist() == built["result"].table["stop_searches"].tolist()
    assert gaps.meta["blank"] == ["street crime 2025-03", "stop-and-search 2025-03"]


def test_cli_writes_the_csv_and_announces_the_default_plan(built: dict[str, Any], tmp_path: Path) -> None:
    built["ws"].checkpoint()  # then a copy: the fixture keeps the workspace open
    db = shutil.copy(built["folder"] / "ws.duckdb", tmp_path / "ws.duckdb")
    env = dict(os.environ)
    args = ["gripkit", "returns", "--month", MONTH, "--out", str(tmp_path / "r.csv"), "--workspace", str(db)]
    run = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    assert "plan 1 (the latest stored); 6 hotspots" in run.stdout
    assert pd.read_csv(tmp_path / "r.csv").equals(pd.read_csv(built["result"].write_csv(tmp_path / "p.csv")))
    bad = subprocess.run([*args[:3], "2024-04", *args[4:], "--json"], capture_output=True, text=True,
                         timeout=300, env=env)
    assert bad.returncode == 1 and bad.stdout == ""
    assert "holds no street crime data for 2024-04" in bad.stderr and "--allow-gaps" in bad.stderr
