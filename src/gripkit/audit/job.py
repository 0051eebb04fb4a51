"""The ``audit`` job: :func:`audit_hotspots` and its :class:`AuditResult`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.audit.feedback import FeedbackParams, simulate_feedback
from gripkit.audit.residents import BUNDLED, CENSUS_ATTRIBUTION, load_population, residents
from gripkit.audit.rests_on import check_types, proactive_types, rests_on, select_top, unit_harm
from gripkit.audit.stops import GROUPS, SUPPRESS_BELOW, stops
from gripkit.errors import InputError
from gripkit.harm import apply_harm, load_harm_table, serious_violence_types
from gripkit.ingestion.searches import workspace_searches
from gripkit.progress import Progress
from gripkit.results import ResultMixin, to_jsonable
from gripkit.units.build import UnitSpec, build_units
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")

CAVEATS = (
    "Residents are 2011 census counts; populations have changed since.",
    "police.uk moves every crime and search to a nearby anonymised map point, so points near an LSOA "
    "edge may fall in the neighbouring LSOA.",
    "A stop-and-search location is where the search happened, not where the person lives; searches "
    "without coordinates are unlocated.",
    "The positive-outcome rate counts any outcome other than no further action; police.uk's 'outcome "
    "linked to object of search' flag is not ingested.",
    "The feedback simulation is a model with stated parameters, not a measurement.",
)


@dataclass
class AuditResult(ResultMixin):
    """What a hotspot selection rests on, how it feeds back, who lives there and who is stopped.

    Attributes
    ----------
    chosen : list of str
        The audited selection (LSOA codes), as the patrol step chooses it.
    rests_on, feedback, residents, stop_search : dict
        The four parts (see :mod:`gripkit.audit`).
    meta : dict
        Provenance: harm table and SHA-256, months, force, every parameter, seed.
    """

    kind: ClassVar[str] = "audit"

    chosen: list[str]
    rests_on: dict[str, Any]
    feedback: dict[str, Any]
    residents: dict[str, Any]
    stop_search: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def proactive_share(self) -> float | None:
        """Share of the hotspots' serious-violence harm from proactively found types."""
        value = self.rests_on["hotspots"]["basis"]["proactive_share"]
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        """The audit as a JSON-safe dict (headline figures first, then the four parts)."""
        f = self.feedback
        last, flat = f["rounds"][-1], f["no_uplift"][-1]
        again = self.rests_on["without_proactive"]
        out = {
            "areas": len(self.chosen),
            "chosen": self.chosen,
            "proactive_share": self.proactive_share,
            "force_proactive_share": self.rests_on["force"]["basis"]["proactive_share"],
            "kept_without_proactive": len(again["kept"]),
            "dropped_without_proactive": len(again["dropped"]),
            "rounds": f["params"]["rounds"],
            "uplift": f["params"]["uplift"],
            "reactive_uplift": f["params"]["reactive_uplift"],
            "effect": f["params"]["effect"],
            "seed": f["params"]["seed"],
            "final_top_share": last["top_share"],
            "final_top_share_no_uplift": flat["top_share"],
            "null_band_top_share": f["null_band"]["top_share"],
            "final_gini": last["gini"],
            "final_gini_no_uplift": flat["gini"],
            "null_band_gini": f["null_band"]["gini"],
            "final_overlap_round0": last["overlap_round0"],
            "final_detection_share": last["detection_share"],
            "resident_share": self.residents["hotspots"].get("resident_share"),
            "crimes_per_1000": {g: self.residents[g]["crimes_per_1000"] for g in GROUPS},
            "stop_search_per_1000": {g: self.stop_search[g]["stop_search_per_1000"] for g in GROUPS},
            "positive_outcome_rate": {g: self.stop_search[g]["positive_outcome_rate"] for g in GROUPS},
            "rests_on": self.rests_on,
            "feedback": self.feedback,
            "residents": self.residents,
            "stop_search": self.stop_search,
            "caveats": list(CAVEATS),
        }
        jsonable: dict[str, Any] = to_jsonable(out)
        return jsonable

    def summary(self) -> str:
        """One paragraph with the numbers and the caveats."""
        r, f, s = self.rests_on, self.feedback, self.stop_search
        hot, force = r["hotspots"]["basis"], r["force"]["basis"]
        again = r["without_proactive"]
        first, last, flat = f["rounds"][0], f["rounds"][-1], f["no_uplift"][-1]
        band, p = f["null_band"], f["params"]
        people = self.residents["hotspots"]

        def pct(value: float | None) -> str:
            return "n/a" if value is None else f"{100 * value:.1f}%"

        def rate(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.1f}"

        def span(values: list[float]) -> str:
            return f"{pct(values[0])}-{pct(values[1])}"

        detection = (
            ""
            if last["detection_share"] is None
            else f"; {pct(last['detection_share'])} of the change in the patrolled areas' expected "
            "recorded harm is detection, the rest effect"
        )
        stopped = (
            f"; {s['note']}."
            if "note" in s
            else f", and {rate(s['hotspots']['stop_search_per_1000'])} stop-searches per 1,000 against "
            f"{rate(s['outside']['stop_search_per_1000'])} elsewhere ({s['unlocated']:,} of "
            f"{s['searches']:,} searches unlocated)."
        )
        return (
            f"The {len(self.chosen)} chosen LSOAs draw {pct(hot['proactive_share'])} of their "
            f"serious-violence harm from proactively found offences ({', '.join(r['proactive_types'])}), "
            f"against {pct(force['proactive_share'])} force-wide; leaving those out keeps "
            f"{len(again['kept'])} of the {len(self.chosen)} areas and drops {len(again['dropped'])}. "
            f"In a {p['rounds']}-round feedback simulation (detection uplift {p['uplift']:g} on proactive "
            f"types, {p['reactive_uplift']:g} on the others, effect {p['effect']:g}, seed {p['seed']}) the "
            f"chosen areas hold {pct(last['top_share'])} of recorded harm in the last round, against "
            f"{pct(flat['top_share'])} with no uplift (null band {span(band['top_share'])}; real counts "
            f"{pct(first['top_share'])}); the Gini is {last['gini']:.3f} (no uplift {flat['gini']:.3f}, "
            f"band {band['gini'][0]:.3f}-{band['gini'][1]:.3f}){detection}; the last selection shares "
            f"{pct(last['overlap_round0'])} of its areas with round 0. {people['residents']:,} residents "
            f"(2011 census, {pct(people.get('resident_share'))} of the force) live in the chosen areas; they "
            f"see {rate(people['crimes_per_1000'])} crimes per 1,000 residents against "
            f"{rate(self.residents['outside']['crimes_per_1000'])} elsewhere{stopped} Caveats: 2011 "
            "census populations, police.uk points snapped to map points, search locations are where "
            "searches happened; the simulation is a "
            "model, not a measurement."
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """``rounds`` and ``rounds_no_uplift`` (one row per simulated round)."""
        drop = ["chosen"]
        return {
            "rounds": pd.DataFrame(self.feedback["rounds"]).drop(columns=drop),
            "rounds_no_uplift": pd.DataFrame(self.feedback["no_uplift"]).drop(columns=drop),
        }


def _record_sources(ws: Workspace, crimes: pd.DataFrame) -> pd.Series:
    """The source of each crime's record: the ingested file's format (``police.uk``, ``csv``)."""
    sources = ws.con.execute("SELECT source_id, format FROM sources").df()
    formats = dict(zip(sources[C.SOURCE_ID], sources["format"].fillna("unknown"), strict=False))
    return crimes[C.SOURCE_ID].map(formats).fillna("unknown").astype(str)


def audit_hotspots(
    ws: Workspace,
    *,
    unit: str = "lsoa",
    areas: int = 21,
    harm: str = C.DEFAULT_HARM_TABLE,
    force: str | None = None,
    proactive: list[str] | tuple[str, ...] | None = None,
    rounds: int = 10,
    uplift: float = 0.5,
    reactive_uplift: float = 0.0,
    effect: float = 0.0,
    null_draws: int = 200,
    seed: int | None = None,
    population: str | Path | None = None,
    suppress_below: int = SUPPRESS_BELOW,
    store: bool = True,
    progress: Progress | None = None,
) -> AuditResult:
    """Audit the Operation Rowan style hotspot selection of a workspace.

    Parameters
    ----------
    ws
        Workspace with ingested police.uk crimes (and stop-and-search rows for the last part).
    unit
        ``"lsoa"`` (the only unit with residents).
    areas
        How many areas the selection chooses (Operation Rowan chose 21).
    harm
        Harm table name or CSV path.
    force
        Only this force.
    proactive
        Crime types counted as proactively found (default: those the bundled
        ``serious_violence_reactive`` table marks as found by police activity).
    rounds, uplift, reactive_uplift, effect, null_draws, seed
        The feedback simulation (:class:`~gripkit.audit.feedback.FeedbackParams`); a seed of None is
        drawn, logged and recorded in ``meta``.
    population
        A 2011 census LSOA file (default: the bundled Bedfordshire rows).
    suppress_below
        Stop-search counts below this are shown as ``"<10"`` (with complementary suppression).
    store
        Store the result in the workspace (``ws.save_result``).
    progress
        ``progress(done, total, name)`` (:data:`gripkit.progress.Progress`) over the feedback
        simulation's selections (:func:`~gripkit.audit.feedback.simulate_feedback`), most of the time.

    Examples
    --------
    >>> result = audit_hotspots(ws, areas=21, seed=1)  # doctest: +SKIP
    >>> result.to_dict()["stop_search_per_1000"]  # doctest: +SKIP
    """
    from gripkit.patrol.areas import workspace_areas  # deferred: the hotspot import is heavy

    if unit != "lsoa":
        raise InputError(
            f"'unit' must be 'lsoa' for the audit (residents are counted per LSOA); received {unit!r}. "
            "Pass unit='lsoa'."
        )
    drawn = seed is None
    if seed is None:
        seed = int(np.random.default_rng().integers(2**31))
        log.info("audit: seed %d drawn", seed)
    params = FeedbackParams(
        rounds=rounds,
        uplift=uplift,
        reactive_uplift=reactive_uplift,
        effect=effect,
        null_draws=null_draws,
        seed=seed,
    )
    found = check_types("proactive", proactive, proactive_types())
    selection, provenance = workspace_areas(ws, areas, harm=harm, force=force)
    chosen = selection[C.AREA_ID].astype(str).tolist()
    table = load_harm_table(harm)
    crimes = ws.crimes(force=force)
    window = provenance["months"]
    first, last = (part.strip() for part in str(window).split(" to "))
    crimes = crimes[(crimes[C.MONTH] >= pd.Timestamp(first)) & (crimes[C.MONTH] <= pd.Timestamp(last))]
    units, unit_meta = build_units(crimes, UnitSpec("lsoa"))
    crimes = crimes.assign(
        **{
            C.HARM: apply_harm(crimes, table),
            C.UNIT_ID: units.assign(crimes).astype("string"),
            "record_source": _record_sources(ws, crimes),
        }
    )
    basis = serious_violence_types()
    again = select_top(unit_harm(crimes, basis), len(chosen))
    if again != chosen:
        raise InputError(
            "the audit's per-LSOA harm does not reproduce the workspace selection; received "
            f"{len(set(again) ^ set(chosen))} differing area(s). Re-run `gripkit hotspots --unit lsoa`."
        )
    rested = rests_on(crimes, chosen, basis, found)
    on_basis = crimes[crimes[C.CRIME_TYPE].isin(list(basis)) & crimes[C.UNIT_ID].notna()]
    unit_ids = units.frame[C.UNIT_ID].astype(str).tolist()
    counts = pd.crosstab(on_basis[C.UNIT_ID].astype(str), on_basis[C.CRIME_TYPE]).reindex(
        unit_ids, fill_value=0
    )
    weights = on_basis.groupby(C.CRIME_TYPE)[C.HARM].mean()
    fed = simulate_feedback(counts, weights, chosen, found, params, progress=progress)
    people = residents(crimes, unit_ids, chosen, load_population(population))
    searches = workspace_searches(ws, first, last, force=force)
    frame = (
        units.frame.rename_geometry("geometry") if units.frame.geometry.name != "geometry" else units.frame
    )
    stopped = stops(searches, frame, chosen, people, suppress_below=suppress_below)
    meta = {
        **{k: provenance.get(k) for k in ("harm_table", "harm_sha256", "months")},
        "window": {"first": first, "last": last},
        "force": force,
        "unit": "lsoa",
        "boundaries": unit_meta.get("boundaries"),
        "areas": len(chosen),
        "selection": "top LSOAs by serious-violence harm (gripkit.patrol.areas.workspace_areas)",
        "proactive_types": sorted(found),
        "feedback": fed["params"],
        "seed": seed,
        "seed_drawn": drawn,
        "population": str(population) if population else BUNDLED,
        "population_attribution": CENSUS_ATTRIBUTION,
        "suppress_below": suppress_below,
    }
    result = AuditResult(chosen, rested, fed, people, stopped, meta)
    if store:
        ws.save_result(result)
    return result
