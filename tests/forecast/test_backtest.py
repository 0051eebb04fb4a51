"""Rolling-origin backtest: planning, bad input, real Bedfordshire and Chicago runs, the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
from typer.testing import CliRunner

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
    with pytest.raises(InputError, match=r"'horizon' 1W is finer than the data.*--horizon in months"):
        plan_steps(MONTHS, "12M", "1W")
    with pytest.raises(InputError, match=r"no forecast period fits.*shorter"):
        plan_steps(MONTHS, "24M", "1M")
    with pytest.raises(InputError, match=r"starts at 2021-12-01, before the data's first.*--from 2023-01"):
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
                      coverage=[0.05], start="2019-03-04", workers=1)
    assert result.meta["resolution"] == "timestamp"
    assert list(result.table["origin"].dt.strftime("%m-%d").unique()) == ["03-04", "03-11", "03-18", "03-25"]
    assert result.table["crimes"].min() > 50  # every week of 2019 has assaults


def test_cli_backtest_end_to_end(tmp_path: Path) -> None:
    ws_path = tmp_path / "ws.duckdb"
    with Workspace(ws_path) as ws:
        ingest(datasets.bedfordshire_street_files()[:5], ws)
    out = tmp_path / "results.csv"
    args = ["backtest", "--workspace", str(ws_path), "--models", "naive,prospective", "--train", "3M",
            "--horizon", "1M", "--coverage", "1,5", "--out", str(out), "--serious-violence",
            "--harm", "cchi", "--unit", "grid", "--cell-size", "400", "--workers", "1"]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    table = pd.read_csv(out)
    assert len(table) == 2 * 2 * 2 and set(table["coverage"]) == {0.01, 0.05}
    assert out.with_suffix(".png").exists()
    assert "mean PAI at 5% coverage" in run.output
    bad = CliRunner().invoke(app, [*args[:-2], "--horizon", "1W", "--workers", "1"])
    assert bad.exit_code != 0 and "finer than the data" in str(bad.exception)
