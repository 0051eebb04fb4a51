"""Build the bundled ``lsoa_2011_ew.parquet``: every LSOA (2011) of England and Wales with its force.

Run from a checkout with the project's shared data (not needed at run time; the parquet is shipped)::

    python -m gripkit.datasets.build_lsoa DATA   # the folder holding boundaries/ and population/

Inputs (all ONS / Open Government Licence v3.0, see ``data/README.md``):

* ``boundaries/lsoa_2011_ew.gpkg`` layer ``lsoa_2011``: the 34,753 super-generalised clipped polygons
  with ``lsoa11cd, lsoa11nm, lad11cd, lad11nm, police_force, force_source, population_2011``;
* ``boundaries/police_force_areas_ew.gpkg``: the 43 force areas with ``n_lsoa`` (checked: every force
  has exactly that many LSOAs);
* ``population/census_2011_lsoa_population_households.csv``: 2011 census residents (checked: every
  ``population_2011`` equals its ``Persons``).

Geometry is kept as published (not simplified: the file is ~3.7 MB). Rows are sorted by
``police_force`` then ``lsoa11cd`` and written in small row groups, so that reading one force with a
parquet filter (:func:`gripkit.datasets.lsoa_2011`) skips the other forces' row groups.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gripkit.datasets import LSOA_FILE, data_dir

COLUMNS = ["lsoa11cd", "lsoa11nm", "lad11cd", "lad11nm", "police_force", "force_source", "population_2011"]
ROW_GROUP = 512  # ~70 row groups: a force of 300-5,000 LSOAs reads 1-11 of them


def build(shared: Path, out: Path | None = None) -> Path:
    """Write the bundled parquet from the shared data folder ``shared``; return its path."""
    lsoa = gpd.read_file(shared / "boundaries" / "lsoa_2011_ew.gpkg", layer="lsoa_2011")
    lsoa = lsoa[[*COLUMNS, "geometry"]]
    census = pd.read_csv(
        shared / "population" / "census_2011_lsoa_population_households.csv", thousands=",",
        usecols=["LSOA Code", "Persons"],
    ).set_index("LSOA Code")["Persons"]
    wrong = lsoa[lsoa["population_2011"].to_numpy() != census.reindex(lsoa["lsoa11cd"]).to_numpy()]
    if len(wrong):
        raise SystemExit(f"{len(wrong)} LSOAs disagree with the census population, e.g. {wrong.iloc[0, 0]}")
    areas = gpd.read_file(shared / "boundaries" / "police_force_areas_ew.gpkg").set_index("police_force")
    counts = lsoa["police_force"].value_counts()
    if not counts.sort_index().equals(areas["n_lsoa"].astype(counts.dtype).sort_index().rename(counts.name)):
        raise SystemExit("LSOA counts per force disagree with police_force_areas_ew.gpkg n_lsoa")
    lsoa = lsoa.sort_values(["police_force", "lsoa11cd"], ignore_index=True)
    target = out or data_dir() / LSOA_FILE
    lsoa.to_parquet(target, index=False, compression="zstd", row_group_size=ROW_GROUP)
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m gripkit.datasets.build_lsoa DATA (the folder with boundaries/)")
    path = build(Path(sys.argv[1]))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
