"""What the dashboard shows, read or computed from the workspace: one small function per need.

Hotspot maps are computed by :func:`gripkit.hotspots.find.find_hotspots` (``store=False``) for the
:class:`~gripkit.hotspots.request.HotspotRequest` of a :class:`HotspotQuery` -- the same request
the CLI and the report build, so the map's hot units are the CLI's -- and served as GeoJSON in
WGS84. Stored results of the other stages are read with
:meth:`~gripkit.workspace.Workspace.latest_result` by their registered kind (:data:`RESULT_KINDS`).
Patrols come from the ``officer_patrols`` table, which the lead can later fill from the patrol
planner's ``plan_visits``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.harm.tables import list_harm_tables, load_harm_table
from gripkit.hotspots.find import HotspotResult, hotspots_from_crimes, request_crimes
from gripkit.hotspots.request import AUTO, WEIGHTS_CHOICES, HotspotRequest
from gripkit.ingestion.checks import month_bounds
from gripkit.results import KINDS, StoredResult
from gripkit.units.build import build_units
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit.dashboard")
MAX_FEATURES = 5000
#: longest echo of a request value in an error message (characters)
MAX_SHOWN = 40
#: longest note on a patrol (characters)
MAX_NOTE = 500
DEFAULT_LIMIT = 500


#: units offered by the map (street segments need a road network file, so they are not offered)
UNITS: tuple[str, ...] = ("grid", "hex", "lsoa")


#: hotspot methods offered by the map: name -> description (any method of gripkit.hotspots.methods)
METHODS: dict[str, str] = {
    "count": "crime counts and harm per unit",
    "gistar": "Getis-Ord Gi* hot spots (FDR-corrected)",
    "kde": "kernel density (grid units only)",
}
#: stored result kinds the dashboard shows (each a registered kind of gripkit.results.KINDS)
RESULT_KINDS: tuple[str, ...] = (
    "hotspots",
    "backtest",
    "plan",
    "compliance",
    "power",
    "evaluation",
    "allocation",
)
#: column that orders each method's units on the map (descending); count uses harm rank
METHOD_ORDER = {"gistar": "gi_z", "kde": "density"}


@dataclass(frozen=True)
class HotspotQuery:
    """The map's filters: unit, method, crime types, months (inclusive ``YYYY-MM``), harm table,
    weights (``auto``, ``harm`` or ``crimes``: decided by :class:`HotspotRequest`), limit; and the
    server's LSOA ``boundaries`` file (not a URL filter; None: the bundled LSOA 2011 polygons)."""

    unit: str = "grid"
    method: str = "count"
    crime_types: tuple[str, ...] = ()
    month_from: str | None = None
    month_to: str | None = None
    harm: str = C.DEFAULT_HARM_TABLE
    weights: str = AUTO
    limit: int = DEFAULT_LIMIT
    boundaries: str | None = None

    def __post_init__(self) -> None:
        for name in ("unit", "method", "harm", "weights"):
            if not isinstance(getattr(self, name), str):
                raise InputError(f"'{name}' must be text; received {shown(getattr(self, name))}.")
        choose("unit", self.unit, UNITS)
        choose("method", self.method, tuple(METHODS))
        choose("harm", self.harm, harm_choices())
        choose("weights", self.weights, WEIGHTS_CHOICES)
        if len(self.crime_types) > len(C.CRIME_TYPES):
            raise InputError(
                f"'crime_type' may be given at most {len(C.CRIME_TYPES)} times (once per police.uk "
                f"category); received {len(self.crime_types)}. Leave it out to map every category."
            )
        unknown = sorted(set(self.crime_types) - set(C.CRIME_TYPES))
        if unknown:
            raise InputError(
                f"unknown crime type(s) {', '.join(shown(t) for t in unknown[:3])}; "
                f"choose from: {', '.join(C.CRIME_TYPES)}."
            )
        object.__setattr__(self, "crime_types", tuple(dict.fromkeys(self.crime_types)))
        for name in ("month_from", "month_to"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, month_text(name, value))
        if self.month_from and self.month_to and self.month_from > self.month_to:
            raise InputError(
                f"'month_from' must not be after 'month_to'; received {self.month_from} and "
                f"{self.month_to}. Swap them."
            )
        whole = isinstance(self.limit, int) and not isinstance(self.limit, bool)
        if not whole or not 1 <= self.limit <= MAX_FEATURES:
            raise InputError(
                f"'limit' must be a whole number between 1 and {MAX_FEATURES}; received {shown(self.limit)}."
            )
        self.request()  # the request's own checks (e.g. weights='harm' with harm='none')

    def request(self) -> HotspotRequest:
        """The :class:`~gripkit.hotspots.request.HotspotRequest` the map runs for these filters."""
        months = (self.month_from, self.month_to) if (self.month_from or self.month_to) else None
        return HotspotRequest(
            unit=self.unit,
            method=self.method,
            crime_types=self.crime_types or None,
            months=months,
            harm=self.harm,
            weights=self.weights,
            boundaries=self.boundaries,
        )

    @property
    def key(self) -> tuple[Any, ...]:
        """Hashable identity of the computation (the limit only trims the output)."""
        return (
            self.unit,
            self.method,
            tuple(sorted(self.crime_types)),
            self.month_from,
            self.month_to,
            self.harm,
            self.weights,
            self.boundaries,
        )

    def as_params(self) -> dict[str, Any]:
        """The query as JSON-friendly parameters."""
        return {
            "unit": self.unit,
            "method": self.method,
            "crime_types": list(self.crime_types),
            "month_from": self.month_from,
            "month_to": self.month_to,
            "harm": self.harm,
            "weights": self.weights,
            "limit": self.limit,
        }


def harm_choices() -> tuple[str, ...]:
    """Harm tables the dashboard accepts: the names known to gripkit (never a file path), and none.

    >>> {"cchi", "ons_css", "none"} <= set(harm_choices())
    True
    """
    return (*list_harm_tables(), "none")


def shown(value: Any, width: int = MAX_SHOWN) -> str:
    """``repr(value)`` cut to ``width`` characters, for error messages that echo a request value.

    >>> shown("x" * 100, 12)
    "'xxxxxxxxxx…"
    """
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def choose(name: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices`` (exactly), else an InputError listing them."""
    if value not in choices:
        raise InputError(
            f"'{name}' is not one the dashboard offers; received {shown(value)}. "
            f"Choose from: {', '.join(choices)}."
        )
    return value


def month_text(name: str, value: str) -> str:
    """A ``YYYY-MM`` month that ingest accepts, normalised (``2024-1`` -> ``2024-01``).

    The bounds are ingest's (:func:`gripkit.ingestion.checks.month_bounds`: 1990-01 to next month),
    so the map refuses exactly the months ingest quarantines as ``bad_month``.

    >>> month_text("month_from", "2024-1")
    '2024-01'
    """
    first, last = month_bounds()
    text = str(value).strip()
    try:
        year, month = (int(part) for part in text.split("-"))
        valid = len(text) <= 7 and text.isascii() and 1 <= month <= 12
        valid = valid and first <= date(year, month, 1) <= last
    except ValueError:
        valid = False
    if not valid:
        raise InputError(
            f"'{name}' must be a month YYYY-MM from {first:%Y-%m} to {last:%Y-%m} (earlier or later "
            f"months are impossible: ingest quarantines them as bad_month); received {shown(value)}. "
            "Pass e.g. 2024-01."
        )
    return f"{year:04d}-{month:02d}"


def compute_hotspots(ws: Workspace, query: HotspotQuery) -> HotspotResult:
    """Run the query's :class:`HotspotRequest` on the workspace's crimes (not stored: a map view).

    The server splits this in two: :func:`map_crimes` holding the workspace, then
    :func:`hotspots_of` without it (the steps of :func:`~gripkit.hotspots.find.find_hotspots`).
    """
    return hotspots_of(map_crimes(ws, query), query)


def map_crimes(ws: Workspace, query: HotspotQuery) -> pd.DataFrame:
    """The crimes the query's request selects; rows whose month is outside ingest's bounds
    (:func:`~gripkit.ingestion.checks.month_bounds`: odd data that a quarantine at ingest should
    have caught) are left out and logged, not a crash."""
    crimes = request_crimes(ws, query.request())
    first, last = month_bounds()
    months = pd.to_datetime(crimes[C.MONTH])
    odd = ~months.between(pd.Timestamp(first), pd.Timestamp(last))
    if odd.any():
        log.warning(
            "%d crime rows with a month outside %s..%s left off the map", int(odd.sum()), first, last
        )
        crimes = crimes[~odd.to_numpy()].reset_index(drop=True)
        if crimes.empty:
            raise InputError("no crimes with a valid month match the filters; widen the filters.")
    return crimes


def hotspots_of(crimes: pd.DataFrame, query: HotspotQuery) -> HotspotResult:
    """The hotspot result of the query's request on ``crimes`` from :func:`map_crimes`."""
    request = query.request()
    request.announce()
    return hotspots_from_crimes(
        crimes,
        request.unit_spec(),
        request.method_spec(),
        load_harm_table(request.harm),
        serious_violence=request.serious_violence,
        request=request,
    )


def latest_result(ws: Workspace, kind: str) -> StoredResult | None:
    """The newest stored result of ``kind`` (one of :data:`RESULT_KINDS`), or None if not run yet.

    A kind the dashboard does not show is a :class:`KeyError` (the API answers 404).
    """
    if kind not in RESULT_KINDS:
        raise KeyError(kind)
    return ws.latest_result(kind)


def result_kinds_message(kind: str) -> str:
    """What the API says for a kind it does not serve."""
    why = "not shown on the dashboard" if kind in KINDS else "no stage writes it"
    return f"unknown result kind {kind!r} ({why}); choose from: {', '.join(RESULT_KINDS)}."


def hotspots_geojson(result: HotspotResult, query: HotspotQuery) -> dict[str, Any]:
    """The top ``query.limit`` units with crimes as a GeoJSON FeatureCollection in WGS84.

    Properties: ``unit_id, label`` (None when the layer has none), ``crimes, harm, harm_rank,
    share_of_harm, cumulative_share, area_m2``; the
    collection carries ``query`` and ``meta`` members (method parameters and provenance).
    """
    frame = result.hotspots
    order = METHOD_ORDER.get(query.method)
    if order in frame.columns:
        frame = frame.sort_values([order, C.HARM_RANK], ascending=[False, True], kind="stable")
    frame = frame[(frame[C.CRIMES] > 0) & frame.geometry.notna()].head(query.limit)
    wgs = frame.to_crs(C.WGS84)
    extras = [c for c in wgs.columns if c not in C.HOTSPOT_COLUMNS and _is_simple(wgs[c])]
    features = []
    geoms = json.loads(wgs.geometry.to_json(to_wgs84=False))["features"]
    for row, geom in zip(wgs.drop(columns=C.GEOMETRY).itertuples(index=False), geoms, strict=True):
        props: dict[str, Any] = {
            C.UNIT_ID: str(row.unit_id),
            C.LABEL: _text(getattr(row, C.LABEL, None)),
            C.CRIMES: int(row.crimes),
            C.HARM: round(float(row.harm), 3),
            C.HARM_RANK: int(row.harm_rank),
            C.SHARE_OF_HARM: _finite(row.share_of_harm),
            C.CUMULATIVE_SHARE: _finite(row.cumulative_share),
            C.AREA_M2: _finite(row.area_m2, 1),
        }
        for name in extras:
            value = getattr(row, name)
            props[name] = bool(value) if isinstance(value, bool | np.bool_) else _finite(value)
        features.append(
            {
                "type": "Feature",
                "id": props[C.UNIT_ID],
                "properties": props,
                "geometry": _round_coords(geom["geometry"]),
            }
        )
    meta = {k: v for k, v in result.meta.items() if k != "workspace"}
    return {"type": "FeatureCollection", "features": features, "query": query.as_params(), "meta": meta}


def _is_simple(column: pd.Series) -> bool:
    """Whether a method's extra column can go into GeoJSON properties (numbers or flags)."""
    return bool(pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _finite(value: Any, digits: int = 6) -> float | None:
    number = float(value)
    return round(number, digits) if np.isfinite(number) else None


def _round_coords(geometry: dict[str, Any]) -> dict[str, Any]:
    def walk(item: Any) -> Any:
        if isinstance(item, list | tuple):
            if item and isinstance(item[0], int | float):
                return [round(float(v), 6) for v in item]
            return [walk(v) for v in item]
        return item

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def unit_detail(
    crimes: pd.DataFrame, result: HotspotResult, query: HotspotQuery, unit_id: str
) -> dict[str, Any]:
    """One unit's rank, monthly trend, crime-type profile and hour × weekday counts (when times exist).

    ``crimes`` are the query's (:func:`map_crimes`); a unit not in ``result`` is a KeyError.
    """
    row = result.hotspots[result.hotspots[C.UNIT_ID].astype(str) == unit_id]
    if row.empty:
        raise KeyError(unit_id)
    request = query.request()
    spec = replace(  # the units the result was computed on (sizes chosen then are in its meta)
        request.unit_spec(),
        cell_size=result.meta.get("cell_size_m") if query.unit == "grid" else None,
        resolution=result.meta.get("resolution") if query.unit == "hex" else None,
    )
    units, _ = build_units(crimes, spec)
    ids = units.assign(crimes)
    mine = crimes[ids.eq(unit_id).fillna(False).to_numpy(dtype=bool)]
    months = mine.groupby(pd.to_datetime(mine[C.MONTH]).dt.strftime("%Y-%m")).size()
    all_months = sorted(pd.to_datetime(crimes[C.MONTH]).dt.strftime("%Y-%m").unique())
    trend = [{"month": m, "crimes": int(months.get(m, 0))} for m in all_months]
    profile = mine[C.CRIME_TYPE].value_counts()
    timed = pd.to_datetime(mine[C.OCCURRED_AT]).dropna()
    hours: list[list[int]] | None = None
    if len(timed):
        grid = np.zeros((7, 24), dtype=int)
        np.add.at(grid, (timed.dt.weekday.to_numpy(), timed.dt.hour.to_numpy()), 1)
        hours = grid.tolist()
    first = row.iloc[0]
    centre = row.to_crs(C.WGS84).geometry.iloc[0].centroid if first.geometry is not None else None
    return {
        C.UNIT_ID: unit_id,
        C.LABEL: _text(first.get(C.LABEL)),
        C.HARM_RANK: int(first[C.HARM_RANK]),
        C.CRIMES: int(first[C.CRIMES]),
        C.HARM: float(first[C.HARM]),
        C.SHARE_OF_HARM: _finite(first[C.SHARE_OF_HARM]),
        "centre": [round(centre.x, 6), round(centre.y, 6)] if centre is not None else None,
        "trend": trend,
        "profile": [{"crime_type": str(k), "crimes": int(v)} for k, v in profile.items()],
        "hour_weekday": hours,
    }


def filter_options(ws: Workspace) -> dict[str, Any]:
    """Crime types and months present in the workspace, for the map's filter form.

    Months are formatted by DuckDB and only those ingest accepts are offered
    (:func:`~gripkit.ingestion.checks.month_bounds`), so an odd month in the data (``0000-01``,
    which Python's dates cannot hold) is left out, not a crash.
    """
    types = [
        r[0]
        for r in ws.con.execute(
            "SELECT DISTINCT crime_type FROM crimes WHERE crime_type IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    first, last = month_bounds()
    months = [
        r[0]
        for r in ws.con.execute(
            "SELECT DISTINCT strftime(month, '%Y-%m') FROM crimes "
            "WHERE month BETWEEN ?::DATE AND ?::DATE ORDER BY 1",
            [first, last],
        ).fetchall()
    ]
    return {
        "crime_types": types,
        "months": months,
        "units": list(UNITS),
        "methods": dict(METHODS),
        "weights": list(WEIGHTS_CHOICES),
        "harm": list(harm_choices()),
    }


# -- patrols and visits (officer_patrols / officer_visits) ---------------------------------------
def patrols(ws: Workspace, officer: str | None = None) -> list[dict[str, Any]]:
    """Assigned patrols, newest day first; only ``officer``'s when given; with any open visit."""
    sql = (
        "SELECT p.patrol_id, p.officer, p.area_id, p.date, p.start_time, p.minutes, p.plan_id, p.note, "
        "p.team, "
        "(SELECT max(v.visit_id) FROM officer_visits v WHERE v.patrol_id = p.patrol_id "
        " AND v.stopped_at IS NULL) AS open_visit, "
        "(SELECT count(*) FROM officer_visits v WHERE v.patrol_id = p.patrol_id) AS visits "
        "FROM officer_patrols p"
    )
    params: list[Any] = []
    if officer is not None:
        sql += " WHERE p.officer = ?"
        params.append(officer)
    rows = ws.con.execute(sql + " ORDER BY p.date DESC, p.start_time, p.patrol_id", params).fetchall()
    names = (
        "patrol_id",
        "officer",
        "area_id",
        "date",
        "start_time",
        "minutes",
        "plan_id",
        "note",
        "team",
        "open_visit",
        "visits",
    )
    return [_jsonable(dict(zip(names, r, strict=True))) for r in rows]


def patrol(ws: Workspace, patrol_id: int) -> dict[str, Any] | None:
    """One patrol by id, or None."""
    found = [p for p in patrols(ws) if p["patrol_id"] == patrol_id]
    return found[0] if found else None


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in record.items()}


def assign_patrol(
    ws: Workspace,
    *,
    officer: str,
    area_id: str,
    day: date | str,
    start_time: str | None = None,
    minutes: int = 15,
    created_by: str | None = None,
    plan_id: int | None = None,
    note: str | None = None,
) -> int:
    """Assign a patrol of ``minutes`` in ``area_id`` on ``day`` to ``officer``; returns its id."""
    user = ws.con.execute("SELECT role FROM users WHERE username = ?", [officer]).fetchone()
    if user is None or user[0] != "officer":
        raise InputError(f"'officer' must be an existing officer's user name; received {officer!r}.")
    if not area_id or len(area_id) > 100 or not area_id.isprintable():
        raise InputError(f"'area_id' must be a unit id such as g10_20; received {shown(area_id)}.")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 24 * 60:
        raise InputError(f"'minutes' must be a whole number from 1 to 1440; received {shown(minutes)}.")
    try:
        when = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
        valid = len(str(day)) == 10 and 1900 <= when.year <= 2099
    except ValueError:
        valid = False
    if not valid:
        raise InputError(f"'date' must be a day YYYY-MM-DD from 1900 to 2099; received {shown(day)}.")
    if start_time and not _is_clock(start_time):
        raise InputError(f"'start_time' must be a time HH:MM such as 09:30; received {shown(start_time)}.")
    if note is not None and len(note) > MAX_NOTE:
        raise InputError(f"'note' may be at most {MAX_NOTE} characters; received {len(note)}.")
    row = ws.con.execute("SELECT coalesce(max(patrol_id), 0) + 1 FROM officer_patrols").fetchone()
    pid = int(row[0]) if row else 1
    ws.con.execute(
        "INSERT INTO officer_patrols (patrol_id, officer, area_id, date, start_time, minutes, plan_id, note, "
        "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [pid, officer, area_id, when, start_time or None, int(minutes), plan_id, note, created_by],
    )
    return pid


def _is_clock(text: str) -> bool:
    """Whether ``text`` is a 24-hour time ``HH:MM``."""
    hours, _, minutes = text.partition(":")
    return (
        len(text) == 5
        and hours.isdigit()
        and minutes.isdigit()
        and text.isascii()
        and int(hours) < 24
        and int(minutes) < 60
    )


def start_visit(ws: Workspace, patrol_id: int, officer: str) -> int:
    """Record that ``officer`` arrived in the patrol's area now; returns the visit id."""
    found = patrol(ws, patrol_id)
    if found is None or found["officer"] != officer:
        raise PermissionError(patrol_id)
    if found["open_visit"] is not None:
        return int(found["open_visit"])
    row = ws.con.execute("SELECT coalesce(max(visit_id), 0) + 1 FROM officer_visits").fetchone()
    vid = int(row[0]) if row else 1
    ws.con.execute(
        "INSERT INTO officer_visits VALUES (?, ?, ?, ?, now(), NULL)",
        [vid, patrol_id, officer, found["area_id"]],
    )
    return vid


def stop_visit(ws: Workspace, patrol_id: int, officer: str) -> int | None:
    """Close the officer's open visit on this patrol (if any); returns its id."""
    found = patrol(ws, patrol_id)
    if found is None or found["officer"] != officer:
        raise PermissionError(patrol_id)
    if found["open_visit"] is None:
        return None
    ws.con.execute("UPDATE officer_visits SET stopped_at = now() WHERE visit_id = ?", [found["open_visit"]])
    return int(found["open_visit"])
