"""The context of the static hotspot maps (gripkit.report.context): which force is outlined, when LSOA
names are written, which units are labelled. Synthetic harm on real places (Bedford, bundled LSOAs)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from gripkit.report.context import LSOA_NAMES_MAX_KM, map_context


def bedford_grid(side_km: float, cell: float = 500.0) -> gpd.GeoDataFrame:
    """Square cells over ``side_km`` km centred on Bedford town centre (BNG 505,019 249,741), harm
    falling with the cell's index (synthetic), labelled by rank."""
    n = int(side_km * 1000 / cell)
    x0, y0 = 505_019 - n * cell / 2, 249_741 - n * cell / 2
    cells = [shapely.box(x0 + i * cell, y0 + j * cell, x0 + (i + 1) * cell, y0 + (j + 1) * cell)
             for i in range(n) for j in range(n)]  # fmt: skip
    harm = np.linspace(100.0, 1.0, len(cells))
    labels = [f"On or near Street {k}" for k in range(len(cells))]
    return gpd.GeoDataFrame(
        {"unit_id": [f"g{k}" for k in range(len(cells))], "crimes": 1, "harm": harm,
         "harm_rank": np.arange(1, len(cells) + 1), "label": labels},
        geometry=cells, crs=27700,
    )  # fmt: skip


def test_lsoa_names_only_in_views_up_to_8_km_across() -> None:
    near = map_context(bedford_grid(6.0))  # 6 km of units, padded 3% each side: 6.36 km across
    far = map_context(bedford_grid(10.0))  # 10.6 km across
    assert near is not None and far is not None
    assert (
        (near.bounds[2] - near.bounds[0]) / 1000 <= LSOA_NAMES_MAX_KM < (far.bounds[2] - far.bounds[0]) / 1000
    )
    assert near.forces == far.forces == ("Bedfordshire",)
    assert near.lsoa is not None and "lsoa11nm" in near.lsoa.columns and len(near.lsoa) > 10
    assert far.lsoa is not None and list(far.lsoa.columns) == ["geometry"] and len(far.lsoa) > len(near.lsoa)


def test_the_top_five_units_are_labelled_by_rank_and_street() -> None:
    grid = bedford_grid(6.0, cell=1000.0)  # cells 1 km apart on a 6.36 km view: within 1/6 of it merge
    context = map_context(grid)
    assert context is not None
    texts = "\n".join(t for _, _, t in context.labels)
    assert len(context.labels) == 5  # one star per unit
    assert [line.split(". ")[0] for line in texts.splitlines()] == ["1", "2", "3", "4", "5"]
    assert "1. Street 0" in texts and "On or near" not in texts
