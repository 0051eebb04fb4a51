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


#: the second force of ``two_force_workspace``: three real Bedfordshire months relabelled (see there)
OTHER_FORCE = "West Yorkshire"
OTHER_MONTHS = {"2023-01": "2016-03", "2023-02": "2017-06", "2023-03": "2018-01"}
BEDFORDSHIRE_MONTHS = [f"2023-{m:02d}" for m in range(4, 13)] + [f"2024-{m:02d}" for m in range(1, 5)]


@pytest.fixture(scope="session")
def _two_force_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gripkit import Workspace
    from gripkit.ingestion import ingest
    from gripkit.national.replica import build_replica, read_source_months

    folder = tmp_path_factory.mktemp("two_forces")
    with zipfile.ZipFile(need_data(BEDFORDSHIRE_ZIP)) as archive:
        for name in archive.namelist():
            if name.endswith("-street.csv") and Path(name).name[:7] in BEDFORDSHIRE_MONTHS:
                target = folder / "police-uk" / Path(name).name[:7] / Path(name).name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))
    build_replica(BEDFORDSHIRE_ZIP, folder / "other", forces=[OTHER_FORCE], months=list(OTHER_MONTHS),
                  relabel=OTHER_MONTHS, sources=read_source_months(BEDFORDSHIRE_ZIP))
    path = folder / "two_forces.duckdb"
    with Workspace(path) as ws:
        ingest([folder / "police-uk", folder / "other"], ws, workers=0)
        ws.checkpoint()
    return path


@pytest.fixture()
def two_force_workspace(_two_force_file: Path, tmp_path: Path) -> Path:
    """A private workspace file with two forces of different months, from REAL police.uk files.

    Bedfordshire: its real street files 2023-04..2024-04 (13 months, as published). West Yorkshire:
    three real Bedfordshire months (2023-01..2023-03) rewritten by :func:`gripkit.national.replica.
    build_replica` into the West Yorkshire force area and relabelled 2016-03, 2017-06 and 2018-01
    (``OTHER_MONTHS``), like a force that published a few old months only.
    """
    import shutil

    target = tmp_path / "two_forces.duckdb"
    shutil.copy(_two_force_file, target)
    return target
