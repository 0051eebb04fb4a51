"""Police and ED records combined (gripkit.hotspots.combined) and ``gripkit match``, on SYNTHETIC ED
records planted at REAL police places.

The police records are the bundled REAL Bedfordshire police.uk street file for May 2023 (the month
only, no times: the matcher's same-month rule). The ED file is synthetic (no open record-level ED
data exists): N = 10 attendances at the places of police violence records chosen isolated (no other
police violence or robbery record within 600 m in the month), so each must match its own record,
and M = 6 attendances 300 m east of six of those places (farther than 250 m from every police
violence record, so they match none). Every expected number below is a count by hand of this plan,
with points tested inside the layer's cells by shapely, not by gripkit.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree
from typer.testing import CliRunner

from gripkit import Workspace, datasets
from gripkit.hotspots.find import find_hotspots
from gripkit.hotspots.request import HotspotRequest
from gripkit.ingestion import ingest
from gripkit.ingestion.ed import EdMapping

ED_DATA = Path(__file__).parents[1] / "ingestion" / "ed_data"
VIOLENCE = ("Violence and sexual offences", "Robbery")
N, M = 10, 6
_SPEC = importlib.util.spec_from_file_location("make_ed", ED_DATA / "make_ed.py")
assert _SPEC and _SPEC.loader
make_ed = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(make_ed)


def street() -> pd.DataFrame:
    """Every row of the May 2023 street file with coordinates, in BNG (pyproj, as make_ed does)."""
    from gripkit.ingestion.checks import transformer

    rows = pd.read_csv(datasets.bedfordshire_street_files()[0]).dropna(subset=["Longitude"])
    x, y = transformer("EPSG:4326").transform(rows["Longitude"].to_numpy(), rows["Latitude"].to_numpy())
    return rows.assign(x=x, y=y).reset_index(drop=True)


def plant(tmp_path: Path) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """The synthetic ED CSV, its planted rows (``kind`` matched/unmatched) and the street rows."""
    rows = street()
    violence = rows[rows["Crime type"].isin(VIOLENCE)].reset_index(drop=True)
    xy = violence[["x", "y"]].to_numpy()
    lone = [i for i, near in enumerate(cKDTree(xy).query_ball_point(xy, 600)) if near == [i]]
    assert len(lone) >= N
    planted = []
    for k, i in enumerate(lone[:N]):
        x, y = violence.at[i, "x"], violence.at[i, "y"]
        planted.append(("matched", f"EDM{k}", round(x, 1), round(y, 1), violence.at[i, "Crime ID"]))
        if k < M:
            planted.append(("unmatched", f"EDU{k}", round(x + 300, 1), round(y, 1), None))
    frame = pd.DataFrame(planted, columns=["kind", "ref", "x", "y", "police_id"])
    path = tmp_path / "ed.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["Attendance ref", "Incident date time", "Arrival date time", "Easting", "Northing",
                      "Means of assault"])
        for n, r in enumerate(frame.itertuples()):
            day = f"{1 + n:02d}/05/2023"
            out.writerow([r.ref, f"{day} 22:10", f"{day} 23:05", r.x, r.y, "Other"])
    return path, frame, rows


@pytest.fixture
def combined(tmp_path: Path) -> tuple[Workspace, Path, pd.DataFrame, pd.DataFrame]:
    path, planted, rows = plant(tmp_path)
    wsp = tmp_path / "w.duckdb"
    ws = Workspace(wsp)
    ingest([datasets.bedfordshire_street_files()[0]], ws)
    mapping = EdMapping(
        columns={
            "crime_id": "Attendance ref", "occurred_at": "Incident date time",
            "arrival_at": "Arrival date time", "weapon": "Means of assault", "x": "Easting", "y": "Northing",
        },
        date_format="%d/%m/%Y %H:%M",
        force="Bedfordshire",
    )
    report = ingest([path], ws, mapping=mapping)
    assert report.crimes.loaded == N + M
    yield ws, wsp, planted, rows
    ws.close()


def test_combined_layer_counts_a_pair_once_and_reports_the_hidden_share(combined) -> None:
    ws, _, planted, rows = combined
    police = find_hotspots(ws, HotspotRequest(unit="grid", cell_size=1000, harm="none", sources=("police",)))
    both = find_hotspots(ws, HotspotRequest(unit="grid", cell_size=1000, harm="none"))
    matching = both.meta["matching"]
    assert (matching["matched"], matching["ed_unmatched"]) == (N, M)
    # every pair counted once: the police total plus the M ED records no police record matched
    assert both.meta["crimes"] == police.meta["crimes"] + M
    assert f"({N} ED records matched police records, each pair counted once)." in both.summary()
    assert "hidden_share" not in police.hotspots.columns  # one source: nothing hidden to report
    layer = both.hotspots.set_index("unit_id")
    # one area by hand: the cell holding the first planted place, counted with shapely
    first = planted.iloc[0]
    cell = layer[shapely.contains_xy(layer.geometry.values, first.x, first.y)].index[0]
    shape = layer.at[cell, "geometry"]
    inside = shapely.contains_xy(shape, rows["x"].to_numpy(), rows["y"].to_numpy())
    police_all = int(inside.sum())
    police_violence = int((inside & rows["Crime type"].isin(VIOLENCE).to_numpy()).sum())
    ed_in = shapely.contains_xy(shape, planted["x"].to_numpy(), planted["y"].to_numpy())
    m_area = int((ed_in & planted["kind"].eq("unmatched").to_numpy()).sum())
    n_area = int((ed_in & planted["kind"].eq("matched").to_numpy()).sum())
    assert n_area >= 1 and m_area >= 1  # the cell holds a matched pair and an ED-only record
    assert layer.at[cell, "crimes"] == police_all + m_area  # the n_area pairs counted once
    assert layer.at[cell, "ed_only"] == m_area
    assert layer.at[cell, "hidden_share"] == pytest.approx(m_area / (police_violence + m_area))
    no_violence = layer["crimes"].eq(0)
    assert np.isnan(layer.loc[no_violence, "hidden_share"]).all()


def test_cli_match_writes_the_planted_pairs(combined, tmp_path: Path) -> None:
    from gripkit.cli import app

    ws, wsp, planted, _ = combined
    ws.close()
    out = tmp_path / "pairs.csv"
    run = CliRunner().invoke(app, ["match", "--workspace", str(wsp), "--out", str(out), "--json"])
    assert run.exit_code == 0, run.output
    summary = json.loads(run.output)
    assert (summary["matched"], summary["ed_unmatched"], summary["pairs"]) == (N, M, N)
    pairs = pd.read_csv(out)
    expected = planted[planted["kind"] == "matched"].set_index("ref")["police_id"].to_dict()
    assert dict(zip(pairs["ed_crime_id"], pairs["police_crime_id"], strict=True)) == expected
    assert set(pairs["time_rule"]) == {"month"}  # police.uk has no times
    text = CliRunner().invoke(app, ["match", "--workspace", str(wsp), "--out", str(out)])
    assert text.exit_code == 0 and f"{N} of {N + M} health records matched" in text.output


def test_the_dashboard_map_counts_pairs_once_too(combined) -> None:
    """The map runs request_crimes then hotspots_from_crimes (not find_hotspots): the same crimes."""
    from gripkit.dashboard.data import HotspotQuery, compute_hotspots

    ws, _, _, _ = combined
    both = find_hotspots(ws, HotspotRequest(harm="none"), store=False)
    shown = compute_hotspots(ws, HotspotQuery(harm="none"))
    assert shown.meta["crimes"] == both.meta["crimes"] and int(shown.hotspots["ed_only"].sum()) == M
