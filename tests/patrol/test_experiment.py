"""Experiment mode: block-randomised place-days in the shape of Operation Rowan.

Expected numbers: Op Rowan (Bland, Leggetter, Cestaro & Sebire 2021; docs/domain.md) had 21 areas, 7
treated a day for 90 days: 1,890 place-days, 630 treated, 1,260 control, so 30 treated days per area.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gripkit import Workspace, datasets
from gripkit.errors import InputError
from gripkit.ingestion import ingest
from gripkit.patrol import default_start, experiment_design

AREAS = [f"E0100{i:04d}" for i in range(21)]


def rowan(seed: int = 7, ids: list[str] | None = None):
    return experiment_design(ids or AREAS, treated_per_day=7, days=90, seed=seed, start="2024-05-01")


def test_op_rowan_shape() -> None:
    plan = rowan()
    a = plan.assignments
    assert len(a) == 1890  # 21 x 90 place-days (Bland et al. 2021)
    assert int(a["treated"].sum()) == 630 and int((a["treated"] == 0).sum()) == 1260
    assert set(plan.treated_days()) == {30}  # 90 days x 7 / 21 areas
    assert set(a.groupby("date")["treated"].sum()) == {7}
    # each 3-day block (21 / gcd(21, 7)) treats every area exactly once
    assert set(a.groupby(["block", "area_id"])["treated"].sum()) == {1}
    assert a["date"].min().isoformat() == "2024-05-01" and a["date"].max().isoformat() == "2024-07-29"


def test_same_seed_same_bytes_whatever_the_input_order() -> None:
    assert rowan().to_csv() == rowan(ids=list(reversed(AREAS))).to_csv()
    assert rowan(seed=8).to_csv() != rowan().to_csv()


def test_csv_columns() -> None:
    header, first = rowan().to_csv().splitlines()[:2]
    assert header == "date,area_id,treated,block,visits"
    assert first.startswith("2024-05-01,E01000000,")


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 30), data=st.data())
def test_balanced_for_any_areas_and_daily_count(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, n - 1))
    block = n // math.gcd(n, k)
    blocks = data.draw(st.integers(1, 3))
    plan = experiment_design(
        [f"a{i}" for i in range(n)], treated_per_day=k, days=block * blocks, seed=1, start="2024-01-01"
    )
    assert set(plan.assignments.groupby("date")["treated"].sum()) == {k}
    assert set(plan.treated_days()) == {blocks * k // math.gcd(n, k)}


def test_unbalanced_days_differ_by_at_most_one() -> None:
    plan = experiment_design(
        AREAS[:20], treated_per_day=7, days=30, seed=3, start="2024-01-01", balanced=False
    )
    counts = plan.treated_days()
    assert counts.max() - counts.min() <= 1 and int(counts.sum()) == 7 * 30


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": 91}, r"'days' must be a multiple of 3 .* Pass 90 or 93"),
        ({"treated_per_day": 21}, r"smaller than the number of areas \(21\)"),
        ({"seed": -1}, r"'seed' must be a whole number >= 0"),
        ({"start": "01/05/2024"}, r"'start' must be a date YYYY-MM-DD"),
    ],
)
def test_bad_input(kwargs: dict, message: str) -> None:
    args = {"treated_per_day": 7, "days": 90, "seed": 7, "start": "2024-05-01", **kwargs}
    with pytest.raises(InputError, match=message):
        experiment_design(AREAS, **args)


def test_duplicate_ids_rejected() -> None:
    with pytest.raises(InputError, match="distinct"):
        experiment_design(["a", "a", "b"], treated_per_day=1, days=3, seed=1, start="2024-01-01")


def test_default_start_is_the_day_after_the_last_month() -> None:
    with Workspace(":memory:") as ws:
        with pytest.raises(InputError, match="holds no crimes"):
            default_start(ws)
        ingest(datasets.bedfordshire_street_files()[-1:], ws)  # 2024-04, the last bundled month
        assert default_start(ws).isoformat() == "2024-05-01"
