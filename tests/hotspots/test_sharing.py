"""Small-number suppression for outputs shared with partners (gripkit.output.suppress_small,
gripkit.hotspots.sharing, ``gripkit hotspots --share``). Expected values are written out by hand."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from gripkit.errors import InputError
from gripkit.hotspots.concentration import concentration
from gripkit.hotspots.sharing import shared_layer
from gripkit.output import suppress_small
from gripkit.report import write_hotspot_page


def test_counts_of_one_to_four_shown_as_under_five_and_what_reveals_them_blanked() -> None:
    frame = pd.DataFrame(
        {"crimes": [0, 1, 4, 5, 12], "harm": [0.0, 230.89, 923.56, 1154.45, 2770.68], "cum": [0.1] * 5}
    )
    out = suppress_small(frame, {"crimes": ("harm",)}, drop=("cum",))
    assert out["crimes"].tolist() == ["0", "<5", "<5", "5", "12"]  # 1 and 4 are under 5; 0 and 5 are not
    assert out["harm"].tolist() == [0.0, None, None, 1154.45, 2770.68]
    assert list(out.columns) == ["crimes", "harm"]
    assert frame["crimes"].tolist() == [0, 1, 4, 5, 12]  # the input is not modified
    two = suppress_small(frame, {"crimes": ()}, threshold=2)
    assert two["crimes"].tolist() == ["0", "<2", "4", "5", "12"]
    with pytest.raises(InputError, match="'threshold' must be a whole number >= 1"):
        suppress_small(frame, {"crimes": ()}, threshold=0)


def test_shared_layer_suppresses_ed_only_counts_and_drops_the_cumulative_share() -> None:
    layer = pd.DataFrame(
        {
            "unit_id": ["a", "b", "c"],
            "crimes": [40, 12, 3],
            "harm": [400.0, 120.0, 30.0],
            "share_of_harm": [400 / 550, 120 / 550, 30 / 550],
            "cumulative_share": [400 / 550, 520 / 550, 1.0],
            "ed_only": [6, 2, 0],
            "hidden_share": [6 / 30, 2 / 10, 0.0],
        }
    )
    out = shared_layer(layer)
    assert "cumulative_share" not in out.columns
    assert out["crimes"].tolist() == ["40", "12", "<5"]
    assert out["ed_only"].tolist() == ["6", "<5", "0"]
    assert out["hidden_share"].tolist() == [0.2, None, 0.0]  # b's 2 ED-only records would be 0.2 x 10
    assert out["harm"].tolist() == [400.0, 120.0, None]


def test_page_shows_under_five_when_shared() -> None:
    units = gpd.GeoDataFrame(
        {"unit_id": ["a", "b"], "crimes": [7, 3], "harm": [7 * 230.89, 3 * 230.89], "harm_rank": [1, 2],
         "share_of_harm": [0.7, 0.3], "cumulative_share": [0.7, 1.0], "area_m2": [1e4, 1e4]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs=27700,
    )
    conc = concentration(units.harm, units.area_m2, counts=units.crimes)

    def top_rows(share: bool, path: Path) -> list[str]:
        write_hotspot_page(path, units, conc, title="t", meta={"harm table": "cchi"}, share=share)
        table = path.read_text().split("<th>area (m²)</th></tr></thead><tbody>")[1].split("</tbody>")[0]
        return re.findall(r'<td class="num">([^<]*(?:&lt;5)?)</td>', table)

    import tempfile

    folder = Path(tempfile.mkdtemp())
    assert top_rows(False, folder / "a.html")[:7] == ["1", "7", "1,616.2", "70.0%", "70.0%", "10,000", "2"]
    shared = top_rows(True, folder / "b.html")
    assert shared[:7] == ["1", "7", "1,616.2", "70.0%", "", "10,000", "2"]
    assert shared[7:12] == ["&lt;5", "", "", "", "10,000"]


def test_cli_hotspots_share_writes_suppressed_counts(tmp_path: Path) -> None:
    from gripkit import Workspace, datasets
    from gripkit.cli import app
    from gripkit.ingestion import ingest

    wsp = tmp_path / "w.duckdb"
    with Workspace(wsp) as ws:
        ingest([datasets.bedfordshire_street_files()[0]], ws)
    runner = CliRunner()
    base = ["hotspots", "--workspace", str(wsp), "--cell-size", "500", "--json"]
    plain = runner.invoke(app, [*base, "--out", str(tmp_path / "plain.csv")])
    shared = runner.invoke(app, [*base, "--out", str(tmp_path / "shared.csv"), "--share"])
    assert plain.exit_code == 0 and shared.exit_code == 0, shared.output
    a = pd.read_csv(tmp_path / "plain.csv", dtype={"crimes": str})
    b = pd.read_csv(tmp_path / "shared.csv", dtype={"crimes": str}, keep_default_na=False)
    small = a["crimes"].astype(int).between(1, 4)
    assert small.sum() > 0  # a 500 m grid of one month has cells with 1-4 crimes
    assert (b.loc[small, "crimes"] == "<5").all()
    assert (b.loc[~small, "crimes"] == a.loc[~small, "crimes"]).all()
    assert (b.loc[small, "harm"] == "").all() and "cumulative_share" not in b.columns
    assert np.array_equal(a["unit_id"], b["unit_id"])
