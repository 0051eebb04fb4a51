"""`evaluate_plan` / `gripkit evaluate --plan`: a stored plan evaluated from the workspace's own records.

The plan is real in its places: ``plan_patrols`` over the 21 Bedfordshire LSOAs with most
serious-violence harm in the bundled police.uk months (2023-05..2024-04), with their real polygons,
90 days from 2024-01-01, 7 treated a day, patrols 14:00-24:00. The OUTCOMES ARE SYNTHETIC: no open
record-level, timestamped crime data exists for Bedfordshire, so a force-style CSV (reference,
date-time, offence, easting, northing) is simulated: per area-day a Poisson number of crimes inside
the patrol window (rate = the area's real serious-violence crimes a day over 2023-05..2024-04, times
3) at random points of the real LSOA polygon, plus crimes in the morning (00:00-14:00, outside the
window: they must not count). The real police.uk months 2024-01..2024-03 are ingested too (month only:
they must be left out, with a note). GPS pings (simulated) follow the planned visits of the first two
days; one visit of day 3 is recorded by an officer on the phone page.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats
from typer.testing import CliRunner

from gripkit import Workspace, datasets
from gripkit.cli import app
from gripkit.dosage import ingest_gps
from gripkit.errors import InputError
from gripkit.evaluate.from_plan import evaluate_plan, plan_place_days
from gripkit.evaluate.inference import randomisation_inference
from gripkit.evaluate.place_days import area_windows, outcome_place_days, window_day
from gripkit.evaluate.plan_design import design_from_assignment, load_plan_design
from gripkit.harm import load_harm_table
from gripkit.ingestion import ingest
from gripkit.ingestion.generic import ColumnMapping
from gripkit.patrol import experiment_design, plan_patrols
from gripkit.patrol.windows import WeekWindows

START, DAYS, EFFECT = "2024-01-01", 90, 0.40
TYPES = ["Violence and sexual offences", "Robbery", "Criminal damage and arson"]
MAPPING = ColumnMapping(
    columns={"crime_id": "Ref", "occurred_at": "Date", "crime_type": "Offence", "x": "Easting",
             "y": "Northing"},
    crs="EPSG:27700", date_format="%Y-%m-%d %H:%M:%S", force="Bedfordshire",
)


def _months(*names: str) -> list[Path]:
    """The bundled real police.uk street files of these months."""
    return [f for f in datasets.bedfordshire_street_files() if f.name[:7] in names]


def _points(polygon: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside ``polygon`` (rejection from its bounding box)."""
    x0, y0, x1, y1 = polygon.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        cand = rng.uniform((x0, y0), (x1, y1), size=(4 * n + 8, 2))
        out = np.vstack([out, cand[shapely.contains_xy(polygon, cand[:, 0], cand[:, 1])]])
    return out[:n]


def synthetic_crimes(areas: gpd.GeoDataFrame, assignments: pd.DataFrame, seed: int,
                     effect: float) -> pd.DataFrame:
    """SYNTHETIC force records; truth columns (area_id, day, in_window) say where each was generated."""
    rng = np.random.default_rng(seed)
    polygons = dict(zip(areas["area_id"].astype(str), areas.geometry, strict=True))
    rate = {str(a): 3 * c / 366 for a, c in zip(areas["area_id"], areas["crimes"], strict=True)}
    rows = []
    for day, area, treated in assignments[["date", "area_id", "treated"]].itertuples(index=False):
        midnight = pd.Timestamp(day)
        n_in = rng.poisson(rate[area])
        if treated:
            n_in = rng.binomial(n_in, 1 - effect)  # a planted effect: treated days thinned by 40%
        n_out = rng.poisson(rate[area] / 2)
        minutes = np.concatenate([rng.uniform(14 * 60, 24 * 60, n_in), rng.uniform(0, 14 * 60, n_out)])
        xy = _points(polygons[area], n_in + n_out, rng)
        for i, m in enumerate(minutes):
            rows.append((midnight + pd.Timedelta(minutes=float(np.floor(m))), TYPES[rng.integers(3)],
                         xy[i, 0], xy[i, 1], area, midnight, i < n_in))
    names = ["when", "Offence", "Easting", "Northing", "area_id", "day", "in_window"]
    frame = pd.DataFrame(rows, columns=names)
    frame.insert(0, "Ref", [f"S{i:06d}" for i in range(len(frame))])
    frame.insert(1, "Date", frame.pop("when").dt.strftime("%Y-%m-%d %H:%M:%S"))
    return frame


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory, bedfordshire_areas: gpd.GeoDataFrame) -> dict:
    """Workspace with plan 1, real police.uk 2024-01..03, synthetic timestamped crimes, GPS and a record."""
    folder = tmp_path_factory.mktemp("from_plan")
    path = folder / "w.duckdb"
    with Workspace(path) as ws:
        plan = plan_patrols(ws, areas_file=bedfordshire_areas, seed=17, start=START, days=DAYS)
        ingest(_months("2024-01", "2024-02", "2024-03"), ws)
        crimes = synthetic_crimes(plan.candidates, plan.assignments, seed=5, effect=EFFECT)
        source = folder / "force_records.csv"
        crimes.drop(columns=["area_id", "day", "in_window"]).to_csv(source, index=False)
        ingest([source], ws, mapping=MAPPING)
        inside = {str(a): g.representative_point() for a, g in zip(plan.candidates["area_id"],
                                                                    plan.candidates.geometry, strict=True)}
        first_two = plan.schedule[pd.to_datetime(plan.schedule["date"]) < pd.Timestamp("2024-01-03")]
        pings = []
        for i, row in enumerate(first_two.itertuples()):  # a pair of officers per visit (visits overlap)
            for officer in (f"V{i}a", f"V{i}b"):
                for t in pd.date_range(row.start_utc, row.end_utc, freq="30s"):
                    p = inside[row.area_id]
                    pings.append((officer, t.strftime("%Y-%m-%dT%H:%M:%SZ"), p.x, p.y))
        gps = folder / "pings.csv"
        pd.DataFrame(pings, columns=["officer_id", "timestamp", "x", "y"]).to_csv(gps, index=False)
        roster = [f"V{i}{x}" for i in range(len(first_two)) for x in "ab"]
        ingest_gps([gps], ws, officers=roster, now=pd.Timestamp("2025-01-01"))
        day3 = plan.schedule[pd.to_datetime(plan.schedule["date"]) == pd.Timestamp("2024-01-03")].iloc[0]
        # as the dashboard's phone page stores a visit: now() cast into the connection's zone
        ws.con.execute("INSERT INTO officer_patrols (patrol_id, officer, area_id, date, start_time, minutes, "
                       "plan_id, note, created_by, created_at) VALUES (1, 'pc_one', ?, ?, NULL, 15, 1, NULL, "
                       "'analyst', now())", [day3["area_id"], day3["date"]])
        ws.con.execute(
            "INSERT INTO officer_visits VALUES (1, 1, 'pc_one', ?, "
            "CAST(CAST(? AS TIMESTAMPTZ) AS TIMESTAMP), CAST(CAST(? AS TIMESTAMPTZ) AS TIMESTAMP))",
            [day3["area_id"], f"{day3['start_utc']}+00", f"{day3['end_utc']}+00"],
        )
    return {"path": path, "crimes": crimes, "plan": plan, "visits": len(first_two), "day3": day3}


def test_window_day_by_hand() -> None:
    # 2024-01-01 is a Monday; 2024-01-05 a Friday
    times = pd.Series(pd.to_datetime([
        "2024-01-01 14:00:00", "2024-01-01 23:59:59", "2024-01-02 00:00:00", "2024-01-02 02:59:00",
        "2024-01-02 03:00:00", "2024-01-05 19:00:00", "2024-01-05 21:00:00", "2024-01-06 02:30:00",
        "2024-01-07 02:30:00", "2024-01-08 02:30:00", None,
    ]))
    day = WeekWindows.parse("14:00-24:00")
    late = WeekWindows.parse("20:00-03:00")  # crosses midnight: its small hours belong to the day before
    week = WeekWindows.parse("Fri-Sat 20:00-03:00,Sun-Thu 18:00-24:00")
    got = {name: window_day(times, w).dt.strftime("%m-%d").fillna("-").tolist()
           for name, w in (("day", day), ("late", late), ("week", week))}
    # hand: minute by minute against each window; a window's tail after midnight keeps its start's date
    assert got["day"] == ["01-01", "01-01", "-", "-", "-", "01-05", "01-05", "-", "-", "-", "-"]
    assert got["late"] == ["-", "01-01", "01-01", "01-01", "-", "-", "01-05", "01-05", "01-06", "01-07", "-"]
    # Fri 19:00 is before Friday's 20:00; Sat 02:30 is Friday's window, Sun 02:30 Saturday's, but
    # Mon 02:30 is outside (Sunday's window ends at 24:00)
    assert got["week"] == ["-", "01-01", "-", "-", "-", "-", "01-05", "01-05", "01-06", "-", "-"]


def test_planted_effect_is_recovered_within_its_interval(trial: dict) -> None:
    with Workspace(trial["path"]) as ws:
        result = evaluate_plan(ws, 1, to="2024-12-31", ri_draws=199, seed=1)
        stored = ws.latest_result("evaluation")
    main = {(e.outcome, e.model): e for e in result.effects if not e.label.startswith("per ")}
    count, harm = main[("count", "poisson")], main[("harm", "poisson")]
    truth = -100 * EFFECT
    # measured: count -38.4% [-42.7, -33.9] (randomisation p 0.005), harm -39.7% [-45.5, -33.3]
    assert count.ci_low <= truth <= count.ci_high, (count.pct_change, count.ci_low, count.ci_high)
    assert harm.ci_low <= truth <= harm.ci_high, (harm.pct_change, harm.ci_low, harm.ci_high)
    assert count.ri_p_value is not None and count.ri_p_value <= 0.05
    assert "block randomiser of plan 1" in result.randomisation["count"].scheme
    # hand: 21 areas x 90 days; the counted crimes are the generator's in-window ones
    crimes = trial["crimes"]
    assert result.meta["rows"] == 1890 and result.meta["plan"]["in_window"] == int(crimes["in_window"].sum())
    assert result.meta["plan"]["month_only"] > 0  # the real police.uk months: left out, with a note
    assert any("carry a month only" in n for n in result.meta["notes"])
    assert not any("records end" in n for n in result.meta["notes"])  # records reach the last window
    assert "compliance to 2024-03-30: 15 of 630 planned visits delivered (2.4%)" in result.summary()
    assert stored is not None and stored.meta["plan"]["plan_id"] == 1
    assert "place_days" in result.tables() and len(result.tables()["place_days"]) == 1890


def test_calibration_no_effect_rejects_about_five_percent(bedfordshire_areas: gpd.GeoDataFrame) -> None:
    """200 SYNTHETIC null datasets, each with its own plan seed (a fresh block-randomised assignment,
    45 days = 15 blocks) and fresh gamma-Poisson counts at the real areas' rates; the 5% randomisation
    test (99 re-draws with the plan's randomiser: p <= 0.05 has probability exactly 5/100 under the
    null) must reject within the 99% binomial interval of 200 x 0.05. Measured: 6 of 200 (3.0%)."""
    ids = sorted(bedfordshire_areas["area_id"].astype(str))
    rate = bedfordshire_areas.set_index("area_id")["crimes"].reindex(ids).to_numpy(float) * 3 / 366
    rng = np.random.default_rng(2024)
    rejections = 0
    for sim in range(200):
        plan = experiment_design(ids, treated_per_day=7, days=45, seed=1000 + sim, start=START)
        design = design_from_assignment(plan.assignments, plan.params, seed=plan.seed)
        mu = rng.gamma(2.0, 0.5, (45, len(ids))) * rate  # day-to-day overdispersion, no effect
        frame = plan.assignments[["date", "area_id", "treated"]].assign(count=rng.poisson(mu).ravel())
        rejections += randomisation_inference(frame, design, draws=99, seed=sim).p_value <= 0.05
    low, high = stats.binom.interval(0.99, 200, 0.05)  # scipy: (3, 19) for n = 200, p = 0.05
    print(f"calibration: {rejections} of 200 null datasets rejected at 5%")
    assert low <= rejections <= high, rejections


def test_monthly_police_uk_data_is_refused(tmp_path: Path, bedfordshire_areas: gpd.GeoDataFrame) -> None:
    with Workspace(tmp_path / "w.duckdb") as ws:
        plan_patrols(ws, areas_file=bedfordshire_areas, seed=3, start=START, days=DAYS)
        with pytest.raises(InputError, match="holds no crimes in its areas in 2024-01 to 2024-02"):
            plan_place_days(ws, 1, to="2024-01-31")
        ingest(_months("2024-01", "2024-02"), ws)
        with pytest.raises(InputError, match=r"carry a month only: police\.uk publishes the month of each "
                           "crime, not its day or time, so monthly data cannot give day-level outcomes"):
            plan_place_days(ws, 1, to="2024-02-15")
        with pytest.raises(InputError, match="carry a month only"):
            evaluate_plan(ws, 1, to="2024-02-15")


def test_to_excludes_later_days_by_hand_count(trial: dict) -> None:
    with Workspace(trial["path"]) as ws:
        built = plan_place_days(ws, 1, to="2024-01-10")
    crimes = trial["crimes"]
    kept = crimes[crimes["in_window"] & (crimes["day"] <= pd.Timestamp("2024-01-10"))]
    hand = kept.groupby(["day", "area_id"]).size()
    frame = built.frame.set_index(["date", "area_id"])
    assert len(built.frame) == 10 * 21 and built.frame["date"].max() == pd.Timestamp("2024-01-10")
    assert int(frame["count"].sum()) == len(kept)
    assert (frame["count"].reindex(hand.index) == hand).all()
    # harm: the cchi weight of each counted crime, summed (weights read from the bundled table)
    weights = load_harm_table("cchi").weights
    assert frame["harm"].sum() == pytest.approx(kept["Offence"].map(weights).sum())
    # dosage: GPS followed the 14 planned visits of 1-2 January (15 minutes each) and one officer's
    # record on 3 January, so 15 area-days carry 15 minutes (hand: 15 x 15 = 225 minutes)
    assert int((built.frame["dosage"] > 0).sum()) == trial["visits"] + 1 == 15
    assert built.frame["dosage"].sum() == pytest.approx(225.0)
    f = built.compliance.figures
    assert f["planned_visits"] == 70 and f["delivered_visits"] == 15  # 7 a day x 10 days; 14 + 1
    assert built.meta["to"] == "2024-01-10" and built.design.matrix().shape == (10, 21)


def test_default_to_is_today_and_announced(trial: dict, caplog: pytest.LogCaptureFixture) -> None:
    with Workspace(trial["path"]) as ws, caplog.at_level("INFO", logger="gripkit"):
        built = plan_place_days(ws, 1)
    assert built.meta["to_default"] and "(today; pass to=/--to DATE for another day)" in caplog.text
    assert built.meta["days"] == DAYS  # today is after the plan's end


def test_cli_evaluate_plan(trial: dict, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["evaluate", "--plan", "1", "--to", "2024-02-15", "--ri-draws", "99", "--models", "poisson",
            "-w", str(trial["path"]), "--json"]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert payload["meta"]["plan"]["days"] == 46 and payload["meta"]["rows"] == 46 * 21  # 31 + 15 days
    assert "block randomiser of plan 1" in payload["randomisation"]["count"]["scheme"]
    # a place-day table of one's own, re-drawn with the plan's design
    with Workspace(trial["path"]) as ws:
        table = plan_place_days(ws, 1, to="2024-01-31").frame
    path = tmp_path / "pd.csv"
    table.to_csv(path, index=False)
    out = runner.invoke(app, ["evaluate", str(path), "--plan", "1", "--to", "2024-01-31", "--ri-draws", "99",
                              "--models", "poisson", "-w", str(trial["path"]), "--json"])
    assert out.exit_code == 0, out.output
    assert "block randomiser of plan 1" in json.loads(out.stdout)["randomisation"]["count"]["scheme"]
    # only robberies, printed for people: the summary names the days judged and the compliance to date
    out = runner.invoke(app, ["evaluate", "--plan", "1", "--to", "2024-01-20", "--crime-types", "Robbery",
                              "--ri-draws", "0", "--models", "poisson", "--no-time-effects", "-w",
                              str(trial["path"])])
    assert out.exit_code == 0, out.output
    text = " ".join(out.stdout.split())
    assert "plan 1 judged on 20 of its 90 days (2024-01-01 to 2024-01-20)" in text
    assert "compliance to 2024-01-20: 15 of 140 planned visits delivered (10.7%)" in text  # 7 x 20 planned
    with Workspace(trial["path"]) as ws:
        stored = ws.latest_result("evaluation")
    crimes = trial["crimes"]
    robberies = crimes["in_window"] & (crimes["Offence"] == "Robbery") & (crimes["day"] <= "2024-01-20")
    assert stored is not None and stored.meta["plan"]["in_window"] == int(robberies.sum())
    # no table and no --plan: the latest plan (the catalogue's --plan default), here plan 1
    out = runner.invoke(app, ["evaluate", "--to", "2024-01-05", "--ri-draws", "19", "--models", "poisson",
                              "--force", "Bedfordshire", "-w", str(trial["path"]), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["meta"]["plan"]["plan_id"] == 1
    bad = runner.invoke(app, ["evaluate", str(path), "--to", "2024-01-31", "-w", str(trial["path"])])
    assert isinstance(bad.exception, InputError) and "without --plan" in str(bad.exception)


def test_budget_plan_and_unknown_plan_are_refused(trial: dict) -> None:
    with Workspace(trial["path"]) as ws:
        with pytest.raises(InputError, match="no plan 9"):
            plan_place_days(ws, 9, to="2024-01-10")
        with pytest.raises(InputError, match="before the plan started"):
            plan_place_days(ws, 1, to="2023-12-31")
        design = load_plan_design(ws, 1)
    assert design.plan_days == DAYS


def test_outcome_place_days_without_polygons_matches_lsoa() -> None:
    # two days from Friday 2024-01-05, the plan's per-weekday windows (as `plan --window` stores them)
    plan = experiment_design(["E1", "E2"], treated_per_day=1, days=2, seed=0, start="2024-01-05")
    design = design_from_assignment(plan.assignments, {"treated_per_day": 1}, seed=0)
    areas = gpd.GeoDataFrame({"area_id": ["E1", "E2"]}, geometry=[shapely.Polygon()] * 2, crs=27700)
    crimes = pd.DataFrame({
        "occurred_at": pd.to_datetime(["2024-01-05 21:00", "2024-01-05 09:00", "2024-01-07 01:00",
                                       "2024-01-07 04:00", None]),
        "x": np.nan, "y": np.nan, "lsoa_code": ["E1", "E1", "E2", "E2", "E2"], "crime_type": "Robbery",
    })
    windows = area_windows("Fri-Sat 20:00-03:00,Sun-Thu 18:00-24:00", ["E1", "E2"])
    frame, counts = outcome_place_days(crimes, design, areas, windows, load_harm_table("cchi"))
    # hand: E1 Friday 21:00 counts for Friday; 09:00 is outside; E2 Sunday 01:00 is Saturday's window;
    # Sunday 04:00 is outside; one crime has no time (left out)
    assert frame.set_index(["date", "area_id"])["count"].to_dict() == {
        (pd.Timestamp("2024-01-05"), "E1"): 1, (pd.Timestamp("2024-01-05"), "E2"): 0,
        (pd.Timestamp("2024-01-06"), "E1"): 0, (pd.Timestamp("2024-01-06"), "E2"): 1,
    }
    assert frame["harm"].tolist() == [365.0, 0.0, 0.0, 365.0]  # cchi Robbery = 365 (apply_harm doctest)
    assert counts == {"crimes": 4, "month_only": 1, "in_window": 2}
