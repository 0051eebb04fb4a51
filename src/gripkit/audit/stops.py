"""Stop and search in and outside the chosen hotspots, from the police.uk stop-and-search rows.

police.uk gives a search's coordinates (snapped to a nearby anonymised map point), not its LSOA; a
search is placed in the unit polygon containing its point. Searches without coordinates, or whose
point lies in no unit, are counted as *unlocated*. Rates: searches per 1,000 2011 residents, and the
positive-outcome rate (any outcome other than no further action). The split by self-defined
ethnicity (its top-level group) is reported only: nothing here feeds the choice of areas.

Small counts are suppressed: a count below ``suppress_below`` (10 by default) is shown as "<10", and
a second cell of the same row or column is suppressed too (shown as "suppressed") when one alone
could be backed out by subtraction from a shown total.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.audit.residents import per_1000
from gripkit.errors import InputError
from gripkit.ingestion.searches import NO_FURTHER_ACTION

SUPPRESS_BELOW = 10
NOT_STATED = "Not stated"
COMPLEMENT = "suppressed"
GROUPS = ("hotspots", "outside")
NO_SEARCH_ROWS = (
    "no stop-and-search rows were ingested for these months; ingest the police.uk "
    "YYYY-MM-<force>-stop-and-search.csv files to see searches"
)


def locate(searches: pd.DataFrame, units: gpd.GeoDataFrame) -> pd.Series:
    """The unit id of each search's point (``<NA>`` without coordinates or outside every unit)."""
    has_point = searches[C.X].notna() & searches[C.Y].notna()
    out = pd.Series(pd.NA, index=searches.index, dtype="string")
    if has_point.any() and len(units):
        points = gpd.GeoDataFrame(
            index=searches.index[has_point],
            geometry=gpd.points_from_xy(searches.loc[has_point, C.X], searches.loc[has_point, C.Y]),
            crs=units.crs,
        )
        joined = gpd.sjoin(points, units[[C.UNIT_ID, "geometry"]], how="left", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        out.loc[joined.index] = joined[C.UNIT_ID].astype("string")
    return out


def ethnic_group(values: pd.Series) -> pd.Series:
    """The top-level group of a police.uk self-defined ethnicity (``White - Irish`` -> ``White``).

    >>> ethnic_group(pd.Series(["White - Irish", None, "Asian/Asian British - Indian"])).tolist()
    ['White', 'Not stated', 'Asian/Asian British']
    """
    text = values.astype("string").str.split(" - ").str[0].str.strip()
    return text.fillna(NOT_STATED).replace("", NOT_STATED).astype(object)


def suppress(table: pd.DataFrame, below: int) -> pd.DataFrame:
    """Counts as text, ``"<below>"`` for small ones, with complementary suppression.

    ``table`` holds counts whose rows sum to a shown row total and whose columns sum over the rows
    (the last row is the total of the others). When a row or column has exactly one suppressed cell,
    its smallest other non-zero cell is suppressed too (shown as ``"suppressed"``), until no cell
    can be backed out.

    >>> frame = pd.DataFrame({"a": [3, 20, 23], "b": [30, 40, 70]}, index=["x", "y", "all"])
    >>> suppress(frame, 10).to_dict("list")
    {'a': ['<10', 'suppressed', '23'], 'b': ['suppressed', 'suppressed', '70']}
    """
    hidden = (table > 0) & (table < below)
    values = table.to_numpy()
    mask = hidden.to_numpy().copy()
    changed = True
    while changed:
        changed = False
        for lines, axis in ((mask, 0), (mask.T, 1)):
            data = values if axis == 0 else values.T
            for k in range(lines.shape[0]):
                if lines[k].sum() == 1:
                    candidates = np.where(~lines[k] & (data[k] > 0))[0]
                    if len(candidates):
                        pick = candidates[np.argmin(data[k][candidates])]
                        lines[k, pick] = True
                        changed = True
    text = table.astype(int).astype(str)
    text = text.mask(
        pd.DataFrame(mask & ~hidden.to_numpy(), index=table.index, columns=table.columns), COMPLEMENT
    )
    return text.mask(hidden, f"<{below}")


def stops(
    searches: pd.DataFrame,
    units: gpd.GeoDataFrame,
    chosen: list[str],
    residents: dict[str, Any],
    *,
    suppress_below: int = SUPPRESS_BELOW,
) -> dict[str, Any]:
    """Stop and search in and outside ``chosen`` (see the module docstring).

    ``residents`` is the :func:`gripkit.audit.residents.residents` record (for the rates).
    """
    if isinstance(suppress_below, bool) or not isinstance(suppress_below, int) or suppress_below < 1:
        raise InputError(
            f"'suppress_below' must be a whole number >= 1; received {suppress_below!r}. Pass e.g. 10."
        )
    where = locate(searches, units)
    located = where.notna()
    group = pd.Series(np.where(where.isin(chosen), "hotspots", "outside"), index=searches.index)
    positive = ~searches[C.OUTCOME].isin(NO_FURTHER_ACTION) & searches[C.OUTCOME].notna()
    out: dict[str, Any] = {
        "searches": len(searches),
        "located": int(located.sum()),
        "unlocated": int((~located).sum()),
        "suppress_below": suppress_below,
    }
    if searches.empty:  # no files, not no searches: rates are unknown, not zero
        out["note"] = NO_SEARCH_ROWS
    for name in GROUPS:
        here = located & (group == name)
        count = int(here.sum())
        out[name] = {
            "searches": count,
            "stop_search_per_1000": None if searches.empty else per_1000(count, residents[name]["residents"]),
            "positive_outcomes": int((here & positive).sum()),
            "positive_outcome_rate": float((here & positive).sum()) / count if count else None,
        }
    ethnicity = ethnic_group(searches["ethnicity"])
    counts = pd.crosstab(group[located], ethnicity[located]).reindex(list(GROUPS), fill_value=0)
    counts.loc["all_located"] = counts.sum(axis=0)
    counts["total"] = counts.sum(axis=1)
    shown = suppress(counts, suppress_below)
    out["by_ethnicity"] = {row: shown.loc[row].to_dict() for row in shown.index}
    return out
