"""``count(..., geometry="with_crimes")``: the same table, polygons only for units with crimes.

Crimes are the real bundled Bedfordshire street crimes of one month (police.uk, OGL v3).
"""

from __future__ import annotations

import pandas as pd
import pytest
import shapely

from gripkit import Workspace, datasets
from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.harm import load_harm_table
from gripkit.hotspots.count import count
from gripkit.hotspots.find import hotspots_from_crimes, select_crimes
from gripkit.hotspots.methods import MethodSpec
from gripkit.ingestion import ingest
from gripkit.units import GridUnits, LsoaUnits
from gripkit.units.build import UnitSpec


@pytest.fixture(scope="module")
def crimes() -> pd.DataFrame:
    with Workspace(":memory:") as ws:
        ingest(datasets.bedfordshire_street_files()[:1], ws)
        return select_crimes(ws)


@pytest.mark.parametrize("kind", ["grid", "lsoa"])
def test_only_units_with_crimes_get_geometry(crimes: pd.DataFrame, kind: str) -> None:
    """Grid cells (counted by frame row, polygons built only where needed) and the 381 bundled
    Bedfordshire LSOA polygons (counted by id): every column equals the full count's, and the
    geometry is the full count's where a unit has crimes and None elsewhere. Robberies only, so
    that many units have none."""
    crimes = crimes[crimes[C.CRIME_TYPE] == "Robbery"]
    if kind == "grid":
        units: GridUnits | LsoaUnits = GridUnits.from_crimes(crimes, cell_size=250)
    else:
        units = LsoaUnits(datasets.bedfordshire_lsoa())
    full = count(crimes, units)
    light = count(crimes, units, geometry="with_crimes")
    columns = [c for c in full.columns if c != C.GEOMETRY]
    pd.testing.assert_frame_equal(pd.DataFrame(light[columns]), pd.DataFrame(full[columns]))
    has = full[C.CRIMES].to_numpy() > 0
    assert has.any() and (~has).any()
    assert shapely.equals(light.geometry.to_numpy()[has], full.geometry.to_numpy()[has]).all()
    assert light.geometry.isna().to_numpy()[~has].all()
    assert light.crs == full.crs


def test_geometry_option_is_for_the_count_method(crimes: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="count method only"):
        hotspots_from_crimes(crimes, UnitSpec("grid", cell_size=250), MethodSpec("gistar"),
                             load_harm_table("cchi"), geometry="with_crimes")
    with pytest.raises(InputError, match="geometry"):
        count(crimes, GridUnits.from_crimes(crimes, cell_size=250), geometry="some")
