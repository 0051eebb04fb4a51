"""The stored experiment plan is the design randomisation inference re-draws (gripkit issue 17).

Plans are drawn by ``gripkit.plan_patrols`` over the 21 real Bedfordshire LSOAs with most
serious-violence harm (police.uk 2023-05..2024-04, the ``bedfordshire_areas`` fixture) and stored
in a fresh workspace; the outcomes are synthetic Poisson counts (said where used).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gripkit import Workspace
from gripkit.errors import InputError
from gripkit.evaluate.inference import randomisation_inference
from gripkit.evaluate.plan_design import PlanDesign, load_plan_design
from gripkit.patrol import plan_patrols


@pytest.fixture()
def stored(tmp_path: Path, bedfordshire_areas) -> Path:
    """A workspace holding plan 1: 21 real LSOAs, 7 treated a day for 90 days, seed 11."""
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        plan_patrols(ws, areas_file=bedfordshire_areas, seed=11, start="2024-06-01")
    return path


def test_plan_seed_reproduces_the_stored_assignment(stored: Path) -> None:
    with Workspace(stored) as ws:
        design = load_plan_design(ws, 1)
        rows = ws.con.execute(
            "SELECT date, area_id, treated FROM plan_assignments WHERE plan_id = 1 ORDER BY date, area_id"
        ).df()
    table = rows.pivot(index="date", columns="area_id", values="treated")[design.areas].to_numpy(bool)
    assert isinstance(design, PlanDesign) and design.seed == 11 and design.plan_id == 1
    # 21 areas, 7 a day: gcd 7, so blocks of 21 / 7 = 3 days with each area treated 7 / 7 = 1 time
    assert (design.block_days, design.treated_per_block, design.plan_days) == (3, 1, 90)
    assert np.array_equal(design.reproduce(), table)
    assert np.array_equal(design.matrix(), table)
    # a different generator gives a different assignment (else the re-draws would all be the plan)
    assert not np.array_equal(design.draw(np.random.default_rng(0)), table)


def test_redraws_keep_the_plans_treated_counts_per_block(stored: Path) -> None:
    with Workspace(stored) as ws:
        design = load_plan_design(ws)
    draws = design.draw(np.random.default_rng(5), size=200)
    blocks = design.blocks()
    plan = design.matrix()
    for b in np.unique(blocks):
        in_block = blocks == b
        # per area per block: exactly as in the plan (here 1 each, hand: 7 / gcd(21, 7))
        assert (draws[:, in_block].sum(axis=1) == plan[in_block].sum(axis=0)).all()
    assert (draws.sum(axis=2) == 7).all()                     # 7 treated every day
    # the draws are not a permutation of one assignment: area-days differ between draws
    assert len({d.tobytes() for d in draws}) == 200


def test_until_cuts_the_design_and_redraws_the_whole_plan(stored: Path) -> None:
    with Workspace(stored) as ws:
        design = load_plan_design(ws).until("2024-06-10")
    assert len(design.dates) == 10 and design.dates[-1] == pd.Timestamp("2024-06-10")  # 1..10 June
    assert np.array_equal(design.reproduce(), design.matrix())  # the first 10 days of the full draw
    assert design.draw(np.random.default_rng(1), size=3).shape == (3, 10, 21)
    with pytest.raises(InputError, match="before the plan started"):
        design.until("2024-05-31")


def test_randomisation_inference_uses_the_plan_randomiser(stored: Path) -> None:
    with Workspace(stored) as ws:
        design = load_plan_design(ws)
    # SYNTHETIC outcomes: Poisson(2) on every area-day, no effect
    frame = pd.DataFrame({
        "area_id": np.tile(design.areas, len(design.dates)),
        "date": np.repeat(design.dates, len(design.areas)),
        "treated": design.matrix().ravel().astype(int),
    })
    frame["count"] = np.random.default_rng(3).poisson(2.0, len(frame))
    result = randomisation_inference(frame, design, draws=99, seed=4)
    assert "block randomiser of plan 1" in result.scheme and "3-day blocks" in result.scheme
    assert len(result.draws) == 99 and 0 < result.p_value <= 1
    edited = frame.assign(treated=1 - frame["treated"])
    with pytest.raises(InputError, match="differs from the design's stored assignment"):
        randomisation_inference(edited, design, draws=99)


def test_edited_or_budget_plans_are_refused(stored: Path, bedfordshire_areas) -> None:
    with Workspace(stored) as ws:
        ws.con.execute(
            "UPDATE plan_assignments SET treated = 1 - treated WHERE plan_id = 1 AND date = '2024-06-01'"
        )
        with pytest.raises(InputError, match="not the one its seed 11 draws"):
            load_plan_design(ws, 1)
        plan_patrols(ws, mode="budget", areas_file=bedfordshire_areas, areas=5, budget_hours=4, seed=2,
                     start="2024-06-01", days=3)
        with pytest.raises(InputError, match="budget plan: its areas were chosen, not randomised"):
            load_plan_design(ws, 2)
