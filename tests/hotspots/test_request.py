"""HotspotRequest: the one place deciding harm vs counts, its JSON round trip, and what the job records.

Real data: the first three bundled Bedfordshire months (police.uk street crime, 2023-05 to 2023-07).
"""

from __future__ import annotations

import json
import logging
import warnings
from datetime import date
from pathlib import Path

import esda
import numpy as np
import pandas as pd
import pytest
from libpysal.weights import DistanceBand
from scipy import stats
from statsmodels.stats.multitest import multipletests

from gripkit import Workspace, datasets
from gripkit.errors import InputError
from gripkit.hotspots.find import find_hotspots
from gripkit.hotspots.methods import MethodSpec
from gripkit.hotspots.request import HotspotRequest
from gripkit.ingestion import ingest
from gripkit.units.build import UnitSpec

# The rule, written out by hand from HotspotRequest's docstring: (method, harm, weights) -> weights used.
# auto: harm whenever a harm table is in use; explicit harm / None (= "crimes") win; count weighs nothing.
RULE = [
    ("gistar", "cchi", "auto", "harm"),
    ("gistar", "ons_css", "auto", "harm"),
    ("gistar", "none", "auto", None),
    ("gistar", "cchi", None, None),
    ("gistar", "cchi", "crimes", None),
    ("gistar", "cchi", "harm", "harm"),
    ("kde", "cchi", "auto", "harm"),
    ("kde", "none", "auto", None),
    ("kde", "ons_css", "crimes", None),
    ("netkde", "cchi", "auto", "harm"),
    ("count", "cchi", "auto", None),
    ("count", "cchi", "harm", None),
    ("count", "none", "auto", None),
]


@pytest.mark.parametrize(("method", "harm", "weights", "used"), RULE)
def test_the_weights_rule(method: str, harm: str, weights: str | None, used: str | None) -> None:
    unit = "segment" if method == "netkde" else "grid"
    network = "roads.gpkg" if unit == "segment" else None  # not read: the request only states it
    request = HotspotRequest(unit=unit, network=network, method=method, harm=harm, weights=weights)
    assert request.method_spec().weights == used
    assert request.weights_decision()[0] == used
    assert request.to_dict()["weights_used"] == used


def test_the_decision_is_announced_and_explained(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gripkit"):
        HotspotRequest(method="gistar").announce()
    assert "Gi* weighs crimes by harm because harm table 'cchi' is in use" in caplog.text
    reason = HotspotRequest(method="kde", harm="none").weights_decision()[1]
    assert "counts crimes because harm='none'" in reason


def test_harm_weights_without_a_harm_table_is_an_error() -> None:
    with pytest.raises(InputError, match="'weights' asks for harm weighting but 'harm' is none"):
        HotspotRequest(method="gistar", harm="none", weights="harm")
    with pytest.raises(InputError, match="'weights' must be one of auto, harm, crimes"):
        HotspotRequest(method="gistar", weights="value")


@pytest.mark.parametrize(
    "request_",
    [
        HotspotRequest(),
        HotspotRequest(unit="grid", cell_size=150, method="gistar", months=("2024-02", "2024-04")),
        HotspotRequest(unit="hex", resolution=9, method="gistar", distance=800, correction="holm", alpha=0.01,
                       crime_types=("Burglary", "Robbery"), force="Bedfordshire", weights=None),
        HotspotRequest(unit="lsoa", boundaries=Path("/data/lsoa.gpkg"), serious_violence=True,
                       sv_table="sv.csv", harm="ons_css", months=(date(2023, 5, 1), None)),
        HotspotRequest(unit="segment", network="roads.gpkg", road_classes=["primary", "residential"],
                       max_length=100, snap=30, method="netkde", bandwidth=150, kernel="triangular"),
        HotspotRequest(unit="grid", bounds=(500_000, 200_000, 510_000, 210_000), method="kde",
                       weights="harm"),
    ],
)
def test_json_round_trip(request_: HotspotRequest) -> None:
    data = request_.to_dict()
    text = json.dumps(data)  # JSON-safe: no Path, date or tuple survives as such
    back = HotspotRequest.from_dict(json.loads(text))
    assert back == request_ and back.to_dict() == data
    assert back.method_spec() == request_.method_spec() and back.unit_spec() == request_.unit_spec()


def test_values_are_normalised() -> None:
    request = HotspotRequest(months="2023-05..2023-07", crime_types=["Burglary"], boundaries=Path("b.gpkg"))
    assert request.months == ("2023-05", "2023-07") and request.crime_types == ("Burglary",)
    assert request.boundaries == "b.gpkg" and request.weights == "auto"
    assert HotspotRequest(months=(date(2024, 2, 9), "2024-04")).months == ("2024-02", "2024-04")
    assert HotspotRequest(weights="crimes").weights is None
    assert HotspotRequest(harm=None).harm == "none"  # type: ignore[arg-type]  # as load_harm_table(None)
    with pytest.raises(InputError, match="'months' must run forwards; received 2024-04 to 2024-02"):
        HotspotRequest(months=("2024-04", "2024-02"))
    with pytest.raises(InputError, match="'cell_size' must be > 0 metres; received -50"):
        HotspotRequest(cell_size=-50)
    with pytest.raises(InputError, match="'unit' must be one of grid, hex, lsoa, segment"):
        HotspotRequest(unit="county")
    with pytest.raises(InputError, match="'method' must be one of count, gistar, kde, netkde"):
        HotspotRequest(method="hotness")
    with pytest.raises(InputError, match="received unknown key\\(s\\) colour"):
        HotspotRequest.from_dict({"colour": "red"})


def test_specs_are_unpacked_into_the_request() -> None:
    request = HotspotRequest(unit=UnitSpec("grid", cell_size=200), method=MethodSpec("gistar", alpha=0.01))
    assert (request.unit, request.cell_size, request.method, request.alpha) == ("grid", 200.0, "gistar", 0.01)
    # a MethodSpec states its weights (None: counts), so weights="auto" keeps them as given
    assert request.weights is None and request.method_spec() == MethodSpec("gistar", alpha=0.01)
    assert HotspotRequest(method=MethodSpec("gistar", weights="harm")).method_spec().weights == "harm"
    with pytest.raises(InputError, match="'cell_size' is given twice, as 150 and as 200 in the unit spec"):
        HotspotRequest(unit=UnitSpec("grid", cell_size=200), cell_size=150)


# --------------------------------------------------------------------------- the job, real data


@pytest.fixture(scope="module")
def ws() -> Workspace:
    workspace = Workspace(":memory:")
    ingest(datasets.bedfordshire_street_files()[:3], workspace)  # 2023-05 to 2023-07
    return workspace


def independent_hot(hotspots: pd.DataFrame, column: str, cell_size: float) -> pd.Series:
    """Hot cells by esda's Gi* and statsmodels' Benjamini-Hochberg: queen + self = the 8 cells whose
    centres are within cell size x sqrt(2), binary; hot = q < 0.05 and z > 0 (gripkit.hotspots.gistar)."""
    centres = hotspots.geometry.centroid
    w = DistanceBand(np.c_[centres.x, centres.y], threshold=cell_size * np.sqrt(2) * 1.0001, binary=True,
                     silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = esda.G_Local(hotspots[column].to_numpy(dtype=float), w, star=True, transform="B",
                         permutations=0).Zs
    q = multipletests(2 * stats.norm.sf(np.abs(z)), alpha=0.05, method="fdr_bh")[1]
    return pd.Series((q < 0.05) & (z > 0), index=hotspots["unit_id"].astype(str).to_numpy())


def test_gistar_with_cchi_on_three_months_is_harm_weighted(ws: Workspace) -> None:
    request = HotspotRequest(method="gistar", months=("2023-05", "2023-07"))
    result = find_hotspots(ws, request, store=False)
    meta = result.meta
    assert meta["weights"] == "harm" and meta["method_params"]["weights"] == "harm"
    assert meta["request"] == request.to_dict() and meta["request"]["weights_used"] == "harm"
    assert meta["window"] == {"first": "2023-05", "last": "2023-07"}
    assert meta["months"] == "2023-05 to 2023-07"
    assert meta["cell_size_m"] == 251.0  # Chainey's rule on the Bedfordshire force area (announced)
    assert meta["method_params"]["p_values"] == "permutation" and meta["request"]["p_values"] == "permutation"
    hot = result.hotspots.set_index(result.hotspots["unit_id"].astype(str))["hot"]
    assert int(hot.sum()) == meta["method_params"]["n_hot"] > 0
    # The normal approximation (p_values="normal") is what esda's G_Local and statsmodels' BH give
    # independently; on these skewed cells the exact permutation tails are heavier, so every cell the
    # default flags is also hot under the normal approximation, and far fewer are.
    normal = find_hotspots(ws, HotspotRequest(method="gistar", months=("2023-05", "2023-07"),
                                              p_values="normal"), store=False)
    normal_hot = normal.hotspots.set_index(normal.hotspots["unit_id"].astype(str))["hot"]
    expected = independent_hot(normal.hotspots, "harm", 251.0)
    assert (normal_hot.loc[expected.index] == expected).all()
    assert not (hot & ~normal_hot.loc[hot.index]).any() and hot.sum() * 5 < normal_hot.sum()
    # Counting crimes (numbers that do not move with the harm table's weights): 778 hot cells under
    # the normal approximation, confirmed by esda + statsmodels; 79 with the exact permutation
    # p-values (gripkit.hotspots.permutation, checked against brute-force Monte Carlo and by hand in
    # tests/hotspots/test_calibration.py).
    counted = find_hotspots(ws, months=("2023-05", "2023-07"), method="gistar", weights=None, store=False)
    assert counted.meta["weights"] is None and int(counted.hotspots["hot"].sum()) == 79
    counted_normal = find_hotspots(ws, HotspotRequest(method="gistar", months=("2023-05", "2023-07"),
                                                      weights=None, p_values="normal"), store=False)
    assert int(counted_normal.hotspots["hot"].sum()) == 778
    assert int(independent_hot(counted_normal.hotspots, "crimes", 251.0).sum()) == 778
    # and the null check: the normal approximation flags hundreds of cells of shuffled counts
    assert min(counted_normal.meta["method_params"]["null_hot"]) > 200
    assert counted.meta["method_params"]["null_hot_mean"] < 1


def test_keywords_build_the_same_request(ws: Workspace) -> None:
    by_keywords = find_hotspots(ws, method="gistar", months=("2023-05", "2023-07"), cell_size=1000,
                                store=False)
    request = HotspotRequest(method="gistar", months=("2023-05", "2023-07"), cell_size=1000)
    by_request = find_hotspots(ws, request, store=False)
    pd.testing.assert_frame_equal(by_keywords.hotspots, by_request.hotspots)
    assert by_keywords.meta == by_request.meta
    with pytest.raises(InputError, match="pass either 'request' or the keyword shortcuts; received a request "
                                         "and 'cell_size'"):
        find_hotspots(ws, request, cell_size=500)
