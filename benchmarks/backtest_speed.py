"""Backtest speed and real results: Bedfordshire (monthly police.uk) and Chicago (weekly, timestamped).

Bedfordshire: the 36-month police.uk zip in ../shared/data is ingested with ``gripkit.ingestion``
into an in-memory Workspace; serious violence (the police.uk proxy: violence and sexual offences,
robbery, possession of weapons), grid over the force area (Chainey cell size), 5 models, 12-month
training window, monthly steps (24), coverage 1/5/10%, 2 worker processes. Target: < 60 s.

Chicago: aggravated assaults 2010-2019 with minute date-times, read with pandas and projected
with pyproj to EPSG:26916 (UTM 16N, metres): gripkit's ingest quarantines coordinates outside
England and Wales, so this frame is built by hand. 250 m grid, 26-week training window, weekly
steps through 2019 (52), same models and coverages.

Run: ``python benchmarks/backtest_speed.py [--skip-chicago]``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pandas as pd
import pyproj

from gripkit import Workspace
from gripkit.forecast.report import BacktestResult
from gripkit.forecast.rolling import backtest, grid_for
from gripkit.hotspots.find import select_crimes
from gripkit.ingestion import ingest
from gripkit.units import GridUnits

DATA = Path(os.environ.get("GRIPKIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
MODELS = ["naive", "naive3", "kde", "prospective", "etas"]
COVERAGE = [0.01, 0.05, 0.10]


def show(name: str, result: BacktestResult, seconds: float) -> None:
    means = result.means()
    print(f"\n== {name}: {result.meta['steps']} steps x {len(MODELS)} models in {seconds:.1f} s")
    wide = means.pivot_table(index="model", columns="coverage", values=["pai_mean", "hit_rate_mean"])
    print(wide.round(3).to_string())
    print(result.verdict(0.05))


def bedfordshire() -> None:
    with Workspace(":memory:") as ws:
        began = time.perf_counter()
        ingest([DATA / "bedfordshire" / "police-uk-bedfordshire-2021-05-to-2024-04.zip"], ws)
        print(f"ingest: {time.perf_counter() - began:.1f} s")
        crimes = select_crimes(ws, serious_violence=True)
    crimes = crimes[crimes["x"].notna()].reset_index(drop=True)
    units = grid_for(crimes)
    size = units.cell_size
    print(f"Bedfordshire serious violence: {len(crimes):,} crimes, {len(units):,} cells of {size:g} m")
    began = time.perf_counter()
    result = backtest(crimes, units, models=MODELS, train="12M", horizon="1M", coverage=COVERAGE, workers=2)
    seconds = time.perf_counter() - began
    show("Bedfordshire monthly", result, seconds)
    print(f"target < 60 s on 2 cores: {'met' if seconds < 60 else 'MISSED'} ({seconds:.1f} s)")


def chicago() -> None:
    raw = pd.read_csv(DATA / "chicago" / "chicago_aggravated_assaults.csv.gz")
    raw = raw.dropna(subset=["longitude", "latitude"])
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:26916", always_xy=True)
    x, y = to_utm.transform(raw["longitude"].to_numpy(), raw["latitude"].to_numpy())
    when = pd.to_datetime(raw["date"], format="%Y-%m-%d %H:%M")
    month = when.dt.to_period("M").dt.to_timestamp()
    crimes = pd.DataFrame({"x": x, "y": y, "occurred_at": when, "month": month})
    crimes = crimes[crimes["occurred_at"] >= "2018-06-01"].reset_index(drop=True)
    units = GridUnits.from_crimes(crimes, cell_size=250, crs="EPSG:26916")
    print(f"\nChicago aggravated assaults since 2018-06: {len(crimes):,}, {len(units):,} cells of 250 m")
    began = time.perf_counter()
    result = backtest(crimes, units, models=MODELS, train="26W", horizon="1W", coverage=COVERAGE,
                      months=("2019-01-07", None), workers=2)
    show("Chicago weekly (2019)", result, time.perf_counter() - began)


if __name__ == "__main__":
    bedfordshire()
    if "--skip-chicago" not in sys.argv:
        chicago()
