"""The stored audit as rows for a page (the dashboard's ``/audit``): figures rounded, areas named.

Examples
--------
>>> view = audit_view({"areas": 0, "chosen": []}, {})
>>> view["areas"]
[]
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from gripkit import columns as C


def pct(value: Any) -> str:
    """A share as a percentage to one decimal (``–`` when unknown).

    >>> pct(0.04424), pct(None)
    ('4.4%', '–')
    """
    return "–" if value is None else f"{100 * float(value):.1f}%"


def num(value: Any, digits: int = 1) -> str:
    """A number with thousands separators and ``digits`` decimals (``–`` when unknown).

    >>> num(7.81971), num(39004, 0), num(None)
    ('7.8', '39,004', '–')
    """
    return "–" if value is None else f"{float(value):,.{digits}f}"


def _names(codes: list[str]) -> dict[str, str]:
    """LSOA 2011 names of the codes the bundled England and Wales polygons know (others: none)."""
    from gripkit import datasets  # deferred: geopandas is read only when a page is drawn

    frame = datasets.lsoa_2011()
    known = frame[frame["lsoa11cd"].isin(codes)]
    return dict(zip(known["lsoa11cd"], known["lsoa11nm"], strict=True))


def audit_view(payload: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """Headline figures, the named areas (with links to their hotspot pages), and the four parts'
    tables, every number rounded for reading (the stored payload keeps them exact)."""
    chosen = [str(c) for c in payload.get("chosen", [])]
    rests = payload.get("rests_on", {})
    added_codes = [str(c) for c in rests.get("without_proactive", {}).get("added", [])]
    names = _names(chosen + added_codes) if chosen else {}
    basis_types = rests.get("basis_types", [])
    query = urlencode(
        [("unit", "lsoa"), ("method", "count"), ("harm", meta.get("harm_table") or C.DEFAULT_HARM_TABLE)]
        + [("crime_type", t) for t in basis_types]
    )
    again = rests.get("without_proactive", {})
    dropped, added = set(again.get("dropped", [])), set(again.get("added", []))
    areas = [
        {"code": c, "name": names.get(c, ""), "href": f"/hotspots/{c}?{query}", "dropped": c in dropped}
        for c in chosen
    ]
    fed = payload.get("feedback", {})
    band = fed.get("null_band", {})
    rounds = [
        {
            "round": row["round"],
            "top_share": pct(row["top_share"]),
            "gini": num(row["gini"], 3),
            "turnover": pct(row["turnover"]),
            "overlap": pct(row["overlap_round0"]),
            "detection": pct(row["detection_share"]),
            "flat_top_share": pct(flat["top_share"]),
            "flat_gini": num(flat["gini"], 3),
            "outside": any(row.get(f"{k}_outside_band") for k in ("gini", "top_share", "overlap_round0")),
        }
        for row, flat in zip(fed.get("rounds", []), fed.get("no_uplift", []), strict=True)
    ]
    people = payload.get("residents", {})
    stops = payload.get("stop_search", {})
    groups = [
        {
            "group": name,
            "units": people.get(name, {}).get("units"),
            "residents": num(people.get(name, {}).get("residents"), 0),
            "crimes_per_1000": num(people.get(name, {}).get("crimes_per_1000")),
            "harm_per_1000": num(people.get(name, {}).get("harm_per_1000"), 0),
            "searches": num(stops.get(name, {}).get("searches"), 0) if name in stops else "–",
            "searches_per_1000": num(stops.get(name, {}).get("stop_search_per_1000")),
            "positive": pct(stops.get(name, {}).get("positive_outcome_rate")),
        }
        for name in ("hotspots", "outside", "force")
    ]
    shares = [
        {
            "where": where,
            "proactive": pct(rests.get(where, {}).get("basis", {}).get("proactive_share")),
            "proactive_all": pct(rests.get(where, {}).get("all", {}).get("proactive_share")),
            "sources": ", ".join(
                f"{k} {pct(v)}"
                for k, v in rests.get(where, {}).get("all", {}).get("source_share", {}).items()
            ),
        }
        for where in ("hotspots", "force")
    ]
    ethnicity = stops.get("by_ethnicity", {})
    columns = list(next(iter(ethnicity.values()), {}))
    params = fed.get("params", {})
    return {
        "headline": [
            ("areas chosen", str(payload.get("areas", len(chosen)))),
            ("proactive share of the hotspots' serious-violence harm", pct(payload.get("proactive_share"))),
            ("the same, force-wide", pct(payload.get("force_proactive_share"))),
            (
                "kept / dropped when proactive types are left out",
                f"{payload.get('kept_without_proactive', '–')} / "
                f"{payload.get('dropped_without_proactive', '–')}",
            ),
            ("share of recorded harm in the chosen areas, last round", pct(payload.get("final_top_share"))),
            ("the same with no uplift", pct(payload.get("final_top_share_no_uplift"))),
            ("null band of that share", " – ".join(pct(v) for v in band.get("top_share", [])) or "–"),
            ("residents of the chosen areas (share of the force)", pct(payload.get("resident_share"))),
            (
                "stop-searches per 1,000, chosen areas",
                num(payload.get("stop_search_per_1000", {}).get("hotspots")),
            ),
            (
                "stop-searches per 1,000, elsewhere",
                num(payload.get("stop_search_per_1000", {}).get("outside")),
            ),
        ],
        "params": {
            k: params.get(k) for k in ("rounds", "uplift", "reactive_uplift", "effect", "null_draws", "seed")
        },
        "proactive_types": rests.get("proactive_types", []),
        "basis_types": basis_types,
        "areas": areas,
        "added": [f"{names[c]} ({c})" if c in names else c for c in sorted(added)],
        "map_href": f"/?{query}",
        "shares": shares,
        "rounds": rounds,
        "groups": groups,
        "stop_note": stops.get("note"),
        "unlocated": stops.get("unlocated"),
        "searches": stops.get("searches"),
        "ethnicity": {
            "columns": columns,
            "rows": [(k, [v.get(c, "") for c in columns]) for k, v in ethnicity.items()],
        },
        "suppress_below": stops.get("suppress_below"),
        "caveats": payload.get("caveats", []),
        "months": meta.get("months"),
    }
