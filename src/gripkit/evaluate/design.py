"""Randomised designs for places and place-days, with balance checks and recorded seeds.

Three designs, one :class:`Design` object:

``simple``
    ``n_treated`` of the areas are treated, drawn completely at random.
``blocked``
    Areas are grouped into blocks (e.g. harm bands from :func:`harm_bands`); within each block a
    fixed number, allocated by largest remainder, are treated.
``place_days``
    Operation Rowan style (Bland et al. 2021): every day ``treated_per_day`` of the areas are drawn
    at random (optionally within blocks); the rest are that day's controls.

A design records its seed and can :meth:`Design.redraw` new assignments under the same rules,
which is what randomisation inference needs.

Examples
--------
>>> design = place_day_design([f"A{i}" for i in range(21)], days=90, treated_per_day=7,
...                           start="2024-01-01", seed=1)
>>> design.assignment.shape
(1890, 3)
>>> int(design.assignment["treated"].sum())
630
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.results import ResultMixin

if TYPE_CHECKING:
    from gripkit.workspace import Workspace

SCHEMES = ("simple", "blocked", "place_days")


@dataclass
class Design(ResultMixin):
    """A randomised assignment and the rules (and seed) that produced it.

    A design is a stored result (kind ``evaluation_design``): :meth:`store` saves its rules and
    seed, from which :func:`load_design` re-creates the exact assignment.

    Attributes
    ----------
    scheme : str
        ``simple``, ``blocked`` or ``place_days``.
    areas : list of str
        Area ids in design order.
    seed : int
        Seed of :func:`numpy.random.default_rng` that drew :attr:`assignment`.
    n_treated : int
        Areas treated (place designs) or areas treated per day (place-day designs).
    dates : list of pandas.Timestamp
        Days of a place-day design (empty for place designs).
    blocks : dict
        Area id -> block label (empty when unblocked).
    assignment : pandas.DataFrame
        ``area_id, treated`` (place designs) or ``area_id, date, treated`` (place-days).
    meta : dict
        Provenance: scheme, areas, treated, days, seed (and ``result_id`` once stored).
    """

    kind: ClassVar[str] = "evaluation_design"
    scheme: str
    areas: list[str]
    seed: int
    n_treated: int
    dates: list[pd.Timestamp] = field(default_factory=list)
    blocks: dict[str, str] = field(default_factory=dict)
    assignment: pd.DataFrame = field(default_factory=pd.DataFrame)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise InputError(f"'scheme' must be one of {', '.join(SCHEMES)}; received {self.scheme!r}.")
        if self.assignment.empty:
            self.assignment = self._frame(self.draw(np.random.default_rng(self.seed)))
        self.meta = {
            "scheme": self.scheme,
            "areas": len(self.areas),
            "n_treated": self.n_treated,
            "days": len(self.dates),
            "first_day": f"{self.dates[0]:%Y-%m-%d}" if self.dates else None,
            "seed": self.seed,
            "blocked": bool(self.blocks),
            **self.meta,
        }

    # -- drawing ---------------------------------------------------------------------------
    def _block_quota(self) -> list[tuple[np.ndarray, int]]:
        """(area positions, number to treat) per block; one block when unblocked."""
        n = len(self.areas)
        if not self.blocks:
            return [(np.arange(n), self.n_treated)]
        labels = np.array([self.blocks[a] for a in self.areas], dtype=object)
        names = sorted(set(labels.tolist()))
        sizes = np.array([(labels == b).sum() for b in names], dtype=float)
        quota = largest_remainder_int(sizes / n * self.n_treated, self.n_treated)
        return [(np.flatnonzero(labels == b), int(k)) for b, k in zip(names, quota, strict=True)]

    def draw(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
        """Draw treatment indicators under this design.

        Returns a bool array shaped ``(n_areas,)`` for place designs or ``(n_days, n_areas)`` for
        place-day designs; with ``size`` an extra leading axis of that many draws.
        """
        reps = 1 if size is None else size
        days = max(len(self.dates), 1)
        out = np.zeros((reps, days, len(self.areas)), dtype=bool)
        for positions, k in self._block_quota():
            if k == 0:
                continue
            # a random permutation per (draw, day): the k smallest keys are treated
            keys = rng.random((reps, days, len(positions)))
            chosen = np.argsort(keys, axis=-1)[..., :k]
            block = np.zeros((reps, days, len(positions)), dtype=bool)
            np.put_along_axis(block, chosen, True, axis=-1)
            out[..., positions] = block
        if self.scheme != "place_days":
            out = out[:, 0, :]
        return out[0] if size is None else out

    def matrix(self) -> np.ndarray:
        """The stored assignment as the array :meth:`draw` returns."""
        treated = self.assignment[C.TREATED].to_numpy(dtype=bool)
        if self.scheme == "place_days":
            return treated.reshape(len(self.dates), len(self.areas))
        return treated

    def redraw(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` fresh assignments under the same design (randomisation inference)."""
        rng = np.random.default_rng(self.seed + 1 if seed is None else seed)
        return self.draw(rng, size=n)

    def _frame(self, drawn: np.ndarray) -> pd.DataFrame:
        if self.scheme == "place_days":
            return pd.DataFrame(
                {
                    C.AREA_ID: np.tile(np.array(self.areas, dtype=object), len(self.dates)),
                    C.DATE: np.repeat(pd.DatetimeIndex(self.dates), len(self.areas)),
                    C.TREATED: drawn.ravel(),
                }
            )
        return pd.DataFrame({C.AREA_ID: np.array(self.areas, dtype=object), C.TREATED: drawn})

    # -- checks and records ---------------------------------------------------------------
    def balance(self, covariates: pd.DataFrame) -> pd.DataFrame:
        """Compare treated and control units on area covariates.

        Parameters
        ----------
        covariates : pandas.DataFrame
            ``area_id`` and numeric columns (e.g. past harm). For place-day designs each area is
            weighted by its number of treated (control) days.

        Returns
        -------
        pandas.DataFrame
            One row per covariate: ``covariate, mean_treated, mean_control, std_diff`` (difference
            in means over the pooled SD) and ``balanced`` (``|std_diff| < 0.25``, What Works
            Clearinghouse's threshold for adjustment).
        """
        _has(covariates, [C.AREA_ID], "covariates")
        frame = covariates.set_index(covariates[C.AREA_ID].astype(str)).drop(columns=[C.AREA_ID])
        missing = sorted(set(self.areas) - set(frame.index))
        if missing:
            raise InputError(
                f"covariates lack {len(missing)} design area(s), e.g. {missing[:3]}. Give one row per area."
            )
        frame = frame.loc[self.areas].select_dtypes("number")
        drawn = self.matrix()
        w1 = drawn.sum(axis=0) if drawn.ndim == 2 else drawn.astype(float)
        w0 = (~drawn).sum(axis=0) if drawn.ndim == 2 else (~drawn).astype(float)
        rows = []
        for name in frame.columns:
            x = frame[name].to_numpy(dtype=float)
            m1, m0 = np.average(x, weights=w1), np.average(x, weights=w0)
            v1 = np.average((x - m1) ** 2, weights=w1)
            v0 = np.average((x - m0) ** 2, weights=w0)
            pooled = np.sqrt((v1 + v0) / 2)
            sd = (m1 - m0) / pooled if pooled > 0 else 0.0
            rows.append((name, m1, m0, sd, abs(sd) < 0.25))
        names = ["covariate", "mean_treated", "mean_control", "std_diff", "balanced"]
        return pd.DataFrame(rows, columns=names)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe rules and seed (the assignment is re-created from them)."""
        return {
            "scheme": self.scheme,
            "areas": list(self.areas),
            "seed": self.seed,
            "n_treated": self.n_treated,
            "dates": [f"{d:%Y-%m-%d}" for d in self.dates],
            "blocks": dict(self.blocks),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Design:
        """Rebuild a design (and its exact assignment) from :meth:`to_dict`."""
        return cls(
            scheme=data["scheme"] if "scheme" in data else data["kind"],  # "kind" before the rename
            areas=list(data["areas"]),
            seed=int(data["seed"]),
            n_treated=int(data["n_treated"]),
            dates=[pd.Timestamp(d) for d in data.get("dates", [])],
            blocks=dict(data.get("blocks", {})),
        )

    def summary(self) -> str:
        """One sentence naming the design, its size and seed."""
        days = f" over {len(self.dates)} days from {self.dates[0]:%Y-%m-%d}" if self.dates else ""
        blocked = ", within blocks" if self.blocks else ""
        return (
            f"A {self.scheme.replace('_', '-')} design of {len(self.areas)} areas, {self.n_treated} "
            f"treated{' each day' if self.dates else ''}{days}{blocked}; seed {self.seed}."
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """The drawn assignment."""
        return {"assignment": self.assignment}

    def store(self, ws: Workspace) -> int:
        """Store the design (rules and seed) as an ``evaluation_design`` result; return its id."""
        return ws.save_result(self)


def load_design(ws: Workspace, result_id: int) -> Design:
    """Read a design stored with :meth:`Design.store`."""
    try:
        stored = ws.stored_result(result_id)
    except InputError:
        stored = None
    if stored is None or stored.kind != "evaluation_design":
        raise InputError(f"no evaluation design with result_id {result_id} in workspace {ws.path}.")
    return Design.from_dict(stored.payload)


def largest_remainder_int(quotas: np.ndarray, total: int) -> np.ndarray:
    """Round non-negative ``quotas`` to integers summing to ``total`` (largest remainder).

    >>> largest_remainder_int(np.array([2.5, 2.5, 2.0]), 7).tolist()
    [3, 2, 2]
    """
    floor = np.floor(quotas).astype(np.int64)
    short = int(total - floor.sum())
    order = np.argsort(-(quotas - floor), kind="stable")
    floor[order[:short]] += 1
    return floor


def _areas(areas: Sequence[Any]) -> list[str]:
    ids = [str(a) for a in areas]
    if len(ids) < 2:
        raise InputError(f"a design needs at least 2 areas; received {len(ids)}. Pass more area ids.")
    if len(set(ids)) != len(ids):
        dup = sorted({a for a in ids if ids.count(a) > 1})
        raise InputError(f"area ids must be unique; received duplicates {dup[:5]}. Remove them.")
    return ids


def _check_k(k: int, n: int, what: str) -> int:
    if not isinstance(k, int | np.integer) or not 1 <= k < n:
        raise InputError(
            f"'{what}' must be an integer from 1 to {n - 1} so that there are treated and control "
            f"areas; received {k!r}. With {n} areas, pass e.g. {max(1, n // 3)}."
        )
    return int(k)


def _has(frame: pd.DataFrame, cols: list[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"'{what}' must be a pandas DataFrame; received {type(frame).__name__}.")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {', '.join(missing)}; received {', '.join(map(str, frame.columns))}. "
            f"Rename your columns to {', '.join(cols)}."
        )


def simple_design(areas: Sequence[Any], n_treated: int, seed: int) -> Design:
    """Treat ``n_treated`` of ``areas`` completely at random.

    >>> simple_design(["a", "b", "c", "d"], 2, seed=3).assignment["treated"].sum()
    np.int64(2)
    """
    ids = _areas(areas)
    return Design("simple", ids, int(seed), _check_k(n_treated, len(ids), "n_treated"))


def blocked_design(blocks: pd.DataFrame, n_treated: int, seed: int, block_column: str = C.BLOCK) -> Design:
    """Treat ``n_treated`` areas, spread over blocks in proportion to their size.

    Parameters
    ----------
    blocks : pandas.DataFrame
        ``area_id`` and ``block_column`` (e.g. from :func:`harm_bands`).

    >>> frame = pd.DataFrame({"area_id": list("abcdef"), "block": ["hi"] * 3 + ["lo"] * 3})
    >>> d = blocked_design(frame, 2, seed=0)
    >>> d.assignment.groupby(frame["block"])["treated"].sum().tolist()
    [1, 1]
    """
    _has(blocks, [C.AREA_ID, block_column], "blocks")
    ids = _areas(blocks[C.AREA_ID].tolist())
    k = _check_k(n_treated, len(ids), "n_treated")
    labels = dict(zip(ids, blocks[block_column].astype(str), strict=True))
    return Design("blocked", ids, int(seed), k, blocks=labels)


def place_day_design(
    areas: Sequence[Any],
    *,
    days: int,
    treated_per_day: int,
    start: str | pd.Timestamp,
    seed: int,
    blocks: dict[str, str] | None = None,
) -> Design:
    """Op Rowan design: each day, ``treated_per_day`` areas drawn at random are treated.

    Parameters
    ----------
    areas : sequence
        Area ids (e.g. the 21 LSOAs with most serious-violence harm).
    days : int
        Length of the experiment in days (Op Rowan: 90).
    treated_per_day : int
        Areas treated each day (Op Rowan: 7 of 21).
    start : str or Timestamp
        First day.
    seed : int
        Seed, recorded on the design.
    blocks : dict, optional
        Area id -> block label; each day's treated areas are then spread over blocks.
    """
    ids = _areas(areas)
    k = _check_k(treated_per_day, len(ids), "treated_per_day")
    if not isinstance(days, int | np.integer) or days < 1:
        raise InputError(f"'days' must be a positive integer; received {days!r}. Op Rowan ran 90 days.")
    dates = list(pd.date_range(pd.Timestamp(start), periods=int(days), freq="D"))
    if blocks:
        unknown = sorted(set(ids) - set(blocks))
        if unknown:
            raise InputError(f"blocks lack area(s) {unknown[:3]}; give every area a block label.")
    return Design("place_days", ids, int(seed), k, dates=dates, blocks=dict(blocks or {}))


def harm_bands(harm: pd.Series, n_bands: int = 3) -> pd.Series:
    """Label areas ``band1`` (most harm) .. ``bandN`` by equal-sized groups of harm rank.

    >>> harm_bands(pd.Series([5.0, 1.0, 3.0, 9.0]), 2).tolist()
    ['band1', 'band2', 'band2', 'band1']
    """
    if n_bands < 1 or n_bands > len(harm):
        raise InputError(f"'n_bands' must be from 1 to {len(harm)}; received {n_bands}.")
    rank = harm.rank(method="first", ascending=False).to_numpy() - 1
    band = (rank * n_bands // len(harm)).astype(int) + 1
    return pd.Series([f"band{b}" for b in band], index=harm.index, name=C.BLOCK)
