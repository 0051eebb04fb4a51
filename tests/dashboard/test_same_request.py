"""One hotspot request, three doors: ``gripkit hotspots``, the dashboard's map API and the library
give the same units and the same hot flags.

The request: Gi* with CCHI harm on three bundled months (Bedfordshire police.uk street crime,
2023-05 to 2023-07; grid cells of 251 m by Chainey's rule on the force area). Before one request
decided the weights, the CLI weighed Gi* by harm (768 hot cells) while the dashboard counted crimes
(778). With normal-approximation p-values the harm-weighted count is 768, confirmed independently with esda
and statsmodels in tests/hotspots/test_request.py; the default exact permutation p-values (validated against
enumeration, scipy's hypergeometric and Monte Carlo in tests/hotspots/test_calibration.py) give 76.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import httpx
import pandas as pd

from gripkit import datasets
from gripkit.hotspots.find import find_hotspots
from gripkit.hotspots.request import HotspotRequest

from dashboard_helpers import Server  # isort: skip

MONTHS = ("2023-05", "2023-07")
HOT = 76  # hot cells of Gi* (harm-weighted, exact permutation p, BH q < 0.05) here: see the docstring


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gripkit", *args], cwd=cwd, capture_output=True, text=True, timeout=600,
        env={**os.environ, "GRIPKIT_WORKSPACE": str(cwd / "cli.duckdb")},
    )


def by_unit(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(frame["hot"].astype(bool).to_numpy(), index=frame["unit_id"].astype(str).to_numpy())


def test_cli_dashboard_and_library_agree(
    server: Server, as_user: Callable[[str], httpx.Client], tmp_path: Path
) -> None:
    # the library, on the dashboard's own workspace (12 months; the request keeps three)
    request = HotspotRequest(method="gistar", months=MONTHS)
    with server.lock:
        library = find_hotspots(server.ws, request, store=False)
    ours = by_unit(library.hotspots)
    assert int(ours.sum()) == HOT and library.meta["weights"] == "harm"

    # the CLI, on a workspace of the same three monthly files
    files = [str(f) for f in datasets.bedfordshire_street_files()[:3]]
    assert cli("ingest", *files, cwd=tmp_path).returncode == 0
    run = cli("hotspots", "--method", "gistar", "--months", "..".join(MONTHS), "-o", "layer.parquet",
              "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    payload = json.loads(run.stdout)
    assert payload["hot_units"] == HOT and payload["meta"]["request"] == request.to_dict()
    layer = by_unit(gpd.read_parquet(tmp_path / "layer.parquet"))
    assert layer.index.tolist() == ours.index.tolist()  # the same units, in the same (harm-rank) order
    assert (layer == ours).all()

    # the dashboard's map API (served: units with crimes, here all 2,184 of them within the limit)
    response = as_user("ana").get(
        "/api/hotspots",
        params={"method": "gistar", "month_from": MONTHS[0], "month_to": MONTHS[1], "limit": 5000},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["meta"]["request"] == request.to_dict() and body["meta"]["method_params"]["n_hot"] == HOT
    served = pd.Series(
        [f["properties"]["hot"] for f in body["features"]], index=[f["id"] for f in body["features"]]
    )
    with_crimes = ours[(library.hotspots["crimes"] > 0).to_numpy()]
    assert len(served) == len(with_crimes) == 2_184
    assert sorted(served.index) == sorted(with_crimes.index)
    assert (served.loc[with_crimes.index] == with_crimes).all()
    assert int(served.sum()) == int(with_crimes.sum()) == 75  # of the 76 hot cells, 75 hold a crime
