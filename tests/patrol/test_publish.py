"""Publishing a stored plan to officers (issue 17), on a real plan of the bundled Bedfordshire data.

The plan is the Op Rowan-style experiment on the top-21 LSOAs (seed 7), 15 days from a fixed
future Monday; teams come from :func:`gripkit.patrol.teams.assign_teams`. Expected counts are read
independently from the stored ``plan_visits`` rows (what the planner wrote), never from the
publisher's own result: visits of team T in the range x officers of team T = rows published.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from gripkit import Workspace
from gripkit.cli import app
from gripkit.dashboard.auth import add_user
from gripkit.errors import InputError
from gripkit.patrol import load_plan
from gripkit.patrol.job import plan_patrols
from gripkit.patrol.publish import publish, read_roster

FIRST = date(2030, 1, 7)  # winter: Europe/London is UTC+0, so local start = UTC start
ROSTER = pd.DataFrame({"officer": ["a1", "a2", "b1"], "team": [1, 1, 2], "role": ["lead", "", ""]})


@pytest.fixture
def ws(bedfordshire_workspace: Path, tmp_path: Path):
    """A copy of the shared workspace (so users and patrols stay here) with officers and an analyst."""
    path = tmp_path / "w.duckdb"
    shutil.copy(bedfordshire_workspace, path)
    with Workspace(path) as workspace:
        for name in ("a1", "a2", "b1", "c1"):
            add_user(workspace, name, "officer", "officer-pass-123")
        add_user(workspace, "ana", "analyst", "analyst-pass-123")
        yield workspace


def _plan(ws: Workspace, start: date = FIRST) -> int:
    plan = plan_patrols(ws, seed=7, days=15, start=start)
    assert plan.plan_id is not None
    return plan.plan_id


def _planned(ws: Workspace, plan_id: int, lo: date, hi: date) -> pd.DataFrame:
    return ws.con.execute(
        "SELECT date, area_id, visit, team, start_utc, end_utc FROM plan_visits WHERE plan_id = ? "
        "AND date BETWEEN ? AND ?",
        [plan_id, lo, hi],
    ).df()


def _published(ws: Workspace, plan_id: int) -> pd.DataFrame:
    return ws.con.execute(
        "SELECT * FROM officer_patrols WHERE plan_id = ? AND visit IS NOT NULL", [plan_id]
    ).df()


def test_the_plan_keeps_teams_and_labels(ws: Workspace) -> None:
    plan = plan_patrols(ws, seed=7, days=15, start=FIRST)
    stored = load_plan(ws, plan.plan_id)
    # the stored schedule has the planner's team column, visit for visit
    mine = plan.schedule.sort_values(["start_utc", "area_id", "visit"])["team"].tolist()
    assert stored.schedule["team"].tolist() == mine and set(mine) >= {1, 2}
    labels = dict(zip(plan.candidates["area_id"], plan.candidates["label"], strict=True))
    assert dict(zip(stored.areas["area_id"], stored.areas["label"], strict=True)) == labels
    assert all(isinstance(v, str) and v for v in labels.values())  # LSOA names, e.g. "Luton 018F"


def test_each_team_visit_goes_to_the_team_officers(ws: Workspace) -> None:
    plan_id = _plan(ws)
    lo, hi = FIRST + timedelta(days=1), FIRST + timedelta(days=5)
    result = publish(ws, plan_id, ROSTER, start=lo, end=hi)
    planned = _planned(ws, plan_id, lo, hi)
    rows = _published(ws, plan_id)
    team1, team2 = planned[planned.team == 1], planned[planned.team == 2]
    assert len(team1) > 0 and len(team2) > 0
    # by hand: team 1 has 2 officers, team 2 one; each officer gets every visit of their team
    assert len(rows) == 2 * len(team1) + len(team2)
    assert result.assignments == len(rows) and result.visits == len(team1) + len(team2)
    for officer, team in (("a1", team1), ("a2", team1), ("b1", team2)):
        got = rows[rows.officer == officer]
        key = ["date", "area_id", "visit"]
        assert sorted(map(tuple, got[key].astype(str).to_numpy())) == sorted(
            map(tuple, team[key].astype(str).to_numpy())
        )
    assert set(rows.loc[rows.officer == "b1", "team"]) == {2}
    assert rows["date"].min().date() >= lo and rows["date"].max().date() <= hi
    # winter: the local start is the UTC start; a visit is 15 minutes (the planner's default)
    assert (rows["start_time"] == pd.to_datetime(rows["start_utc"]).dt.strftime("%H:%M")).all()
    assert set(rows["minutes"]) == {15}
    others = planned[~planned.team.isin([1, 2])]
    assert result.unstaffed == {int(t): int(n) for t, n in others.groupby("team").size().items()}
    assert "team 1: " in result.summary() and "not published" in result.summary()
    assert result.to_dict()["teams"]["1"]["officers"] == ["a1", "a2"]


def test_summer_start_is_local_time(ws: Workspace) -> None:
    plan_id = _plan(ws, date(2030, 7, 1))
    publish(ws, plan_id, ROSTER)
    rows = _published(ws, plan_id)
    # British Summer Time is UTC+1 in July
    local = (pd.to_datetime(rows["start_utc"]) + pd.Timedelta(hours=1)).dt.strftime("%H:%M")
    assert len(rows) and (rows["start_time"] == local).all()


def test_republishing_replaces_and_keeps_recorded_visits(ws: Workspace) -> None:
    plan_id = _plan(ws)
    first = publish(ws, plan_id, ROSTER)
    count = len(_published(ws, plan_id))
    assert count == first.assignments
    again = publish(ws, plan_id, ROSTER)
    assert len(_published(ws, plan_id)) == count and again.replaced == count  # no duplicates
    # a visit recorded on one patrol: that patrol is kept, not published twice
    pid = int(_published(ws, plan_id)["patrol_id"].min())
    ws.con.execute("INSERT INTO officer_visits VALUES (1, ?, 'a1', 'x', now(), NULL)", [pid])
    third = publish(ws, plan_id, ROSTER)
    rows = _published(ws, plan_id)
    assert third.kept == 1 and third.replaced == count - 1 and len(rows) == count
    assert pid in set(rows["patrol_id"])
    # another roster for the same range: b1 moves to team 1, so nobody keeps team 2's visits
    moved = pd.DataFrame({"officer": ["a1", "b1"], "team": [1, 1]})
    publish(ws, plan_id, moved)
    rows = _published(ws, plan_id)
    team1 = _planned(ws, plan_id, FIRST, FIRST + timedelta(days=14)).query("team == 1")
    assert set(rows.team) == {1} and len(rows) == 2 * len(team1)
    assert set(rows.officer) == {"a1", "b1"}
    # a narrower range replaces only that range
    publish(ws, plan_id, ROSTER, start=FIRST, end=FIRST)
    rows = _published(ws, plan_id)
    day1 = rows[rows.date.dt.date == FIRST]
    assert "a2" in set(day1.officer) and "a2" not in set(rows[rows.date.dt.date > FIRST].officer)


@pytest.mark.parametrize(
    ("roster", "kwargs", "message"),
    [
        (ROSTER, {"plan_id": 999}, r"no plan 999 .*Known plans"),
        (ROSTER.assign(team=[1, 1, 99]), {}, r"team\(s\) 99 that plan \d+ lacks; its teams are 1, 2"),
        (
            ROSTER.assign(officer=["a1", "a2", "nobody"]),
            {},
            r"not dashboard users: nobody.*gripkit users add",
        ),
        (ROSTER.assign(officer=["a1", "a2", "ana"]), {}, r"without the officer role.*gripkit users role ana"),
        (ROSTER.assign(officer=["a1", "a1", "b1"]), {}, r"a1 more than once"),
        (ROSTER.assign(team=["1", "one", "2"]), {}, r"'team' must be a team number.*'one' on row 3"),
        (ROSTER.drop(columns="team"), {}, r"lacks column\(s\) team"),
        (
            ROSTER,
            {"start": "2031-01-01", "end": "2031-01-05"},
            r"no planned visits from 2031-01-01 to 2031-01-05; it runs from 2030-01-07 to 2030-01-21",
        ),
        (ROSTER, {"start": "2030-01-10", "end": "2030-01-08"}, r"'start' must not be after 'end'"),
        (ROSTER, {"start": "10/01/2030"}, r"'start' must be a date YYYY-MM-DD"),
    ],
)
def test_refusals_write_nothing(ws: Workspace, roster: pd.DataFrame, kwargs: dict, message: str) -> None:
    plan_id = _plan(ws)
    kwargs = {"plan_id": plan_id, **kwargs}
    with pytest.raises(InputError, match=message):
        publish(ws, kwargs.pop("plan_id"), roster, **kwargs)
    assert len(_published(ws, plan_id)) == 0


def test_a_plan_stored_without_teams_is_refused(ws: Workspace) -> None:
    plan_id = _plan(ws)
    ws.con.execute(
        "UPDATE plan_visits SET team = NULL WHERE plan_id = ?", [plan_id]
    )  # as before the migration
    with pytest.raises(InputError, match=r"before visits kept their team.*gripkit plan"):
        publish(ws, plan_id, ROSTER)


def test_roster_csv(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("Officer, Team, Role\npc_a, 1, lead\npc_b,2,\n", encoding="utf-8")
    frame = read_roster(path)
    assert frame.to_dict("list") == {"officer": ["pc_a", "pc_b"], "team": [1, 2], "role": ["lead", ""]}
    with pytest.raises(InputError, match="no roster file"):
        read_roster(tmp_path / "missing.csv")


def test_cli_plan_json_has_the_id_and_publish_uses_it(ws: Workspace, tmp_path: Path) -> None:
    path = ws.path
    ws.close()
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "plan",
            "-w",
            path,
            "--experiment",
            "--seed",
            "7",
            "--days",
            "15",
            "--start",
            FIRST.isoformat(),
            "-o",
            str(tmp_path / "plan.csv"),
            "--json",
        ],
        catch_exceptions=False,
    )
    assert made.exit_code == 0, made.output
    plan_id = json.loads(made.stdout)["plan_id"]  # stdout: warnings go to stderr
    with Workspace(path) as check:
        assert check.con.execute("SELECT max(plan_id) FROM plans").fetchone()[0] == plan_id
    roster = tmp_path / "roster.csv"
    roster.write_text("officer,team,role\na1,1,lead\na2,1,\nb1,2,\n", encoding="utf-8")
    args = [
        "plan",
        "publish",
        str(plan_id),
        "--roster",
        str(roster),
        "-w",
        path,
        "--from",
        "2030-01-08",
        "--to",
        "2030-01-09",
        "--json",
    ]
    done = runner.invoke(app, args, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    with Workspace(path) as check:
        planned = _planned(check, plan_id, date(2030, 1, 8), date(2030, 1, 9))
        published = len(_published(check, plan_id))
    expected = 2 * int((planned.team == 1).sum()) + int((planned.team == 2).sum())
    assert payload["assignments"] == expected == published and payload["plan_id"] == plan_id
    bad = runner.invoke(app, [*args[:3], "--roster", str(tmp_path / "none.csv"), "-w", path])
    assert bad.exit_code != 0 and "no roster file" in str(bad.exception)
