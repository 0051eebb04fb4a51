"""Shared fixtures, and the ONE way tests find the real data folder.

The real data (police.uk, boundaries, road networks, Chicago; its README lists them) sit in the
folder named by ``$GRIPKIT_DATA``, by default ``data`` in the ``shared`` folder beside this repository.
Tests ask for a file with the ``shared_data`` fixture (``shared_data("leeds", "roads.gpkg")``), which
applies one policy through :func:`need_data`: a missing file SKIPS the test on a developer's machine
and FAILS it when ``CI=true`` (CI always has the data, so a skip there would hide a broken path).

``bedfordshire_crimes`` is a minimal stand-in for the workspace loader: it reads the police.uk zip
with pandas, keeps rows with coordinates and projects them with pyproj. Replace it with the loader
once ingest/workspace land.
"""

from __future__ import annotations

import functools
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyproj
import pytest
from hypothesis import settings

# CI runs the property tests on a fixed sequence of examples (reproducible landings); local runs explore.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GRIPKIT_DATA") or REPO.parent / "shared" / "data")
BEDFORDSHIRE_ZIP = DATA / "bedfordshire" / "police-uk-bedfordshire-2021-05-to-2024-04.zip"
LSOA_GPKG = DATA / "boundaries" / "lsoa_2011_ew.gpkg"
FORCE_GPKG = DATA / "boundaries" / "police_force_areas_ew.gpkg"

_RENAME = {
    "Crime ID": "crime_id",
    "Month": "month",
    "Crime type": "crime_type",
    "Longitude": "lon",
    "Latitude": "lat",
    "LSOA code": "lsoa_code",
    "LSOA name": "lsoa_name",
    "Location": "location",
    "Last outcome category": "outcome",
}


def in_ci() -> bool:
    """True on CI (``CI=true``, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def need_data(path: Path) -> Path:
    """``path`` if it exists; otherwise skip the test (locally) or fail it (on CI)."""
    if not path.exists():
        reason = (
            f"real data not found at {path}: put the shared data folder beside the repository "
            "or point $GRIPKIT_DATA at it"
        )
        if in_ci():
            pytest.fail(f"{reason} (CI=true always has the data, so this is a broken path)", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Callable[..., Path]:
    """``shared_data(*parts)``: the path ``$GRIPKIT_DATA/<parts>``, skipped/failed by :func:`need_data`."""

    def locate(*parts: str) -> Path:
        return need_data(DATA.joinpath(*parts))

    return locate



@functools.cache
def _read_bedfordshire(months: int) -> pd.DataFrame:
    """First ``months`` monthly street files as a canonical-ish crime frame (x/y in EPSG:27700)."""
    frames = []
    with zipfile.ZipFile(BEDFORDSHIRE_ZIP) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith("-street.csv"))[:months]
        for name in names:
            raw = pd.read_csv(archive.open(name))
            raw["source_row"] = range(2, len(raw) + 2)
            frames.append(raw)
    crimes = pd.concat(frames, ignore_index=True).rename(columns=_RENAME)
    crimes = crimes.dropna(subset=["lon", "lat"]).reset_index(drop=True)
    crimes["month"] = pd.to_datetime(crimes["month"], format="%Y-%m")
    crimes["force"] = "Bedfordshire"
    to_bng = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    crimes["x"], crimes["y"] = to_bng.transform(crimes["lon"].to_numpy(), crimes["lat"].to_numpy())
    keep = ["crime_id", "month", "crime_type", "force", "lon", "lat", "x", "y", "lsoa_code",
            "lsoa_name", "location", "outcome", "source_row"]
    return crimes[keep]


@pytest.fixture(scope="session")
def bedfordshire_crimes() -> Callable[..., pd.DataFrame]:
    """Return ``bedfordshire_crimes(months=3)``: real Bedfordshire crimes with coordinates (a copy)."""
    need_data(BEDFORDSHIRE_ZIP)

    def load(months: int = 3) -> pd.DataFrame:
        return _read_bedfordshire(months).copy()

    return load


@pytest.fixture(scope="session")
def bedfordshire_area() -> gpd.GeoDataFrame:
    """The Bedfordshire police force area polygon (EPSG:27700), one row."""
    areas = gpd.read_file(need_data(FORCE_GPKG), layer="police_force_areas")
    return areas[areas["police_force"] == "Bedfordshire"].reset_index(drop=True)


@pytest.fixture(scope="session")
def lsoa_gpkg() -> Path:
    """Path of the 2011 LSOA boundaries of England and Wales."""
    return need_data(LSOA_GPKG)
