"""Rolling-origin backtest: planning, bad input, real Bedfordshire and Chicago runs, the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
from typer.testing import CliRunner

import gripkit as gk
from gripkit import Workspace, datasets
from gripkit.cli import app
from gripkit.errors import InputError
from gripkit.forecast import backtest, plan_steps
from gripkit.forecast.rolling import grid_for
from gripkit.ingestion import ingest
from gripkit.units import GridUnits

CHICAGO = ("chicago", "chicago_aggravated_assaults.csv.gz")  # in the shared data folder (conftest)
MONTHS = pd.DataFrame({"month": pd.date_range("2022-01-01", periods=15, freq="MS")})


def test_plan_steps_rolls_monthly_origins() -> None:
    steps = plan_steps(MONTHS, "12M", "1M")
    assert [s.origin.strftime("%Y-%m") for s in steps] == ["2023-01", "2023-02", "2023-03"]
    assert steps[0].train_start == pd.Timestamp("2022-01-01") and steps[0].end == pd.Timestamp("2023-02-01")
    assert len(plan_steps(MONTHS, "12M", "1M", start="2023-02-01", end="2023-02-01")) == 1


def test_bad_windows_say_how_to_fix() -> None:
    with pytest.raises(InputError, match=r"'horizon' 1W is finer than the data.*horizon='1M'"):
        plan_steps(MONTHS, "12M", "1W")
    with pytest.raises(InputError, match=r"no forecast period fits.*shorter"):
        plan_steps(MONTHS, "24M", "1M")
    with pytest.raises(InputError, match=r"starts at 2021-12-01, before the data's.*'months' at 2023-01"):
        plan_steps(MONTHS, "12M", "1M", start="2022-12-01")
    with pytest.raises(InputError, match=r"'train' must be a whole number"):
        plan_steps(MONTHS, "a year", "1M")
    months = pd.to_datetime(["2022-01-01", "2022-02-01", "2022-04-01"])
    gap = pd.DataFrame({"x": 50.0, "y": 50.0, "month": months})
    with pytest.raises(InputError, match=r"forecast period 2022-03-01 to 2022-04-01.*holds no crimes"):
        backtest(gap, GridUnits(100, (0, 0, 99, 99)), train="1M", workers=1)
    with pytest.raises(InputError, match=r"unknown model 'oracle'"):
        backtest(gap, GridUnits(100, (0, 0, 99, 99)), models=["oracle"], train="1M", workers=1)


def test_real_bedfordshire_backtest_on_a_process_pool(bedfordshire_crimes, tmp_path: Path) -> None:
    crimes = bedfordshire_crimes(6)
    crimes = crimes[crimes["crime_type"].isin(["Robbery", "Possession of weapons", "Burglary"])]
    units = grid_for(crimes, 500)
    result = backtest(crimes, units, models=["naive", "kde", "prospective", "etas"], train="3M",
                      coverage=[0.01, 0.05], workers=2)
    table = result.table
    assert len(table) == 3 * 4 * 2  # steps x models x coverages
    assert set(table["step"]) == {0, 1, 2}
    assert (table["area_share"] <= table["coverage"] + 1e-12).all()
    np.testing.assert_allclose(table["pai"], table["hit_rate"] / table["area_share"])
    # the same test crimes are scored for every model in a step
    assert table.groupby("step")["crimes"].nunique().eq(1).all()
    out = result.write(tmp_path / "r.csv")
    assert list(pd.read_csv(out).columns[:14]) == [
        "model", "step", "origin", "train_start", "coverage", "area_share", "units_flagged", "crimes",
        "hits", "hit_rate", "pai", "pei", "rri", "harm_hit_rate"]
    assert result.plot(tmp_path / "r.png").stat().st_size > 1000
    assert "in mean PAI at 5% coverage (3 steps" in result.verdict()


def test_real_chicago_weekly_backtest(shared_data: Callable[..., Path]) -> None:
    # Chicago is outside England and Wales, where gripkit's ingest quarantines coordinates, so the
    # crime frame is built here with pandas + pyproj (EPSG:26916, metres).
    raw = pd.read_csv(shared_data(*CHICAGO)).dropna(subset=["longitude", "latitude"])
    raw = raw[raw["date"].between("2019-01-01", "2019-04-01")]
    x, y = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:26916", always_xy=True).transform(
        raw["longitude"].to_numpy(), raw["latitude"].to_numpy())
    when = pd.to_datetime(raw["date"], format="%Y-%m-%d %H:%M")
    crimes = pd.DataFrame({"x": x, "y": y, "occurred_at": when.to_numpy()})
    units = GridUnits.from_crimes(crimes, cell_size=500, crs="EPSG:26916")
    result = backtest(crimes, units, models=["naive", "prospective"], train="8W", horizon="1W",
                      coverage=[0.05], months=("2019-03-04", None), workers=1)
    assert result.meta["resolution"] == "timestamp"
    assert result.meta["months"] == {"first": "2019-03-04", "last": "2019-03-25"}
    assert list(result.table["origin"].dt.strftime("%m-%d").unique()) == ["03-04", "03-11", "03-18", "03-25"]
    assert result.table["crimes"].min() > 50  # every week of 2019 has assaults


@pytest.fixture(scope="module")
def five_months(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace file with the first 5 bundled real Bedfordshire months (2023-05..2023-09)."""
    path = tmp_path_factory.mktemp("bt") / "ws.duckdb"
    with Workspace(path) as ws:
        ingest(datasets.bedfordshire_street_files()[:5], ws)
    return path


def _copy(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.duckdb"
    target.write_bytes(path.read_bytes())
    return target


SV_SQL = (
    "SELECT month, count(*) FROM crimes WHERE x IS NOT NULL AND crime_type IN "
    "('Violence and sexual offences', 'Robbery', 'Possession of weapons') GROUP BY 1 ORDER BY 1"
)


def test_backtest_from_python_stores_its_result(five_months: Path, tmp_path: Path) -> None:
    with Workspace(_copy(five_months, tmp_path)) as ws:
        result = gk.backtest(ws, models=["naive", "prospective"], train="3M", coverage=[0.01, 0.05],
                             serious_violence=True, cell_size=400, months="2023-08..2023-09", workers=1)
        stored = ws.latest_result("backtest")
        assert stored is not None and stored.result_id == result.meta["result_id"]
        # serious-violence crimes with coordinates per month, counted in SQL (independent of the job)
        per_month = {f"{m:%Y-%m}": n for m, n in ws.con.execute(SV_SQL).fetchall()}
        table = ws.result_table(stored.result_id, "backtest")
    assert stored.kind == "backtest" and stored.table_names == ("backtest",)
    meta = stored.meta
    assert meta["months"] == {"first": "2023-08", "last": "2023-09"} and meta["steps"] == 2
    assert meta["harm_table"] == "cchi" and len(meta["harm_sha256"]) == 64 and meta["weights"] == "harm"
    assert meta["cell_size_m"] == 400.0 and meta["serious_violence"] is True and meta["seed"] == 0
    assert set(meta["models"]) == {"naive", "prospective"} and meta["coverage"] == [0.01, 0.05]
    assert meta["crimes"] == sum(per_month.values())
    # each forecast month's crimes are scored, but for the few that ingest kept within 1 km outside
    # the force boundary, in cells the grid's area filter drops (2 of 1,618 and of 1,835 here)
    tested = table.groupby(table["origin"].dt.strftime("%Y-%m"))["crimes"].first().to_dict()
    for month in ("2023-08", "2023-09"):
        assert 0.995 * per_month[month] <= tested[month] <= per_month[month]
    assert len(table) == 2 * 2 * 2  # steps x models x coverages
    pd.testing.assert_frame_equal(table.drop(columns="fit_seconds"),
                                  result.tables()["backtest"].drop(columns="fit_seconds"), check_dtype=False)
    # the headline: the best model's mean PAI at 5% over the two steps, from the stored table
    at5 = table[table["coverage"] == 0.05]
    best = at5.groupby("model")["pai"].mean().idxmax()
    assert stored.summary == result.summary()
    assert f"Best model {best}: mean hit rate" in stored.summary
    assert f"PAI {at5[at5['model'] == best]['pai'].mean():.2f} at 5%" in stored.summary
    assert stored.payload["verdict"] in stored.summary
    assert {r["model"] for r in stored.payload["models"]} == {"naive", "prospective"}


def test_backtest_of_a_frame_stores_nothing_and_refuses_workspace_filters(five_months: Path) -> None:
    with Workspace(five_months, read_only=True) as ws:
        crimes = ws.crimes(crime_types=["Robbery"])
    crimes = crimes[crimes["x"].notna()]
    result = backtest(crimes, grid_for(crimes, 1000), models=["naive"], train="3M", workers=1)
    assert result.meta["harm_table"] is None and result.meta["weights"] is None
    assert "result_id" not in result.meta
    with pytest.raises(InputError, match="'serious_violence' select a workspace's crimes"):
        backtest(crimes, models=["naive"], train="3M", serious_violence=True)


def test_cli_backtest_end_to_end(five_months: Path, tmp_path: Path) -> None:
    ws_path = _copy(five_months, tmp_path)
    out = tmp_path / "results.csv"
    args = ["backtest", "--workspace", str(ws_path), "--models", "naive,prospective", "--train", "3M",
            "--horizon", "1M", "--flagged-area", "1,5", "--out", str(out), "--serious-violence",
            "--harm", "cchi", "--unit", "grid", "--cell-size", "400", "--workers", "1"]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    table = pd.read_csv(out)
    assert len(table) == 2 * 2 * 2 and set(table["coverage"]) == {0.01, 0.05}
    assert out.with_suffix(".png").exists()
    assert "mean PAI at 5% coverage" in run.output
    with Workspace(ws_path, read_only=True) as ws:  # the job stored it, not the command
        stored = ws.latest_result("backtest")
        assert stored is not None and stored.meta["months"] == {"first": "2023-08", "last": "2023-09"}
        kept = ws.result_table(stored.result_id, "backtest")
    assert kept["pai"].tolist() == pytest.approx(table["pai"].tolist())
    # --months names the first and last forecast periods; --json prints one object
    one = CliRunner().invoke(app, [*args, "--months", "2023-09..2023-09", "--json"])
    assert one.exit_code == 0, one.output
    payload = json.loads(one.stdout)
    assert payload["meta"]["steps"] == 1 and payload["meta"]["months"]["first"] == "2023-09"
    assert payload["summary"].startswith("1 forecast periods of 1M from 2023-09 to 2023-09")
    bad = CliRunner().invoke(app, [*args[:-2], "--horizon", "1W", "--workers", "1"])
    assert bad.exit_code != 0 and "finer than the data" in str(bad.exception)
    early = CliRunner().invoke(app, [*args, "--months", "2023-06.."])
    assert early.exit_code != 0 and "Start 'months' at 2023-08 or later" in str(early.exception)


def test_degenerate_backtests_are_flagged() -> None:
    """Hand-built tables: one step; two steps with equal PAI for both models; a step with no crimes."""
    from gripkit.forecast.report import BacktestResult

    one = pd.DataFrame({"model": ["naive", "kde"], "step": [0, 0], "coverage": 0.05, "pai": [4.0, 5.0],
                        "hit_rate": 0.2, "crimes": [3.0, 3.0]})
    assert BacktestResult(one, {}).to_dict()["flags"] == ["1 step: no interval can be given"]
    assert "Caution: 1 step: no interval can be given." in BacktestResult(one, {}).summary()
    tied = pd.DataFrame({"model": ["naive", "kde"] * 2, "step": [0, 0, 1, 1], "coverage": 0.05,
                         "pai": [4.0, 4.0, 2.0, 2.0], "hit_rate": 0.2, "crimes": [3.0, 3.0, 0.0, 0.0]})
    flags = BacktestResult(tied, {}).flags()
    assert flags == ["no test crimes in step(s) 1: their metrics are undefined",
                     "models tied at every step: the interval has zero width"]
    fine = pd.DataFrame({"model": ["naive", "kde"] * 2, "step": [0, 0, 1, 1], "coverage": 0.05,
                         "pai": [4.0, 5.0, 2.0, 3.0], "hit_rate": 0.2, "crimes": 3.0})
    assert BacktestResult(fine, {}).flags() == []


def test_interval_helpers_by_hand() -> None:
    """Lag-1 autocorrelation by hand: x = 1, 2, 3, 4: deviations -1.5, -0.5, 0.5, 1.5; sum of lagged
    products 0.75 - 0.25 + 0.75 = 1.25 over the sum of squares 5 -> 0.25. Kendall's bias correction
    at n = 4: 0.25 + (1 + 0.75) / 4 = 0.6875; clipped to [0, 0.95]; 0 when undefined."""
    from gripkit.forecast.report import adjusted_lag1, lag1_autocorrelation

    assert lag1_autocorrelation(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(0.25)
    assert adjusted_lag1(0.25, 4) == pytest.approx(0.6875)
    assert adjusted_lag1(0.9, 4) == 0.95 and adjusted_lag1(-0.9, 4) == 0.0
    assert adjusted_lag1(float("nan"), 4) == 0.0


def test_verdict_interval_by_hand() -> None:
    """4 steps, naive PAI 1 and kde 2, 3, 4, 5: R = 3.5, gain 250%; d = kde - 3.5 naive = -1.5, -0.5,
    0.5, 1.5 (lag-1 autocorrelation 0.25, test_interval_helpers_by_hand; used 0.6875); s_d = 1.291,
    se = 1.291 / 2 * sqrt(1.6875 / 0.3125) / 1 = 1.5; t(0.975, 3) = 3.182: 250% +- 477%."""
    from gripkit.forecast.report import BacktestResult

    table = pd.DataFrame({"model": ["naive", "kde"] * 4, "step": [0, 0, 1, 1, 2, 2, 3, 3], "coverage": 0.05,
                          "pai": [1.0, 2.0, 1.0, 3.0, 1.0, 4.0, 1.0, 5.0], "hit_rate": 0.1, "crimes": 5.0})
    result = BacktestResult(table, {})
    how = result.to_dict()["interval"]
    assert (how["steps"], how["lag1_autocorrelation"], how["lag1_used"]) == (4, 0.25, 0.6875)
    gain, low, high, n = result.compare("kde", "naive", 0.05)
    assert (gain, n) == (pytest.approx(2.5), 4)
    half = 3.1824 * 1.5
    assert (low, high) == (pytest.approx(2.5 - half, abs=1e-3), pytest.approx(2.5 + half, abs=1e-3))
    said = "lag-1 autocorrelation of the PAI differences (0.25; 0.69 after bias correction)"
    assert said in result.summary()
    assert "With autocorrelated steps it is optimistic" in result.summary()
