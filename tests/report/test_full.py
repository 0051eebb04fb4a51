"""Tests for the programme report (gripkit.report.full) and ``gripkit report``: it renders STORED results."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest
from typer.testing import CliRunner

import gripkit.hotspots.find
from gripkit import Workspace, datasets
from gripkit.cli import app
from gripkit.errors import InputError
from gripkit.hotspots.find import find_hotspots
from gripkit.ingestion import ingest
from gripkit.report.full import NOT_RUN, SHOWN, STAGES, ReportOptions, _heatmap, build_report, write_report
from gripkit.results import KINDS, ResultMixin

CORE = ("map", "concentration", "top", "backtest", "plan", "dosage", "power", "evaluation", "allocation")
OPTIONAL = ("ingest", "evaluation-design", "national")


def section(html: str, sid: str) -> str:
    """The HTML of one ``<section id=sid>`` (its heading included)."""
    match = re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S)
    assert match, sid
    return match.group(1)


def heading(html: str, sid: str) -> str:
    match = re.search(r"<h2>(.*?)</h2>", section(html, sid))
    assert match, sid
    return match.group(1)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three bundled months of real Bedfordshire crime and one stored (count) hotspot run."""
    path = tmp_path_factory.mktemp("report") / "gripkit.duckdb"
    with Workspace(path) as ws:
        ingest(datasets.bedfordshire_street_files()[:3], ws)
        find_hotspots(ws, unit="grid", harm="cchi")
    return path


@pytest.fixture(scope="module")
def gistar_workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int, int]:
    """One bundled month, a stored count run and then a stored harm-weighted Gi* run (500 m cells)."""
    path = tmp_path_factory.mktemp("report-gistar") / "gripkit.duckdb"
    with Workspace(path) as ws:
        ingest(datasets.bedfordshire_street_files()[:1], ws)
        counted = find_hotspots(ws, cell_size=500)
        result = find_hotspots(ws, cell_size=500, method="gistar", weights="harm")
        hot = int(result.hotspots["hot"].astype(bool).sum())
    return path, int(counted.meta["result_id"]), int(result.meta["result_id"]), hot


def test_every_reported_kind_has_a_section() -> None:
    # every registered kind but the internal caches is read by a section (hotspots by three)
    assert {s.kind for s in STAGES} | {"hotspots"} == {k for k, v in KINDS.items() if not v.internal}


def test_empty_workspace_core_stages_say_not_run_and_how(tmp_path: Path) -> None:
    with Workspace(tmp_path / "empty.duckdb") as ws:
        report = build_report(ws)
    html = report.html
    for sid in CORE:
        assert NOT_RUN in section(html, sid), sid
        assert report.sections[sid] == NOT_RUN
    for sid in OPTIONAL:  # optional stages do not appear at all
        assert f'<section id="{sid}">' not in html and sid not in report.sections
    assert "<code>gripkit backtest</code> or <code>gripkit.backtest(ws, ...)</code>" in section(
        html, "backtest"
    )
    assert "<code>gripkit.find_hotspots(ws, ...)</code>" in section(html, "map")
    assert "<code>gripkit.compliance(ws, ...)</code>" in section(html, "dosage")
    assert "<code>gripkit ingest PATH</code>" in section(html, "hour-weekday")  # no crimes: ingest first
    assert "Open Government Licence v3.0" in section(html, "provenance")


def test_report_of_a_stored_count_run_is_self_contained(workspace: Path, tmp_path: Path) -> None:
    with Workspace(workspace) as ws:
        out = write_report(ws, tmp_path / "sub" / "report.html")
        loaded = [r[0] for r in ws.con.execute("SELECT rows_loaded FROM sources").fetchall()]
        stored = ws.latest_result("hotspots")
        cell, units = stored.meta["cell_size_m"], stored.payload["units"]
    html = out.read_text()
    # offline: no script, no remote fetch of anything
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert section(html, "map").count("data:image/png;base64,") == 1  # count: no method map
    title = f"Hotspot map: Counts of crimes and harm on {units:,} {cell:g} m grid cells"
    assert heading(html, "map") == title
    assert "data:image/png;base64," in section(html, "concentration")
    assert "Gini" in section(html, "concentration")
    assert section(html, "top").count("<tr>") == 21  # header + 20 hotspots
    # later stages have not run on this workspace
    for sid in ("backtest", "plan", "dosage", "power", "evaluation", "allocation"):
        assert NOT_RUN in section(html, sid), sid
    weekday = section(html, "hour-weekday")
    assert "no offence times" in weekday and NOT_RUN not in weekday  # police.uk is monthly
    provenance = section(html, "provenance")
    assert provenance.count("bedfordshire-street.csv.gz") == 3
    assert "2023-05 to 2023-07" in provenance
    assert len(loaded) == 3 and all(f"<td>{n:,}</td>" in provenance for n in loaded)  # 4,607: rounded text
    params = section(html, "parameters")
    assert "cell_size_m" in params and "hotspots" in params


def test_the_report_shows_the_stored_gistar_run_without_recomputing(
    gistar_workspace: tuple[Path, int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, counted_id, gistar_id, hot = gistar_workspace

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the report must not run find_hotspots")

    monkeypatch.setattr(gripkit.hotspots.find, "find_hotspots", refuse)
    monkeypatch.setattr(gripkit.hotspots.find, "hotspots_from_crimes", refuse)
    monkeypatch.setattr(Workspace, "crimes", refuse)  # any recomputation reads the crimes through this
    with Workspace(path) as ws:
        latest = build_report(ws)
        chosen = build_report(ws, ReportOptions(result_ids={"hotspots": counted_id}))
    title = heading(latest.html, "map")
    assert title.startswith("Hotspot map: Gi* (harm-weighted, fdr_bh q&lt;0.05) on ")
    assert title.endswith(f" 500 m grid cells: {hot:,} hot") and hot > 0
    assert "Gi*" in heading(latest.html, "concentration") and "Gi*" in heading(latest.html, "top")
    assert section(latest.html, "map").count("data:image/png;base64,") == 2  # harm map and z-score map
    assert "gi_z" in section(latest.html, "top")
    assert latest.result_ids["hotspots"] == gistar_id
    # an earlier stored result is shown when asked for, and named for its own method
    assert heading(chosen.html, "map").startswith("Hotspot map: Counts of crimes and harm on ")
    assert heading(chosen.html, "map").endswith(" 500 m grid cells")
    assert chosen.result_ids["hotspots"] == counted_id


def test_result_ids_must_name_a_stored_result_of_that_kind(
    gistar_workspace: tuple[Path, int, int, int],
) -> None:
    path, counted_id, _, _ = gistar_workspace
    with Workspace(path) as ws:
        with pytest.raises(InputError, match=r"maps 'plan' to result \d+, which is a 'hotspots' result"):
            build_report(ws, ReportOptions(result_ids={"plan": counted_id}))
        with pytest.raises(
            InputError, match="'result_ids' keys must be reported result kinds; received 'dosage', which"
        ):
            build_report(ws, ReportOptions(result_ids={"dosage": counted_id}))
        with pytest.raises(InputError, match="'result_id' must name a stored result; received 999"):
            build_report(ws, ReportOptions(result_ids={"hotspots": 999}))
        with pytest.raises(InputError, match="received 'national_force', a cache with no report section"):
            build_report(ws, ReportOptions(result_ids={"national_force": counted_id}))


@dataclass
class _Shares(ResultMixin):
    """A stand-in stage result with a 15-row table (as an allocation stores its shares)."""

    kind: ClassVar[str] = "allocation"
    meta: dict[str, Any] = field(default_factory=lambda: {"pot": 1_000_000, "harm_table": "cchi"})

    def to_dict(self) -> dict[str, Any]:
        return {"pot": 1_000_000.0, "recipients": 15, "floor": 0.0, "by": "area"}

    def summary(self) -> str:
        return "£1,000,000 split across 15 areas by serious-violence harm."

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"shares": pd.DataFrame({"area_id": [f"a{i:02d}" for i in range(15)], "share": [1 / 15] * 15})}


def test_stored_stage_results_show_summary_numbers_tables_and_parameters(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.record_result(
            "evaluation",
            params={"design": "randomised, 40 hotspots"},
            payload={"effect": -0.18, "p_value": 0.03, "by_model": {"poisson": -0.18, "nb": -0.2}},
            summary="Crimes fell 18% on treated place-days (p = 0.03).",
        )
        ws.save_result(_Shares())
        report = build_report(ws, ReportOptions(title="Quarterly <briefing>"))
    html = report.html
    evaluation = section(html, "evaluation")
    assert NOT_RUN not in evaluation and report.sections["evaluation"] == SHOWN
    assert "Crimes fell 18% on treated place-days (p = 0.03)." in evaluation
    assert "randomised, 40 hotspots" in evaluation and "-0.18" in evaluation
    assert "by_model: nb" in evaluation and "-0.2" in evaluation
    allocation = section(html, "allocation")
    assert "£1,000,000 split across 15 areas" in allocation and "1,000,000" in allocation
    shares = re.search(
        r"<h3>shares <small>\(first 10 of 15 rows\)</small></h3><table>(.*?)</table>", allocation
    )
    assert shares and shares.group(1).count("<tr>") == 11  # header + the first 10 rows
    assert "<title>Quarterly &lt;briefing&gt;</title>" in html
    assert NOT_RUN in section(html, "backtest")


def test_kinds_nothing_writes_are_not_read(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws.duckdb") as ws:
        # rows of kinds the old report read but no code writes, put straight into the table
        for i, kind in enumerate(("dosage", "forecast_backtest"), start=1):
            ws.con.execute(
                "INSERT INTO results (result_id, kind, created_at, params, payload, summary) "
                "VALUES (?, ?, now(), '{}', '{\"hit_rate\": 0.5}', 'old row')",
                [i, kind],
            )
        ws.record_result("national_force", params={"key": "k"}, payload={"force": "Kent"})  # internal cache
        report = build_report(ws)
    for sid in ("dosage", "backtest"):
        assert NOT_RUN in section(report.html, sid) and "old row" not in section(report.html, sid)
    assert "national" not in report.sections and "Kent" not in report.html


def test_optional_stage_appears_when_stored(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ws.record_result("national", params={}, payload={"forces": 43}, summary="43 forces ranked by harm.")
        report = build_report(ws)
    assert report.sections["national"] == SHOWN
    assert "43 forces ranked by harm." in section(report.html, "national")
    assert "ingest" not in report.sections and "evaluation-design" not in report.sections


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
        ws.con.execute(
            "INSERT INTO crimes (crime_id, month, crime_type) VALUES ('m', '2024-01-01', 'Burglary')"
        )
        heat = _heatmap(ws)
        empty = _heatmap(Workspace(":memory:"))
    assert "data:image/png;base64," in heat.body and "4 crimes with a recorded time" in heat.body
    assert heat.status == SHOWN
    assert NOT_RUN in empty.body and empty.status == NOT_RUN


def test_cli_report_json_and_result_choice(
    gistar_workspace: tuple[Path, int, int, int], tmp_path: Path
) -> None:
    path, counted_id, _, _ = gistar_workspace
    out = tmp_path / "report.html"
    args = ["report", "-o", str(out), "-w", str(path), "--json", "--result", f"hotspots={counted_id}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["out"] == str(out) and answer["result_ids"]["hotspots"] == counted_id
    assert answer["sections"]["map"] == SHOWN and answer["sections"]["backtest"] == NOT_RUN
    assert set(answer["sections"].values()) <= {SHOWN, NOT_RUN}
    assert heading(out.read_text(), "map").startswith("Hotspot map: Counts")
    bad = CliRunner().invoke(app, ["report", "-o", str(out), "-w", str(path), "--result", "hotspots"])
    assert bad.exit_code != 0 and "KIND=ID" in str(bad.exception)
