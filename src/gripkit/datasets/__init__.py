"""Real data bundled with gripkit, so that ``gripkit demo`` works after a plain ``pip install``.

* 12 months (May 2023 - April 2024) of police.uk street-level crime for Bedfordshire, exactly as
  published (gzipped): 2021-05..2024-04 is in the project's shared data; these are its last 12 months.
* The 43 police force areas of England and Wales (dissolved from ONS LSOA 2011 super-generalised
  boundaries), used to check that coordinates lie within the force that recorded them.
* The 381 LSOA (2011) polygons of Bedfordshire with 2011 census population.

Contains public sector information licensed under the Open Government Licence v3.0.
Contains OS data © Crown copyright and database right.

Example
-------
>>> from gripkit import datasets
>>> len(datasets.bedfordshire_street_files())
12
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."
BOUNDARY_ATTRIBUTION = (
    "Boundaries: ONS LSOA (Dec 2011) super-generalised clipped; contains OS data © Crown copyright "
    "and database right; Open Government Licence v3.0."
)
_DATA = resources.files("gripkit.datasets") / "data"


def data_dir() -> Path:
    """The folder holding the bundled data files."""
    return Path(str(_DATA))


def bedfordshire_street_files() -> list[Path]:
    """The 12 bundled monthly police.uk street files (``YYYY-MM-bedfordshire-street.csv.gz``)."""
    return sorted((data_dir() / "bedfordshire").glob("*-street.csv.gz"))


@lru_cache(maxsize=1)
def force_areas() -> gpd.GeoDataFrame:
    """The 43 police force areas (EPSG:27700) with ``police_force, n_lsoa, population_2011, area_km2``."""
    return gpd.read_parquet(data_dir() / "police_force_areas_ew.parquet")


def bedfordshire_lsoa() -> gpd.GeoDataFrame:
    """The 381 Bedfordshire LSOA 2011 polygons (EPSG:27700), ``lsoa11cd, lsoa11nm, population_2011``."""
    return gpd.read_parquet(data_dir() / "bedfordshire_lsoa_2011.parquet")


_SUFFIXES = re.compile(r"\b(police service|police force|constabulary|police)\b", re.IGNORECASE)


def _key(name: str) -> str:
    text = _SUFFIXES.sub(" ", name.replace("-", " ").replace("&", " and "))
    return " ".join(text.lower().split())


@lru_cache(maxsize=256)
def normalise_force(name: str) -> str:
    """Map a force name as published (``Bedfordshire Police``, ``bedfordshire``) to its area name.

    Names that match no force area are returned stripped of police suffixes, title-cased.

    >>> normalise_force("Metropolitan Police Service")
    'Metropolitan Police'
    >>> normalise_force("devon-and-cornwall")
    'Devon and Cornwall'
    """
    key = _key(name)
    if not key:
        return name.strip()
    for force in force_areas()["police_force"]:
        if _key(force) == key:
            return str(force)
    return key.title()


@lru_cache(maxsize=64)
def force_area(name: str) -> BaseGeometry | None:
    """The polygon of a force area by (any form of) its name, or None when unknown."""
    areas = force_areas()
    match = areas[areas["police_force"] == normalise_force(name)]
    if match.empty:
        return None
    geometry = match.geometry.iloc[0]
    shapely.prepare(geometry)
    return geometry
