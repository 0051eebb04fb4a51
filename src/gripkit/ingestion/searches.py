"""The ingested police.uk stop-and-search rows read back by month, and what their outcomes mean.

The ``stop_search`` table has no month column: a search's month is the calendar month of its
``occurred_at`` in Europe/London, which is how police.uk files searches (a search at 23:30 UTC on
31 March 2023 is 00:30 BST on 1 April and sits in the April file; all 11,810 Bedfordshire rows of
2021-05..2024-04 agree with their file's month). A row without a readable time takes its file's month.

Shared by the audit (searches in and outside the hotspots) and the Home Office returns (searches
inside each hotspot), so both count the same searches in the same month.

Example
-------
>>> from gripkit.workspace import Workspace
>>> with Workspace(":memory:") as ws:
...     len(workspace_searches(ws, "2024-03", "2024-03"))
0
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from gripkit import columns as C
from gripkit.workspace import Workspace, parse_month

#: police.uk's outcome for a search that led to an arrest
ARREST = "Arrest"
#: outcomes police.uk publishes for a search that found nothing actionable
NO_FURTHER_ACTION = ("A no further action disposal", "Nothing found - no further action")
#: the time zone police.uk files searches by
LONDON = "Europe/London"

_MONTH_SQL = (
    f"coalesce(CAST(date_trunc('month', timezone('{LONDON}', TRY_CAST(s.occurred_at AS TIMESTAMPTZ))) "
    "AS DATE), CAST(date_trunc('month', src.month) AS DATE))"
)


def workspace_searches(
    ws: Workspace, first: date | str, last: date | str, *, force: str | None = None
) -> pd.DataFrame:
    """Stop-and-search rows of the months ``first..last`` (inclusive), optionally of one force.

    Returns every ``stop_search`` column plus ``month`` (the search's month, see the module
    docstring, as a Timestamp) and ``force`` (its file's force).
    """
    start, end = parse_month(first, "first"), parse_month(last, "last")
    sql = (
        f"SELECT * FROM (SELECT s.*, {_MONTH_SQL} AS {C.MONTH}, src.force AS {C.FORCE} "
        "FROM stop_search s JOIN sources src USING (source_id)) WHERE month BETWEEN ? AND ?"
    )
    params: list[Any] = [start, end]
    if force is not None:
        sql += " AND force = ?"
        params.append(force)
    out = ws.con.execute(sql + " ORDER BY source_id, source_row", params).df()
    out[C.MONTH] = pd.to_datetime(out[C.MONTH])
    return out


def outcome_group(outcomes: pd.Series) -> pd.Series:
    """Each search's outcome as ``arrest``, ``other_action``, ``no_further_action`` or ``not_recorded``.

    >>> outcomes = pd.Series(["Arrest", "Community resolution", "A no further action disposal", None])
    >>> outcome_group(outcomes).tolist()
    ['arrest', 'other_action', 'no_further_action', 'not_recorded']
    """
    text = outcomes.astype("string").str.strip()
    out = pd.Series("other_action", index=outcomes.index, dtype=object)
    out[text.isin(NO_FURTHER_ACTION).fillna(False).to_numpy(dtype=bool)] = "no_further_action"
    out[(text == ARREST).fillna(False).to_numpy(dtype=bool)] = "arrest"
    out[(text.isna() | (text == "")).fillna(True).to_numpy(dtype=bool)] = "not_recorded"
    return out


__all__ = ["ARREST", "LONDON", "NO_FURTHER_ACTION", "outcome_group", "workspace_searches"]
