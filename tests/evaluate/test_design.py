"""Randomised designs: quotas by hand, reproducible seeds, blocks, balance, storage, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gripkit import Workspace
from gripkit.errors import InputError
from gripkit.evaluate import (
    Design,
    blocked_design,
    harm_bands,
    load_design,
    place_day_design,
    simple_design,
)

AREAS = [f"L{i:02d}" for i in range(21)]


def test_op_rowan_shape() -> None:
    # docs/domain.md (Op Rowan): 21 areas x 90 days = 1,890 place-days, 7 treated a day -> 630 treated
    design = place_day_design(AREAS, days=90, treated_per_day=7, start="2024-06-01", seed=11)
    frame = design.assignment
    assert len(frame) == 1890 and int(frame["treated"].sum()) == 630
    assert (frame.groupby("date")["treated"].sum() == 7).all()
    assert design.to_dict()["seed"] == 11
    again = place_day_design(AREAS, days=90, treated_per_day=7, start="2024-06-01", seed=11)
    pd.testing.assert_frame_equal(frame, again.assignment)
    other = place_day_design(AREAS, days=90, treated_per_day=7, start="2024-06-01", seed=12)
    assert not frame["treated"].equals(other.assignment["treated"])


def test_redraws_keep_the_daily_quota() -> None:
    design = place_day_design(AREAS, days=30, treated_per_day=7, start="2024-06-01", seed=1)
    draws = design.redraw(50)
    assert draws.shape == (50, 30, 21)
    assert (draws.sum(axis=-1) == 7).all()
    # each area is treated with probability 7/21 = 1/3 (by hand); 50*30 draws per area
    assert np.allclose(draws.mean(axis=(0, 1)), 1 / 3, atol=0.06)


def test_blocked_quota_by_largest_remainder() -> None:
    # 6 areas in band1, 3 in band2; 4 treated -> quotas 4*6/9 = 2.67, 4*3/9 = 1.33 -> 3 and 1 (by hand)
    frame = pd.DataFrame({"area_id": list("abcdefghi"), "block": ["band1"] * 6 + ["band2"] * 3})
    design = blocked_design(frame, 4, seed=5)
    treated = design.assignment.set_index("area_id")["treated"]
    assert int(treated[list("abcdef")].sum()) == 3 and int(treated[list("ghi")].sum()) == 1
    assert (design.redraw(20)[:, :6].sum(axis=1) == 3).all()


def test_harm_bands_and_simple_design() -> None:
    bands = harm_bands(pd.Series([10.0, 1.0, 5.0, 7.0, 2.0, 3.0]), 3)
    assert bands.tolist() == ["band1", "band3", "band2", "band1", "band3", "band2"]
    design = simple_design(list("abcdef"), 2, seed=0)
    assert int(design.assignment["treated"].sum()) == 2


def test_balance_by_hand() -> None:
    design = Design(
        "simple",
        list("abcd"),
        0,
        2,
        assignment=pd.DataFrame({"area_id": list("abcd"), "treated": [True, True, False, False]}),
    )
    table = design.balance(pd.DataFrame({"area_id": list("abcd"), "harm": [1.0, 3.0, 2.0, 6.0]}))
    row = table.iloc[0]
    # by hand: treated mean 2, control mean 4, variances 1 and 4, pooled SD sqrt(2.5)
    assert row["mean_treated"] == 2.0 and row["mean_control"] == 4.0
    assert row["std_diff"] == pytest.approx(-2 / np.sqrt(2.5))
    assert not row["balanced"]  # |std_diff| = 1.26 >= 0.25, the balance threshold


def test_store_and_load_recreate_the_assignment(tmp_path) -> None:
    design = place_day_design(AREAS, days=10, treated_per_day=7, start="2024-06-01", seed=3)
    with Workspace(tmp_path / "w.duckdb") as ws:
        rid = design.store(ws)
        loaded = load_design(ws, rid)
        with pytest.raises(InputError, match="no evaluation design"):
            load_design(ws, rid + 5)
        stored = ws.latest_result("evaluation_design")
        assignment = ws.result_table(rid, "assignment")
    pd.testing.assert_frame_equal(loaded.assignment, design.assignment)
    # a design is itself the stored result (kind evaluation_design): rules, seed, summary, assignment
    assert Design.kind == "evaluation_design" and design.scheme == "place_days"
    assert stored is not None and stored.result_id == rid == design.meta["result_id"]
    assert stored.payload == design.to_dict() and stored.meta["seed"] == 3 and stored.meta["days"] == 10
    assert (
        stored.summary
        == "A place-days design of 21 areas, 7 treated each day over 10 days from 2024-06-01; seed 3."
    )
    assert len(assignment) == 210 and int(assignment["treated"].sum()) == 70  # 21 x 10 rows, 7 x 10 treated
    legacy = {**design.to_dict(), "kind": "place_days"}  # designs stored before 'scheme' was named so
    del legacy["scheme"]
    pd.testing.assert_frame_equal(Design.from_dict(legacy).assignment, design.assignment)


def test_bad_designs() -> None:
    with pytest.raises(InputError, match="'scheme' must be one of simple, blocked, place_days"):
        Design("rowan", list("abc"), 0, 1)
    with pytest.raises(InputError, match="treated and control"):
        place_day_design(AREAS, days=90, treated_per_day=21, start="2024-06-01", seed=0)
    with pytest.raises(InputError, match="unique"):
        simple_design(["a", "a", "b"], 1, seed=0)
    with pytest.raises(InputError, match="'days' must be a positive integer"):
        place_day_design(AREAS, days=0, treated_per_day=7, start="2024-06-01", seed=0)
