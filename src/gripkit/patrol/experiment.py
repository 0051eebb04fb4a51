"""Experiment mode: place-days randomised in blocks, in the shape of Operation Rowan.

Operation Rowan (Bland, Leggetter, Cestaro & Sebire 2021) took the 21 LSOAs with most
serious-violence harm; each day 7 were drawn for one 15-minute, two-officer foot patrol between
14:00 and 24:00 and 14 were controls, for 90 days (630 treated and 1,260 control place-days).

:func:`experiment_design` draws such an assignment with *block randomisation across days*: with
``N`` areas and ``k`` treated per day, days fall into blocks of ``N / gcd(N, k)`` days in which
every area is treated exactly ``k / gcd(N, k)`` times. For 21 and 7 a block is 3 days and each
area is treated once per block, so 90 days give every area 30 treated days.

Within a block a random permutation of the areas is laid round a circle and each day takes the
next ``k`` of them (so no area appears twice in a day); the order of the days in the block is
shuffled too. All randomness comes from ``numpy.random.default_rng([seed, 0])``; area ids are
sorted first, so the same seed and ids give the same assignment whatever their input order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.workspace import Workspace

#: Sub-stream of the plan seed used for the assignment (schedules use stream 1).
DESIGN_STREAM = 0
PLAN_COLUMNS: tuple[str, ...] = (C.DATE, C.AREA_ID, C.TREATED, C.BLOCK, C.VISITS)


@dataclass
class ExperimentPlan:
    """A block-randomised place-day assignment.

    Attributes
    ----------
    assignments : pandas.DataFrame
        One row per area-day, sorted by ``date`` then ``area_id``: ``date`` (datetime.date),
        ``area_id``, ``treated`` (0/1), ``block`` (1-based), ``visits`` (planned visits that day).
    area_ids : list of str
        The areas, sorted.
    seed : int
        The seed the assignment was drawn with; with ``area_ids`` and :attr:`params` it re-derives it.
    params : dict
        ``treated_per_day``, ``days``, ``start``, ``block_days``, ``treated_per_block``, ``visits``.
    """

    assignments: pd.DataFrame
    area_ids: list[str]
    seed: int
    params: dict[str, Any] = field(default_factory=dict)

    def treated_days(self) -> pd.Series:
        """Treated days per area (equal for every area in a balanced design)."""
        return self.assignments.groupby(C.AREA_ID)[C.TREATED].sum()

    def to_csv(self, path: str | Path | None = None) -> str:
        """Write ``date, area_id, treated, block, visits`` as CSV (``\\n`` line ends); return the text.

        The text depends only on the seed, the area ids and the parameters, so it is
        byte-identical whenever and wherever it is written.
        """
        from gripkit.patrol.export import plan_csv

        return plan_csv(self.assignments, path)


def experiment_design(
    area_ids: Any,
    *,
    treated_per_day: int = 7,
    days: int = 90,
    seed: int,
    start: date | str,
    visits: int = 1,
    balanced: bool = True,
) -> ExperimentPlan:
    """Draw a block-randomised place-day assignment.

    Parameters
    ----------
    area_ids : sequence of str, or a frame with ``area_id``
        The ``N`` areas (at least 2).
    treated_per_day : int, default 7
        ``k`` areas treated each day, ``1 <= k < N`` (the rest are controls).
    days : int, default 90
        Length of the experiment. With ``balanced`` it must be a multiple of the block length
        ``N / gcd(N, k)`` so every area is treated equally often.
    seed : int
        Non-negative seed; record it (the plan stores it).
    start : datetime.date or "YYYY-MM-DD"
        First day.
    visits : int, default 1
        Planned visits per treated area-day.
    balanced : bool, default True
        If False, ``days`` may end mid-block; treated days then differ by at most one.

    Returns
    -------
    ExperimentPlan

    Examples
    --------
    >>> plan = experiment_design([f"A{i:02d}" for i in range(21)], treated_per_day=7, days=90,
    ...                          seed=7, start="2024-05-01")
    >>> len(plan.assignments), int(plan.assignments["treated"].sum())
    (1890, 630)
    >>> sorted(set(plan.treated_days()))
    [30]
    """
    ids = _area_ids(area_ids)
    n = len(ids)
    k = _whole("treated_per_day", treated_per_day)
    n_days = _whole("days", days)
    n_visits = _whole("visits", visits)
    seed = _seed(seed)
    first = parse_date("start", start)
    if k >= n:
        raise InputError(
            f"'treated_per_day' must be smaller than the number of areas ({n}) so some are controls; "
            f"received {k}. Pass at most {n - 1}, or more areas."
        )
    g = math.gcd(n, k)
    block_days, per_block = n // g, k // g
    if balanced and n_days % block_days:
        lower = (n_days // block_days) * block_days
        options = " or ".join(str(d) for d in (lower, lower + block_days) if d > 0)
        raise InputError(
            f"'days' must be a multiple of {block_days} (the block in which each of {n} areas is treated "
            f"{per_block} time(s) at {k} a day) for a balanced design; received {n_days}. Pass {options}, "
            "or balanced=False."
        )
    treated = block_assignment(n, k, n_days, np.random.default_rng([seed, DESIGN_STREAM]))
    dates = [first + timedelta(days=d) for d in range(n_days)]
    frame = pd.DataFrame(
        {
            C.DATE: np.repeat(np.array(dates, dtype=object), n),
            C.AREA_ID: np.tile(np.array(ids, dtype=object), n_days),
            C.TREATED: treated.reshape(-1).astype(np.int64),
            C.BLOCK: np.repeat(np.arange(n_days) // block_days + 1, n).astype(np.int64),
        }
    )
    frame[C.VISITS] = frame[C.TREATED] * n_visits
    params = {
        "treated_per_day": k,
        "days": n_days,
        "start": first.isoformat(),
        "areas": n,
        "block_days": block_days,
        "treated_per_block": per_block,
        "visits": n_visits,
        "balanced": balanced,
        "method": "block randomisation across days (circular permutation per block)",
    }
    return ExperimentPlan(frame, ids, seed, params)


def block_assignment(n_areas: int, treated_per_day: int, days: int, rng: np.random.Generator) -> np.ndarray:
    """The ``(days, n_areas)`` 0/1 matrix of one block-randomised draw (areas in sorted-id order).

    This is the randomiser of :func:`experiment_design` (see the module docstring), drawing from
    ``rng``: with ``numpy.random.default_rng([seed, DESIGN_STREAM])`` it gives the plan's own
    assignment, and with any other generator a fresh draw under the same blocks, which is what
    randomisation inference re-draws (:mod:`gripkit.evaluate.plan_design`).

    Examples
    --------
    >>> drawn = block_assignment(3, 1, 6, np.random.default_rng([7, DESIGN_STREAM]))
    >>> drawn.sum(axis=1).tolist(), drawn[:3].sum(axis=0).tolist()   # 1 a day; once per 3-day block
    ([1, 1, 1, 1, 1, 1], [1, 1, 1])
    """
    n, k = int(n_areas), int(treated_per_day)
    g = math.gcd(n, k)
    block_days = n // g
    n_blocks = -(-int(days) // block_days)
    cycle = (np.arange(block_days)[:, None] * k + np.arange(k)[None, :]) % n  # (block_days, k)
    treated = np.zeros((int(days), n), dtype=np.int8)
    for b in range(n_blocks):
        length = min(block_days, int(days) - b * block_days)  # a last, partial block keeps consecutive days
        order = rng.permutation(n)
        rows = b * block_days + rng.permutation(length)
        treated[rows[:, None], order[cycle[:length]]] = 1
    return treated


def default_start(ws: Workspace) -> date:
    """The first day after the workspace's last month of crimes (the default ``start`` of a plan).

    Examples
    --------
    >>> from gripkit import Workspace, datasets
    >>> from gripkit.ingestion import ingest
    >>> ws = Workspace(":memory:")
    >>> _ = ingest(datasets.bedfordshire_street_files()[-1:], ws)
    >>> default_start(ws)
    datetime.date(2024, 5, 1)
    """
    row = ws.con.execute("SELECT max(month) FROM crimes").fetchone()
    if not row or row[0] is None:
        raise InputError(
            f"workspace {ws.path} holds no crimes, so there is no last month to start after; "
            "received an empty workspace. Pass 'start' (a date such as 2024-05-01) or ingest data first."
        )
    last = pd.Timestamp(row[0])
    return (last + pd.offsets.MonthBegin(1)).date()


def parse_date(name: str, value: Any) -> date:
    """``value`` (a date or ``YYYY-MM-DD`` text) as a date, else InputError."""
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise InputError(
            f"'{name}' must be a date YYYY-MM-DD; received {value!r}. Pass e.g. 2024-05-01."
        ) from exc


def _area_ids(value: Any) -> list[str]:
    raw = value[C.AREA_ID].tolist() if isinstance(value, pd.DataFrame) and C.AREA_ID in value else value
    if isinstance(raw, str) or not hasattr(raw, "__iter__"):
        raise InputError(
            f"'area_ids' must be a list of area ids or a frame with area_id; received {type(raw).__name__}."
        )
    ids = [str(v).strip() for v in raw]
    if len(ids) < 2 or len(set(ids)) != len(ids) or "" in ids:
        raise InputError(
            f"'area_ids' must hold at least 2 distinct, non-blank ids; received {len(ids)} id(s), "
            f"{len(ids) - len(set(ids))} duplicated. Pass e.g. the top 21 LSOA codes."
        )
    return sorted(ids)


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"'{name}' must be a whole number >= 1; received {value!r}.")
    return int(value)


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InputError(
            f"'seed' must be a whole number >= 0; received {value!r}. Pass e.g. seed=7 and record it."
        )
    return int(value)
