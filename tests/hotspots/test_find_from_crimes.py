"""``find_hotspots`` is ``select_crimes`` then ``hotspots_from_crimes``; the national run's frames
(categorical text columns, only the needed columns) give the same hotspots as the workspace's.

Real data: the bundled Bedfordshire months (gripkit.datasets).
"""

from __future__ import annotations

import pandas as pd
import pytest

from gripkit import Workspace, datasets
from gripkit.errors import InputError
from gripkit.harm import load_harm_table
from gripkit.hotspots.find import find_hotspots, hotspots_from_crimes, select_crimes
from gripkit.hotspots.methods import MethodSpec
from gripkit.hotspots.request import HotspotRequest
from gripkit.ingestion import ingest
from gripkit.national.force import read_forces
from gripkit.units.build import UnitSpec


@pytest.fixture(scope="module")
def ws() -> Workspace:
    workspace = Workspace(":memory:")
    ingest(datasets.bedfordshire_street_files()[:3], workspace)  # 2023-05 to 2023-07
    return workspace


@pytest.mark.parametrize("unit", ["grid", "lsoa"])
def test_find_hotspots_is_hotspots_from_selected_crimes(ws: Workspace, unit: str) -> None:
    found = find_hotspots(ws, unit=unit, cell_size=400, serious_violence=True, harm="ons_css", store=False)
    crimes = select_crimes(ws, serious_violence=True)
    before = crimes.copy()
    direct = hotspots_from_crimes(crimes, UnitSpec(unit, cell_size=400), MethodSpec(),
                                  load_harm_table("ons_css"), serious_violence=True, workspace=ws.path)
    pd.testing.assert_frame_equal(direct.hotspots, found.hotspots)
    request = HotspotRequest(unit=unit, cell_size=400, serious_violence=True, harm="ons_css")
    assert found.meta.pop("request") == request.to_dict()  # the job records the request it ran
    assert direct.meta == found.meta and direct.concentration.to_dict() == found.concentration.to_dict()
    pd.testing.assert_frame_equal(crimes, before)  # the caller's frame is not modified


@pytest.mark.parametrize("unit", ["grid", "lsoa"])
def test_national_frames_give_the_same_hotspots(ws: Workspace, unit: str) -> None:
    data = read_forces(ws, ["Bedfordshire"], 2)["Bedfordshire"]  # window 2023-06..2023-07
    assert set(data.crimes.dtypes.astype(str)) >= {"category"}
    found = find_hotspots(ws, unit=unit, serious_violence=True, months=("2023-06", "2023-07"),
                          force="Bedfordshire", store=False)
    direct = hotspots_from_crimes(data.crimes, UnitSpec(unit), MethodSpec(), load_harm_table("cchi"),
                                  serious_violence=True, workspace=ws.path)
    # national frames read no Location text or LSOA names (national.force.COLUMNS), so only the labels
    # differ (the fallback of docs/labels.md); the national table shows no unit labels
    pd.testing.assert_frame_equal(direct.hotspots.drop(columns="label"), found.hotspots.drop(columns="label"))
    found.meta.pop("request")
    assert direct.meta == found.meta


def test_no_crimes_is_an_error() -> None:
    with pytest.raises(InputError, match="'crimes' has no rows"):
        hotspots_from_crimes(pd.DataFrame(columns=["month", "crime_type", "x", "y"]), UnitSpec("grid"),
                             MethodSpec(), None)


def test_concentration_counts_only_crimes_carrying_harm(ws: Workspace) -> None:
    # every crime type, CCHI: anti-social behaviour weighs 0 (docs/harm.md), so it is no crime to
    # concentrate. N = the crimes the table weighs above 0, counted here from the frame itself.
    found = find_hotspots(ws, unit="lsoa", harm="cchi", store=False)
    crimes = select_crimes(ws)
    weights = load_harm_table("cchi")
    assert weights is not None
    from gripkit.harm import apply_harm

    bearing = int((apply_harm(crimes, weights) > 0).sum())
    assignable = int(found.hotspots["crimes"].sum())
    assert 0 < bearing < len(crimes)  # some rows are anti-social behaviour
    assert found.concentration.n_crimes is not None and found.concentration.n_crimes < assignable
    assert found.concentration.n_crimes <= bearing  # crimes outside every LSOA are not in a unit
    counts = find_hotspots(ws, unit="lsoa", harm="none", store=False)  # each crime weighs 1
    assert counts.concentration.n_crimes == int(counts.hotspots["crimes"].sum())
