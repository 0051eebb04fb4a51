"""Tests for the programme report (gripkit.report.full) and ``gripkit report``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gripkit import Workspace, datasets
from gripkit.cli import app
from gripkit.hotspots.find import find_hotspots
from gripkit.ingestion import ingest
from gripkit.report.full import NOT_RUN, ReportOptions, _heatmap, build_report, write_report

SECTIONS = (
    "map",
    "concentration",
    "top",
    "hour-weekday",
    "backtest",
    "plan",
    "dosage",
    "evaluation",
    "allocation",
    "provenance",
    "parameters",
)


def section(html: str, sid: str) -> str:
    """The HTML of one ``<section id=sid>``."""
    match = re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S)
    assert match, sid
    return match.group(1)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three bundled months of real Bedfordshire crime and one stored hotspot run."""
    path = tmp_path_factory.mktemp("report") / "gripkit.duckdb"
    with Workspace(path) as ws:
        ingest(datasets.bedfordshire_street_files()[:3], ws)
        find_hotspots(ws, unit="grid", harm="cchi")
    return path


def test_empty_workspace_every_section_says_not_run(tmp_path: Path) -> None:
    with Workspace(tmp_path / "empty.duckdb") as ws:
        html = build_report(ws)
    for sid in SECTIONS:
        body = section(html, sid)
        if sid != "parameters":
            assert NOT_RUN in body, sid
    assert "Open Government Licence v3.0" in section(html, "provenance")


def test_report_with_hotspots_is_self_contained(workspace: Path, tmp_path: Path) -> None:
    with Workspace(workspace) as ws:
        out = write_report(ws, tmp_path / "sub" / "report.html")
        loaded = [r[0] for r in ws.con.execute("SELECT rows_loaded FROM sources").fetchall()]
    html = out.read_text()
    # offline: no script, no remote fetch of anything
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert section(html, "map").count("data:image/png;base64,") == 1
    assert "data:image/png;base64," in section(html, "concentration")
    assert "Gini" in section(html, "concentration")
    top = section(html, "top")
    assert top.count("<tr>") == 21  # header + 20 hotspots
    # later stages have not run on this workspace
    for sid in ("backtest", "plan", "dosage", "evaluation", "allocation"):
        assert NOT_RUN in section(html, sid), sid
    assert "no offence times" in section(html, "hour-weekday")
    provenance = section(html, "provenance")
    assert provenance.count("bedfordshire-street.csv.gz") == 3
    assert "2023-05 to 2023-07" in provenance
    assert len(loaded) == 3 and all(f"<td>{n}</td>" in provenance for n in loaded)
    params = section(html, "parameters")
    assert "cell_size_m" in params and "hotspots" in params


def test_stored_stage_results_are_shown(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.con.execute(
            "INSERT INTO results VALUES (99, 'evaluation', now(), NULL, NULL, ?, ?)",
            [
                json.dumps({"design": "randomised, 40 hotspots"}),
                json.dumps({"effect": -0.18, "p_value": 0.03}),
            ],
        )
        html = build_report(ws, ReportOptions(title="Quarterly <briefing>"))
    evaluation = section(html, "evaluation")
    assert NOT_RUN not in evaluation
    assert "randomised, 40 hotspots" in evaluation and "-0.18" in evaluation
    assert "<title>Quarterly &lt;briefing&gt;</title>" in html
    assert NOT_RUN in section(html, "backtest")


def test_hour_weekday_heat_map_when_times_exist(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws.duckdb") as ws:
        # 3 crimes on Monday 2024-01-01 at 14:xx and one on Sunday 2024-01-07 at 02:xx (hand-made)
        times = ["2024-01-01 14:05", "2024-01-01 14:30", "2024-01-01 14:59", "2024-01-07 02:10"]
        for i, when in enumerate(times):
            ws.con.execute(
                "INSERT INTO crimes (crime_id, month, occurred_at, crime_type) "
                "VALUES (?, '2024-01-01', ?, 'Burglary')",
                [f"c{i}", when],
            )
        heat = _heatmap(ws)
        empty = _heatmap(Workspace(":memory:"))
    assert "data:image/png;base64," in heat and "4 crimes with a recorded time" in heat
    assert NOT_RUN in empty


def test_cli_report(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--out",
            str(out),
            "--workspace",
            str(workspace),
            "--crime-types",
            "Burglary",
            "--unit",
            "lsoa",
        ],
    )
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "Burglary" in section(html, "parameters")
    assert "'unit': 'lsoa'" in section(html, "parameters") or "lsoa" in section(html, "parameters")
