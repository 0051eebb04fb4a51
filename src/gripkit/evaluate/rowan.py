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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.coverage import check_window
from gripkit.errors import InputError
from gripkit.evaluate.design import Design, place_day_design
from gripkit.evaluate.power import DEFAULT_EFFECTS, PERIOD, Dispersion, PowerResult, estimate_dispersion
from gripkit.evaluate.power import simulate_power as _simulate
from gripkit.harm import apply_harm, load_harm_table
from gripkit.hotspots.find import select_crimes
from gripkit.months import trailing_window
from gripkit.progress import Progress, Steps
from gripkit.units.build import UnitSpec, build_units
from gripkit.workspace import Workspace

MAIN = "harm_independent"
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
class RowanResult:
    """Op Rowan-shaped design and power on real data.

    The stored result (kind ``power``) is :attr:`main`, the power for harm under independent day
    shocks (the conservative bound), whose meta and tables carry the rest: areas, window, harm
    table, dispersion and the power under each outcome and bound.

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
        Months, harm table and SHA-256, crimes used, unassigned crimes (the main result's meta).
    """

    areas: pd.DataFrame
    dispersion: Dispersion
    design: Design
    power: dict[str, PowerResult]
    effect: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> PowerResult:
        """Power for harm with independent day shocks: the stored result."""
        return self.power[MAIN]

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
        """The main result's :meth:`PowerResult.to_dict`."""
        return self.main.to_dict()

    def summary(self) -> str:
        """The main result's summary: the areas' share of harm, power at the effect, MDEs."""
        return self.main.summary()


def _monthly(
    crimes: pd.DataFrame, ids: pd.Series, areas: list[str], months: pd.DatetimeIndex
) -> pd.DataFrame:
    frame = pd.DataFrame({C.AREA_ID: ids.astype(object), PERIOD: pd.to_datetime(crimes[C.MONTH])})
    frame = frame[frame[C.AREA_ID].isin(areas)]
    counts = frame.groupby([C.AREA_ID, PERIOD]).size()
    full = pd.MultiIndex.from_product([areas, months], names=[C.AREA_ID, PERIOD])
    return counts.reindex(full, fill_value=0).rename(C.COUNT).reset_index()


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
    boundaries: str | Path | None = None,
    sims: int = 500,
    seed: int = 0,
    significance: float = 0.05,
    start: str = "2024-06-01",
    allow_gaps: bool = False,
    store: bool = True,
    progress: Progress | None = None,
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
    force : str, optional
        Only this force's crimes (default: every force in the workspace).
    boundaries : str or Path, optional
        LSOA polygon file (default: the bundled LSOA 2011 polygons of the crimes' forces).
    sims, seed : int
        Simulated trials per effect, and the seed of both design and simulations.
    significance : float
        Two-sided level of the simulated trials' test.
    start : str
        First day of the (planned) design.
    allow_gaps : bool
        Every force read must hold every month of the window (:func:`gripkit.coverage.check_window`;
        a missing month would lower the rates): otherwise InputError naming the force. True: rates
        and dispersion from the months every force holds only, recorded in ``meta["coverage"]``.
    store : bool
        Store :attr:`RowanResult.main` (kind ``power``) in the workspace.
    progress : callable, optional
        ``progress(done, total, name)`` (:data:`gripkit.progress.Progress`): simulated trials done
        of the 4 scenarios (counts and harm, day shocks independent and shared), each
        ``len(effects) x sims`` trials (:func:`~gripkit.evaluate.power.simulate_power`).

    Notes
    -----
    Areas are ranked by serious-violence harm (descending), then crimes (descending), then
    ``area_id`` (ascending), so ties never depend on the order the workspace returns rows in.
    """
    table = load_harm_table(harm)
    if table is None:
        raise InputError("op_rowan_power ranks areas by harm: pass a harm table such as 'cchi', not none.")
    window = trailing_window(ws, last, force=force)
    first, end = pd.Timestamp(window[0]), pd.Timestamp(window[1])
    coverage = check_window(ws, window[0], window[1], forces=[force] if force else None,
                            allow_gaps=allow_gaps, what="power", window_param="last")
    crimes = select_crimes(ws, serious_violence=True, months=(first.date(), end.date()), force=force)
    held = pd.DatetimeIndex(sorted(set.intersection(*(set(c.held) for c in coverage.forces.values()))))
    if len(held) < 3:
        raise InputError(f"power needs >= 3 months every force holds in {coverage.window}; received "
                         f"{len(held)}. Pass 'force' or a 'last' window the data covers.")
    if len(held) < coverage.months:  # allow_gaps: only the months every force holds
        crimes = crimes[pd.to_datetime(crimes[C.MONTH]).isin(held).to_numpy()]
    crimes[C.HARM] = apply_harm(crimes, table)
    units, unit_meta = build_units(crimes, UnitSpec(kind="lsoa", boundaries=boundaries))
    ids = units.assign(crimes)
    assigned = ids.notna().to_numpy()
    crimes, ids = crimes[assigned], ids[assigned]
    by_area = pd.Series(crimes[C.HARM].to_numpy(), index=pd.Index(ids.astype(object), name=C.AREA_ID))
    grouped = by_area.groupby(level=C.AREA_ID)
    per_area = (
        pd.DataFrame({C.CRIMES: grouped.size(), C.HARM: grouped.sum()})
        .reset_index()
        .sort_values([C.HARM, C.CRIMES, C.AREA_ID], ascending=[False, False, True], kind="mergesort")
    )
    if len(per_area) < n_areas:
        raise InputError(f"only {len(per_area)} areas have serious violence; received n_areas={n_areas}.")
    chosen = per_area.head(n_areas).reset_index(drop=True)
    areas = chosen[C.AREA_ID].astype(str).tolist()
    month_index = held  # months with data only: a missing month is not a month of no crime
    dispersion = estimate_dispersion(_monthly(crimes, ids, areas, month_index))
    chosen["rate_per_day"] = dispersion.rates.reindex(areas).to_numpy()
    design = place_day_design(areas, days=days, treated_per_day=treated_per_day, start=start, seed=seed)
    grid = list(DEFAULT_EFFECTS)
    mix = _harm_mix(crimes, ids, areas, table.weights)
    power = {}
    per_run = len({*(round(float(e), 4) for e in grid), round(float(effect), 4)}) * int(sims)
    steps = Steps(progress, 4 * per_run)
    for outcome, harm_mix in ((C.COUNT, None), (C.HARM, mix)):
        for assumption in ("independent", "shared"):
            power[f"{outcome}_{assumption}"] = _simulate(
                chosen["rate_per_day"].to_numpy(),
                dispersion.daily_alpha(assumption),
                days=days,
                treated_per_day=treated_per_day,
                effects=grid,
                sims=sims,
                seed=seed,
                significance=significance,
                harm_mix=harm_mix,
                design=design,
                effect=effect,
                progress=steps.part(per_run, f"{outcome}, {assumption}: "),
            )
    result = RowanResult(chosen, dispersion, design, power, effect, {})
    mdes = [r.mde for r in power.values() if r.mde is not None]
    meta = {
        "months": f"{first:%Y-%m} to {end:%Y-%m}",
        "window": {"first": f"{first:%Y-%m}", "last": f"{end:%Y-%m}", "last_n": last},
        "force": force,
        "areas": areas,
        "harm_table": table.name,
        "harm_sha256": table.sha256,
        "harm": table.describe(),
        "dispersion": {
            "alpha_monthly": dispersion.alpha_period,
            "alpha_daily_independent": dispersion.alpha_daily_independent,
            "alpha_daily_shared": dispersion.alpha_daily_shared,
            "days_per_month": dispersion.days_per_period,
            "months": dispersion.n_periods,
        },
        "design": design.to_dict(),
        "crimes": len(crimes),
        "unassigned": int((~assigned).sum()),
        "units": unit_meta.get("n_units"),
        "top_share_of_harm": float(chosen[C.HARM].sum() / per_area[C.HARM].sum()),
        "mde_range": f"{min(mdes):.0%}-{max(mdes):.0%}" if mdes else None,
        "limitations": list(LIMITATIONS),
        "coverage": coverage.to_dict(),
        "months_held": len(held),
    }
    main = power[MAIN]
    main.meta.update(meta)
    main.details = {"areas": chosen, "bounds": result.table()}
    result.meta = main.meta
    if store:
        ws.save_result(main)
    return result
