"""Anti-social behaviour weighed by a stated floor (gripkit.harm.asb) and hotspots selected on serious
violence, ASB or both, on the REAL bundled Bedfordshire police.uk street file for May 2023. Weights
are read from the bundled CSVs with pandas; per-unit counts with shapely, independently of gripkit."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from gripkit import Workspace, datasets
from gripkit.errors import InputError
from gripkit.harm import load_harm_table
from gripkit.harm.asb import ASB, asb_floor, focus_types, with_asb_floor
from gripkit.hotspots.find import find_hotspots
from gripkit.hotspots.request import HotspotRequest
from gripkit.ingestion import ingest
from gripkit.ingestion.checks import transformer

SV = ["Possession of weapons", "Robbery", "Violence and sexual offences"]


def bundled(name: str) -> pd.Series:
    text = resources.files("gripkit.harm").joinpath("tables", f"{name}.csv").read_text(encoding="utf-8")
    from io import StringIO

    frame = pd.read_csv(StringIO(text))
    return frame.set_index("crime_type")["weight"]


@pytest.mark.parametrize("name", ["cchi", "ons_css"])
def test_the_floor_is_the_lowest_non_zero_category_weight(name: str) -> None:
    weights = bundled(name)
    lowest = weights[weights > 0].min()  # CCHI 1 (shoplifting), ONS CSS 11.86 (shoplifting)
    assert lowest == {"cchi": 1.0, "ons_css": 11.86}[name] and weights[ASB] == 0
    table = with_asb_floor(load_harm_table(name))
    assert table.weights[ASB] == lowest
    assert {t: w for t, w in table.weights.items() if t != ASB} == weights.drop(ASB).to_dict()
    assert table.name == f"{name}+asb_floor_{lowest:g}" and table.sha256 != load_harm_table(name).sha256
    assert table.frame.set_index("crime_type").at[ASB, "weight"] == lowest
    assert asb_floor(load_harm_table(name), 2) == 2.0


def test_per_force_tables_floor_every_force() -> None:
    table = with_asb_floor(load_harm_table("cchi", per_force=True), 3)
    assert len(table.force_weights) == 44 and {w[ASB] for w in table.force_weights.values()} == {3.0}


def test_bad_floors_and_focus_are_refused() -> None:
    with pytest.raises(InputError, match="'asb_floor' must be a weight >= 0"):
        with_asb_floor(load_harm_table("cchi"), -1)
    with pytest.raises(InputError, match="'asb_floor' must be a weight >= 0"):
        HotspotRequest(asb_floor="some")
    with pytest.raises(InputError, match="'harm' is none"):
        HotspotRequest(asb_floor=1, harm="none")
    with pytest.raises(InputError, match="'focus' must be one of sv, asb, both"):
        focus_types("violence")
    assert focus_types("sv") == SV and focus_types("asb") == [ASB] and focus_types("both") == [*SV, ASB]


@pytest.fixture(scope="module")
def may(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    path = tmp_path_factory.mktemp("asb") / "w.duckdb"
    with Workspace(path) as ws:
        ingest([datasets.bedfordshire_street_files()[0]], ws)
    rows = pd.read_csv(datasets.bedfordshire_street_files()[0]).dropna(subset=["Longitude"])
    x, y = transformer("EPSG:4326").transform(rows["Longitude"].to_numpy(), rows["Latitude"].to_numpy())
    return path, rows.assign(x=x, y=y)


def test_both_harm_is_sv_harm_plus_floor_times_asb(may: tuple[Path, pd.DataFrame]) -> None:
    path, rows = may
    cchi = bundled("cchi")
    with Workspace(path) as ws:
        request = HotspotRequest(unit="grid", cell_size=500, crime_types=tuple(focus_types("both")),
                                 asb_floor="lowest")
        layer = find_hotspots(ws, request, store=False).hotspots
        with pytest.raises(InputError, match="carry no harm"):  # ASB alone under the CCHI: 0
            find_hotspots(ws, HotspotRequest(crime_types=(ASB,)), store=False)
        asb = find_hotspots(ws, HotspotRequest(crime_types=(ASB,), asb_floor=2.5), store=False).hotspots
    assert (asb["harm"] == 2.5 * asb["crimes"]).all()
    for _, unit in layer.head(3).iterrows():  # the top three cells, counted by hand with shapely
        inside = rows[shapely.contains_xy(unit.geometry, rows["x"].to_numpy(), rows["y"].to_numpy())]
        sv = inside[inside["Crime type"].isin(SV)]
        n_asb = int((inside["Crime type"] == ASB).sum())
        expected = float(sv["Crime type"].map(cchi).sum()) + 1.0 * n_asb
        assert n_asb > 0 and unit["crimes"] == len(sv) + n_asb
        assert unit["harm"] == pytest.approx(expected)


def test_cli_focus_both_records_the_floor(may: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    from gripkit.cli import app

    path, _ = may
    out = str(tmp_path / "h.csv")
    args = ["hotspots", "--workspace", str(path), "--out", out, "--focus", "both", "--json"]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    meta = json.loads(run.stdout)["meta"]
    assert meta["harm_table"] == "cchi+asb_floor_1" and ASB in meta["crime_types"]
    bad = CliRunner().invoke(app, [*args, "--serious-violence"])
    assert bad.exit_code != 0 and "--focus chooses the crime types" in str(bad.exception)
