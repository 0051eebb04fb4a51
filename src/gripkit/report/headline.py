"""The programme report's headline: how concentrated serious violence is, when the stored results say.

Serious violence is the crime types of :func:`gripkit.harm.serious_violence_types` (the bundled
police.uk proxy: Violence and sexual offences, Robbery, Possession of weapons). Like the rest of the
report, the headline is read from STORED results, never recomputed:

1. the stored hotspot result shown, when it was a serious-violence run (``serious_violence`` in its
   parameters), else the latest stored serious-violence hotspot run (the report picks it): the share
   of its serious-violence harm in the top 1% and 5% of its units; else
2. the stored power result (``gripkit power`` ranks areas by serious-violence harm): the share of
   that harm in its chosen areas; else
3. no headline (the hotspot result counted every crime type, and no power result is stored): a
   share of all harm is not the serious-violence figure, so none is claimed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gripkit.harm import serious_violence_types
from gripkit.hotspots.concentration import Concentration, units_in_top
from gripkit.hotspots.find import harm_label, unit_phrase
from gripkit.results import StoredResult

__all__ = ["is_serious_violence", "serious_violence_headline"]


def is_serious_violence(meta: Mapping[str, Any]) -> bool:
    """Whether a stored hotspot run counted serious violence only (``serious_violence`` in its meta)."""
    return str(meta.get("serious_violence")).strip().lower() in ("true", "1")


def _types(meta: Mapping[str, Any]) -> str:
    """The run's own crime types when it lists them (an ``sv_table`` of its own), else the proxy's."""
    listed = meta.get("crime_types")
    chosen = listed if isinstance(listed, list) and listed else serious_violence_types()
    return ", ".join(sorted(str(t) for t in chosen))


def _sentence(conc: Concentration, units: str, harm: str, months: str, origin: str, types: str) -> str | None:
    if conc.total <= 0 or conc.n_units < 2:
        return None
    tops = [k for k in conc.tops if k in (0.01, 0.05)] or list(conc.tops[:2])
    parts = [
        f"the top {k * 100:g}% ({units_in_top(conc.n_units, k):,}) hold {conc.top_unit_share[k] * 100:.1f}%"
        for k in tops
    ]
    return (
        f"Serious violence is concentrated: of {units}, {' and '.join(parts)} of its {harm} "
        f"({months}; {types}; {origin})."
    )


def serious_violence_headline(hotspots: StoredResult | None, power: StoredResult | None) -> str | None:
    """One plain sentence on the concentration of serious-violence harm, or None (module docstring).

    >>> serious_violence_headline(None, None) is None
    True
    """
    if hotspots is not None and is_serious_violence(hotspots.meta):
        data = hotspots.payload.get("concentration") if isinstance(hotspots.payload, dict) else None
        if isinstance(data, dict):
            conc = Concentration.from_dict(data)
            return _sentence(
                conc,
                unit_phrase(hotspots.meta, conc.n_units),
                harm_label(hotspots.meta.get("harm_table")),
                str(hotspots.meta.get("months") or "months unknown"),
                f"hotspot result {hotspots.result_id}",
                _types(hotspots.meta),
            )
    if power is None:
        return None
    meta = power.meta
    share, areas, units = meta.get("top_share_of_harm"), meta.get("areas"), meta.get("units")
    if not isinstance(share, int | float) or not isinstance(areas, list) or not areas:
        return None
    types = _types({})
    of_units = f" of {int(units):,}" if isinstance(units, int | float) and units else ""
    return (
        f"Serious violence is concentrated: the {len(areas):,}{of_units} areas with the most "
        f"serious-violence harm hold {float(share) * 100:.1f}% of its {harm_label(meta.get('harm_table'))} "
        f"({meta.get('months') or 'months unknown'}; {types}; power result {power.result_id})."
    )
