"""The Operation Rowan shape on a force's own police.uk data: areas, design and power.

Bland et al. (2021) chose the 21 LSOAs with the most serious-violence harm and, for 90 days,
treated 7 of them each day (docs/domain.md, Patrols). :func:`op_rowan_power` rebuilds that from the
workspace: it ranks LSOAs by serious-violence harm over the last 12 months, estimates each
one's daily rate and the negative-binomial dispersion from the monthly history, draws the
90-day 7-of-21 design (seed recorded) and simulates its power for a given reduction, in crimes
and in harm.

What monthly data limits: daily rates are monthly counts divided by days in the month, so
day-of-week and time-of-day patterns (Op Rowan patrolled 14:00–24:00) are invisible and the
day-level overdispersion is only bounded (see :mod:`gripkit.evaluate.power`); power is therefore
reported under both bounds. police.uk's serious-violence proxy (violence and sexual offences,
robbery, weapons) is far broader than Op Rowan's serious youth violence, so rates are higher
than the trial's and power correspondingly optimistic for that narrower outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.evaluate.design import AREA_ID, Design, place_day_design
from gripkit.evaluate.power import DEFAULT_EFFECTS, PERIOD, Dispersion, PowerResult, estimate_dispersion
from gripkit.evaluate.power import simulate_power as _simulate
from gripkit.harm import apply_harm, load_harm_table
from gripkit.hotspots.find import select_crimes
from gripkit.months import trailing_window
from gripkit.results import ResultMixin, to_jsonable
from gripkit.units.build import UnitSpec, build_units
from gripkit.workspace import Workspace

LIMITATIONS = (
    "police.uk gives months only: daily rates are monthly counts / days in the month, so day-of-week "
    "and hour patterns cannot be used, and day-level overdispersion is only bounded (power is shown "
    "for independent day shocks, the conservative bound, and for shocks shared within a month).",
    "The serious-violence proxy (violence and sexual offences, robbery, possession of weapons) is "
    "broader than the serious youth violence Op Rowan targeted; for a narrower outcome rates are "
    "lower and power lower.",
    "Locations are snapped to anonymised points and LSOA codes changed from 2011 to 2021 geography "
    "in the series (unknown codes are placed by point in polygon).",
)


@dataclass
class RowanResult(ResultMixin):
    """Op Rowan-shaped design and power on real data.

    Attributes
    ----------
    areas : pandas.DataFrame
        ``area_id, crimes, harm, rate_per_day`` of the chosen areas, most harm first.
    dispersion : Dispersion
        Rates and NB dispersion from the monthly history.
    design : Design
        The drawn place-day design (seed recorded).
    power : dict of str -> PowerResult
        Keys ``count_independent``, ``count_shared``, ``harm_independent``, ``harm_shared``.
    effect : float
        The reduction whose power is reported (0.44 = Op Rowan's −44% in harm).
    meta : dict
        Months, harm table, crimes used, unassigned crimes.
    """

    kind: ClassVar[str] = "power"
    areas: pd.DataFrame
    dispersion: Dispersion
    design: Design
    power: dict[str, PowerResult]
    effect: float
    meta: dict[str, Any] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """Power at :attr:`effect` and the MDE under each outcome and dispersion bound."""
        rows = []
        for key, result in self.power.items():
            outcome, assumption = key.split("_")
            rows.append(
                {
                    "outcome": outcome,
                    "day_shocks": assumption,
                    "alpha_daily": result.params["alpha"],
                    f"power_at_{round(self.effect * 100)}pct": result.power_at(self.effect),
                    "mde_80pct_power": result.mde,
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe areas, dispersion, power table and meta."""
        return {
            "meta": to_jsonable(self.meta),
            "areas": to_jsonable(self.areas),
            "alpha_monthly": self.dispersion.alpha_period,
            "effect": self.effect,
            "table": to_jsonable(self.table()),
        }

    def summary(self) -> str:
        """One paragraph: the areas' share of harm, power at the effect and the MDE range."""
        main = self.power["harm_independent"]
        mdes = [r.mde for r in self.power.values() if r.mde is not None]
        span = f"{min(mdes):.0%}-{max(mdes):.0%}" if mdes else "not reached"
        return (
            f"The {len(self.areas)} areas with most serious-violence harm ({self.meta.get('months')}) hold "
            f"{float(self.meta.get('top_share_of_harm', 0)):.1%} of it. A design treating "
            f"{self.design.n_treated} a day for {len(self.design.dates)} days has power "
            f"{main.power_at(self.effect):.2f} for a {self.effect:.0%} cut in harm; the minimum detectable "
            f"effect at 80% power is {span} across outcomes and dispersion bounds."
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """Chosen areas and the power table."""
        return {"areas": self.areas, "power": self.table()}


def _monthly(
    crimes: pd.DataFrame, ids: pd.Series, areas: list[str], months: pd.DatetimeIndex
) -> pd.DataFrame:
    frame = pd.DataFrame({AREA_ID: ids.astype(object), PERIOD: pd.to_datetime(crimes[C.MONTH])})
    frame = frame[frame[AREA_ID].isin(areas)]
    counts = frame.groupby([AREA_ID, PERIOD]).size()
    full = pd.MultiIndex.from_product([areas, months], names=[AREA_ID, PERIOD])
    return counts.reindex(full, fill_value=0).rename("count").reset_index()


def _harm_mix(
    crimes: pd.DataFrame, ids: pd.Series, areas: list[str], weights: dict[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    types = sorted(set(crimes[C.CRIME_TYPE]))
    table = pd.crosstab(ids.astype(object), crimes[C.CRIME_TYPE]).reindex(index=areas, columns=types)
    table = table.fillna(0)
    probs = table.to_numpy(float) / table.to_numpy(float).sum(axis=1, keepdims=True)
    return probs, np.array([weights[t] for t in types], dtype=float)


def op_rowan_power(
    ws: Workspace,
    *,
    n_areas: int = 21,
    treated_per_day: int = 7,
    days: int = 90,
    effect: float = 0.44,
    last: int = 12,
    harm: str = C.DEFAULT_HARM_TABLE,
    force: str | None = None,
    sims: int = 500,
    seed: int = 0,
    start: str = "2024-06-01",
    store: bool = True,
) -> RowanResult:
    """Build the Op Rowan design on the workspace's data and report its power.

    Parameters
    ----------
    ws : Workspace
        Holding police.uk crimes (e.g. Bedfordshire).
    n_areas, treated_per_day, days : int
        The design (Op Rowan: 21, 7, 90).
    effect : float
        Reduction to report power for (Op Rowan: 0.44 in harm).
    last : int
        Trailing window of history: the last ``last`` months in the workspace.
    harm : str
        Harm table ranking areas and weighting harm.
    sims, seed : int
        Simulated trials per effect, and the seed of both design and simulations.
    start : str
        First day of the (planned) design.
    store : bool
        Store the result (kind ``power``) in the workspace.
    """
    table = load_harm_table(harm)
    if table is None:
        raise InputError("op_rowan_power ranks areas by harm: pass a harm table such as 'cchi', not none.")
    window = trailing_window(ws, last, force=force)
    first, end = pd.Timestamp(window[0]), pd.Timestamp(window[1])
    crimes = select_crimes(ws, serious_violence=True, months=(first.date(), end.date()), force=force)
    crimes[C.HARM] = apply_harm(crimes, table)
    units, unit_meta = build_units(crimes, UnitSpec(kind="lsoa"))
    ids = units.assign(crimes)
    assigned = ids.notna().to_numpy()
    crimes, ids = crimes[assigned], ids[assigned]
    per_area = (
        pd.DataFrame({AREA_ID: ids.astype(object).to_numpy(), C.HARM: crimes[C.HARM].to_numpy()})
        .groupby(AREA_ID)[C.HARM]
        .agg(crimes="size", harm="sum")
        .reset_index()
        .sort_values(["harm", "crimes", AREA_ID], ascending=[False, False, True], kind="mergesort")
    )
    if len(per_area) < n_areas:
        raise InputError(f"only {len(per_area)} areas have serious violence; received n_areas={n_areas}.")
    chosen = per_area.head(n_areas).reset_index(drop=True)
    areas = chosen[AREA_ID].astype(str).tolist()
    month_index = pd.date_range(first, end, freq="MS")
    dispersion = estimate_dispersion(_monthly(crimes, ids, areas, month_index))
    chosen["rate_per_day"] = dispersion.rates.reindex(areas).to_numpy()
    design = place_day_design(areas, days=days, treated_per_day=treated_per_day, start=start, seed=seed)
    grid = sorted({*DEFAULT_EFFECTS, round(effect, 4)})
    mix = _harm_mix(crimes, ids, areas, table.weights)
    power = {}
    for outcome, harm_mix in (("count", None), ("harm", mix)):
        for assumption in ("independent", "shared"):
            power[f"{outcome}_{assumption}"] = _simulate(
                chosen["rate_per_day"].to_numpy(),
                dispersion.daily_alpha(assumption),
                days=days,
                treated_per_day=treated_per_day,
                effects=grid,
                sims=sims,
                seed=seed,
                harm_mix=harm_mix,
                design=design,
            )
    meta = {
        "months": f"{first:%Y-%m} to {end:%Y-%m}",
        "window": {"first": f"{first:%Y-%m}", "last": f"{end:%Y-%m}"},
        "force": force,
        "seed": seed,
        "sims": sims,
        "harm_table": table.name,
        "harm_sha256": table.sha256,
        "harm": table.describe(),
        "crimes": len(crimes),
        "unassigned": int((~assigned).sum()),
        "units": unit_meta.get("n_units"),
        "top_share_of_harm": float(chosen["harm"].sum() / per_area["harm"].sum()),
        "limitations": list(LIMITATIONS),
    }
    result = RowanResult(chosen, dispersion, design, power, effect, meta)
    if store:
        ws.save_result(result)
    return result
