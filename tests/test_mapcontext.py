"""Map context on real layers: Cleveland's OS roads, Bedfordshire's LSOAs (bundled)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pyogrio
import pytest
import shapely

from gripkit import datasets
from gripkit.errors import InputError
from gripkit.mapcontext import draw_context, nearest_street, read_roads, scale_length


def _texts(ax: plt.Axes) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_text()]  # the north arrow is an empty annotation


def test_streets_scale_and_north_on_real_os_roads(shared_data: Callable[..., Path]) -> None:
    path = shared_data("cleveland", "cleveland_roads.gpkg")
    box = (449000.0, 519000.0, 450600.0, 520200.0)  # central Middlesbrough, 1.6 km wide
    fig, ax = plt.subplots()
    draw_context(ax, bounds=box, crs="EPSG:27700", roads=path, labels=[(449800, 519600, "Meet here")])
    texts = _texts(ax)
    raw = pyogrio.read_dataframe(path, bbox=box)  # independent read of the same file
    in_view = {n for n in raw["name"].dropna()} | {n for n in raw["road_number"].dropna()}
    streets = [t for t in texts if t not in {"N", "Meet here", "200 m", "500 m"}]
    assert streets, texts
    # every written name is a real road of the view (OS names "Name (A66)" are name and number)
    assert [t for t in streets if t.split(" (")[0] not in in_view] == []
    assert "N" in texts and "Meet here" in texts
    assert f"{scale_length(1600):g} m" == "200 m" and "200 m" in texts  # 1600 / 4 = 400 -> 200
    assert ax.get_xlim() == (box[0], box[2]) and ax.xaxis.get_tick_params()["labelbottom"] is False
    plt.close(fig)


def test_lsoa_names_and_errors() -> None:
    lsoa = datasets.bedfordshire_lsoa()
    area = lsoa.loc[lsoa["lsoa11nm"] == "Luton 018F", "geometry"].iloc[0]
    fig, ax = plt.subplots()
    draw_context(ax, bounds=area.buffer(400).bounds, crs=27700, lsoa=lsoa, outline=area)
    neighbours = lsoa[lsoa.intersects(area.buffer(10))]["lsoa11nm"]
    assert set(neighbours) - {"Luton 018F"} <= set(_texts(ax))  # the neighbours are all named
    with pytest.raises(InputError, match="bounds"):
        draw_context(ax, bounds=(1, 1, 0, 0), crs=27700)
    with pytest.raises(InputError, match="metres"):
        draw_context(ax, bounds=(0, 0, 1, 1), crs=4326)
    plt.close(fig)


def test_nearest_street_matches_shapely(shared_data: Callable[..., Path]) -> None:
    path = shared_data("leeds", "leeds_centre_osm_roads.gpkg")
    roads = read_roads(path)
    point = shapely.Point(430000, 433500)  # central Leeds
    name, metres = nearest_street(point, roads)
    raw = pyogrio.read_dataframe(path)
    streets = raw[raw["name"].notna() & ~raw["highway"].isin(["footway", "service", "path", "steps"])]
    distance = streets.distance(point)
    assert metres == pytest.approx(distance.min())
    assert name.split(" (")[0] == streets.loc[distance.idxmin(), "name"]
