"""Data coverage: per force x month rows, gaps as rows, and the window check every job runs.

The workspace (``two_force_workspace`` in conftest) holds REAL Bedfordshire street files
2023-04..2024-04 and three real Bedfordshire months relabelled as West Yorkshire 2016-03, 2017-06
and 2018-01. Expected numbers are counted by hand from those month lists or read independently from
the published zip with pandas.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from gripkit import Workspace
from gripkit.coverage import check_window, coverage_table, month_list, month_runs
from gripkit.errors import InputError

BEDS, WY = "Bedfordshire", "West Yorkshire"


@pytest.fixture()
def ws(two_force_workspace: Path):  # type: ignore[no-untyped-def]
    with Workspace(two_force_workspace) as workspace:
        yield workspace


def test_month_runs_and_lists() -> None:
    assert month_runs([date(2019, 7, 1), date(2019, 8, 1), date(2021, 3, 1)]) == "2019-07..2019-08, 2021-03"
    assert month_runs([]) == "none"
    # 2021-11..2022-02 is four months by hand: Nov, Dec, Jan, Feb
    assert month_list(date(2021, 11, 1), date(2022, 2, 1)) == [
        date(2021, 11, 1), date(2021, 12, 1), date(2022, 1, 1), date(2022, 2, 1)
    ]
    assert month_list(date(2022, 2, 1), date(2021, 11, 1)) == []


def test_coverage_table_lists_every_force_month_with_gaps(ws: Workspace, shared_data) -> None:  # type: ignore[no-untyped-def]
    table = coverage_table(ws)
    # span 2016-03..2024-04: 8 years x 12 + 2 = 98 months, for each of the two forces
    per_force = table.groupby("force")["month"].nunique()
    assert per_force.to_dict() == {BEDS: 98, WY: 98}
    gaps = table[table["gap"]].groupby("force").size()
    assert gaps.to_dict() == {BEDS: 98 - 13, WY: 98 - 3}
    wy = table[(table["force"] == WY) & ~table["gap"]]
    assert [m.isoformat()[:7] for m in wy["month"]] == ["2016-03", "2017-06", "2018-01"]
    assert set(wy["source"]) == {"police.uk"}
    assert (table.loc[table["gap"], "rows_loaded"] == 0).all()
    # every published row of a Bedfordshire month is loaded or quarantined (pandas read of the zip)
    zip_path = shared_data("bedfordshire", "police-uk-bedfordshire-2021-05-to-2024-04.zip")
    with zipfile.ZipFile(zip_path) as archive:
        raw = pd.read_csv(io.BytesIO(archive.read("2024-04/2024-04-bedfordshire-street.csv")))
    row = table[(table["force"] == BEDS) & (table["month"] == date(2024, 4, 1))].iloc[0]
    assert row["rows_loaded"] + row["rows_quarantined"] == len(raw)
    assert row["files"] == 1


def test_coverage_table_span_and_kind(ws: Workspace) -> None:
    table = coverage_table(ws, first="2024-01", last="2024-04")
    assert len(table) == 8  # 2 forces x 4 months; West Yorkshire's four are gaps
    assert table[table["force"] == WY]["gap"].all()
    with pytest.raises(InputError, match="'kind' must be one of"):
        coverage_table(ws, kind="streets")
    with Workspace(":memory:") as empty:
        assert list(coverage_table(empty).columns) == [
            "force", "month", "source", "files", "rows_loaded", "rows_quarantined", "gap"
        ]


def test_check_window_refuses_naming_force_months_and_fixes(ws: Workspace) -> None:
    with pytest.raises(InputError) as info:
        check_window(ws, date(2023, 5, 1), date(2024, 4, 1), what="allocate")
    message = str(info.value)
    assert "West Yorkshire holds 0 of the 12 months asked" in message
    assert "2016-03, 2017-06, 2018-01" in message  # the months it holds
    assert "2023-05..2024-04" in message  # the window asked
    for fix in ("'months'", "'exclude'", "'allow_gaps'"):
        assert fix in message
    assert "Bedfordshire holds" not in message  # Bedfordshire has all 12


def test_check_window_allow_gaps_exclude_and_forces(ws: Workspace) -> None:
    check = check_window(ws, "2017-01", "2018-12", allow_gaps=True)
    # 2017-01..2018-12 = 24 months; West Yorkshire holds 2017-06 and 2018-01; Bedfordshire none
    assert check.months == 24
    assert check.months_held(WY) == 2 and check.months_held(BEDS) == 0
    assert check.flagged == (BEDS, WY)
    assert "West Yorkshire holds 2 of 24 months" in check.note()
    record = check.to_dict()
    assert record["forces"][WY]["held"] == "2017-06, 2018-01"
    assert record["forces"][WY]["missing"] == "2017-01..2017-05, 2017-07..2017-12, 2018-02..2018-12"
    assert record["complete"] is False
    ok = check_window(ws, "2023-05", "2024-04", exclude=[WY])
    assert ok.complete and ok.excluded == (WY,) and list(ok.forces) == [BEDS]
    assert check_window(ws, "2023-05", "2024-04", forces=[BEDS]).complete
    with pytest.raises(InputError, match=r"'exclude' names force\(s\) the workspace does not hold: Kent"):
        check_window(ws, "2023-05", "2024-04", exclude=["Kent"])
    with pytest.raises(InputError, match="holds 0 of the 12 months"):
        check_window(ws, "2023-05", "2024-04", forces=["Kent"])
    with pytest.raises(InputError, match="'months' must run forwards"):
        check_window(ws, "2024-04", "2023-05")


def test_cli_status_coverage_json(two_force_workspace: Path) -> None:
    import json
    import subprocess

    run = subprocess.run(["gripkit", "status", "--coverage", "--json", "-w", str(two_force_workspace)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)  # one JSON object
    forces = {r["force"]: r for r in answer["forces"]}
    assert forces[WY]["held"] == "2016-03, 2017-06, 2018-01" and forces[WY]["months_held"] == 3
    assert forces[BEDS]["held"] == "2023-04..2024-04" and forces[BEDS]["missing"] == "2016-03..2023-03"
    assert len(answer["months"]) == 2 * 98  # every force x month of the span, gaps included
