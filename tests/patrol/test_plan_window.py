"""Plan area choice over a window of months, with the window's data coverage checked (issues 16, 17).

Real data: the bundled Bedfordshire police.uk street files (2023-05..2024-04). The gap is made by
ingesting every month but 2023-09, as a force that published nothing that month would look.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gripkit import Workspace, datasets
from gripkit.cli import app
from gripkit.errors import InputError
from gripkit.ingestion import ingest
from gripkit.patrol.job import plan_patrols

GAP = "2023-09"


@pytest.fixture(scope="module")
def gap_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gap") / "w.duckdb"
    files = [f for f in datasets.bedfordshire_street_files() if not f.name.startswith(GAP)]
    assert len(files) == 11
    with Workspace(path) as ws:
        ingest(files, ws)
    return path


def test_default_window_with_a_gap_refuses_naming_force_months_and_window(gap_workspace: Path) -> None:
    with Workspace(gap_workspace) as ws, pytest.raises(InputError) as info:
        plan_patrols(ws, seed=1, store=False)
    message = str(info.value)
    assert "plan area choice" in message
    assert "Bedfordshire" in message
    assert "2023-05..2024-04" in message  # the window asked: every month held, end to end
    assert f"missing {GAP}" in message
    assert "11 of the 12 months" in message
    assert "allow_gaps" in message and "'months'" in message


def test_allow_gaps_proceeds_and_records_the_gap(gap_workspace: Path) -> None:
    with Workspace(gap_workspace) as ws:
        plan = plan_patrols(ws, seed=1, store=False, allow_gaps=True)
    coverage = plan.meta["data_coverage"]
    assert coverage["flagged"] == ["Bedfordshire"]
    assert coverage["forces"]["Bedfordshire"]["missing"] == GAP
    assert coverage["window"] == "2023-05..2024-04"
    assert "Data gaps allowed and flagged: Bedfordshire" in plan.summary()


def test_a_window_the_force_holds_is_used_for_the_areas(gap_workspace: Path) -> None:
    with Workspace(gap_workspace) as ws:
        whole = plan_patrols(ws, seed=1, store=False, allow_gaps=True)
        late = plan_patrols(ws, seed=1, store=False, months=("2023-10", "2024-04"))
    assert late.meta["area_window"] == "2023-10..2024-04"
    assert late.meta["data_coverage"]["complete"] is True
    assert "Areas chosen over 2023-10..2024-04." in late.summary()
    # 7 of the 11 months held: the same 21 areas cannot hold more serious-violence crimes than over
    # all 11 (a hand bound: counts only add up over months), and they hold fewer.
    assert late.candidates["crimes"].sum() < whole.candidates["crimes"].sum()


def test_areas_file_with_months_is_refused(gap_workspace: Path) -> None:
    import pandas as pd

    areas = pd.DataFrame({"area_id": [f"A{i}" for i in range(21)]})
    with pytest.raises(InputError, match=r"received months=.*with areas_file"):
        plan_patrols(None, areas_file=areas, start="2024-05-01", seed=1, months=("2023-10", "2024-04"))


def test_cli_months_last_and_allow_gaps(gap_workspace: Path, tmp_path: Path) -> None:
    base = ["plan", "-w", str(gap_workspace), "--experiment", "--seed", "3", "--no-store", "--json"]
    refused = CliRunner().invoke(app, [*base, "-o", str(tmp_path / "a.csv")])
    assert refused.exit_code != 0
    assert "Bedfordshire" in str(refused.exception) and GAP in str(refused.exception)
    ok = CliRunner().invoke(
        app, [*base, "--last", "7", "-o", str(tmp_path / "b.csv")], catch_exceptions=False
    )
    assert ok.exit_code == 0, ok.output
    assert "Areas chosen over 2023-10..2024-04." in ok.output
    gaps = CliRunner().invoke(
        app,
        [*base, "--months", "2023-08..2023-10", "--allow-gaps", "-o", str(tmp_path / "c.csv")],
        catch_exceptions=False,
    )
    assert gaps.exit_code == 0, gaps.output
    assert "Data gaps allowed and flagged: Bedfordshire" in gaps.output
    both = CliRunner().invoke(
        app, [*base, "--last", "3", "--months", "2024-01..2024-04", "-o", str(tmp_path / "d.csv")]
    )
    assert both.exit_code != 0 and "both give the area window" in str(both.exception)
