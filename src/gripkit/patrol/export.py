"""Exports: the plan CSV, and for officers the schedule CSV, iCalendar (.ics) and a printable briefing
(:mod:`gripkit.patrol.briefing`).

All four are deterministic (no creation timestamps), so a plan re-derived from its seed exports
byte-identical files. The .ics follows RFC 5545 (UTC times, CRLF lines folded at 75 octets).
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.hotspots.labels import place
from gripkit.patrol.schedule import SCHEDULE_COLUMNS

PLAN_CSV_COLUMNS = (C.DATE, C.AREA_ID, C.TREATED, C.BLOCK, C.VISITS)
CSV_COLUMNS = (C.DATE, "shift", C.AREA_ID, C.VISIT, "start_local", "end_local", C.OFFICERS)


def plan_csv(assignments: pd.DataFrame, path: str | Path | None = None) -> str:
    """The plan as CSV, one row per area-day: ``date, area_id, treated, block, visits``; return the text.

    ``\\n`` line ends and ISO dates, so the text depends only on the seed, the area ids and the
    parameters: byte-identical whenever and wherever it is written.

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> a = pd.DataFrame({"date": [dt.date(2024, 6, 1)], "area_id": ["E01017540"], "treated": [1],
    ...                   "block": [1], "visits": [1]})
    >>> plan_csv(a).splitlines()
    ['date,area_id,treated,block,visits', '2024-06-01,E01017540,1,1,1']
    """
    frame_given = isinstance(assignments, pd.DataFrame)
    missing = [c for c in PLAN_CSV_COLUMNS if not frame_given or c not in assignments.columns]
    if missing:
        raise InputError(
            f"'assignments' must be a frame with {', '.join(PLAN_CSV_COLUMNS)}; it lacks "
            f"{', '.join(missing)}. Pass a plan's assignments (PlanResult.assignments)."
        )
    frame = assignments[list(PLAN_CSV_COLUMNS)].copy()
    frame[C.DATE] = [pd.Timestamp(d).date().isoformat() for d in frame[C.DATE]]
    buffer = StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return _write(buffer.getvalue(), path)


def schedule_csv(schedule: pd.DataFrame, path: str | Path | None = None) -> str:
    """The schedule as CSV (local Europe/London times with offsets, plus UTC, and the ``team`` of
    each visit when the plan assigned teams); return the text.

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> from gripkit.patrol.schedule import schedule_visits
    >>> plan = pd.DataFrame({"date": [dt.date(2024, 6, 1)], "area_id": ["A"], "visits": [1]})
    >>> schedule_csv(schedule_visits(plan, seed=1)).splitlines()[0]
    'date,shift,area_id,visit,start_local,end_local,officers,start_utc,end_utc'
    """
    _check(schedule)
    team = ["team"] if "team" in schedule.columns else []
    frame = schedule[[*CSV_COLUMNS, C.START_UTC, C.END_UTC, *team]].copy()
    frame[C.DATE] = [pd.Timestamp(d).date().isoformat() for d in frame[C.DATE]]
    for name in (C.START_UTC, C.END_UTC):
        frame[name] = pd.to_datetime(frame[name]).dt.strftime("%Y-%m-%dT%H:%MZ")
    buffer = StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return _write(buffer.getvalue(), path)


def schedule_ics(
    schedule: pd.DataFrame,
    areas: gpd.GeoDataFrame | None = None,
    path: str | Path | None = None,
    *,
    plan_id: int | str = "plan",
) -> str:
    """The schedule as an iCalendar file: one VEVENT per visit, times in UTC.

    Parameters
    ----------
    schedule : DataFrame
        From :func:`~gripkit.patrol.schedule.schedule_visits`.
    areas : GeoDataFrame, optional
        Area polygons; adds ``GEO`` (centroid latitude;longitude) to each event.
    path : str or Path, optional
        Where to write the file.
    plan_id : int or str
        Used in event UIDs (``<plan>-<date>-<area>-<visit>@gripkit``).

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> from gripkit.patrol.schedule import schedule_visits
    >>> plan = pd.DataFrame({"date": [dt.date(2024, 6, 1)], "area_id": ["A"], "visits": [1]})
    >>> text = schedule_ics(schedule_visits(plan, seed=1))
    >>> text.startswith("BEGIN:VCALENDAR\\r\\n"), text.count("BEGIN:VEVENT")
    (True, 1)
    """
    _check(schedule)
    centres, names = _centres(areas), _names(areas)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//gripkit//patrol plan//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:Patrol plan {plan_id}",
    ]
    stamp = pd.to_datetime(schedule[C.START_UTC]).min()
    for row in schedule.to_dict("records"):
        start, end = pd.Timestamp(row[C.START_UTC]), pd.Timestamp(row[C.END_UTC])
        minutes = int((end - start).total_seconds() // 60)
        area, visit = str(row[C.AREA_ID]), row[C.VISIT]
        lines += [
            "BEGIN:VEVENT",
            f"UID:{plan_id}-{pd.Timestamp(row[C.DATE]).date().isoformat()}-{area}-{visit}@gripkit",
            f"DTSTAMP:{_ics_time(stamp)}",
            f"DTSTART:{_ics_time(start)}",
            f"DTEND:{_ics_time(end)}",
            _escape_line("SUMMARY", f"Patrol {area}: {minutes} min, {row[C.OFFICERS]} officers"),
            _escape_line(
                "DESCRIPTION",
                f"Visit {visit} in window {row['shift']} (Europe/London). "
                f"Start {row['start_local']}. Stay inside the area for the whole visit.",
            ),
            _escape_line("LOCATION", names.get(area, area)),
        ]
        if area in centres:
            lat, lon = centres[area]
            lines.append(f"GEO:{lat:.6f};{lon:.6f}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    text = "".join(_fold(line) + "\r\n" for line in lines)
    return _write(text, path)


def briefing_html(
    schedule: pd.DataFrame,
    areas: gpd.GeoDataFrame | None = None,
    path: str | Path | None = None,
    **options: Any,
) -> str:
    """The printable briefing, one A4 page per area (:func:`gripkit.patrol.briefing.briefing_html`)."""
    from gripkit.patrol.briefing import briefing_html as page

    return page(schedule, areas, path, **options)


def _names(areas: gpd.GeoDataFrame | None) -> dict[str, str]:
    """``area_id`` -> ``"<label> (<area_id>)"`` (:func:`gripkit.hotspots.labels.place`) of labelled areas."""
    if areas is None or C.LABEL not in areas.columns:
        return {}
    rows = areas[[C.AREA_ID, C.LABEL]].rename(columns={C.AREA_ID: C.UNIT_ID}).to_dict("records")
    return {str(r[C.UNIT_ID]): place(r) for r in rows}


def _centres(areas: gpd.GeoDataFrame | None) -> dict[str, tuple[float, float]]:
    if areas is None or len(areas) == 0 or areas.crs is None:
        return {}
    has = ~(areas.geometry.isna() | areas.geometry.is_empty)
    centres = areas[has].geometry.centroid.to_crs(C.WGS84)
    ids = areas.loc[has, C.AREA_ID].astype(str)
    return {a: (float(p.y), float(p.x)) for a, p in zip(ids, centres, strict=True)}


def _ics_time(moment: pd.Timestamp) -> str:
    return f"{moment:%Y%m%dT%H%M%S}Z"


def _escape_line(name: str, text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
    return f"{name}:{escaped}"


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    pieces: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not pieces else 74):
            pieces.append(current.decode("utf-8"))
            current = b""
        current += encoded
    pieces.append(current.decode("utf-8"))
    return "\r\n ".join(pieces)


def _check(schedule: Any) -> None:
    if not isinstance(schedule, pd.DataFrame) or set(SCHEDULE_COLUMNS) - set(schedule.columns):
        raise InputError(
            "the schedule must be a DataFrame from gripkit.patrol.schedule_visits with columns "
            f"{', '.join(SCHEDULE_COLUMNS)}; received {type(schedule).__name__}."
        )


def _write(text: str, path: str | Path | None) -> str:
    if path is not None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
    return text
