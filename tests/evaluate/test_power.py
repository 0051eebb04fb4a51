"""Power by simulation, dispersion from history, and the Op Rowan shape on real Bedfordshire data."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from typer.testing import CliRunner

from gripkit import Workspace, datasets
from gripkit.cli import app
from gripkit.errors import InputError
from gripkit.evaluate import estimate_dispersion, simulate_power
from gripkit.evaluate.power import PowerResult, _mde
from gripkit.evaluate.rowan import op_rowan_power
from gripkit.harm import load_harm_table
from gripkit.ingestion import ingest


def test_mde_interpolation_by_hand() -> None:
    curve = pd.DataFrame({"effect": [0.1, 0.2, 0.3], "power": [0.4, 0.7, 0.9]})
    assert _mde(curve, 0.8) == pytest.approx(0.25)  # 0.2 + (0.8 - 0.7) x 0.1 / 0.2
    assert _mde(curve, 0.95) is None


def test_power_result_summary_and_dict_by_hand() -> None:
    curve = pd.DataFrame(
        {"effect": [0.2, 0.3, 0.5], "power": [0.5, 0.7, 0.9], "mean_pct_change": [-20.0] * 3}
    )
    meta = {
        "n_areas": 21,
        "treated_per_day": 7,
        "days": 90,
        "alpha": 0.78,
        "mean_rate": 0.42,
        "outcome": "harm",
    }
    meta |= {"sims": 500, "seed": 3, "significance": 0.05, "target": 0.8, "effect": 0.44}
    result = PowerResult(curve, _mde(curve, 0.8), meta)
    # by hand: MDE 0.3 + (0.8 - 0.7) x 0.2 / 0.2 = 0.40; power at 0.44 = 0.7 + (0.44 - 0.3) / 0.2 x 0.2 = 0.84
    assert result.mde == pytest.approx(0.4) and result.power_at(0.44) == pytest.approx(0.84)
    assert result.summary() == (
        "A design treating 7 a day for 90 days has power 0.84 for a 44% cut in harm; the minimum detectable "
        "effect at 80% power is 40% (21 areas, 0.42 crimes a day each on average, daily dispersion 0.78, "
        "two-sided test at 5%; 500 simulations, seed 3)."
    )
    payload = result.to_dict()
    assert payload["power_at_effect"] == pytest.approx(0.84) and payload["meta"]["seed"] == 3
    assert list(result.tables()) == ["curve"] and result.params is result.meta


def test_power_under_no_effect_is_the_test_size() -> None:
    result = simulate_power([0.4] * 21, 0.5, days=90, treated_per_day=7, effects=[0.0, 0.3], sims=400, seed=3)
    assert result.curve["power"].iloc[0] <= 0.08  # nominal 5%, 400 runs (binomial SD 1.1 pp)
    assert result.curve["power"].iloc[1] > 0.8


def test_a_laxer_significance_level_rejects_at_least_as_often() -> None:
    # same seed, same simulated trials: a rejection at 5% (|z| > 1.96) is one at 10% (|z| > 1.64)
    strict = simulate_power([0.4] * 21, 0.5, days=30, treated_per_day=7, effects=[0.0, 0.2], sims=200, seed=5)
    lax = simulate_power(
        [0.4] * 21, 0.5, days=30, treated_per_day=7, effects=[0.0, 0.2], sims=200, seed=5, significance=0.1
    )
    assert (lax.curve["power"].to_numpy() >= strict.curve["power"].to_numpy()).all()
    assert lax.curve["power"].iloc[1] > strict.curve["power"].iloc[1]
    assert lax.meta["significance"] == 0.1


def test_simulate_power_stores_a_power_result(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.duckdb") as ws:
        result = simulate_power(
            [0.5] * 21,
            0.5,
            days=90,
            treated_per_day=7,
            effects=[0.0, 0.3],
            effect=0.44,
            sims=100,
            seed=1,
            workspace=ws,
        )
        stored = ws.latest_result("power")
        assert stored is not None and stored.result_id == result.meta["result_id"]
        assert stored.table_names == ("curve",)
        curve = ws.result_table(stored.result_id, "curve")
    # the effect of interest joins the grid: 0, 0.3 and 0.44
    assert curve["effect"].tolist() == pytest.approx([0.0, 0.3, 0.44])
    assert stored.payload["power_at_effect"] == pytest.approx(result.power_at(0.44))
    assert stored.meta["sims"] == 100 and stored.meta["seed"] == 1 and stored.meta["rates"] == [0.5] * 21
    assert stored.summary.startswith(
        f"A design treating 7 a day for 90 days has power {result.power_at(0.44):.2f} for a 44% cut in crimes"
    )


def test_gripkit_power_with_given_rate_and_dispersion(tmp_path: Path) -> None:
    w, out = tmp_path / "w.duckdb", tmp_path / "curve.csv"
    args = ["power", "--rate", "0.5", "--dispersion", "0.5", "--sims", "60", "--alpha", "0.1", "--seed", "2"]
    run = CliRunner().invoke(app, [*args, "-o", str(out), "-w", str(w), "--json"])
    assert run.exit_code == 0, run.output
    payload = json.loads(run.stdout)
    direct = simulate_power(
        [0.5] * 21, 0.5, days=90, treated_per_day=7, effect=0.44, sims=60, seed=2, significance=0.1
    )
    assert payload["curve"] == direct.to_dict()["curve"] and payload["mde"] == direct.mde
    assert payload["meta"]["significance"] == 0.1 and payload["meta"]["alpha"] == 0.5
    assert pd.read_csv(out)["power"].tolist() == pytest.approx(direct.curve["power"].tolist())
    with Workspace(w) as ws:
        stored = ws.latest_result("power")
    assert stored is not None and stored.payload["curve"] == payload["curve"]
    half = CliRunner().invoke(app, ["power", "--rate", "0.5", "-w", str(w)])
    assert half.exit_code != 0 and "'dispersion'" in str(half.exception)


def test_gripkit_power_on_a_force_in_the_workspace(tmp_path: Path) -> None:
    w = tmp_path / "w.duckdb"
    with Workspace(w) as ws:
        ingest(datasets.bedfordshire_street_files(), ws)
    args = ["--areas", "6", "--treated-per-day", "2", "--days", "27", "--last", "6", "--sims", "30"]
    run = CliRunner().invoke(app, ["power", *args, "--force", "Bedfordshire", "-w", str(w), "--json"])
    assert run.exit_code == 0, run.output
    payload = json.loads(run.stdout)
    assert payload["meta"]["months"] == "2023-11 to 2024-04"  # the last 6 of the bundled 2023-05..2024-04
    assert payload["meta"]["force"] == "Bedfordshire" and len(payload["meta"]["areas"]) == 6
    with Workspace(w) as ws:
        direct = op_rowan_power(
            ws, n_areas=6, treated_per_day=2, days=27, last=6, sims=30, force="Bedfordshire", store=False
        )
    assert payload["curve"] == direct.main.to_dict()["curve"]
    assert payload["meta"]["areas"] == direct.areas["area_id"].tolist()
    nobody = CliRunner().invoke(app, ["power", *args, "--force", "Nowhere", "-w", str(w)])
    assert nobody.exit_code != 0


def test_dispersion_matches_statsmodels_and_recovers_planted_alpha() -> None:
    rng = np.random.default_rng(0)
    months = pd.date_range("2022-01-01", periods=24, freq="MS")
    means = np.repeat(rng.gamma(4, 5, 15), 24)
    hist = pd.DataFrame(
        {"area_id": np.repeat([f"a{i}" for i in range(15)], 24), "period": np.tile(months, 15)}
    )
    hist["count"] = rng.negative_binomial(1 / 0.1, 1 / (1 + 0.1 * means))  # NB2 alpha = 0.1
    fit = estimate_dispersion(hist)
    x = pd.concat(
        [
            pd.get_dummies(hist["area_id"], dtype=float),
            pd.get_dummies(hist["period"].astype(str), drop_first=True, dtype=float),
        ],
        axis=1,
    )
    direct = sm.NegativeBinomial(hist["count"], x).fit(disp=0, maxiter=1000, method="bfgs")
    assert fit.alpha_period == pytest.approx(direct.params["alpha"], rel=1e-3)
    assert 0.06 < fit.alpha_period < 0.15
    # days per month averaged over 2022-2023 = 730 / 24; daily bound = alpha x days (module notes)
    assert fit.days_per_period == pytest.approx(730 / 24)
    assert fit.alpha_daily_independent == pytest.approx(fit.alpha_period * 730 / 24)


def test_bad_power_input() -> None:
    with pytest.raises(InputError, match="all 0"):
        simulate_power([0.0] * 21, 0.5, days=90, treated_per_day=7)
    with pytest.raises(InputError, match="treated and control"):
        simulate_power([0.5] * 21, 0.5, days=90, treated_per_day=0)
    with pytest.raises(InputError, match="reductions"):
        simulate_power([0.5] * 21, 0.5, days=90, treated_per_day=7, effects=[1.5])


def test_op_rowan_on_real_bedfordshire(bedfordshire_ws: Workspace) -> None:
    """21 LSOAs with most serious-violence harm (police.uk proxy, CCHI) over 2023-05..2024-04, the
    90-day 7-of-21 design, power for the 44% reduction Op Rowan reported (docs/domain.md, Patrols)."""
    result = op_rowan_power(bedfordshire_ws, sims=200, seed=7)
    assert len(result.areas) == 21 and result.areas["harm"].is_monotonic_decreasing
    assert int(result.design.assignment["treated"].sum()) == 630
    # independent check of the ranking: CCHI harm per 2011 LSOA with pandas; codes the 2011 boundaries
    # do not know (2021 codes) placed by a geopandas point-in-polygon join
    crimes = bedfordshire_ws.crimes(
        crime_types=["Violence and sexual offences", "Robbery", "Possession of weapons"]
    )
    lsoa = datasets.bedfordshire_lsoa()
    known = crimes["lsoa_code"].isin(set(lsoa["lsoa11cd"]))
    points = gpd.GeoDataFrame(
        crimes.loc[~known],
        geometry=gpd.points_from_xy(crimes.loc[~known, "x"], crimes.loc[~known, "y"]),
        crs="EPSG:27700",
    )
    joined = gpd.sjoin(points, lsoa[["lsoa11cd", "geometry"]], predicate="intersects")
    joined = joined[~joined.index.duplicated()]
    code = crimes["lsoa_code"].where(known)
    code.loc[joined.index] = joined["lsoa11cd"]
    # the bundled cchi weights (derived from the published offence tables, docs/harm.md; recomputed by
    # hand in tests/harm/test_derive.py)
    weights = {"Violence and sexual offences": 230.89, "Robbery": 365.0, "Possession of weapons": 273.75}
    # the documented tie rule (evaluate/rowan.py): most harm first, then most crimes, then area_id
    # ascending, so the oracle must encode it too
    by_code = (
        pd.DataFrame({"code": code, "harm": crimes["crime_type"].map(weights)})
        .groupby("code")["harm"]
        .agg(harm="sum", crimes="size")
        .reset_index()
        .sort_values(["harm", "crimes", "code"], ascending=[False, False, True], kind="mergesort")
    )
    assert by_code["code"].iloc[:21].tolist() == result.areas["area_id"].tolist()
    assert result.areas["harm"].to_numpy() == pytest.approx(by_code["harm"].iloc[:21].to_numpy())
    assert result.dispersion.alpha_period > 0
    table = result.table()
    assert set(table["outcome"]) == {"count", "harm"}
    assert (table["power_at_44pct"] > 0.9).all()
    assert result.meta["months"] == "2023-05 to 2024-04"
    # stored: the main power result (harm, independent day shocks) with its provenance and tables
    stored = bedfordshire_ws.latest_result("power")
    assert stored is not None and stored.result_id == result.meta["result_id"]
    assert (
        stored.meta["harm_table"] == "cchi" and stored.meta["harm_sha256"] == load_harm_table("cchi").sha256
    )
    assert stored.meta["window"] == {"first": "2023-05", "last": "2024-04", "last_n": 12}
    assert stored.meta["areas"] == result.areas["area_id"].tolist()
    assert stored.meta["dispersion"]["alpha_monthly"] == pytest.approx(result.dispersion.alpha_period)
    assert stored.meta["sims"] == 200 and stored.meta["seed"] == 7 and stored.meta["outcome"] == "harm"
    assert stored.table_names == ("areas", "bounds", "curve")  # stored by name
    assert stored.payload["curve"] == result.main.to_dict()["curve"]
    assert stored.summary.startswith("The 21 areas with most serious-violence harm (2023-05 to 2024-04) hold")


def test_op_rowan_power_refuses_a_force_missing_months(two_force_workspace) -> None:  # type: ignore[no-untyped-def]
    """conftest ``two_force_workspace`` (REAL files): West Yorkshire holds 2016-03, 2017-06, 2018-01
    only, so its last 12 months 2017-02..2018-01 hold 2 months; a 12-month rate from them would be
    about 6 times too low (2 months of crimes over 12 months of days)."""
    from gripkit import Workspace
    from gripkit.errors import InputError
    from gripkit.evaluate.rowan import op_rowan_power

    with Workspace(two_force_workspace) as ws:
        with pytest.raises(InputError, match=r"West Yorkshire holds 2 of the 12 months asked"):
            op_rowan_power(ws, force="West Yorkshire", sims=20, store=False)
        with pytest.raises(InputError, match=r"West Yorkshire holds 0 of the 12 months asked"):
            op_rowan_power(ws, sims=20, store=False)
        assert ws.latest_result("power") is None
        ok = op_rowan_power(ws, force="Bedfordshire", sims=20, store=False)
    assert ok.meta["months_held"] == 12 and ok.meta["coverage"]["complete"] is True
