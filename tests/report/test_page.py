"""Tests for gripkit.report.page.write_hotspot_page."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from gripkit.errors import InputError
from gripkit.hotspots.concentration import concentration
from gripkit.report import write_hotspot_page

OGL = "Contains public sector information licensed under the Open Government Licence v3.0."


def squares(side: int = 10, cell: float = 150.0) -> gpd.GeoDataFrame:
    """side × side grid of squares in EPSG:27700 with a few hot cells, ranked like hotspots.count."""
    rng = np.random.default_rng(7)
    n = side * side
    crimes = np.zeros(n, dtype=int)
    crimes[rng.choice(n, 12, replace=False)] = rng.integers(1, 6, 12)
    crimes[37] = 40  # the clear top unit
    harm = crimes * 2.0
    harm[37] = 40 * 365.0
    ids = np.array([f"cell-{i:03d}" for i in range(n)])
    geoms = [
        box(
            500000 + (i % side) * cell,
            180000 + (i // side) * cell,
            500000 + (i % side + 1) * cell,
            180000 + (i // side + 1) * cell,
        )
        for i in range(n)
    ]
    order = np.lexsort((ids, -crimes, -harm))
    share = harm / harm.sum()
    frame = gpd.GeoDataFrame(
        {
            "unit_id": ids[order],
            "crimes": crimes[order],
            "harm": harm[order],
            "harm_rank": np.arange(1, n + 1),
            "share_of_harm": share[order],
            "cumulative_share": np.cumsum(share[order]),
            "area_m2": np.full(n, cell * cell),
        },
        geometry=[geoms[i] for i in order],
        crs="EPSG:27700",
    )
    return frame


@pytest.fixture
def page(tmp_path: Path) -> tuple[str, gpd.GeoDataFrame, float]:
    units = squares()
    conc = concentration(units["harm"], units["area_m2"], counts=units["crimes"])
    meta = {
        "harm table": "cchi (sha256 0123456789ab)",
        "data source": "police.uk street-level crime, <Bedfordshire> & co",
        "months": "2024-01 to 2024-12",
        "cell size": "150 m",
        "licence": OGL,
    }
    out = write_hotspot_page(tmp_path / "page.html", units, conc, title="Hotspots <test> & more", meta=meta)
    assert out == tmp_path / "page.html" and out.is_file()
    return out.read_text(encoding="utf-8"), units, conc.gini


def test_page_has_figures_tables_and_meta(page: tuple[str, gpd.GeoDataFrame, float]) -> None:
    text, units, gini = page
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 2
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    assert f"{gini:.3f}" in text
    assert "cell-037" in text  # the unit with 40 crimes × 365 days of harm ranks first
    assert text.index("cell-037") < text.index(units["unit_id"].iloc[1])
    assert "top 1%" in text and "top 5%" in text and "top 10%" in text
    assert "2024-01 to 2024-12" in text and "cchi (sha256 0123456789ab)" in text
    assert f"<footer><p>{OGL}</p>" in text


def test_page_is_offline(page: tuple[str, gpd.GeoDataFrame, float]) -> None:
    text = page[0]
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text.lower()
    assert "<link" not in text.lower()


def test_text_is_escaped(page: tuple[str, gpd.GeoDataFrame, float]) -> None:
    text = page[0]
    assert "Hotspots &lt;test&gt; &amp; more" in text
    assert "&lt;Bedfordshire&gt; &amp; co" in text
    assert "<test>" not in text and "<Bedfordshire>" not in text


def test_top_20_rows_only(page: tuple[str, gpd.GeoDataFrame, float]) -> None:
    text, units, _ = page
    assert units["unit_id"].iloc[19] in text
    assert f">{units['unit_id'].iloc[20]}<" not in text


def test_does_not_mutate_input(tmp_path: Path) -> None:
    units = squares().iloc[::-1]
    before = units.copy()
    conc = concentration(units["harm"], counts=units["crimes"])
    write_hotspot_page(tmp_path / "p.html", units, conc, title="t", meta={})
    assert units.equals(before)


def test_bad_inputs(tmp_path: Path) -> None:
    units = squares()
    conc = concentration(units["harm"], counts=units["crimes"])
    with pytest.raises(InputError, match=r"lacks column\(s\) harm_rank"):
        write_hotspot_page(tmp_path / "p.html", units.drop(columns="harm_rank"), conc, title="t", meta={})
    with pytest.raises(InputError, match="projected CRS"):
        write_hotspot_page(tmp_path / "p.html", units.to_crs(4326), conc, title="t", meta={})
    with pytest.raises(InputError, match="must be a Concentration"):
        write_hotspot_page(tmp_path / "p.html", units, {"gini": 0.5}, title="t", meta={})  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"folder .* does not exist"):
        write_hotspot_page(tmp_path / "nope" / "p.html", units, conc, title="t", meta={})


@pytest.mark.parametrize(
    ("extra", "images"), [({}, 2), ({"gi_z": 1.0, "hot": True}, 3), ({"density": 1e-6}, 3)]
)
def test_method_map_when_the_frame_has_its_columns(tmp_path: Path, extra: dict, images: int) -> None:
    """Counts give the harm map and the Lorenz curve; Gi* and KDE frames add a map of their statistic."""
    frame = squares()
    for name, value in extra.items():
        frame[name] = value if not isinstance(value, float) else np.linspace(-value, value, len(frame))
    conc = concentration(
        frame["harm"].to_numpy(), frame["area_m2"].to_numpy(), counts=frame["crimes"].to_numpy()
    )
    text = write_hotspot_page(tmp_path / "p.html", frame, conc, title="t", meta={}).read_text()
    assert len(re.findall(r"data:image/png;base64,", text)) == images
