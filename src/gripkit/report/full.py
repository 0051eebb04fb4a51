"""The programme report: one self-contained offline HTML file of every stage's STORED results.

Every section renders what a stage stored in the workspace (:meth:`Workspace.latest_result
<gripkit.workspace.Workspace.latest_result>` of its kind, or the result chosen with
:attr:`ReportOptions.result_ids`): its summary paragraph, its key numbers, the first rows of its
stored tables and the parameters it ran with. Nothing is recomputed and no display string is
parsed back: the hotspot sections draw the stored layer and concentration, and their headings name
the method that was run (e.g. "Gi* (harm-weighted) on 150 m grid cells").

A core stage (hotspots, backtest, plan, compliance, power, evaluation, allocation) without a stored
result says "not run yet" and names the command or Python call that would produce it; optional
stages (the ingest report, an evaluation design, a national run) appear only when they are present.
The hour × weekday heat map is the one section read from the crimes themselves; when the data carry
no times (police.uk publishes months only) it says so. Provenance (files, months, harm tables, OGL
attribution) and the parameters of every stored step close the report. Figures are PNGs embedded as
``data:`` URIs; there is no script and nothing is fetched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gripkit import columns as C
from gripkit import datasets
from gripkit.errors import GripkitError, InputError
from gripkit.hotspots.concentration import Concentration, units_in_top
from gripkit.hotspots.find import describe_method, unit_phrase
from gripkit.hotspots.labels import place
from gripkit.progress import Progress, Steps
from gripkit.report import inputs
from gripkit.report.context import map_context
from gripkit.report.headline import is_serious_violence, serious_violence_headline
from gripkit.report.maps import crs_label, map_figure, method_figure, regular_grid
from gripkit.report.page import (
    _CSS,
    _concentration_table,
    _esc,
    _fmt_share,
    _lorenz_figure,
    _png,
    _whole,
)
from gripkit.report.text import fmt, fmt_named, inline, is_crs_text, td
from gripkit.results import KINDS, StoredResult
from gripkit.workspace import Workspace

__all__ = ["NOT_RUN", "SHOWN", "STAGES", "Report", "ReportOptions", "Stage", "build_report", "write_report"]

log = logging.getLogger("gripkit")
NOT_RUN = "not run yet"
SHOWN = "shown"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TABLE_ROWS = 10  # first rows shown of each stored table
TOP_ROWS = 20
_EXTRA_CSS = (
    ".notrun{color:#555;background:#f3f3f3;border-left:4px solid #bbb;padding:.4rem .7rem}"
    ".headline{font-size:1.05rem;background:#fff;border-left:6px solid #c0392b;padding:.6rem .8rem}"
    "details{margin:.4rem 0}summary{cursor:pointer;color:#1f3a93}"
)
HOTSPOTS_RUN = "`gripkit hotspots` or `gripkit.find_hotspots(ws, ...)`"
INGEST_RUN = "`gripkit ingest PATH` or `gripkit.ingest(paths, ws)`"
EMERGING_RUN = "`gripkit emerging` or `gripkit.emerging_hotspots(ws, ...)`"


@dataclass(frozen=True)
class Stage:
    """A report section of one stored result kind (other than hotspots, which has three)."""

    kind: str
    sid: str
    run: str  # the command or Python call that stores this kind
    optional: bool = False  # shown only when present (no "not run yet")

    @property
    def heading(self) -> str:
        """The kind's title from :data:`gripkit.results.KINDS`."""
        return KINDS[self.kind].title


#: Sections of the stored stage results, in pipeline order (hotspots are drawn by their own sections).
STAGES: tuple[Stage, ...] = (
    Stage("ingest", "ingest", INGEST_RUN, optional=True),
    Stage("audit", "audit", "`gripkit audit` or `gripkit.audit_hotspots(ws, ...)`"),  # beside the hotspots
    Stage("emerging", "emerging", EMERGING_RUN, optional=True),
    Stage("backtest", "backtest", "`gripkit backtest` or `gripkit.backtest(ws, ...)`"),
    Stage("plan", "plan", "`gripkit plan` or `gripkit.plan_patrols(ws, ...)`"),
    Stage("compliance", "dosage", "`gripkit gps compliance` or `gripkit.compliance(ws, ...)`"),
    Stage("power", "power", "`gripkit power` or `gripkit.op_rowan_power(ws, ...)`"),
    Stage("evaluation_design", "evaluation-design", "`gripkit.evaluate.design.Design`", optional=True),
    Stage("evaluation", "evaluation", "`gripkit evaluate` or `gripkit.evaluate_experiment(...)`"),
    Stage("allocation", "allocation", "`gripkit allocate` or `gripkit.allocate(ws, ...)`"),
    Stage("national", "national", "`gripkit national` or `gripkit.run_national(...)`", optional=True),
    Stage(
        "returns",
        "returns",
        "`gripkit returns` or `gripkit.funding.returns.home_office_returns(ws, ...)`",
        optional=True,
    ),
)


@dataclass
class ReportOptions:
    """What the report shows.

    Attributes
    ----------
    title
        The report's heading.
    result_ids
        Kind -> result id: show this stored result instead of the latest of its kind, e.g.
        ``{"hotspots": 12}`` (ids from :meth:`Workspace.results_log` or the report's "Stored steps").
    extra
        More labels and values for the report's parameters section.
    boundaries
        LSOA polygon file to draw a stored LSOA layer that has no polygons (None: the bundled LSOA
        2011 polygons).
    sources
        Record sources the shown results were run on: None shows the latest result of each kind;
        ``()`` the latest counted from all sources combined; ``("police",)`` or ``("health",)``
        the latest counted from exactly those sources. Kinds that do not count records by source
        (power, allocation, ...) are shown as usual (:func:`result_sources`).
    roads
        Road lines (OSM or OS file or frame) drawn under the hotspot maps; None: no roads.
    tiles, tiles_attribution
        A tile URL template drawn under the hotspot maps, and its attribution; None: no tiles (the
        default: the report fetches nothing).
    """

    title: str = "gripkit programme report"
    result_ids: Mapping[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    boundaries: str | Path | None = None
    sources: tuple[str, ...] | None = None
    plan_id: int | None = None
    roads: Any = None
    tiles: str | None = None
    tiles_attribution: str = ""


@dataclass(frozen=True)
class Report:
    """The report's HTML and each section's status (``"shown"`` or ``"not run yet"``), by section id."""

    html: str
    sections: dict[str, str]
    result_ids: dict[str, int] = field(default_factory=dict)  # kind -> the stored result shown

    def write(self, path: str | Path) -> Path:
        """Write the HTML to ``path`` (its folder is created) and return the path."""
        target = Path(path).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.html, encoding="utf-8")
        return target

    def to_dict(self) -> dict[str, Any]:
        """Section statuses and the result shown of each kind."""
        return {"sections": dict(self.sections), "result_ids": dict(self.result_ids)}


@dataclass
class _Section:
    sid: str
    heading: str
    body: str
    status: str = SHOWN


# -- small renderers -----------------------------------------------------------------------------
def _not_run(what: str, run: str | None = None) -> str:
    how = f": run {_code(run)}" if run else ""
    return f'<p class="notrun">{_esc(what)}: {NOT_RUN}{how}.</p>'


def _code(text: str) -> str:
    """Escape ``text`` and set its backquoted parts as code."""
    parts = _esc(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _kv(value: Any, depth: int = 0, key: Any = "") -> str:
    """Render a JSON-like value as nested tables (depth-limited), numbers rounded, a CRS named."""
    if isinstance(value, dict) and depth < 2 and not is_crs_text(value):
        rows = "".join(f"<tr><th>{_esc(k)}</th>{td(_kv(v, depth + 1, k))}</tr>" for k, v in value.items())
        return f'<table class="wide"><tbody>{rows}</tbody></table>'
    return _esc(inline(value, key))


def _key_numbers(payload: Any) -> str:
    """The payload's scalars (and short dicts and lists of scalars, one level down) as one table."""
    if not isinstance(payload, dict):
        return ""
    rows: list[tuple[str, str]] = []

    def add(label: str, value: Any, depth: int) -> None:
        leaf = label.rsplit(": ", 1)[-1]
        if _scalar(value):
            if not (isinstance(value, str) and len(value) > 200):
                rows.append((label, fmt_named(leaf, value)))
        elif isinstance(value, list) and 0 < len(value) <= 12 and all(_scalar(v) for v in value):
            rows.append((label, ", ".join(fmt_named(leaf, v) for v in value)))
        elif isinstance(value, dict) and depth == 0:
            for k, v in value.items():
                add(f"{label}: {k}", v, depth + 1)

    for key, value in payload.items():
        if key != "meta":  # provenance: shown under "Parameters and provenance"
            add(str(key), value, 0)
    if not rows:
        return ""
    body = "".join(f'<tr><th>{_esc(k)}</th><td class="num">{_esc(v)}</td></tr>' for k, v in rows)
    return f"<h3>Key numbers</h3><table><tbody>{body}</tbody></table>"


def _cell(value: Any, column: Any = "") -> str:
    if _missing(value):
        return ""
    if isinstance(value, float | np.floating | int | np.integer) and not isinstance(value, bool | np.bool_):
        return fmt_named(column, value)
    if str(column).lower() == "month" and isinstance(value, pd.Timestamp | date):
        return value.strftime("%Y-%m")  # police.uk months are stored as their first day
    if isinstance(value, pd.Timestamp):
        if value == value.normalize() and value.tz is None:
            return value.strftime("%Y-%m-%d")  # a date stored as a timestamp
        return value.strftime("%Y-%m-%d %H:%M") + (value.strftime(" %Z") if value.tz is not None else "")
    if isinstance(value, str) and (str(column).lower() == "crs" or is_crs_text(value)):
        return crs_label(value)
    if isinstance(value, dict | list | tuple | np.ndarray):
        return inline(value.tolist() if isinstance(value, np.ndarray) else value, column)
    return fmt(value) if isinstance(value, str) else str(value)


def _frame_table(
    frame: pd.DataFrame, limit: int = 200, *, more_note: bool = True, css_class: str = ""
) -> str:
    if isinstance(frame, gpd.GeoDataFrame):
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    columns = list(frame.columns)
    body = "".join(
        "<tr>" + "".join(td(_esc(_cell(v, c))) for v, c in zip(row, columns, strict=True)) + "</tr>"
        for row in frame.head(limit).itertuples(index=False)
    )
    more = (
        f"<p><small>{len(frame) - limit:,} more rows not shown.</small></p>"
        if more_note and len(frame) > limit
        else ""
    )
    table = f'<table class="{css_class}">' if css_class else "<table>"
    return f"{table}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _stamp(stored: StoredResult) -> str:
    when = pd.Timestamp(stored.created_at).strftime("%Y-%m-%d %H:%M") if stored.created_at else "?"
    return f"<p><small>Result {stored.result_id} ({_esc(stored.kind)}), stored {_esc(when)}.</small></p>"


def _summary(stored: StoredResult) -> str:
    return f'<p class="summary">{_esc(stored.summary)}</p>' if stored.summary else ""


def _parameters(stored: StoredResult) -> str:
    if not stored.meta:
        return ""
    return f"<details><summary>Parameters and provenance</summary>{_kv(stored.meta)}</details>"


def _stored_tables(ws: Workspace, stored: StoredResult) -> str:
    parts = []
    for name in stored.table_names:
        frame = ws.result_table(stored.result_id, name)
        shown = f"first {min(TABLE_ROWS, len(frame))} of " if len(frame) > TABLE_ROWS else ""
        parts.append(
            f"<h3>{_esc(name)} <small>({shown}{len(frame):,} rows)</small></h3>"
            + _frame_table(frame, limit=TABLE_ROWS, more_note=False)
        )
    return "".join(parts)


def _stored_stage(ws: Workspace, stored: StoredResult) -> str:
    """Summary, key numbers, stored tables (first rows) and parameters of one stored result."""
    return (
        _summary(stored)
        + _stamp(stored)
        + _key_numbers(stored.payload)
        + _stored_tables(ws, stored)
        + _parameters(stored)
    )


# -- choosing the stored results -------------------------------------------------------------------
def _chosen(ws: Workspace, opts: ReportOptions) -> dict[str, StoredResult]:
    """The stored result shown of each registered, non-internal kind present in the workspace."""
    picked: dict[str, StoredResult] = {}
    for kind, result_id in dict(opts.result_ids).items():
        spec = KINDS.get(kind)
        if spec is None or spec.internal:
            raise InputError(
                f"'result_ids' keys must be reported result kinds; received {kind!r}, "
                + ("a cache with no report section" if spec else "which nothing writes")
                + ". Choose from: "
                + ", ".join(k for k, v in KINDS.items() if not v.internal)
                + "."
            )
        stored = ws.stored_result(int(result_id))
        if stored.kind != kind:
            raise InputError(
                f"'result_ids' maps {kind!r} to result {result_id}, which is a {stored.kind!r} result. "
                f'Pass the id of a {kind!r} result (the report\'s "Stored steps" list them).'
            )
        picked[kind] = stored
    wanted = None if opts.sources is None else tuple(sorted(opts.sources))  # as result_sources gives it
    log = ws.results_log() if wanted is not None or opts.plan_id is not None else None

    def fits(stored: StoredResult) -> bool:
        plan = result_plan(stored)
        return (wanted is None or result_sources(stored) in (NOT_BY_SOURCE, wanted)) and (
            opts.plan_id is None or plan is None or plan == int(opts.plan_id)
        )

    for kind, spec in KINDS.items():
        if spec.internal or kind in picked:
            continue
        if log is None:
            found = ws.latest_result(kind)
        else:
            ids = log.loc[log["kind"] == kind, "result_id"].iloc[::-1]
            found = next((r for r in (ws.stored_result(int(i)) for i in ids) if fits(r)), None)
        if found is not None:
            picked[kind] = found
    return picked


#: :func:`result_sources` of a result that does not count records by source
NOT_BY_SOURCE = "not by source"


def result_sources(stored: StoredResult) -> Any:
    """The record sources a stored result was counted from, as a sorted tuple (``()``: all combined),
    or :data:`NOT_BY_SOURCE` when the result does not record one (it does not count by source)."""
    meta = stored.meta or {}
    found = meta.get("request")
    request: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    holder = meta if "sources" in meta else request if "sources" in request else None
    if holder is None:
        return NOT_BY_SOURCE
    return tuple(sorted(holder["sources"] or ()))


def _sv_hotspots(ws: Workspace, shown: StoredResult | None) -> StoredResult | None:
    """The hotspot result the headline reads: the one shown when it counted serious violence, else
    the latest stored serious-violence hotspot run (e.g. the demo's, beside its all-crime map)."""
    if shown is not None and is_serious_violence(shown.meta):
        return shown
    log = ws.results_log()
    for result_id in log.loc[log["kind"] == "hotspots", "result_id"].iloc[::-1]:
        stored = ws.stored_result(int(result_id))
        if is_serious_violence(stored.meta):
            return stored
    return shown


def result_plan(stored: StoredResult) -> int | None:
    """The stored patrol plan a result was made or run on (``meta["plan_id"]``, or an evaluation's
    ``meta["plan"]["plan_id"]``); None for a result not tied to a plan."""
    meta = stored.meta or {}
    plan = meta.get("plan")
    found = meta.get("plan_id", plan.get("plan_id") if isinstance(plan, Mapping) else None)
    return int(found) if found is not None else None


# -- hotspots ----------------------------------------------------------------------------------------
def _window(meta: Mapping[str, Any]) -> str | None:
    window = meta.get("window")
    if isinstance(window, Mapping) and window.get("first"):
        return f"{str(window['first'])[:7]} to {str(window.get('last') or window['first'])[:7]}"
    months = meta.get("months")
    return str(months) if months else None


def _concentration(payload: Any) -> Concentration | None:
    data = payload.get("concentration") if isinstance(payload, dict) else None
    if data is None and isinstance(payload, dict) and "gini" in payload:
        data = payload  # stored before results carried their layer: the payload is the concentration
    if not isinstance(data, dict):
        return None
    return Concentration.from_dict(data)


def _top_table(ranked: pd.DataFrame) -> str:
    extra = [c for c in ("gi_z", C.HOT, "density") if c in ranked.columns]
    head = "".join(
        f"<th>{h}</th>"
        for h in ("rank", "unit", "crimes", "harm", "share of harm", "cumulative share", "area (m²)", *extra)
    )
    rows = []
    for rec in ranked.iloc[:TOP_ROWS].to_dict("records"):
        cells = (
            f'<td class="num">{_whole(rec[C.HARM_RANK])}</td><td>{_esc(place(rec))}</td>'
            f'<td class="num">{_whole(rec[C.CRIMES])}</td><td class="num">{float(rec[C.HARM]):,.1f}</td>'
            f'<td class="num">{_fmt_share(rec[C.SHARE_OF_HARM])}</td>'
            f'<td class="num">{_fmt_share(rec[C.CUMULATIVE_SHARE])}</td>'
            f'<td class="num">{float(rec[C.AREA_M2]):,.0f}</td>'
        )
        for name in extra:
            value = rec[name]
            cells += f'<td class="num">{_esc(fmt(value if name == C.HOT else float(value)))}</td>'
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _with_polygons(layer: pd.DataFrame, boundaries: str | Path | None) -> pd.DataFrame:
    """An LSOA layer stored without polygons, given those of its codes (unchanged if none known)."""
    from gripkit.units.build import lsoa_polygons

    codes = layer[C.UNIT_ID].astype(str)
    polygons = lsoa_polygons(codes, boundaries)
    if polygons is None:
        return layer
    name = layer.geometry.name if isinstance(layer, gpd.GeoDataFrame) else None
    frame = pd.DataFrame(layer.drop(columns=name) if name else layer)
    return gpd.GeoDataFrame(frame, geometry=codes.map(polygons).to_numpy(), crs=polygons.crs)


def _hotspot_sections(ws: Workspace, stored: StoredResult | None, opts: ReportOptions) -> list[_Section]:
    """Map, concentration and top-hotspot sections of the stored hotspot result."""
    names = {"map": "Hotspot map", "concentration": "Concentration", "top": "Top hotspots"}
    if stored is None:
        return [_Section(sid, name, _not_run(name, HOTSPOTS_RUN), NOT_RUN) for sid, name in names.items()]
    method = describe_method(stored.meta)
    layer = ws.result_table(stored.result_id, "hotspots") if "hotspots" in stored.table_names else None
    bare = not isinstance(layer, gpd.GeoDataFrame) or not layer.geometry.notna().any()
    if layer is not None and bare and stored.meta.get("unit") == "lsoa":
        layer = _with_polygons(layer, opts.boundaries)
    ranked = layer.sort_values(C.HARM_RANK, kind="stable") if layer is not None else None
    payload = stored.payload if isinstance(stored.payload, dict) else {}
    n_units = payload.get("units", len(ranked) if ranked is not None else None)
    title = method if n_units is None else f"{method} on {unit_phrase(stored.meta, int(n_units))}"
    if payload.get("hot_units") is not None:
        title += f": {int(payload['hot_units']):,} hot"
    origin = f"result {stored.result_id}, {_window(stored.meta) or 'months unknown'}"
    no_layer = (
        f"Result {stored.result_id} was stored without its layer (by an older gripkit); run "
        f"{HOTSPOTS_RUN} again to draw it."
    )

    def map_html() -> str:
        if ranked is None:
            return f'<p class="notrun">{_code(no_layer)}</p>'
        if (
            not isinstance(ranked, gpd.GeoDataFrame)
            or ranked.crs is None
            or not ranked.geometry.notna().any()
        ):
            return f"<p>{_esc(title)} ({_esc(origin)}); the units have no polygons to map.</p>"
        n_top = units_in_top(len(ranked), 0.01)
        lattice = regular_grid(ranked.geometry)  # a grid is drawn as one image, other units as shapes
        context = map_context(
            ranked, roads=opts.roads, tiles=opts.tiles, tiles_attribution=opts.tiles_attribution
        )
        credits = "".join(f" {_esc(c)}" for c in (context.credits if context else ()))
        return (
            _summary(stored)
            + f'<div class="figs"><figure><img src="{map_figure(ranked, n_top, lattice, context)}" '
            'alt="Map of units coloured by harm">'
            f"<figcaption>{_esc(title)} ({_esc(origin)}). {len(ranked):,} units coloured by harm; the top "
            f"1% ({n_top:,}) outlined.{credits}</figcaption></figure>"
            f"{method_figure(ranked, lattice, context)}</div>"
        )

    def concentration_html() -> str:
        conc = _concentration(stored.payload)
        if conc is None:
            return f'<p class="notrun">{_code(no_layer)}</p>'
        first = conc.tops[0]
        said = (
            f'<p class="summary">The top {first * 100:g}% of units hold '
            f"{conc.top_unit_share[first] * 100:.1f}% of the harm; {_esc(conc.gini_sentence())}.</p>"
        )
        return said + (
            f'<figure><img src="{_lorenz_figure(conc)}" alt="Lorenz curve">'
            f"<figcaption>Lorenz curve of harm across the units of the {_esc(method)} run "
            f"({_esc(origin)}).</figcaption></figure>" + _concentration_table(conc)
        )

    def top_html() -> str:
        if ranked is None:
            return f'<p class="notrun">{_code(no_layer)}</p>'
        return f"<p>Highest-harm units of the {_esc(method)} run ({_esc(origin)}).</p>" + _top_table(ranked)

    return [
        _safe("map", f"Hotspot map: {title}", map_html),
        _safe("concentration", f"Concentration: {method}", concentration_html),
        _safe("top", f"Top hotspots: {method}", top_html),
    ]


def _safe(sid: str, heading: str, make: Callable[[], str]) -> _Section:
    try:
        return _Section(sid, heading, make())
    except GripkitError as exc:
        return _Section(
            sid, heading, f'<p class="notrun">{_esc(heading)}: could not be drawn ({_esc(exc)}).</p>'
        )


# -- sections read from the workspace's own tables ---------------------------------------------------
def _has_crimes(ws: Workspace) -> bool:
    row = ws.con.execute("SELECT count(*) FROM crimes").fetchone()
    return bool(row and row[0])


def _heatmap(ws: Workspace) -> _Section:
    heading = "Hour × weekday"
    if not _has_crimes(ws):
        return _Section("hour-weekday", heading, _not_run("Data ingest", INGEST_RUN), NOT_RUN)
    rows = ws.con.execute(
        "SELECT isodow(occurred_at) - 1, hour(occurred_at), count(*) FROM crimes "
        "WHERE occurred_at IS NOT NULL GROUP BY 1, 2"
    ).fetchall()
    if not rows:
        return _Section(
            "hour-weekday",
            heading,
            "<p>The data have no offence times (police.uk publishes the month only), so there is no hour × "
            "weekday profile. A force's own data with date-times (<code>occurred_at</code>) give one.</p>",
        )
    grid = np.zeros((7, 24))
    for day, hour, n in rows:
        grid[int(day), int(hour)] = n
    fig = Figure(figsize=(8, 3))
    ax = fig.subplots()
    image = ax.imshow(grid, aspect="auto", cmap="YlOrRd")
    ax.set_yticks(range(7), DAYS)
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlabel("hour of day")
    fig.colorbar(image, ax=ax, label="crimes")
    return _Section(
        "hour-weekday",
        heading,
        f'<figure><img src="{_png(fig)}" alt="Crimes by hour and weekday">'
        f"<figcaption>{int(grid.sum()):,} crimes with a recorded time.</figcaption></figure>",
    )


def _plan_extra(ws: Workspace) -> str:
    plans = inputs.table_frame(ws, "plans", "ORDER BY plan_id")
    assigned = inputs.table_frame(ws, "officer_patrols", "ORDER BY date, officer")
    parts = []
    if not plans.empty:
        keep = [c for c in ("plan_id", "kind", "created_at", "seed") if c in plans.columns]
        parts.append("<h3>Plans in the workspace</h3>" + _frame_table(plans[keep], limit=TABLE_ROWS))
    if not assigned.empty:
        parts.append(
            "<h3>Patrols assigned to officers</h3>"
            + _frame_table(
                assigned[["patrol_id", "officer", C.AREA_ID, C.DATE, "start_time", "minutes"]],
                limit=TABLE_ROWS,
            )
        )
    return "".join(parts)


def _dosage_extra(ws: Workspace) -> str:
    gps = inputs.table_frame(ws, "visits", f"ORDER BY {C.START_UTC}")
    recorded = inputs.officer_visits(ws)
    parts = []
    if not gps.empty:
        parts.append(
            f"<h3>Visits measured from GPS <small>({len(gps):,})</small></h3>" + _frame_table(gps, TABLE_ROWS)
        )
    if not recorded.empty:
        parts.append(
            f"<h3>Visits officers recorded on the dashboard <small>({len(recorded):,})</small></h3>"
            + _frame_table(recorded, TABLE_ROWS)
        )
    return "".join(parts)


_EXTRAS: dict[str, Callable[[Workspace], str]] = {"plan": _plan_extra, "compliance": _dosage_extra}


def _stage_section(ws: Workspace, stage: Stage, stored: StoredResult | None) -> _Section | None:
    extra = _EXTRAS.get(stage.kind)
    if stored is None:
        if stage.optional:
            return None
        body = _not_run(stage.heading, stage.run) + (extra(ws) if extra else "")
        return _Section(stage.sid, stage.heading, body, NOT_RUN)
    return _safe(stage.sid, stage.heading, lambda: _stored_stage(ws, stored) + (extra(ws) if extra else ""))


def _provenance(ws: Workspace, shown: Mapping[str, StoredResult]) -> _Section:
    sources = inputs.provenance(ws)
    harm_tables = sorted({str(s.meta["harm_table"]) for s in shown.values() if s.meta.get("harm_table")})
    files = f"{len(sources):,} source file{'' if len(sources) == 1 else 's'}"
    tables = f" and the harm table(s) {', '.join(harm_tables)}" if harm_tables else ""
    said = (
        f'<p class="summary">The results rest on {_esc(files)}{_esc(tables)}; each file and table is '
        "named with its sha256, so anyone can check they hold the same data.</p>"
    )
    parts = [
        said,
        _frame_table(sources, css_class="wide") if not sources.empty else _not_run("Data ingest", INGEST_RUN),
    ]
    hot = shown.get("hotspots")
    if hot is not None:
        parts.append(
            "<h3>Hotspots</h3>"
            + _kv(
                {
                    "months": _window(hot.meta),
                    "crimes": hot.meta.get("crimes"),
                    "coordinate reference system": crs_label(hot.meta.get("crs") or C.BNG),
                    "harm table": hot.meta.get("harm_table"),
                    "harm table sha256": hot.meta.get("harm_sha256"),
                }
            )
        )
    harms = [
        {
            "result": s.result_id,
            "kind": k,
            "harm table": s.meta.get("harm_table"),
            "sha256": s.meta.get("harm_sha256"),
        }
        for k, s in shown.items()
        if s.meta.get("harm_table")
    ]
    if harms:
        parts.append(
            "<h3>Harm tables of the results shown</h3>" + _frame_table(pd.DataFrame(harms), css_class="wide")
        )
    parts.append(f"<p>{_esc(datasets.ATTRIBUTION)}</p><p>{_esc(datasets.BOUNDARY_ATTRIBUTION)}</p>")
    return _Section("provenance", "Data provenance", "".join(parts))


def _parameters_section(ws: Workspace, shown: Mapping[str, StoredResult], opts: ReportOptions) -> _Section:
    steps = ws.results_log()
    steps = steps[~steps["kind"].map(lambda k: KINDS[k].internal if k in KINDS else True)]
    parts = [
        '<p class="summary">The settings each stored step ran with, so any figure above can be '
        "reproduced; the steps are listed oldest first.</p>"
        "<h3>This report</h3>"
        + _kv(
            {
                "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "workspace": ws.path,
                "results shown": {k: s.result_id for k, s in shown.items()},
                **opts.extra,
            }
        ),
        "<h3>Stored steps</h3>"
        + (_frame_table(steps, css_class="wide") if not steps.empty else _not_run("Stored steps")),
    ]
    for kind, stored in shown.items():
        meta = {k: v for k, v in stored.meta.items() if k != "workspace"}
        parts.append(f"<h3>{_esc(kind)} (result {stored.result_id})</h3>{_kv(meta)}")
    return _Section("parameters", "Parameters", "".join(parts))


# -- the report ---------------------------------------------------------------------------------------
def build_report(
    ws: Workspace, options: ReportOptions | None = None, progress: Progress | None = None
) -> Report:
    """Render the workspace's stored results as one HTML report (see the module docstring).

    Parameters
    ----------
    ws
        The workspace; only read.
    options
        Title, and which stored result of a kind to show (default: the latest of each kind).
    progress
        ``progress(done, total, section)`` (:data:`gripkit.progress.Progress`) after each section.

    Returns
    -------
    Report
        ``html`` and each section's status (``"shown"`` or ``"not run yet"``).

    Examples
    --------
    >>> from gripkit import Workspace
    >>> report = build_report(Workspace(":memory:"))
    >>> report.sections["map"], report.sections["backtest"], "national" in report.sections
    ('not run yet', 'not run yet', False)
    """
    opts = options or ReportOptions()
    shown = _chosen(ws, opts)
    steps = Steps(progress, len(STAGES) + 4)
    sections = _hotspot_sections(ws, shown.get("hotspots"), opts)
    steps.step("hotspots")
    sections.append(_heatmap(ws))
    steps.step("heat map")
    for stage in STAGES:
        made = _stage_section(ws, stage, shown.get(stage.kind))
        steps.step(stage.sid)
        if made is not None:
            if stage.kind == "ingest":
                sections.insert(0, made)
            else:
                sections.append(made)
    sections.append(_provenance(ws, shown))
    steps.step("provenance")
    sections.append(_parameters_section(ws, shown, opts))
    steps.step("parameters")
    headline = serious_violence_headline(_sv_hotspots(ws, shown.get("hotspots")), shown.get("power"))
    lead = f'<p class="headline">{_esc(headline)}</p>' if headline else ""
    body = "".join(f'<section id="{s.sid}"><h2>{_esc(s.heading)}</h2>{s.body}</section>' for s in sections)
    toc = "".join(f'<li><a href="#{s.sid}">{_esc(s.heading)}</a></li>' for s in sections)
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(opts.title)}</title><style>{_CSS}{_EXTRA_CSS}</style></head>
<body><main>
<h1>{_esc(opts.title)}</h1>
{lead}
<nav><ol>{toc}</ol></nav>
{body}
<footer><p>{_esc(datasets.ATTRIBUTION)}</p><p>Made with gripkit. Harm weights are editable defaults; check
the harm table's sources and notes before relying on them.</p></footer>
</main></body></html>
"""
    return Report(html, {s.sid: s.status for s in sections}, {k: s.result_id for k, s in shown.items()})


def write_report(
    ws: Workspace, path: str | Path, options: ReportOptions | None = None, progress: Progress | None = None
) -> Path:
    """Write :func:`build_report` to ``path`` (its folder is created) and return the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from gripkit import Workspace
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.html"
    >>> "not run yet" in write_report(Workspace(":memory:"), out).read_text()
    True
    """
    return build_report(ws, options, progress).write(path)
