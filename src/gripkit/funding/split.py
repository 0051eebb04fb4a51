"""Split a funding pot in proportion to scores, with floors, caps, and exact pennies.

Each recipient's score is its harm (times an optional need weight). Money is shared in proportion
to scores; recipients whose proportional amount falls below the floor are raised to it, those above
the cap are cut to it, and the rest is re-shared among the others until nothing binds. The amounts
are then rounded to the penny by the largest-remainder method so that they add up to the pot
exactly.

Examples
--------
>>> table = split_pot(pd.Series({"A": 3.0, "B": 1.0}), 100.0)
>>> table["allocation"].tolist()
[75.0, 25.0]
>>> split_pot(pd.Series({"A": 1.0, "B": 1.0, "C": 1.0}), 100.0)["allocation"].tolist()  # 33.33 + 1p
[33.34, 33.33, 33.33]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gripkit.errors import InputError


def largest_remainder_pennies(amounts: np.ndarray, pot_pence: int) -> np.ndarray:
    """Round non-negative amounts (pounds) to whole pence summing to ``pot_pence`` exactly.

    Ties in the remainder go to the earlier entry.

    >>> largest_remainder_pennies(np.array([1 / 3, 1 / 3, 1 / 3]), 100).tolist()
    [34, 33, 33]
    """
    quotas = np.asarray(amounts, dtype=float) * 100
    quotas = quotas * (pot_pence / quotas.sum()) if quotas.sum() > 0 else quotas
    pence = np.floor(quotas + 1e-9).astype(np.int64)
    short = int(pot_pence - pence.sum())
    order = np.argsort(-(quotas - pence), kind="stable")
    pence[order[: max(short, 0)]] += 1
    return pence


def _check(pot: float, floor: float, cap: float | None, n: int) -> None:
    if not np.isfinite(pot) or pot <= 0:
        raise InputError(f"'pot' must be a positive amount; received {pot!r}. Pass e.g. 4000000.")
    if not np.isfinite(floor) or floor < 0:
        raise InputError(f"'floor' must be >= 0; received {floor!r}.")
    if floor * n > pot + 1e-9:
        raise InputError(
            f"floors exceed the pot: {n} recipients × floor £{floor:,.2f} = £{floor * n:,.2f} > pot "
            f"£{pot:,.2f}. Lower the floor to at most £{pot / n:,.2f} or raise the pot."
        )
    if cap is not None:
        if not np.isfinite(cap) or cap <= 0:
            raise InputError(f"'cap' must be a positive amount; received {cap!r}.")
        if cap < floor:
            raise InputError(f"'cap' (£{cap:,.2f}) is below 'floor' (£{floor:,.2f}); raise the cap.")
        if cap * n < pot - 1e-9:
            raise InputError(
                f"caps cannot spend the pot: {n} recipients × cap £{cap:,.2f} = £{cap * n:,.2f} < pot "
                f"£{pot:,.2f}. Raise the cap to at least £{pot / n:,.2f}."
            )


def _waterfill(
    scores: np.ndarray, pot: float, floor: float, cap: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Amounts clip(λ·score, floor, cap) summing to ``pot`` (λ by bisection) and binding flags.

    The sum is continuous and non-decreasing in λ, so bisection finds the unique proportional
    allocation in which only floors and caps break proportionality. Flags: -1 floor, +1 cap, 0 free.
    """
    upper = np.inf if cap is None else cap

    def total(lam: float) -> float:
        return float(np.clip(lam * scores, floor, upper).sum())

    most = float(np.where(scores > 0, upper, floor).sum())
    if most < pot - 1e-6:
        raise InputError(
            f"floors and caps cannot spend the pot: at most £{most:,.2f} of £{pot:,.2f} can be given "
            "(recipients with zero harm stay at the floor). Raise the cap or the floor."
        )
    low, high = 0.0, pot / scores.sum()
    while total(high) < pot:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if total(mid) < pot else (low, mid)
    raw = high * scores
    amount = np.clip(raw, floor, upper)
    bound = np.where(raw <= floor, -1, np.where(raw >= upper, 1, 0))
    if floor == 0:
        bound[bound < 0] = 0
    return amount, bound


def split_pot(
    scores: pd.Series,
    pot: float,
    *,
    floor: float = 0.0,
    cap: float | None = None,
) -> pd.DataFrame:
    """Share ``pot`` in proportion to ``scores`` with a floor and cap per recipient.

    Parameters
    ----------
    scores : pandas.Series
        Score (>= 0) per recipient, indexed by recipient name.
    pot : float
        Pounds to allocate (> 0).
    floor, cap : float
        Minimum and maximum per recipient, in pounds.

    Returns
    -------
    pandas.DataFrame
        ``recipient, score, score_share, allocation, share, binding`` in the order of ``scores``;
        ``allocation`` is in pounds to the penny and sums exactly to ``pot`` (rounded to the penny);
        ``binding`` is ``floor``, ``cap`` or empty.
    """
    if not isinstance(scores, pd.Series) or scores.empty:
        raise InputError("'scores' must be a non-empty pandas Series of scores per recipient.")
    values = pd.to_numeric(scores, errors="coerce").to_numpy(float)
    if not np.isfinite(values).all() or (values < 0).any():
        raise InputError(
            "scores must be finite and >= 0 for every recipient; received missing or negative ones."
        )
    if values.sum() <= 0:
        raise InputError(
            f"all {len(values)} recipients have zero harm, so there is nothing to share by. Widen the "
            "months window, check the crime types, or split equally with a floor of pot / n."
        )
    pot = float(pot)
    _check(pot, float(floor), None if cap is None else float(cap), len(values))
    amount, bound = _waterfill(values, pot, float(floor), None if cap is None else float(cap))
    pot_pence = round(pot * 100)
    pence = largest_remainder_pennies(amount, pot_pence)
    return pd.DataFrame(
        {
            "recipient": scores.index.astype(str),
            "score": values,
            "score_share": values / values.sum(),
            "allocation": pence / 100,
            "share": pence / pot_pence,
            "binding": np.where(bound < 0, "floor", np.where(bound > 0, "cap", "")),
        }
    )
