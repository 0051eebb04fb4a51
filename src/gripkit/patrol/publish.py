"""Publish a stored plan to officers: each planned visit of team T goes to team T's officers.

A roster (CSV or frame) has one row per officer: ``officer`` (a dashboard user with role
officer), ``team`` (a team number of the plan, :mod:`gripkit.patrol.teams`) and an optional
``role`` (free text such as ``lead``, shown as the patrol's note). Every planned visit of team T
between ``start`` and ``end`` (default: the whole plan) becomes one ``officer_patrols`` row per
officer of team T, with the plan id, team, visit number, start (UTC, and local ``HH:MM``) and
minutes, which the officers' phone page and ``/api/me/visits`` show.

Publishing the same plan and range again replaces what was published there before (the roster
given is the assignment of that range), except patrols on which an officer already recorded a
visit: those are kept, and not published twice.

Examples
--------
>>> import pandas as pd
>>> read_roster(pd.DataFrame({"officer": ["pc_a", "pc_b"], "team": ["1", "2"]})).to_dict("list")
{'officer': ['pc_a', 'pc_b'], 'team': [1, 2], 'role': ['', '']}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.patrol.experiment import parse_date
from gripkit.patrol.schedule import LONDON
from gripkit.patrol.store import load_plan
from gripkit.results import to_jsonable
from gripkit.workspace import Workspace

ROSTER_COLUMNS = ("officer", "team", "role")
#: longest ``role`` text kept (characters)
MAX_ROLE = 40


@dataclass
class Published:
    """What :func:`publish` stored: per team its officers, planned visits and assignments."""

    plan_id: int
    start: date
    end: date
    teams: dict[int, dict[str, Any]]
    unstaffed: dict[int, int] = field(default_factory=dict)
    replaced: int = 0
    kept: int = 0

    @property
    def assignments(self) -> int:
        """Officer-visits published (one row per officer per visit)."""
        return sum(int(t["assignments"]) for t in self.teams.values())

    @property
    def visits(self) -> int:
        """Planned visits published (each to every officer of its team)."""
        return sum(int(t["visits"]) for t in self.teams.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe counts."""
        out: dict[str, Any] = to_jsonable(
            {
                "plan_id": self.plan_id,
                "start": self.start,
                "end": self.end,
                "visits": self.visits,
                "assignments": self.assignments,
                "teams": {str(k): v for k, v in self.teams.items()},
                "unstaffed_visits": {str(k): v for k, v in self.unstaffed.items()},
                "replaced": self.replaced,
                "kept": self.kept,
            }
        )
        return out

    def summary(self) -> str:
        """One paragraph: what went to whom, what was left without officers, what was replaced."""
        officers = sum(len(t["officers"]) for t in self.teams.values())
        parts = [
            f"team {k}: {t['visits']} visits x {len(t['officers'])} officer(s) = {t['assignments']}"
            for k, t in sorted(self.teams.items())
        ]
        text = (
            f"Published plan {self.plan_id} from {self.start} to {self.end}: {self.visits:,} planned visits "
            f"to {officers} officer(s) in {len(self.teams)} team(s), {self.assignments:,} assignments "
            f"({'; '.join(parts)})."
        )
        if self.unstaffed:
            gaps = ", ".join(f"team {k} ({n} visits)" for k, n in sorted(self.unstaffed.items()))
            text += f" No officer in the roster for {gaps}: those visits are not published."
        if self.replaced:
            text += f" Replaced {self.replaced:,} assignments published earlier in this range."
        if self.kept:
            text += f" Kept {self.kept:,} assignments on which a visit was already recorded."
        return text


def read_roster(source: str | Path | IO[bytes] | pd.DataFrame) -> pd.DataFrame:
    """The roster (a CSV path or file, or a frame) as ``officer, team, role`` (team an int), checked;
    InputError if not."""
    what = f"roster {source}" if isinstance(source, str | Path) else "the roster"
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    else:
        try:
            frame = pd.read_csv(source, dtype=str, keep_default_na=False, skipinitialspace=True)
        except FileNotFoundError:
            raise InputError(
                f"no roster file at {source}; pass --roster a CSV with columns officer,team,role."
            ) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(
                f"{what} is not a readable CSV ({exc}); it needs columns officer,team,role."
            ) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in ("officer", "team") if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {', '.join(missing)}; received columns "
            f"{', '.join(frame.columns) or 'none'}. "
            "A roster has one row per officer: officer,team,role (e.g. pc_smith,1,lead)."
        )
    if frame.empty:
        raise InputError(f"{what} has no rows; add one row per officer: officer,team,role.")
    officers = frame["officer"].astype(str).str.strip()
    teams = pd.to_numeric(frame["team"].astype(str).str.strip(), errors="coerce")
    bad = frame.index[teams.isna() | (teams < 1) | (teams % 1 != 0)]
    if len(bad):
        row = int(bad[0])
        raise InputError(
            f"{what}: 'team' must be a team number 1, 2, ...; received {frame['team'].iloc[row]!r} on row "
            f"{row + 2}. Use the team numbers of the plan (`gripkit plan --teams N`)."
        )
    if (officers == "").any():
        raise InputError(f"{what}: 'officer' is blank on row {int(officers.eq('').to_numpy().argmax()) + 2}.")
    twice = sorted(set(officers[officers.duplicated()]))
    if twice:
        raise InputError(
            f"{what} lists {', '.join(twice)} more than once; an officer is in one team per publication. "
            "Keep one row per officer."
        )
    roles = (
        frame["role"].astype(str).str.strip() if "role" in frame.columns else pd.Series("", index=frame.index)
    )
    long = roles.str.len() > MAX_ROLE
    if long.any():
        raise InputError(
            f"{what}: 'role' may be at most {MAX_ROLE} characters; received {roles[long].iloc[0]!r}."
        )
    return pd.DataFrame({"officer": officers, "team": teams.astype(int), "role": roles}).reset_index(
        drop=True
    )


def publish(
    ws: Workspace,
    plan_id: int,
    roster: str | Path | IO[bytes] | pd.DataFrame,
    *,
    start: date | str | None = None,
    end: date | str | None = None,
    created_by: str | None = None,
) -> Published:
    """Assign plan ``plan_id``'s visits from ``start`` to ``end`` (inclusive; default the whole plan)
    to the roster's officers by team, in ``officer_patrols``; see the module docstring.

    Refused (InputError, nothing written): an unknown plan, a plan stored without teams, a range
    holding no planned visit, roster teams the plan does not have, officers who are not dashboard
    users with role officer.
    """
    people = read_roster(roster)
    plan = load_plan(ws, _plan_id(plan_id))
    visits = plan.schedule
    if visits.empty:
        raise InputError(
            f"plan {plan.plan_id} has no planned visits; received plan_id={plan_id}. Make a plan first."
        )
    if visits["team"].isna().any():
        raise InputError(
            f"plan {plan.plan_id} was stored before visits kept their team; received plan_id={plan_id}. "
            "Make the plan again with `gripkit plan` (same seed and options give the same visits)."
        )
    first, last = min(visits[C.DATE]), max(visits[C.DATE])
    lo = first if start is None else parse_date("start", start)
    hi = last if end is None else parse_date("end", end)
    if lo > hi:
        raise InputError(f"'start' must not be after 'end'; received {lo} and {hi}. Swap them.")
    chosen = visits[(visits[C.DATE] >= lo) & (visits[C.DATE] <= hi)].copy()
    if chosen.empty:
        raise InputError(
            f"plan {plan.plan_id} has no planned visits from {lo} to {hi}; it runs from {first} to {last}. "
            "Pass dates inside the plan, or none for the whole plan."
        )
    plan_teams = sorted({int(t) for t in visits["team"]})
    unknown = sorted(set(people["team"]) - set(plan_teams))
    if unknown:
        raise InputError(
            f"the roster names team(s) {', '.join(map(str, unknown))} that plan {plan.plan_id} lacks; "
            f"its teams are {', '.join(map(str, plan_teams))}. Fix the roster's team column."
        )
    _check_officers(ws, people["officer"].tolist())
    chosen["team"] = chosen["team"].astype(int)
    rows = _rows(chosen, people, plan.plan_id, created_by)
    with ws.transaction() as con:
        replaced, kept = _write(con, plan.plan_id, lo, hi, rows)
    teams: dict[int, dict[str, Any]] = {}
    per_team = chosen["team"].value_counts()
    for team in sorted({int(t) for t in people["team"]}):
        n = int(per_team.get(team, 0))
        names = people.loc[people["team"] == team, "officer"].tolist()
        teams[team] = {"officers": names, "visits": n, "assignments": n * len(names)}
    counts = zip(per_team.index.tolist(), per_team.tolist(), strict=True)
    unstaffed = {int(t): int(n) for t, n in sorted(counts) if int(t) not in teams}
    return Published(plan.plan_id, lo, hi, teams, unstaffed, replaced, kept)


def _plan_id(value: Any) -> int:
    if isinstance(value, bool):
        raise InputError(f"'plan_id' must be a plan number; received {value!r}.")
    try:
        return int(str(value).strip())
    except ValueError:
        raise InputError(
            f"'plan_id' must be a plan number; received {value!r}. `gripkit plan --json` prints it."
        ) from None


def _check_officers(ws: Workspace, names: list[str]) -> None:
    """Every name a dashboard user with role officer, enabled; InputError naming the fix if not."""
    found = {
        r[0]: (r[1], bool(r[2]))
        for r in ws.con.execute(
            "SELECT username, role, disabled FROM users WHERE username IN (SELECT unnest(?))", [names]
        ).fetchall()
    }
    missing = [n for n in names if n not in found]
    if missing:
        first = missing[0]
        raise InputError(
            f"{len(missing)} roster officer(s) are not dashboard users: {', '.join(missing[:10])}. Add each "
            f"with `gripkit users add {first} --role officer` (or an admin adds them on the dashboard's "
            "Users page), then publish again."
        )
    wrong = [n for n in names if found[n][0] != "officer"]
    if wrong:
        raise InputError(
            f"roster officer(s) {', '.join(wrong[:10])} are dashboard users without the officer role "
            f"(role {found[wrong[0]][0]}); patrols go to officers. Run `gripkit users role {wrong[0]} "
            "--role officer`, or remove them from the roster."
        )
    disabled = [n for n in names if found[n][1]]
    if disabled:
        raise InputError(
            f"roster officer(s) {', '.join(disabled[:10])} are disabled users; remove them from the roster."
        )


def _rows(visits: pd.DataFrame, people: pd.DataFrame, plan_id: int, created_by: str | None) -> pd.DataFrame:
    """One row per officer per visit of their team, in ``officer_patrols``' columns (no ids yet)."""
    start = pd.to_datetime(visits[C.START_UTC])
    minutes = ((pd.to_datetime(visits[C.END_UTC]) - start).dt.total_seconds() // 60).astype(int)
    local = start.dt.tz_localize("UTC").dt.tz_convert(LONDON).dt.strftime("%H:%M")
    base = pd.DataFrame(
        {
            "area_id": visits[C.AREA_ID].astype(str).to_numpy(),
            "date": pd.to_datetime(visits[C.DATE]).to_numpy(),
            "start_time": local.to_numpy(),
            "minutes": minutes.to_numpy(),
            "visit": visits[C.VISIT].astype(int).to_numpy(),
            "team": visits["team"].to_numpy(),
            "start_utc": start.to_numpy(),
        }
    )
    merged = base.merge(people, on="team", how="inner", sort=False)
    merged["note"] = [
        f"team {t}" + (f", {r}" if r else "") for t, r in zip(merged["team"], merged["role"], strict=True)
    ]
    merged["plan_id"] = plan_id
    merged["created_by"] = created_by
    return merged.sort_values(["start_utc", "team", "officer"], kind="mergesort").reset_index(drop=True)


_COLUMNS = "officer, area_id, date, start_time, minutes, plan_id, note, created_by, team, visit, start_utc"


def _write(con: Any, plan_id: int, lo: date, hi: date, rows: pd.DataFrame) -> tuple[int, int]:
    """Replace the plan's published patrols in ``lo..hi`` by ``rows`` (inside a transaction), keeping
    those with recorded visits; (replaced, kept)."""
    scope = "plan_id = ? AND visit IS NOT NULL AND date BETWEEN ? AND ?"
    recorded = "patrol_id IN (SELECT patrol_id FROM officer_visits)"
    params = [plan_id, lo, hi]
    replaced = _count(con, f"SELECT count(*) FROM officer_patrols WHERE {scope} AND NOT {recorded}", params)
    con.execute(f"DELETE FROM officer_patrols WHERE {scope} AND NOT {recorded}", params).fetchall()
    kept = _count(con, f"SELECT count(*) FROM officer_patrols WHERE {scope}", params)
    start = _count(con, "SELECT coalesce(max(patrol_id), 0) FROM officer_patrols", [])
    con.register("_published", rows)
    try:
        con.execute(
            f"INSERT INTO officer_patrols (patrol_id, {_COLUMNS}, created_at) "
            f"SELECT ? + row_number() OVER (ORDER BY start_utc, team, officer), {_COLUMNS}, now() "
            "FROM _published r WHERE NOT EXISTS (SELECT 1 FROM officer_patrols p WHERE p.plan_id = ? "
            "AND p.officer = r.officer AND p.date = r.date AND p.area_id = r.area_id AND p.visit = r.visit)",
            [start, plan_id],
        ).fetchall()
    finally:
        con.unregister("_published")
    return replaced, kept


def _count(con: Any, sql: str, params: list[Any]) -> int:
    rows = con.execute(sql, params).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0
