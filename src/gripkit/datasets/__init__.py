"""Real data bundled with gripkit, so that ``gripkit demo`` works after a plain ``pip install``.

* 12 months (May 2023 - April 2024) of police.uk street-level crime for Bedfordshire, exactly as
  published (gzipped): 2021-05..2024-04 is in the project's shared data; these are its last 12 months.
* The 43 police force areas of England and Wales (dissolved from ONS LSOA 2011 super-generalised
  boundaries), used to check that coordinates lie within the force that recorded them.
* The 34,753 LSOA (2011) polygons of England and Wales with their police force and 2011 census
  population (:func:`lsoa_2011`; built by :mod:`gripkit.datasets.build_lsoa`).

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
from collections.abc import Iterable
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
LSOA_FILE = "lsoa_2011_ew.parquet"


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


def lsoa_2011(forces: str | Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """LSOA 2011 polygons (EPSG:27700) of the given police force(s), all of England and Wales if None.

    Columns ``lsoa11cd, lsoa11nm, lad11cd, lad11nm, police_force, force_source, population_2011``,
    rows sorted by force then code. Forces are named as the force areas are (any published form is
    normalised, e.g. ``"West Yorkshire Police"``); unknown names select nothing. Only the requested
    forces' row groups are read (a parquet filter); the result is cached, each call gets a copy.

    >>> len(lsoa_2011("Bedfordshire")), len(lsoa_2011(["Bedfordshire", "Cleveland"]))
    (381, 733)
    """
    if forces is None:
        return _lsoa_2011(None).copy()
    names = [forces] if isinstance(forces, str) else list(forces)
    return _lsoa_2011(tuple(sorted({normalise_force(str(n)) for n in names}))).copy()


@lru_cache(maxsize=8)
def _lsoa_2011(forces: tuple[str, ...] | None) -> gpd.GeoDataFrame:
    filters = None if forces is None else [("police_force", "in", list(forces))]
    frame = gpd.read_parquet(data_dir() / LSOA_FILE, filters=filters)
    return frame.reset_index(drop=True)


def bedfordshire_lsoa() -> gpd.GeoDataFrame:
    """The 381 Bedfordshire LSOA 2011 polygons: ``lsoa_2011("Bedfordshire")``."""
    return lsoa_2011("Bedfordshire")


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
