"""The top-hotspots tables print a missing count or rank as "–" instead of crashing on int(NaN)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from gripkit.report import full, page


def _ranked() -> gpd.GeoDataFrame:
    # two hand-made units; crimes is a float column with a NaN, as after a merge with a codes-only layer
    return gpd.GeoDataFrame(
        {"unit_id": ["E01000001", "E01000002"], "crimes": [1234.0, np.nan], "harm": [365.0, 0.0],
         "harm_rank": pd.array([1, pd.NA], dtype="Int64"), "share_of_harm": [1.0, 0.0],
         "cumulative_share": [1.0, 1.0], "area_m2": [1e4, np.nan]},
        geometry=[box(0, 0, 100, 100), None], crs=27700,
    )


def test_page_top_table_prints_missing_as_dash() -> None:
    html = page._top_table(_ranked())
    assert '<td class="num">1,234</td>' in html  # 1234.0 crimes -> "1,234"
    assert html.count('<td class="num">–</td>') == 2  # the NA rank and the NaN crimes


def test_full_top_table_prints_missing_as_dash() -> None:
    html = full._top_table(pd.DataFrame(_ranked().drop(columns="geometry")))
    assert '<td class="num">1,234</td>' in html
    assert html.count('<td class="num">–</td>') == 2


def test_page_of_units_without_polygons_has_a_note_not_a_crash(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gripkit.hotspots.concentration import concentration

    # LSOA units from codes only: no geometry, area NaN (the case of a force with no known polygons)
    units = gpd.GeoDataFrame(
        {"unit_id": ["E01000001", "E01000002"], "crimes": [3, 1], "harm": [365.0, 10.0],
         "harm_rank": [1, 2], "share_of_harm": [0.97, 0.03], "cumulative_share": [0.97, 1.0],
         "area_m2": [np.nan, np.nan]},
        geometry=[None, None], crs=27700,
    )
    conc = concentration(units.harm, None, counts=units.crimes)  # no areas: concentration by unit only
    out = page.write_hotspot_page(tmp_path / "p.html", units, conc, title="Codes", meta={})
    text = out.read_text()
    assert "No map: the units have no polygons" in text and "--boundaries" in text
    assert "Lorenz curve" in text
