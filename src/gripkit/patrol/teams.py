"""Teams for a visit schedule: who runs which visit, so no team overlaps itself or arrives late.

Visit ``j`` can follow visit ``i`` in one team's day when ``end_i + travel(i, j) <= start_j``,
with ``travel`` the straight-line distance between the two areas' centroids at a stated speed
(walking by default, :data:`~gripkit.patrol.choose.WALKING_SPEED_KMH`). Straight-line distances obey
the triangle inequality, so "can follow" is transitive and the schedule is a partial order: the
smallest number of teams is the smallest chain cover, found exactly as ``n - M`` with ``M`` a
maximum bipartite matching of the "can follow" graph (Dilworth; Fulkerson 1956), here
:func:`scipy.sparse.csgraph.maximum_bipartite_matching`. The visit times are not changed, so the
seeded randomisation of the schedule is kept; the team numbering is deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.patrol.choose import WALKING_SPEED_KMH


def travel_matrix(areas: pd.DataFrame, speed_kmh: float = WALKING_SPEED_KMH) -> pd.DataFrame:
    """Minutes between area centroids at ``speed_kmh`` (0 for areas without polygons)."""
    if not speed_kmh > 0:
        raise InputError(f"'speed_kmh' must be > 0; received {speed_kmh!r}. Pass e.g. 4 (walking).")
    ids = areas[C.AREA_ID].astype(str).tolist()
    geom = areas.geometry
    has = ~(geom.isna() | geom.is_empty).to_numpy()
    xy = np.zeros((len(ids), 2))
    if has.any():
        centres = geom[has].centroid
        xy[has] = np.column_stack([centres.x, centres.y])
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    dist[~has, :] = 0
    dist[:, ~has] = 0
    return pd.DataFrame(dist / 1000 / speed_kmh * 60, index=ids, columns=ids)


def assign_teams(
    schedule: pd.DataFrame,
    areas: pd.DataFrame,
    *,
    teams: int | None = None,
    speed_kmh: float = WALKING_SPEED_KMH,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The schedule with a ``team`` column (1..k), and the figures (teams needed, speed).

    ``teams`` None uses the smallest number that can run the schedule; a number below it is
    refused, naming it.
    """
    minutes = travel_matrix(areas, speed_kmh)
    frame = schedule.sort_values([C.START_UTC, C.AREA_ID], kind="mergesort").reset_index()
    n = len(frame)
    start = frame[C.START_UTC].to_numpy("datetime64[m]").astype(np.int64)
    end = frame[C.END_UTC].to_numpy("datetime64[m]").astype(np.int64)
    ids = frame[C.AREA_ID].astype(str).to_numpy()
    pos = minutes.index.get_indexer(pd.Index(ids))
    travel = minutes.to_numpy()[np.ix_(pos, pos)]
    follows = (end[:, None] + travel) <= start[None, :]
    np.fill_diagonal(follows, False)
    match = maximum_bipartite_matching(csr_matrix(follows), perm_type="column") if n else np.array([])
    needed = n - int((match >= 0).sum())
    if teams is not None and teams < needed:
        raise InputError(
            f"the schedule needs at least {needed} teams (overlapping visits, or areas too far apart to "
            f"reach in time at {speed_kmh:g} km/h); received teams={teams}. Pass --teams {needed} or more, "
            "or plan fewer visits a day."
        )
    nxt = {int(i): int(j) for i, j in enumerate(match) if j >= 0}
    has_prev = set(nxt.values())
    team = np.zeros(n, dtype=np.int64)
    for number, head in enumerate([i for i in range(n) if i not in has_prev], start=1):
        i: int | None = head
        while i is not None:
            team[i] = number
            i = nxt.get(i)
    frame["team"] = team
    out = frame.set_index("index").loc[schedule.index]
    out.index.name = schedule.index.name
    return out, {
        "teams_needed": needed,
        "teams": teams if teams is not None else needed,
        "team_speed_kmh": float(speed_kmh),
    }


def check_teams(schedule: pd.DataFrame, areas: pd.DataFrame, speed_kmh: float = WALKING_SPEED_KMH) -> int:
    """Consecutive visit pairs, within any team, that overlap or cannot be reached in time."""
    minutes = travel_matrix(areas, speed_kmh)
    bad = 0
    for _, visits in schedule.sort_values(C.START_UTC).groupby("team"):
        a, b = visits.iloc[:-1], visits.iloc[1:]
        gap = (b[C.START_UTC].to_numpy() - a[C.END_UTC].to_numpy()) / np.timedelta64(1, "m")
        need = [minutes.at[str(x), str(y)] for x, y in zip(a[C.AREA_ID], b[C.AREA_ID], strict=True)]
        bad += int((gap < np.asarray(need) - 1e-9).sum())
    return bad
