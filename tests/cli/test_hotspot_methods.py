"""`gripkit hotspots` with every method, and the street-segment CLI contract.

The segment test needs crimes on a real road network; none are published with the Leeds OSM roads
(the real-data folder's leeds roads), so the crimes here are SYNTHETIC: seeded points interpolated along real
Leeds streets plus points far from any road, ingested as a force CSV for West Yorkshire.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gripkit.datasets import bedfordshire_street_files
from gripkit.units import SegmentUnits

LEEDS = ("leeds", "leeds_centre_osm_roads.gpkg")  # in the shared data folder (conftest.shared_data)


def gripkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gripkit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "GRIPKIT_WORKSPACE": str(cwd / "w.duckdb")},
    )


@pytest.fixture(scope="module")
def bedfordshire_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("methods")
    assert gripkit("ingest", *map(str, bedfordshire_street_files()[:2]), cwd=folder).returncode == 0
    return folder


def test_gistar_layer(bedfordshire_ws: Path) -> None:
    result = gripkit(
        "hotspots",
        "--method",
        "gistar",
        "--cell-size",
        "500",
        "--out",
        "g.parquet",
        "--json",
        cwd=bedfordshire_ws,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    layer = gpd.read_parquet(bedfordshire_ws / "g.parquet")
    assert {"gi_z", "gi_p", "gi_q", "hot"} <= set(layer.columns)
    assert len(layer) == payload["units"] and int(layer["crimes"].sum()) == payload["assigned"]
    assert payload["assigned"] + payload["beyond_tolerance"] == payload["crimes"]
    assert int(layer["hot"].sum()) == payload["meta"]["method_params"]["n_hot"] > 0
    # hot means significant after BH and positive (definition in gripkit.hotspots.gistar)
    assert ((layer["gi_q"] < 0.05) & (layer["gi_z"] > 0)).sum() == layer["hot"].sum()


def test_kde_layer_and_bad_pairing(bedfordshire_ws: Path) -> None:
    result = gripkit(
        "hotspots",
        "--method",
        "kde",
        "--cell-size",
        "500",
        "--bandwidth",
        "400",
        "--out",
        "k.csv",
        cwd=bedfordshire_ws,
    )
    assert result.returncode == 0, result.stderr
    layer = pd.read_csv(bedfordshire_ws / "k.csv")
    assert layer["density"].max() > 0 and np.isclose(layer["density_share"].sum(), 1.0)
    bad = gripkit("hotspots", "--method", "netkde", "--out", "x.parquet", cwd=bedfordshire_ws)
    # the library's message names Python parameters; the CLI prints it as is (no flag is quoted in it)
    assert bad.returncode == 1 and "method='netkde' runs on street segments" in bad.stderr


def synthetic_leeds_crimes(path: Path, network: Path, n: int = 400, far: int = 5, seed: int = 3) -> None:
    roads = gpd.read_file(network, layer="roads")
    streets = roads[roads["highway"].isin(["residential", "primary", "secondary", "tertiary"])]
    rng = np.random.default_rng(seed)
    lines = streets.geometry.to_numpy()[rng.integers(0, len(streets), n)]
    points = [line.interpolate(rng.uniform(0, 1), normalized=True) for line in lines]
    x = np.array([p.x for p in points]) + rng.normal(0, 3, n)
    y = np.array([p.y for p in points]) + rng.normal(0, 3, n)
    # far away but inside West Yorkshire (Bradford centre, ~13 km west of the Leeds roads)
    x = np.concatenate([x, np.full(far, 416_500.0)])
    y = np.concatenate([y, np.full(far, 433_000.0)])
    pd.DataFrame(
        {
            "ref": [f"S{i}" for i in range(len(x))],
            "offence": "Violence and sexual offences",
            "when": "2024-03-05 21:30",
            "easting": x.round(1),
            "northing": y.round(1),
        }
    ).to_csv(path, index=False)


def test_segment_contract(tmp_path: Path, shared_data: Callable[..., Path]) -> None:
    leeds = shared_data(*LEEDS)
    synthetic_leeds_crimes(tmp_path / "leeds.csv", leeds)
    ingest = gripkit(
        "ingest",
        "leeds.csv",
        "--format",
        "csv",
        "--col",
        "crime_id=ref",
        "--col",
        "crime_type=offence",
        "--col",
        "occurred_at=when",
        "--col",
        "x=easting",
        "--col",
        "y=northing",
        "--force",
        "West Yorkshire",
        "--json",
        cwd=tmp_path,
    )
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["loaded"] == 405
    result = gripkit(
        "hotspots",
        "--unit",
        "segment",
        "--network",
        str(leeds),
        "--snap",
        "50",
        "--out",
        "s.parquet",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) >= {"units", "crimes", "assigned", "beyond_tolerance"}
    assert payload["crimes"] == 405
    assert payload["assigned"] + payload["beyond_tolerance"] == payload["crimes"]
    assert payload["beyond_tolerance"] >= 5  # the Bradford points are kilometres from any Leeds road
    layer = gpd.read_parquet(tmp_path / "s.parquet")
    assert {"unit_id", "crimes", "harm", "length_m", "geometry"} <= set(layer.columns)
    assert int(layer["crimes"].sum()) == payload["assigned"]
    assert (layer["crimes"] == 0).any()  # every segment is written, zeros included
    independent = SegmentUnits.from_network(leeds)  # same default road filter, built in the test
    assert len(layer) == payload["units"] == len(independent.frame)
    net = gripkit(
        "hotspots",
        "--unit",
        "segment",
        "--network",
        str(leeds),
        "--method",
        "netkde",
        "--bandwidth",
        "150",
        "--out",
        "n.parquet",
        cwd=tmp_path,
    )
    assert net.returncode == 0, net.stderr
    density = gpd.read_parquet(tmp_path / "n.parquet")["density"]
    assert density.max() > 0 and (density >= 0).all()
