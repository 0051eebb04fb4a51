"""Police and health records together: a matched pair counted once, and the share only the ED knows.

When the crimes of a hotspot run hold both police and hospital ED records, :func:`combine_sources`
matches them (:func:`gripkit.ingestion.matching.match_records`, default rule) and drops the **ED
side of every matched pair** before counting, so an assault both services recorded is counted once,
as its police record. Nothing is deleted from the workspace. :func:`hidden_share` then gives each
unit the ED records matched to no police record (``ed_only``) and the share of its violence known
only to the ED::

    hidden_share = ED records matched to no police record
                   / (police violence records + ED records matched to no police record)

where police violence records are those of the matching rule's categories
(:data:`~gripkit.ingestion.matching.VIOLENCE_TYPES`) and each matched pair is one of them; NaN
for a unit with no violence. Both are recorded in the result's ``meta["matching"]``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.hotspots.count import _count
from gripkit.ingestion.matching import MatchRule, ed_only, match_records

log = logging.getLogger("gripkit")

#: the hotspot layer's columns (only when police and ED records are combined): ED records matched
#: to no police record, and their share of the unit's violence
ED_ONLY_COUNT = "ed_only"
HIDDEN_SHARE = "hidden_share"
#: columns :func:`combine_sources` adds to the crimes it keeps (read by :func:`hidden_share`)
ED_ONLY = "_ed_only"
VIOLENCE = "_violence"
#: warn when chance alone would match more than this share of the ED records (docs/ed.md)
CHANCE_WARNING = 0.2


def combine_sources(
    crimes: pd.DataFrame, rule: MatchRule | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``crimes`` with the ED side of matched pairs dropped, and what was done (``{}`` if nothing).

    Only when ``crimes`` hold records of both ``rule.police_source`` and ``rule.ed_source``; the
    kept frame then has the boolean columns :data:`ED_ONLY` and :data:`VIOLENCE`.
    """
    rule = rule or MatchRule()
    present = set(crimes[C.SOURCE].dropna().unique()) if C.SOURCE in crimes.columns else set()
    if not {rule.police_source, rule.ed_source} <= present:
        return crimes, {}
    result = match_records(crimes, rule)
    only = ed_only(crimes, result)
    police_violence = crimes[C.SOURCE].eq(rule.police_source) & crimes[C.CRIME_TYPE].isin(rule.police_types)
    kept = crimes.assign(**{ED_ONLY: only, VIOLENCE: police_violence | only})
    kept = kept[~kept.index.isin(result.pairs["ed_index"])]
    info = {**result.to_dict(), "dropped": len(result.pairs), "summary": result.summary()}
    log.info(
        "hotspots: %s and %s records combined: %d %s records matched a %s record and are counted once, "
        "as the police record (%s)",
        rule.police_source, rule.ed_source, len(result.pairs), rule.ed_source, rule.police_source,
        result.summary(),
    )
    chance = result.meta.get("chance_share")
    if chance is not None and chance > CHANCE_WARNING:
        log.warning(
            "hotspots: %.0f%% of %s records would match a police record by chance alone under this rule "
            "(police.uk gives months, not times), so some pairs are different incidents and hidden_share "
            "is a lower bound; timed police records (a force's own data) match far better (docs/ed.md)",
            100 * chance, rule.ed_source,
        )
    return kept, info


def hidden_share(
    crimes: pd.DataFrame, units: Any, hotspots: pd.DataFrame, geometry: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per unit of ``hotspots``: the ED-only records and their share of the violence records (see
    the module docstring)."""
    ids = hotspots[C.UNIT_ID].astype(str)

    def per_unit(mask: pd.Series) -> np.ndarray:
        if not mask.any():
            return np.zeros(len(ids), dtype=int)
        counted = _count(crimes[mask.to_numpy()], units, weights=None, geometry=geometry)[0]
        totals = counted.set_index(counted[C.UNIT_ID].astype(str))[C.CRIMES]
        return ids.map(totals).fillna(0).to_numpy(dtype=int)

    hidden, violence = per_unit(crimes[ED_ONLY]), per_unit(crimes[VIOLENCE])
    with np.errstate(invalid="ignore", divide="ignore"):
        return hidden, np.where(violence > 0, hidden / violence, np.nan)
