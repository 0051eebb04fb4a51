"""A feedback simulation: select -> patrol -> record -> re-select, from the real counts.

Round 0 is the real selection. In each later round the areas chosen in the round before are
patrolled: there, the *true* rate of every crime type falls by ``effect`` and the *recording* of
proactively found types rises by ``uplift`` (and of the others by ``reactive_uplift``), so the
expected recorded count of type t in unit i is

    mu_it = lambda_it * (1 - effect * p_i) * (1 + u_t * p_i),    p_i = 1 if i was patrolled,

with lambda_it the real count of the window. Recorded counts are Poisson(mu_it) draws, weighed by each
type's mean harm, and the next selection is made from them by the patrol step's own rule. This is
the mechanism of runaway feedback loops (Ensign et al. 2018; Lum & Isaac 2016): with an uplift the
patrolled areas look worse because they are watched.

Per round it reports the concentration of the recorded harm (Gini over units, and the share held by
the selected units), the turnover of the chosen areas, and — in expectation, over the patrolled
areas — how much of the change in recorded harm against no patrol is detection (recorded minus
true) and how much is effect (true minus no patrol). A null band comes from independent Poisson
re-draws of the real counts with no patrol: with zero uplift and zero effect every round is such a
draw, so its statistics stay inside the band (the rule the tests check). Round 0 holds the real
counts, not a draw: re-drawing adds Poisson noise, which alone raises the Gini (on three Bedfordshire
months the real-count Gini, 0.477, lies below the band, 0.485-0.519), so a round is compared with the
band and with the no-uplift twin, never with round 0's Gini; its ``*_outside_band`` are None.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.audit.rests_on import select_top
from gripkit.errors import InputError
from gripkit.hotspots.concentration import gini_sorted
from gripkit.progress import Progress, Steps, throttled

#: percentiles of the null band (a 99% band; from ``null_draws`` re-draws its ends are about the
#: (0.005 * draws + 1)-th smallest and largest, so a null round leaves it with probability about
#: 2 (0.005 * draws + 1) / (draws + 1): 2.0% with 200 draws, 1.5% with 400)
NULL_BAND = (0.5, 99.5)
#: the per-round statistics compared with the null band (``<name>_outside_band`` in each round)
BAND_STATS = ("gini", "top_share", "overlap_round0")


@dataclass(frozen=True)
class FeedbackParams:
    """Every parameter of the simulation (stated in the result)."""

    rounds: int = 10
    uplift: float = 0.5
    reactive_uplift: float = 0.0
    effect: float = 0.0
    null_draws: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("rounds", "null_draws"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 1000:
                raise InputError(
                    f"{name!r} must be a whole number from 1 to 1000; received {value!r}. Pass e.g. 10."
                )
        for name in ("uplift", "reactive_uplift"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= float(value) <= 10:
                raise InputError(
                    f"{name!r} must be a detection uplift from 0 to 10 (0.5 = half as many again recorded); "
                    f"received {value!r}. Pass e.g. 0.5."
                )
        if not isinstance(self.effect, (int, float)) or not 0 <= float(self.effect) < 1:
            raise InputError(
                "'effect' must be a share of true harm prevented, from 0 to below 1; received "
                f"{self.effect!r}. Pass e.g. 0.2."
            )


def _gini(values: np.ndarray) -> float:
    return gini_sorted(np.sort(values)) if values.sum() > 0 else 0.0


def _jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    first, second = set(a), set(b)
    union = first | second
    return len(first & second) / len(union) if union else 1.0


def _select(ids: np.ndarray, harm: np.ndarray, crimes: np.ndarray, n: int) -> list[str]:
    frame = pd.DataFrame({C.AREA_ID: ids, C.HARM: harm, C.CRIMES: crimes})
    return select_top(frame[frame[C.HARM] > 0], n)


def _round_stats(ids: np.ndarray, harm: np.ndarray, chosen: list[str]) -> tuple[float, float]:
    total = float(harm.sum())
    inside = np.isin(ids, chosen)
    return _gini(harm), float(harm[inside].sum()) / total if total > 0 else 0.0


def simulate_feedback(
    counts: pd.DataFrame,
    weights: pd.Series,
    chosen: list[str],
    proactive: frozenset[str],
    params: FeedbackParams,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the simulation (see the module docstring) and its no-uplift twin.

    Parameters
    ----------
    counts
        Real crime counts of the window: one row per unit (index: unit id), one column per crime type
        the selection ranks on.
    weights
        Mean harm per crime of each type (index: crime type).
    chosen
        The real (round 0) selection; its size is the number of areas chosen every round.
    proactive
        The types whose recording rises by ``params.uplift`` in patrolled areas.
    params
        :class:`FeedbackParams`.
    progress
        ``progress(done, total, name)`` (:data:`gripkit.progress.Progress`) over the
        ``null_draws + 2 x rounds`` simulated selections (at most about 100 calls).

    Returns
    -------
    dict
        ``params``, ``null_band`` (Gini, top share and Jaccard overlap with round 0 under independent
        re-draws), ``rounds`` (one record per round) and ``no_uplift`` (the same with both uplifts 0).
    """
    if counts.empty or not chosen:
        raise InputError("the feedback simulation needs counts per unit and a selection; received none.")
    ids = counts.index.astype(str).to_numpy()
    lam = counts.to_numpy(dtype=float)
    w = weights.reindex(counts.columns).fillna(0).to_numpy(dtype=float)
    is_proactive = np.array([c in proactive for c in counts.columns])
    n = len(chosen)
    selections = params.null_draws + 2 * params.rounds
    steps = Steps(throttled(progress, selections), selections)
    band = _null_band(ids, lam, w, chosen, params, steps)
    runs = {}
    for name, up, reactive_up in (("rounds", params.uplift, params.reactive_uplift), ("no_uplift", 0.0, 0.0)):
        uplift = np.where(is_proactive, up, reactive_up)
        runs[name] = _run(ids, lam, w, uplift, chosen, n, params, band, steps)
    return {
        "params": {
            **params.__dict__,
            "areas": n,
            "proactive_types": sorted(proactive),
            "types": [str(c) for c in counts.columns],
            "null_band_percentiles": list(NULL_BAND),
        },
        "null_band": band,
        **runs,
    }


def _null_band(
    ids: np.ndarray, lam: np.ndarray, w: np.ndarray, chosen: list[str], params: FeedbackParams, steps: Steps
) -> dict[str, list[float]]:
    rng = np.random.default_rng([params.seed, 1])
    stats = []
    for _ in range(params.null_draws):
        draws = rng.poisson(lam)
        harm = (draws * w).sum(axis=1)
        picked = _select(ids, harm, draws.sum(axis=1), len(chosen))
        gini, top = _round_stats(ids, harm, picked)
        stats.append((gini, top, _jaccard(picked, chosen)))
        steps.step("null re-draws")
    values = np.array(stats)
    low, high = np.percentile(values, NULL_BAND, axis=0)
    return {name: [float(low[k]), float(high[k])] for k, name in enumerate(BAND_STATS)}


def _run(
    ids: np.ndarray,
    lam: np.ndarray,
    w: np.ndarray,
    uplift: np.ndarray,
    chosen0: list[str],
    n: int,
    params: FeedbackParams,
    band: dict[str, list[float]],
    steps: Steps,
) -> list[dict[str, Any]]:
    rng = np.random.default_rng([params.seed, 2])
    base = (lam * w).sum(axis=1)
    gini0, top0 = _round_stats(ids, base, chosen0)
    rows: list[dict[str, Any]] = [
        {
            "round": 0,
            "gini": gini0,
            "top_share": top0,
            "turnover": 0.0,
            "overlap_round0": 1.0,
            "recorded_harm_patrolled": None,
            "detection_harm": 0.0,
            "effect_harm": 0.0,
            "detection_share": None,
            **{f"{name}_outside_band": None for name in BAND_STATS},
            "chosen": sorted(chosen0),
        }
    ]
    chosen = chosen0
    for number in range(1, params.rounds + 1):
        patrolled = np.isin(ids, chosen).astype(float)[:, None]
        true_rate = lam * (1.0 - params.effect * patrolled)
        recorded_rate = true_rate * (1.0 + uplift[None, :] * patrolled)
        draws = rng.poisson(recorded_rate)
        harm = (draws * w).sum(axis=1)
        picked = _select(ids, harm, draws.sum(axis=1), n)
        gini, top = _round_stats(ids, harm, picked)
        inside = patrolled[:, 0] > 0
        expected_recorded = float((recorded_rate * w).sum(axis=1)[inside].sum())
        expected_true = float((true_rate * w).sum(axis=1)[inside].sum())
        detection = expected_recorded - expected_true
        effect = expected_true - float(base[inside].sum())
        moved = abs(detection) + abs(effect)
        overlap = _jaccard(picked, chosen0)
        rows.append(
            {
                "round": number,
                "gini": gini,
                "top_share": top,
                "turnover": 1.0 - _jaccard(picked, chosen),
                "overlap_round0": overlap,
                "recorded_harm_patrolled": float(harm[inside].sum()),
                "detection_harm": detection,
                "effect_harm": effect,
                "detection_share": abs(detection) / moved if moved > 0 else None,
                **{
                    f"{name}_outside_band": bool(not band[name][0] <= value <= band[name][1])
                    for name, value in zip(BAND_STATS, (gini, top, overlap), strict=True)
                },
                "chosen": sorted(picked),
            }
        )
        chosen = picked
        steps.step(f"round {number}")
    return rows
