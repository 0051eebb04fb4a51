"""The printable officer briefing: one A4 page per area, per team and shift, as HTML or PDF.

Each page has the area's name as its heading (the ``label`` of :mod:`gripkit.hotspots.labels`, the
code small beneath), a map (:func:`gripkit.mapcontext.draw_context`: the area outlined over LSOA
boundaries and names, and streets when a road file is given), a meeting point, the visit times,
the team's other areas that shift, and a QR code with the short link to the dashboard's officer
page (where the officer records the visit).

The meeting point is the area's representative point (:meth:`shapely.Polygon.representative_point`,
always inside the area, near its centre for compact areas) and, with roads, the named street
nearest it (:func:`gripkit.mapcontext.nearest_street`). Maps draw on what gripkit holds: the
bundled LSOA 2011 boundaries of England and Wales where the map lies in them, else the plan's areas;
street maps need ``roads`` (OpenStreetMap or OS Open Roads / OpenMap Local lines).

PDF is printed by headless Chromium (``chromium --print-to-pdf``): Debian's ``chromium``
package, or the browser named by ``GRIPKIT_CHROMIUM``.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import geopandas as gpd
import pandas as pd

from gripkit import columns as C
from gripkit.datasets import ATTRIBUTION, BOUNDARY_ATTRIBUTION, lsoa_2011
from gripkit.errors import InputError
from gripkit.figures import png_base64
from gripkit.patrol.export import _check, _write

#: Where ``gripkit serve`` listens by default; pass the address officers' phones reach instead.
DEFAULT_OFFICER_URL = "http://127.0.0.1:8000"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_MAP_INCHES = (7.2, 6.0)
_MEET_MAX_M = 250.0


def briefing_html(
    schedule: pd.DataFrame,
    areas: gpd.GeoDataFrame | None = None,
    path: str | Path | None = None,
    *,
    day: Any = None,
    title: str = "Patrol briefing",
    roads: Any = None,
    officer_url: str = DEFAULT_OFFICER_URL,
) -> str:
    """A printable HTML briefing for one day: one A4 page per area, per team and shift.

    Parameters
    ----------
    schedule : DataFrame
        From :func:`~gripkit.patrol.schedule.schedule_visits` (a ``team`` column, from
        :func:`~gripkit.patrol.teams.assign_teams`, splits the pages by team).
    areas : GeoDataFrame, optional
        Area polygons (a metre CRS) and ``label``; without them the pages have no map.
    path : str or Path, optional
        Where to write the page.
    day : date or str, optional
        The day to brief (default: the first day in the schedule).
    roads : path or GeoDataFrame, optional
        Road lines for street maps and the meeting street (:func:`gripkit.mapcontext.read_roads`).
    officer_url : str
        Base address of the dashboard; the QR code and link go to ``<officer_url>/officer``.

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> from gripkit.patrol.schedule import schedule_visits
    >>> plan = pd.DataFrame({"date": [dt.date(2024, 6, 1)], "area_id": ["A"], "visits": [1]})
    >>> page = briefing_html(schedule_visits(plan, seed=1))
    >>> "Patrol briefing" in page, page.count("<section class='page'>"), "127.0.0.1:8000/officer" in page
    (True, 1, True)
    """
    _check(schedule)
    link = officer_link(officer_url)
    chosen, rows = _day(schedule, day)
    frame = _areas(areas)
    lsoa, road_frame = _context(frame, roads)
    notes = [ATTRIBUTION, BOUNDARY_ATTRIBUTION if lsoa is not None and lsoa is not frame else ""]
    licence = " ".join(n for n in [*notes, "" if roads is None else _road_licence(roads)] if n)
    rows = rows.assign(team=rows["team"] if "team" in rows.columns else 0)
    rows = rows.sort_values(["team", "shift", C.START_UTC], kind="stable")
    pages = []
    for (team, shift), group in rows.groupby(["team", "shift"], sort=False):
        for area_id, visits in group.groupby(C.AREA_ID, sort=False):
            pages.append((team, shift, str(area_id), visits, group))
    qr = _qr_svg(link)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)} {chosen}</title><style>{_CSS}</style></head><body>",
    ]
    for number, (team, shift, area_id, visits, group) in enumerate(pages, start=1):
        area = frame.loc[area_id] if frame is not None and area_id in frame.index else None
        parts.append(
            _page(
                title=f"{title} — {chosen:%A %d %B %Y}",
                team=team,
                shift=str(shift),
                area_id=area_id,
                area=area,
                crs=None if frame is None else frame.crs,
                visits=visits,
                shift_rows=group,
                labels=_labels(frame),
                lsoa=lsoa,
                roads=road_frame,
                licence=licence,
                link=link,
                qr=qr,
                page=f"page {number} of {len(pages)}",
            )
        )
    parts.append("</body></html>")
    return _write("\n".join(parts) + "\n", path)


def briefing_pdf(
    schedule: pd.DataFrame, areas: gpd.GeoDataFrame | None, path: str | Path, **options: Any
) -> Path:
    """:func:`briefing_html` printed to an A4 PDF at ``path`` by headless Chromium (:func:`html_to_pdf`)."""
    return html_to_pdf(briefing_html(schedule, areas, **options), path)


def html_to_pdf(page: str, path: str | Path, *, timeout_s: float = 180.0) -> Path:
    """Print an HTML page to PDF with headless Chromium; the page's ``@page`` CSS sets the paper.

    The browser is ``$GRIPKIT_CHROMIUM`` or the first of :data:`CHROMIUM_NAMES` on ``PATH``.
    """
    browser = chromium_path()
    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gripkit-pdf-") as folder:
        source = Path(folder) / "briefing.html"
        source.write_text(page, encoding="utf-8")
        printed = Path(folder) / "briefing.pdf"
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-pdf-header-footer", f"--user-data-dir={Path(folder) / 'profile'}",
            f"--print-to-pdf={printed}", source.as_uri(),
        ]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise InputError(
                f"Chromium ({browser}) did not print the briefing within {timeout_s:g} s. Write an .html "
                "briefing instead and print it from a browser."
            ) from None
        if done.returncode != 0 or not printed.exists() or printed.stat().st_size == 0:
            raise InputError(
                f"Chromium ({browser}) failed to print the briefing (exit {done.returncode}): "
                f"{done.stderr.strip()[-400:]}. Write an .html briefing instead and print it from a browser."
            )
        shutil.move(printed, target)
    return target


def chromium_path() -> str:
    """The Chromium used for PDFs; :class:`~gripkit.errors.InputError` saying how to get one if none."""
    given = os.environ.get("GRIPKIT_CHROMIUM")
    found = given if given and Path(given).exists() else None
    found = found or next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    if found is None:
        raise InputError(
            "a PDF briefing needs Chromium to print it; received "
            + (f"GRIPKIT_CHROMIUM={given!r}, which does not exist" if given else "none on PATH")
            + f" (looked for {', '.join(CHROMIUM_NAMES)}). Install it (Debian: apt-get install chromium), "
            "set GRIPKIT_CHROMIUM to the browser, or write the briefing as .html and print it."
        )
    return found


def officer_link(base: str) -> str:
    """``<base>/officer`` after checking ``base`` is an http(s) address.

    >>> officer_link("https://patrol.example.police.uk/"), officer_link("http://10.0.0.5:8000")
    ('https://patrol.example.police.uk/officer', 'http://10.0.0.5:8000/officer')
    """
    parts = urlsplit(str(base).strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise InputError(
            f"the officer URL must be the dashboard's http(s) address; received {base!r}. Pass e.g. "
            f"--officer-url https://patrols.example.org (default {DEFAULT_OFFICER_URL}, gripkit serve's)."
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/officer"


def _day(schedule: pd.DataFrame, day: Any) -> tuple[Any, pd.DataFrame]:
    dates = sorted({pd.Timestamp(d).date() for d in schedule[C.DATE]})
    if not dates:
        raise InputError(
            "the schedule has no visits to brief; received an empty schedule. Plan visits first."
        )
    chosen = pd.Timestamp(day).date() if day is not None else dates[0]
    if chosen not in dates:
        raise InputError(
            f"no visits planned on {chosen}; received day={day!r}. Pick a day from {dates[0]} to {dates[-1]}."
        )
    return chosen, schedule[[pd.Timestamp(d).date() == chosen for d in schedule[C.DATE]]]


def _areas(areas: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    if areas is None or len(areas) == 0:
        return None
    frame = areas.set_index(areas[C.AREA_ID].astype(str), drop=False)
    return frame[~frame.index.duplicated()]


def _labels(frame: gpd.GeoDataFrame | None) -> dict[str, str]:
    if frame is None or C.LABEL not in frame.columns:
        return {}
    return {a: str(v) for a, v in frame[C.LABEL].items() if isinstance(v, str) and v.strip()}


def _context(frame: gpd.GeoDataFrame | None, roads: Any) -> tuple[Any, gpd.GeoDataFrame | None]:
    """The area layer under the maps, and the roads near the areas (read once)."""
    has = (
        frame is not None
        and frame.crs is not None
        and not (frame.geometry.isna() | frame.geometry.is_empty).all()
    )
    if frame is None or not has:
        if roads is not None:
            raise InputError(
                "roads were given but the areas have no polygons to map; received areas without geometry."
            )
        return None, None
    from gripkit.mapcontext import read_roads

    x0, y0, x1, y1 = frame.total_bounds
    lsoa = lsoa_2011().to_crs(frame.crs).cx[x0:x1, y0:y1]  # every force of England and Wales
    layer = lsoa if len(lsoa) else frame
    pad = 2000.0
    road_frame = (
        None
        if roads is None
        else read_roads(roads, frame.crs, bounds=(x0 - pad, y0 - pad, x1 + pad, y1 + pad))
    )
    return layer, road_frame


def _page(*, title: str, team: Any, shift: str, area_id: str, area: Any, crs: Any, visits: pd.DataFrame,
          shift_rows: pd.DataFrame, labels: dict[str, str], lsoa: Any, roads: Any, licence: str, link: str,
          qr: str, page: str) -> str:  # fmt: skip
    name = labels.get(area_id, area_id)
    team_text = f"Team {team}" if team else "Patrol team"
    geometry = None if area is None else area[C.GEOMETRY]
    has_map = geometry is not None and not geometry.is_empty and crs is not None
    meet, point = (
        _meeting(geometry, crs, roads) if has_map else ("No map: the plan's areas have no polygons.", None)
    )
    map_html = (
        f"<img class='map' alt='map of {html.escape(name)}' "
        f"src='data:image/png;base64,{_map_png(geometry, crs, lsoa, roads, point)}'>"
        if has_map
        else ""
    )
    times = "".join(
        f"<tr><td>{str(r['start_local'])[11:16]}</td><td>{str(r['end_local'])[11:16]}</td>"
        f"<td>{r[C.VISIT]}</td><td>{r[C.OFFICERS]}</td><td class='blank'></td></tr>"
        for r in visits.to_dict("records")
    )
    others = "".join(
        f"<li{' class=here' if str(r[C.AREA_ID]) == area_id else ''}>{str(r['start_local'])[11:16]} "
        f"{html.escape(labels.get(str(r[C.AREA_ID]), str(r[C.AREA_ID])))}</li>"
        for r in shift_rows.to_dict("records")
    )
    return (
        "<section class='page'>"
        f"<p class='top'>{html.escape(title)} · {html.escape(team_text)} · shift {html.escape(shift)} "
        f"(Europe/London) · {page}</p>"
        f"<h1>{html.escape(name)}</h1><p class='code'>{html.escape(area_id)}</p>{map_html}"
        f"<div class='facts'><div><p class='meet'>{meet}</p>"
        "<table><tr><th>Start</th><th>End</th><th>Visit</th><th>Officers</th><th>Done (initials)</th></tr>"
        f"{times}</table><p class='small'>{html.escape(team_text)}, this shift:</p><ol>{others}</ol></div>"
        f"<div class='qr'><a href='{html.escape(link)}'>{qr}</a><p class='link'>{html.escape(link)}</p>"
        "<p class='small'>Record each visit on the officer page.</p></div></div>"
        "<p class='small'>Start times were drawn at random inside the window so patrols are not predictable: "
        "keep to them. Stay inside the outlined area for the whole visit; GPS records the dose.</p>"
        f"<footer>{html.escape(licence)}</footer>"
        "</section>"
    )


def _meeting(geometry: Any, crs: Any, roads: gpd.GeoDataFrame | None) -> tuple[str, Any]:
    """The meeting text (HTML) and point: the area's representative point, by its nearest named street."""
    from gripkit.mapcontext import nearest_street

    point = geometry.representative_point()
    street = None if roads is None else nearest_street(point, roads, max_m=_MEET_MAX_M)
    lonlat = gpd.GeoSeries([point], crs=crs).to_crs(C.WGS84).iloc[0]
    where = f" ({lonlat.y:.5f}, {lonlat.x:.5f})"
    if street is None:
        text = f"<b>Meet at:</b> the ★ on the map, inside the area near its centre{where}."
    else:
        text = (
            f"<b>Meet at:</b> {html.escape(street[0])}, near the centre of the area "
            f"(★ on the map, {street[1]:.0f} m from the street){where}."
        )
    return text, point


def _map_png(geometry: Any, crs: Any, lsoa: Any, roads: Any, point: Any) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gripkit.mapcontext import draw_context

    fig, ax = plt.subplots(figsize=_MAP_INCHES, dpi=130)
    draw_context(ax, bounds=_view(geometry.bounds), crs=crs, lsoa=lsoa, roads=roads,
                 labels=[(point.x, point.y, "Meet here")], outline=geometry)  # fmt: skip
    fig.subplots_adjust(0.005, 0.005, 0.995, 0.995)
    encoded = png_base64(fig, metadata={"Software": None})
    plt.close(fig)
    return encoded


def _view(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The area's box padded (at least 150 m, a quarter of its size) to the map's shape."""
    x0, y0, x1, y1 = bounds
    pad = max(150.0, 0.25 * max(x1 - x0, y1 - y0))
    width, height = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    aspect = _MAP_INCHES[0] / _MAP_INCHES[1]
    width, height = max(width, height * aspect), max(height, width / aspect)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2


def _qr_svg(link: str) -> str:
    import segno

    return str(segno.make(link, error="m").svg_inline(scale=4, border=2, title=link))


def _road_licence(roads: Any) -> str:
    from gripkit.mapcontext import road_attribution

    return road_attribution(roads)


_CSS = (
    "@page{size:A4;margin:11mm}body{font-family:sans-serif;color:#111;margin:0}"
    ".page{break-after:page;page-break-after:always}.page:last-child{break-after:auto}"
    ".top{font-size:9pt;color:#555;margin:0}h1{font-size:22pt;margin:2mm 0 0}"
    ".code{font-size:8pt;color:#666;margin:0 0 2mm}img.map{width:100%;max-height:160mm;object-fit:contain;"
    "border:1px solid #999}.facts{display:flex;gap:6mm;margin-top:3mm}.facts>div:first-child{flex:1}"
    ".meet{font-size:12pt;margin:0 0 2mm}table{border-collapse:collapse;width:100%;font-size:10pt}"
    "td,th{border:1px solid #999;padding:2px 6px;text-align:left}td.blank{width:8em}"
    ".qr{width:48mm;text-align:center;font-size:8pt}.qr .link{font-size:7.5pt;overflow-wrap:anywhere}"
    ".qr svg{width:36mm;height:36mm}"
    ".small{font-size:8.5pt;color:#333;margin:2mm 0 0}ol{font-size:9pt;margin:1mm 0;padding-left:6mm}"
    "li.here{font-weight:bold}footer{font-size:7pt;color:#555;margin-top:2mm}"
)
