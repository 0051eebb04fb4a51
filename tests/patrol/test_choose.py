"""Area choice under a budget (MILP via HiGHS), checked by hand, by brute force and against spopt's MCLP."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from gripkit import datasets
from gripkit.errors import InputError
from gripkit.patrol import choose_areas

HAND = pd.DataFrame({"area_id": ["a", "b", "c"], "harm": [9.0, 5.0, 4.0]})


def test_hand_example() -> None:
    # 1 officer-hour = 60 officer-minutes; a visit costs 2 officers x 15 min = 30: two visits, to the
    # two areas with most harm: 9 + 5 = 14 (hand calculation).
    choice = choose_areas(HAND, officer_hours=1.0, travel_minutes=0)
    assert choice.chosen["area_id"].tolist() == ["a", "b"]
    assert choice.objective == pytest.approx(14.0) and choice.gap == pytest.approx(0.0)
    assert choice.used_minutes == 60 and "budget" in choice.binding


def test_weekly_budget_is_spread_over_seven_days() -> None:
    choice = choose_areas(HAND, officer_hours=7.0, per="week", travel_minutes=0)  # = 1 hour a day
    assert choice.budget_minutes == pytest.approx(60.0)
    assert choice.objective == pytest.approx(14.0)


def test_more_visits_add_decaying_coverage() -> None:
    # max_visits 2, decay 0.5: weights 1/1.5 and 0.5/1.5. Budget 3 visits (90 officer-minutes):
    # a twice (9) beats a, b, c once each (9 x 2/3 + 5 x 2/3 + 4 x 2/3 = 12)? No: a,a,b = 9 + 5 x 2/3 = 12.33.
    choice = choose_areas(HAND, officer_hours=1.5, travel_minutes=0, max_visits=2)
    assert choice.areas.set_index("area_id")["visits"].to_dict() == {"a": 2, "b": 1, "c": 0}
    assert choice.objective == pytest.approx(9 + 5 * 2 / 3)


def brute_force(harm, cost, caps, budget, decay, most):
    """Best objective over every visit vector (the reference formulation, enumerated)."""
    weights = decay ** np.arange(most)
    cum = np.concatenate([[0.0], np.cumsum(weights / weights.sum())])
    best = 0.0
    for visits in itertools.product(*[range(c + 1) for c in caps]):
        v = np.array(visits)
        if (v * cost).sum() <= budget + 1e-9:
            best = max(best, float((harm * cum[v]).sum()))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_brute_force_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 6
    harm = rng.uniform(1, 100, n).round(1)
    travel = rng.uniform(0, 20, n).round(1)
    cands = pd.DataFrame({"area_id": [f"a{i}" for i in range(n)], "harm": harm})
    hours = float(rng.uniform(1, 5))
    choice = choose_areas(
        cands,
        officer_hours=hours,
        travel_minutes=dict(zip(cands["area_id"], travel, strict=True)),
        max_visits=3,
        decay=0.6,
    )
    got = choice.areas.set_index("area_id").loc[cands["area_id"]]
    expected = brute_force(
        got["harm"].to_numpy(), 2 * (15 + got["travel_minutes"].to_numpy()), [3] * n, hours * 60, 0.6, 3
    )
    assert choice.objective == pytest.approx(expected, rel=1e-9)
    assert choice.used_minutes <= hours * 60 + 1e-6


def test_matches_spopt_mclp() -> None:
    """With one visit per area and equal costs, the plan is spopt's MCLP with each area covering itself."""
    spopt = pytest.importorskip("spopt.locate")
    pulp = pytest.importorskip("pulp")
    rng = np.random.default_rng(42)
    n, p = 15, 5
    harm = rng.uniform(1, 100, n)
    cands = pd.DataFrame({"area_id": [f"a{i:02d}" for i in range(n)], "harm": harm})
    choice = choose_areas(cands, officer_hours=p * 0.5, travel_minutes=0)  # p visits of 30 officer-minutes
    cost = np.where(np.eye(n, dtype=bool), 0.0, 1000.0)  # each area covers only itself
    mclp = spopt.MCLP.from_cost_matrix(cost, harm, service_radius=1.0, p_facilities=p)
    mclp = mclp.solve(pulp.PULP_CBC_CMD(msg=False))
    chosen = sorted(f"a{i:02d}" for i in range(n) if mclp.fac2cli[i])
    assert sorted(choice.chosen["area_id"]) == chosen
    assert choice.objective == pytest.approx(float(harm[[int(a[1:]) for a in chosen]].sum()))


def test_include_exclude_and_max_areas() -> None:
    choice = choose_areas(HAND, officer_hours=1.0, travel_minutes=0, include=["c"], exclude=["a"])
    assert sorted(choice.chosen["area_id"]) == ["b", "c"] and "include" in choice.binding
    capped = choose_areas(HAND, officer_hours=10.0, travel_minutes=0, max_areas=1)
    assert capped.chosen["area_id"].tolist() == ["a"] and "max_areas" in capped.binding


def test_travel_from_real_lsoa_polygons() -> None:
    lsoa = datasets.bedfordshire_lsoa().head(10).rename(columns={"lsoa11cd": "area_id"})
    lsoa["harm"] = np.arange(10, 0, -1, dtype=float)
    choice = choose_areas(lsoa, officer_hours=2.0)
    assert (choice.areas["travel_minutes"] > 0).all()
    # officer-minutes of a visit = 2 officers x (15 + travel)
    assert np.allclose(choice.chosen["cost_minutes"], 2 * (15 + choice.chosen["travel_minutes"]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"officer_hours": 0.25}, r"buys no visit: the cheapest costs 30 officer-minutes"),
        ({"include": ["a"], "exclude": ["a"]}, r"both included and excluded"),
        ({"include": ["a", "b", "c"]}, r"infeasible constraints: budget"),
        ({"include": ["a", "b"], "max_areas": 1, "officer_hours": 5.0}, r"infeasible constraints: max_areas"),
        ({"include": ["zz"]}, r"not candidates: zz"),
        ({"per": "month"}, r"'per' must be one of day, week"),
        ({"officer_hours": -3}, r"'officer_hours' must be > 0"),
        ({"window": "21:00-21:00"}, r"last at most 24 hours"),
    ],
)
def test_bad_input(kwargs: dict, message: str) -> None:
    args = {"officer_hours": 1.0, "travel_minutes": 0, **kwargs}
    with pytest.raises(InputError, match=message):
        choose_areas(HAND, **args)
