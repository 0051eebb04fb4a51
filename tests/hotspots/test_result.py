"""HotspotResult follows the result protocol: stored by the job, read back with its summary, its
payload (the report's contract: ``payload["concentration"]`` and the table ``"hotspots"``) and its layer.

Real data: the first three bundled Bedfordshire months (police.uk street crime, 2023-05 to 2023-07).
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gripkit import Workspace, datasets
from gripkit.hotspots.concentration import Concentration, units_in_top
from gripkit.hotspots.find import HotspotResult, describe_method, find_hotspots
from gripkit.hotspots.request import HotspotRequest
from gripkit.ingestion import ingest
from gripkit.results import KINDS

#: Hot cells of the default Gi* (harm-weighted, exact permutation p-values, BH q < 0.05) on 2023-05..07;
#: the normal approximation gives 768 there (confirmed with esda in tests/hotspots/test_request.py), the
#: exact p-values are checked against enumeration and Monte Carlo in tests/hotspots/test_calibration.py.
HOT = 76


@pytest.fixture(scope="module")
def stored() -> tuple[Workspace, HotspotResult]:
    ws = Workspace(":memory:")
    ingest(datasets.bedfordshire_street_files()[:3], ws)  # 2023-05 to 2023-07
    result = find_hotspots(ws, HotspotRequest(method="gistar", months=("2023-05", "2023-07")))
    return ws, result


def test_the_kind_is_registered() -> None:
    assert KINDS["hotspots"].writer_class() is HotspotResult and HotspotResult.kind == "hotspots"


def test_stored_and_read_back(stored: tuple[Workspace, HotspotResult]) -> None:
    ws, result = stored
    back = ws.latest_result("hotspots")
    assert back is not None and back.result_id == result.meta["result_id"]
    assert back.summary == result.summary() and back.table_names == ("hotspots",)
    assert back.meta["request"]["weights_used"] == "harm" and back.meta["window"]["first"] == "2023-05"
    payload = back.payload
    expected_payload = json.loads(json.dumps(result.to_dict()))
    assert expected_payload["meta"].pop("result_id") == back.result_id  # set by save_result, after to_dict
    assert payload == expected_payload
    assert set(payload) == {"meta", "concentration", "units", "hot_units", "top"}
    assert payload["units"] == len(result.hotspots) == 20_167 and payload["hot_units"] == HOT
    top = pd.DataFrame(payload["top"])
    assert len(top) == 20 and top["harm_rank"].tolist() == list(range(1, 21))
    assert top["unit_id"].tolist() == result.hotspots["unit_id"].astype(str).head(20).tolist()
    # the report rebuilds the concentration from the payload
    conc = Concentration.from_dict(payload["concentration"])
    assert conc.to_dict(lorenz_points=101) == result.concentration.to_dict(lorenz_points=101)
    layer = ws.result_table(back.result_id, "hotspots")
    assert isinstance(layer, gpd.GeoDataFrame) and layer.crs == result.hotspots.crs
    expected = result.hotspots.reset_index(drop=True)
    assert list(layer.columns) == list(expected.columns)
    assert layer["unit_id"].astype(str).tolist() == expected["unit_id"].astype(str).tolist()
    for name in ("crimes", "harm", "harm_rank", "share_of_harm", "cumulative_share", "area_m2", "gi_z",
                 "gi_p", "gi_q", "hot"):
        np.testing.assert_array_equal(layer[name].to_numpy(), expected[name].to_numpy())
    assert layer.geometry.geom_equals_exact(expected.geometry, tolerance=0).all()


def test_summary_says_what_ran_and_found(stored: tuple[Workspace, HotspotResult]) -> None:
    _, result = stored
    harm = result.hotspots["harm"].to_numpy()
    n_top = units_in_top(len(harm), 0.01)  # 1% of 20,167 cells, rounded half up
    assert n_top == 202
    share = np.sort(harm)[::-1][:n_top].sum() / harm.sum()  # the top 1% of cells' share, by hand
    assert result.summary().startswith(
        f"Gi* (harm-weighted, fdr_bh q<0.05) on 20,167 251 m grid cells: {HOT} hot (chance alone: "
    )
    top = f"; the top 1% of cells (202) hold {share:.1%} of CCHI harm and the top 5% hold "
    assert top in result.summary()
    assert result.summary().endswith(f"{result.meta['crimes']:,} crimes, 2023-05 to 2023-07.")


def test_count_and_kde_results(stored: tuple[Workspace, HotspotResult]) -> None:
    ws, _ = stored
    counts = find_hotspots(ws, months=("2023-05", "2023-07"), harm="none", cell_size=1000, store=False)
    assert counts.hot_units is None and counts.to_dict()["hot_units"] is None
    assert counts.summary().startswith("Counts of crimes and harm on ")
    assert "of crimes" in counts.summary()  # no harm table: the shares are of crimes
    kde = find_hotspots(ws, months=("2023-05", "2023-07"), method="kde", cell_size=1000, weights="crimes",
                        store=False)
    bandwidth = kde.meta["method_params"]["bandwidth_m"]
    assert describe_method(kde.meta) == f"KDE (crime counts, quartic, bandwidth {bandwidth:.0f} m)"
    assert kde.tables()["hotspots"] is kde.hotspots
