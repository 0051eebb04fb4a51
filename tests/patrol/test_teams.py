"""Teams over a whole 90-day Op Rowan-style plan on the real Bedfordshire top-21 LSOAs (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gripkit import Workspace
from gripkit.errors import InputError
from gripkit.patrol.job import plan_patrols
from gripkit.patrol.teams import assign_teams, check_teams


def test_teams_over_a_90_day_plan(bedfordshire_workspace: Path) -> None:
    with Workspace(bedfordshire_workspace) as ws:
        plan = plan_patrols(ws, seed=7, store=False)
    schedule, areas = plan.schedule.drop(columns="team"), plan.candidates
    assert check_teams(plan.schedule, areas) == 0  # the plan's own team column is feasible
    one = schedule.assign(team=1)
    assert check_teams(one, areas) > 0  # one team cannot run it (the issue: overlaps, 29 km hops)
    teamed, figures = assign_teams(schedule, areas)
    needed = figures["teams_needed"]
    assert plan.figures["teams_needed"] == needed
    assert 1 < needed <= 7  # at most the 7 visits of a day, each by its own team
    assert set(teamed["team"]) == set(range(1, needed + 1))
    assert check_teams(teamed, areas) == 0
    # times unchanged (the seeded randomisation is kept)
    pd.testing.assert_frame_equal(teamed.drop(columns="team"), schedule)
    # exact minimum: with one fewer team no assignment exists
    with pytest.raises(InputError, match=f"needs at least {needed} teams"):
        assign_teams(schedule, areas, teams=needed - 1)
    more, _ = assign_teams(schedule, areas, teams=needed + 2)
    assert check_teams(more, areas) == 0


def test_cli_teams_refuses_too_few(bedfordshire_workspace: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gripkit.cli import app

    base = ["plan", "-w", str(bedfordshire_workspace), "--experiment", "--seed", "7", "--no-store"]
    refused = CliRunner().invoke(app, [*base, "--teams", "1", "-o", str(tmp_path / "a.csv")])
    assert refused.exit_code != 0 and "needs at least" in str(refused.exception)
    ok = CliRunner().invoke(app, [*base, "--json", "-o", str(tmp_path / "b.csv")], catch_exceptions=False)
    assert ok.exit_code == 0 and '"teams_needed"' in ok.output
