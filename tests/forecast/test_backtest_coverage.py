"""The backtest checks the data coverage of the months it reads (first training month to the last
forecast period) for every force it reads, as allocate, national and power do (gripkit.coverage).

Real data: the ``two_force_workspace`` fixture (tests/conftest.py): Bedfordshire's real street files
2023-04..2024-04, and three real months relabelled as West Yorkshire 2016-03, 2017-06 and 2018-01.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gripkit import Workspace
from gripkit.errors import InputError
from gripkit.forecast.rolling import backtest

#: forecast periods 2024-02..2024-04 with a 6-month training window: the backtest reads
#: 2023-08..2024-04, 9 months (hand count: Aug-Dec 2023 = 5, Jan-Apr 2024 = 4)
WINDOW = dict(models=["naive"], train="6M", horizon="1M", months="2024-02..2024-04", coverage=[0.05],
              cell_size=500.0, workers=1, harm="none")


def forces(ws: Workspace) -> list[str]:
    return [r[0] for r in ws.con.execute("SELECT DISTINCT force FROM crimes ORDER BY 1").fetchall()]


def test_a_force_missing_the_window_is_refused_by_name(two_force_workspace: Path) -> None:
    with Workspace(two_force_workspace) as ws:
        names = forces(ws)
        other = next(f for f in names if "bedford" not in f.lower())
        before = len(ws.results_log())
        with pytest.raises(InputError) as caught:
            backtest(ws, **WINDOW)  # type: ignore[arg-type]
        message = str(caught.value)
        assert other in message and "2023-08" in message and "2024-04" in message, message
        assert "0 of the 9 months" in message or "0 of 9" in message, message
        assert len(ws.results_log()) == before  # nothing stored on a refusal


def test_one_force_with_every_month_runs_and_records_its_coverage(two_force_workspace: Path) -> None:
    with Workspace(two_force_workspace) as ws:
        bedfordshire = next(f for f in forces(ws) if "bedford" in f.lower())
        result = backtest(ws, force=bedfordshire, **WINDOW)  # type: ignore[arg-type]
    assert result.meta["data_coverage"]["complete"] is True
    assert result.meta["data_coverage"]["months"] == 9
    assert "Coverage gaps" not in result.summary()


def test_allow_gaps_goes_on_and_flags_the_gap(two_force_workspace: Path) -> None:
    with Workspace(two_force_workspace) as ws:
        other = next(f for f in forces(ws) if "bedford" not in f.lower())
        result = backtest(ws, allow_gaps=True, **WINDOW)  # type: ignore[arg-type]
    assert result.meta["data_coverage"]["complete"] is False
    assert other in result.summary() and "Coverage gaps in 2023-08..2024-04" in result.summary()
    assert result.table["step"].nunique() == 3
