"""The officer briefing: a real Bedfordshire plan printed to PDF by Chromium, and street meeting points
on the real Leeds OpenStreetMap roads (areas placed in central Leeds synthetically)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from gripkit import datasets
from gripkit.cli import app
from gripkit.errors import InputError
from gripkit.patrol.briefing import briefing_html, html_to_pdf, officer_link
from gripkit.patrol.schedule import schedule_visits
from gripkit.patrol.teams import assign_teams

pypdf = pytest.importorskip("pypdf")
pdfium = pytest.importorskip("pypdfium2")
zxingcpp = pytest.importorskip("zxingcpp")
CHROMIUM = Path("/usr/bin/chromium")
OFFICER = "https://patrols.example.org/officer"


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium: apt-get install chromium")
def test_pdf_briefing_of_a_real_plan(bedfordshire_workspace: Path, tmp_path: Path) -> None:
    pdf, schedule = tmp_path / "briefing.pdf", tmp_path / "s.csv"
    args = ["plan", "-w", str(bedfordshire_workspace), "--experiment", "--areas", "21", "--treated-per-day",
            "7", "--days", "3", "--seed", "7", "--no-store", "-o", str(tmp_path / "p.csv"), "--schedule",
            str(schedule), "--briefing", str(pdf), "--officer-url", "https://patrols.example.org/",
            ]  # fmt: skip
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    visits = pd.read_csv(schedule, dtype={"area_id": str})
    day = visits[visits["date"] == visits["date"].min()]
    # 7 areas treated a day, one visit each (--treated-per-day 7, --visits 1): 7 pages, one per area
    assert len(day) == 7 and day["area_id"].nunique() == 7
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) == 7
    assert {round(float(v)) for v in reader.pages[0].mediabox[2:]} == {595, 842}  # A4 in points
    names = datasets.bedfordshire_lsoa().set_index("lsoa11cd")["lsoa11nm"]  # ONS names, the labels' source
    texts = [_words(page.extract_text()) for page in reader.pages]
    for row in day.to_dict("records"):
        page = next(t for t in texts if row["area_id"] in t)  # each area has its page
        assert texts.count(page) == 1
        if row["area_id"] in names.index:
            assert page.count(names[row["area_id"]]) >= 1
        assert f"{row['start_local'][11:16]} {row['end_local'][11:16]}" in page  # the visit's times
        assert "Meet at:" in page and OFFICER in page.replace(" ", "")  # a long link may wrap
        assert "ONS LSOA" in page and "OpenStreetMap" not in page  # bundled boundaries, no roads
    assert sum(names.get(a, "~") in " ".join(texts) for a in day["area_id"]) >= 6  # 2021 codes may be new
    for page in reader.pages:  # the QR code is a link too
        links = [a.get_object()["/A"].get("/URI") for a in page.get("/Annots", [])]
        assert OFFICER in links
    image = pdfium.PdfDocument(str(pdf))[0].render(scale=1.5).to_pil()
    image.save(tmp_path / "page1.png")
    grey = np.asarray(image.convert("L"))
    assert (grey < 200).mean() > 0.02 and grey.std() > 20  # a map and text, not a blank page
    assert [b.text for b in zxingcpp.read_barcodes(image)] == [OFFICER]  # the printed QR decodes


def _leeds_areas() -> gpd.GeoDataFrame:
    """Synthetic placement: three 120 m hexagons centred on points of central Leeds (BNG metres)."""
    centres = [(430000, 433500), (430420, 433330), (429650, 433880)]
    return gpd.GeoDataFrame(
        {"area_id": ["L1", "L2", "L3"], "label": [f"Synthetic Leeds area {i}" for i in (1, 2, 3)]},
        geometry=[shapely.Point(c).buffer(120, quad_segs=2) for c in centres],
        crs=27700,
    )


def test_meeting_point_names_the_nearest_street(shared_data: Callable[..., Path], tmp_path: Path) -> None:
    path = shared_data("leeds", "leeds_centre_osm_roads.gpkg")
    areas = _leeds_areas()
    plan = pd.DataFrame({"date": [dt.date(2024, 6, 1)] * 3, "area_id": areas["area_id"], "visits": [2, 1, 1]})
    schedule, _ = assign_teams(schedule_visits(plan, seed=3), areas)
    page = briefing_html(schedule, areas, tmp_path / "b.html", roads=path, officer_url="http://10.1.2.3:8000")
    sections = page.split("<section class='page'>")[1:]
    groups = schedule.groupby(["team", "area_id"]).ngroups  # one page per area, per team and shift
    assert len(sections) == groups >= 3 and page.count("<svg") == groups
    raw = pyogrio.read_dataframe(path)  # the file read again, independently of gripkit's reader
    paths = {"footway", "path", "cycleway", "steps", "bridleway", "track", "corridor", "service", "platform"}
    streets = raw[raw["name"].notna() & ~raw["highway"].isin(paths)]
    for area in areas.itertuples():
        point = area.geometry.representative_point()
        distance = streets.distance(point)
        best = streets.loc[distance.idxmin()]
        expected = best["name"] if pd.isna(best["ref"]) else f"{best['name']} ({best['ref']})"
        section = next(s for s in sections if f"<h1>{area.label}</h1>" in s)
        met = re.search(r"Meet at:</b> (.+?), near the centre of the area \(★ on the map, (\d+) m", section)
        assert met, section[:500]
        assert met.group(1) == expected and best["name"] in set(raw["name"])  # a real street of the file
        assert int(met.group(2)) == round(distance.min())
        assert "http://10.1.2.3:8000/officer" in section and "OpenStreetMap contributors" in section
        # the Leeds map is drawn over the bundled LSOA 2011 boundaries (every force now), so credited
        assert "ONS LSOA" in section


def test_officer_url_and_missing_chromium(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert officer_link("https://x.example/dash/") == "https://x.example/dash/officer"
    with pytest.raises(InputError, match="officer URL"):
        officer_link("patrols.example.org")
    monkeypatch.setenv("GRIPKIT_CHROMIUM", str(tmp_path / "nowhere"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError, match="apt-get install chromium"):
        html_to_pdf("<p>x</p>", tmp_path / "x.pdf")
