"""Probable matches between hospital ED assault records and police violence records (Cardiff Model).

An assault can reach both the emergency department and the police; combining the two sources then
counts it twice. :func:`match_records` finds **probable** pairs, one ED record to at most one police
record and back, by three rules (:class:`MatchRule`, defaults stated there and in docs/ed.md):

* **offence**: the police record is of a violence category (:data:`VIOLENCE_TYPES`; every ED
  record is an assault);
* **time**: when both records have an ``occurred_at``, at most ``window_hours`` apart (default
  3 h); when the police record has none (police.uk publishes the month only), the **same month**;
* **place**: at most ``max_distance_m`` apart (default 250 m, straight line in EPSG:27700).

Each candidate pair gets a score in [0, 1], the product of its closeness in time and in place::

    score = time_closeness * distance_closeness
    time_closeness     = 1 - hours_apart / window_hours      (both timed)
                       = 0.5                                  (month rule: no time to compare)
    distance_closeness = 1 - distance_m / max_distance_m

Pairs are then taken **greedily, best score first** (ties: the nearer, then the earlier rows), each
record at most once. Nothing is deleted: the result lists the pairs (:attr:`MatchResult.pairs`) by
the records' frame index and their ``source_id``/``source_row``; callers decide what to drop.
Pairs are not stored in the workspace (that would need a new table); ``gripkit match`` writes them.

Example
-------
>>> import pandas as pd
>>> crimes = pd.DataFrame({
...     "source": ["police", "health", "health"], "crime_type": ["Violence and sexual offences"] * 3,
...     "month": pd.to_datetime(["2023-05-01"] * 3),
...     "occurred_at": pd.to_datetime(["2023-05-06 23:00", "2023-05-06 23:30", "2023-05-07 09:00"]),
...     "x": [509000.0, 509100.0, 509000.0], "y": [221000.0] * 3})
>>> result = match_records(crimes)
>>> pair = result.pairs.iloc[0]  # score (1 - 0.5/3) * (1 - 100/250) = 0.5
>>> [float(pair[k]) for k in ("ed_index", "police_index", "hours_apart", "distance_m", "score")]
[1.0, 0.0, 0.5, 100.0, 0.5]
>>> result.meta["ed_unmatched"]  # the 09:00 record is 10 h later: not the same incident
1
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.validate import has_columns, positive

#: police categories an ED assault attendance can match (robbery injures; weapons possession does not)
VIOLENCE_TYPES: tuple[str, ...] = ("Violence and sexual offences", "Robbery")
WINDOW_HOURS = 3.0
MAX_DISTANCE_M = 250.0
#: time closeness of a pair matched by the same-month rule (the police record has no time)
MONTH_CLOSENESS = 0.5
PAIR_COLUMNS: tuple[str, ...] = (
    "ed_index", "police_index", "ed_source_id", "ed_source_row", "ed_crime_id", "police_source_id",
    "police_source_row", "police_crime_id", "police_crime_type", "ed_occurred_at", "police_occurred_at",
    "month", "time_rule", "hours_apart", "distance_m", "time_closeness", "distance_closeness", "score",
    "candidates",
)


@dataclass(frozen=True)
class MatchRule:
    """The rules of a probable match (see the module docstring); validated when built."""

    window_hours: float = WINDOW_HOURS
    max_distance_m: float = MAX_DISTANCE_M
    police_types: tuple[str, ...] = VIOLENCE_TYPES
    ed_source: str = "health"
    police_source: str = "police"

    def __post_init__(self) -> None:
        object.__setattr__(self, "window_hours", positive("window_hours", self.window_hours, "hours", "3"))
        object.__setattr__(
            self, "max_distance_m", positive("max_distance_m", self.max_distance_m, "metres", "250")
        )
        types = (self.police_types,) if isinstance(self.police_types, str) else tuple(self.police_types)
        unknown = sorted(set(types) - set(C.CRIME_TYPES))
        if not types or unknown:
            raise InputError(
                f"'police_types' must be police.uk crime types; received {list(types)}. Choose from: "
                f"{', '.join(C.CRIME_TYPES)}."
            )
        object.__setattr__(self, "police_types", types)
        if self.ed_source == self.police_source:
            raise InputError(
                f"'ed_source' and 'police_source' must differ; received {self.ed_source!r} for both."
            )

    def describe(self) -> dict[str, Any]:
        """The rule as JSON-safe values, with the score's formula."""
        return {
            **asdict(self),
            "police_types": list(self.police_types),
            "score": "time_closeness * distance_closeness",
            "month_closeness": MONTH_CLOSENESS,
        }


@dataclass
class MatchResult:
    """The pairs found (columns :data:`PAIR_COLUMNS`, best score first) and what was matched."""

    pairs: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """e.g. "37 of 160 health records matched a police violence record (...); 123 health only." """
        m = self.meta
        rule = m["rule"]
        timed = int((self.pairs["time_rule"] == "time").sum()) if len(self.pairs) else 0
        return (
            f"{m['matched']:,} of {m['ed_records']:,} {rule['ed_source']} records matched a "
            f"{rule['police_source']} violence record of {m['police_records']:,} (within "
            f"{rule['window_hours']:g} h, or the same month when the police record has no time, and "
            f"{rule['max_distance_m']:g} m; {timed:,} by time, {m['matched'] - timed:,} by month); "
            f"{m['ed_unmatched']:,} {rule['ed_source']} only, mean score {m['mean_score']:.2f}."
        ) + self._chance_phrase()

    def _chance_phrase(self) -> str:
        share = self.meta.get("chance_share")
        if share is None:
            return ""
        return (
            f" By chance alone {share:.0%} would match (police records moved a month and a week away): "
            "the matching cannot tell the incidents apart that often."
        )

    def to_dict(self) -> dict[str, Any]:
        """``meta`` and the number of pairs."""
        return {**self.meta, "pairs": len(self.pairs)}


def match_records(
    crimes: pd.DataFrame, rule: MatchRule | None = None, *, chance: bool = True
) -> MatchResult:
    """Probable one-to-one matches between ED and police violence records of ``crimes``.

    Parameters
    ----------
    crimes
        A crime frame with ``source``, ``crime_type``, ``month``, ``occurred_at``, ``x``, ``y``
        (EPSG:27700), e.g. :meth:`gripkit.workspace.Workspace.crimes`; ``source_id``,
        ``source_row``, ``crime_id`` are reported when present. Not modified. Records without
        coordinates are not matched.
    rule
        :class:`MatchRule` (default: 3 h, 250 m, violence and robbery, ``health`` to ``police``).
    chance
        Also measure ``meta["chance_share"]``: the share of ED records that match when every police
        record is moved a month and a week (later, then earlier), i.e. what chance alone matches under
        the same rule (None when no month can be compared). It runs the matching twice more.

    Returns
    -------
    MatchResult
        ``pairs`` by frame index (``ed_index``, ``police_index``), best score first; ``meta``
        with ``rule``, ``ed_records``, ``police_records``, ``candidates``, ``matched``,
        ``ed_unmatched``, ``mean_score``, ``chance_share``.
    """
    rule = rule or MatchRule()
    has_columns(crimes, (C.SOURCE, C.CRIME_TYPE, C.MONTH, C.X, C.Y), "crimes")
    placed = crimes[C.X].notna() & crimes[C.Y].notna()
    ed = crimes[placed & crimes[C.SOURCE].eq(rule.ed_source)]
    police = crimes[placed & crimes[C.SOURCE].eq(rule.police_source)]
    police = police[police[C.CRIME_TYPE].isin(rule.police_types)]
    found = _candidates(ed, police, rule)
    ei, chosen = found["ei"], _greedy(found["ei"], found["pj"], found["score"], found["distance"])
    candidates = np.bincount(ei, minlength=len(ed))
    pairs = _pairs(ed, police, {k: v[chosen] for k, v in found.items()}, candidates[ei[chosen]])
    meta = {
        "rule": rule.describe(),
        "ed_records": len(ed),
        "ed_without_place": int((~placed & crimes[C.SOURCE].eq(rule.ed_source)).sum()),
        "police_records": len(police),
        "candidates": len(ei),
        "matched": len(pairs),
        "ed_unmatched": len(ed) - len(pairs),
        "mean_score": float(pairs["score"].mean()) if len(pairs) else 0.0,
        "chance_share": _chance(ed, police, rule) if chance else None,
    }
    return MatchResult(pairs, meta)


def _candidates(ed: pd.DataFrame, police: pd.DataFrame, rule: MatchRule) -> dict[str, np.ndarray]:
    """Every pair within the rule's distance and time, with its closeness and score (see the module)."""
    ei, pj, dist = _near(ed, police, rule.max_distance_m)
    ed_t, po_t = _times(ed, ei), _times(police, pj)
    timed = ~(np.isnat(ed_t) | np.isnat(po_t))
    hours = np.abs((ed_t - po_t).astype("timedelta64[s]").astype(float)) / 3600.0
    hours[~timed] = np.nan
    same_month = _months(ed)[ei] == _months(police)[pj]
    ok = np.where(timed, np.nan_to_num(hours, nan=np.inf) <= rule.window_hours, same_month)
    t_close = np.where(timed, 1.0 - np.nan_to_num(hours) / rule.window_hours, MONTH_CLOSENESS)
    d_close = 1.0 - dist / rule.max_distance_m
    out = {
        "ei": ei, "pj": pj, "distance": dist, "hours": hours, "timed": timed, "time_closeness": t_close,
        "distance_closeness": d_close, "score": t_close * d_close,
    }
    return {k: v[ok] for k, v in out.items()}


def _chance(ed: pd.DataFrame, police: pd.DataFrame, rule: MatchRule) -> float | None:
    """Share of ED records matched when the police records are moved a month and a week later, and
    earlier (each ED record counted in a direction only if police records cover its month then):
    the matches chance alone gives, since no moved record is the same incident."""
    hits = total = 0
    for sign in (1, -1):
        moved = police.assign(**{C.MONTH: pd.to_datetime(police[C.MONTH]) + pd.DateOffset(months=sign)})
        if C.OCCURRED_AT in police.columns:
            moved[C.OCCURRED_AT] = pd.to_datetime(police[C.OCCURRED_AT]) + pd.Timedelta(days=7 * sign)
        months = _months(ed)
        covered = np.isin(months, np.unique(_months(moved)))
        if not covered.any():
            continue
        found = _candidates(ed[covered], moved, rule)
        hits += len(_greedy(found["ei"], found["pj"], found["score"], found["distance"]))
        total += int(covered.sum())
    return hits / total if total else None


def _months(frame: pd.DataFrame) -> np.ndarray:
    return pd.to_datetime(frame[C.MONTH]).to_numpy(dtype="datetime64[ns]")


def _near(
    ed: pd.DataFrame, police: pd.DataFrame, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (in ``ed``, in ``police``) and distances of every pair within ``radius`` metres."""
    if ed.empty or police.empty:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    a = ed[[C.X, C.Y]].to_numpy(dtype=float)
    b = police[[C.X, C.Y]].to_numpy(dtype=float)
    within = cKDTree(b).query_ball_point(a, radius)
    rows = np.repeat(np.arange(len(a)), [len(w) for w in within])
    cols = np.fromiter((j for w in within for j in w), int, len(rows))
    dist = np.hypot(*(a[rows] - b[cols]).T)
    return rows, cols, dist


def _times(frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """``occurred_at`` of ``rows`` (NaT where unknown, or all NaT when the frame has no such column)."""
    if C.OCCURRED_AT not in frame.columns:
        return np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[ns]")
    return pd.to_datetime(frame[C.OCCURRED_AT]).to_numpy(dtype="datetime64[ns]")[rows]


def _greedy(ei: np.ndarray, pj: np.ndarray, score: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Candidate positions kept: best score first (then nearer, then earlier rows), each row once."""
    order = np.lexsort((pj, ei, dist, -score))
    used_ed: set[int] = set()
    used_police: set[int] = set()
    kept = []
    for k in order:
        e, p = int(ei[k]), int(pj[k])
        if e in used_ed or p in used_police:
            continue
        used_ed.add(e)
        used_police.add(p)
        kept.append(k)
    return np.asarray(kept, dtype=int)


def _pairs(
    ed: pd.DataFrame, police: pd.DataFrame, found: dict[str, np.ndarray], candidates: np.ndarray
) -> pd.DataFrame:
    ei, pj = found["ei"], found["pj"]

    def col(frame: pd.DataFrame, name: str, rows: np.ndarray) -> Any:
        return frame[name].to_numpy()[rows] if name in frame.columns else np.full(len(rows), None)

    out = pd.DataFrame({
        "ed_index": ed.index.to_numpy()[ei],
        "police_index": police.index.to_numpy()[pj],
        "ed_source_id": col(ed, C.SOURCE_ID, ei),
        "ed_source_row": col(ed, C.SOURCE_ROW, ei),
        "ed_crime_id": col(ed, C.CRIME_ID, ei),
        "police_source_id": col(police, C.SOURCE_ID, pj),
        "police_source_row": col(police, C.SOURCE_ROW, pj),
        "police_crime_id": col(police, C.CRIME_ID, pj),
        "police_crime_type": col(police, C.CRIME_TYPE, pj),
        "ed_occurred_at": col(ed, C.OCCURRED_AT, ei),
        "police_occurred_at": col(police, C.OCCURRED_AT, pj),
        "month": col(police, C.MONTH, pj),
        "time_rule": np.where(found["timed"], "time", "month"),
        "hours_apart": np.round(found["hours"], 4),
        "distance_m": np.round(found["distance"], 1),
        "time_closeness": np.round(found["time_closeness"], 4),
        "distance_closeness": np.round(found["distance_closeness"], 4),
        "score": np.round(found["score"], 4),
        "candidates": candidates,
    })
    return out.reset_index(drop=True)


def ed_only(crimes: pd.DataFrame, result: MatchResult) -> pd.Series:
    """Whether each record of ``crimes`` is an ED record that no police record matched."""
    rule = result.meta["rule"]
    return crimes[C.SOURCE].eq(rule["ed_source"]) & ~crimes.index.isin(result.pairs["ed_index"])
