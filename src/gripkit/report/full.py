"""The programme report: one self-contained offline HTML file covering every stage.

Sections: hotspot map, concentration, top hotspots, hour × weekday heat map, backtest, patrol plan,
dosage, evaluation, funding allocation, provenance (files, months, harm table, OGL attribution) and
the parameters of every stored step. A section whose inputs are missing says "not run yet".
Figures are PNGs embedded as ``data:`` URIs; there is no script and nothing is fetched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gripkit import columns as C
from gripkit import datasets
from gripkit.errors import GripkitError, InputError
from gripkit.hotspots.concentration import units_in_top
from gripkit.hotspots.find import HotspotResult, find_hotspots
from gripkit.report import inputs
from gripkit.report.page import (
    _CSS,
    _concentration_table,
    _esc,
    _lorenz_figure,
    _map_figure,
    _png,
    _top_table,
)
from gripkit.workspace import Workspace

__all__ = ["NOT_RUN", "ReportOptions", "build_report", "write_report"]

log = logging.getLogger("gripkit")
NOT_RUN = "not run yet"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EXTRA_CSS = ".notrun{color:#555;background:#f3f3f3;border-left:4px solid #bbb;padding:.4rem .7rem}"


@dataclass
class ReportOptions:
    """What the hotspot sections show; None takes the latest stored hotspot run's choice."""

    title: str = "gripkit programme report"
    unit: str | None = None
    crime_types: Sequence[str] | None = None
    months: tuple[str | None, str | None] | None = None
    harm: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _not_run(what: str) -> str:
    return f'<p class="notrun">{_esc(what)}: {NOT_RUN}.</p>'


def _kv(value: Any, depth: int = 0) -> str:
    """Render a JSON-like value as nested tables (depth-limited)."""
    if isinstance(value, dict) and depth < 2:
        rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_kv(v, depth + 1)}</td></tr>" for k, v in value.items())
        return f"<table><tbody>{rows}</tbody></table>"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value) and depth < 2:
        return _frame_table(pd.DataFrame(value[:200]))
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str)
        return _esc(text if len(text) < 400 else text[:400] + " …")
    return _esc(value)


def _frame_table(frame: pd.DataFrame, limit: int = 200) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc('' if _missing(v) else v)}</td>" for v in row) + "</tr>"
        for row in frame.head(limit).itertuples(index=False)
    )
    more = f"<p><small>{len(frame) - limit:,} more rows not shown.</small></p>" if len(frame) > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _stored(result: inputs.StoredResult | None, what: str) -> str:
    if result is None:
        return _not_run(what)
    return (
        f"<p>Result {result.result_id} ({_esc(result.kind)}), {_esc(result.created_at)}.</p>"
        f"<h3>Parameters</h3>{_kv(result.params)}<h3>Results</h3>{_kv(result.payload)}"
    )


def _hotspots(ws: Workspace, opts: ReportOptions) -> HotspotResult | None:
    row = ws.con.execute("SELECT count(*) FROM crimes").fetchone()
    if not row or not row[0]:
        return None
    last = inputs.latest_result(ws, "hotspots")
    params = last.params if last else {}
    months = opts.months
    if months is None and isinstance(params.get("months"), str) and " to " in params["months"]:
        first, _, end = params["months"].partition(" to ")
        months = (first, end)
    types = opts.crime_types
    if types is None and params.get("crime_types") and len(params["crime_types"]) < len(C.CRIME_TYPES):
        types = params["crime_types"]
    unit = opts.unit or params.get("unit") or "grid"
    try:
        return find_hotspots(
            ws,
            unit=unit,
            cell_size=params.get("cell_size_m") if unit == params.get("unit") == "grid" else None,
            crime_types=list(types) if types else None,
            months=months,
            harm=opts.harm or params.get("harm_table") or "cchi",
            store=False,
        )
    except InputError as exc:
        log.warning("hotspot sections skipped: %s", exc)
        return None


def _heatmap(ws: Workspace) -> str:
    rows = ws.con.execute(
        "SELECT isodow(occurred_at) - 1, hour(occurred_at), count(*) FROM crimes "
        "WHERE occurred_at IS NOT NULL GROUP BY 1, 2"
    ).fetchall()
    if not rows:
        return _not_run("Hour × weekday heat map (no offence times in the data; police.uk gives months only)")
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
    return (
        f'<figure><img src="{_png(fig)}" alt="Crimes by hour and weekday">'
        f"<figcaption>{int(grid.sum()):,} crimes with a recorded time.</figcaption></figure>"
    )


def _plan(ws: Workspace) -> str:
    plan = inputs.latest_plan(ws)
    assigned = inputs.table_frame(ws, "officer_patrols", "ORDER BY date, officer")
    parts = []
    if plan is None:
        parts.append(_not_run("Patrol plan"))
    else:
        parts.append(
            f"<p>Plan {plan['plan_id']} ({_esc(plan['kind'])}), created {_esc(plan['created_at'])}, "
            f"seed {_esc(plan['seed'])}.</p>{_kv(plan['params'])}{_kv(plan['summary'])}"
        )
        if not plan["areas"].empty:
            parts.append("<h3>Areas</h3>" + _frame_table(plan["areas"]))
    if not assigned.empty:
        parts.append(
            "<h3>Patrols assigned to officers</h3>"
            + _frame_table(assigned[["patrol_id", "officer", "area_id", "date", "start_time", "minutes"]])
        )
    return "".join(parts)


def _dosage(ws: Workspace) -> str:
    visits = inputs.officer_visits(ws)
    gps = inputs.table_frame(ws, "visits", "ORDER BY start_utc")
    if visits.empty and gps.empty:
        return _not_run("Dosage (visits recorded by officers or measured from GPS)")
    parts = []
    if not visits.empty:
        parts.append("<h3>Visits recorded on the dashboard</h3>" + _frame_table(visits))
    if not gps.empty:
        parts.append("<h3>Visits measured from GPS</h3>" + _frame_table(gps))
    return "".join(parts)


def _provenance(ws: Workspace, hot: HotspotResult | None) -> str:
    sources = inputs.provenance(ws)
    parts = [_frame_table(sources) if not sources.empty else _not_run("Data ingest")]
    if hot is not None:
        parts.append(
            _kv(
                {
                    "months": hot.meta.get("months"),
                    "crimes": hot.meta.get("crimes"),
                    "harm table": hot.meta.get("harm_table"),
                    "harm table sha256": hot.meta.get("harm_sha256"),
                }
            )
        )
    parts.append(f"<p>{_esc(datasets.ATTRIBUTION)}</p><p>{_esc(datasets.BOUNDARY_ATTRIBUTION)}</p>")
    return "".join(parts)


def _parameters(ws: Workspace, hot: HotspotResult | None, opts: ReportOptions) -> str:
    log_frame = inputs.results_log(ws)
    parts = [
        "<h3>This report</h3>"
        + _kv(
            {
                "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "workspace": ws.path,
                **({"hotspots": {k: v for k, v in hot.meta.items() if k != "workspace"}} if hot else {}),
                **opts.extra,
            }
        )
    ]
    parts.append(
        "<h3>Stored steps</h3>"
        + (_frame_table(log_frame) if not log_frame.empty else _not_run("Stored steps"))
    )
    return "".join(parts)


def _hotspot_sections(hot: HotspotResult) -> list[tuple[str, str, Callable[[], str]]]:
    """Map, concentration and top-hotspot sections of a hotspot result."""
    ranked = hot.hotspots.sort_values(C.HARM_RANK, kind="stable")
    n_top = units_in_top(len(ranked), 0.01)
    has_geom = bool(ranked.geometry.notna().any()) and ranked.crs is not None

    def map_html() -> str:
        if not has_geom:
            return _not_run("Hotspot map (units without polygons)")
        return (
            f'<figure><img src="{_map_figure(ranked, n_top)}" alt="Map of units coloured by harm">'
            f"<figcaption>{len(ranked):,} units coloured by harm; the top 1% ({n_top:,}) "
            "outlined.</figcaption></figure>"
        )

    def concentration_html() -> str:
        lorenz = _lorenz_figure(hot.concentration)
        return f'<figure><img src="{lorenz}" alt="Lorenz curve"></figure>' + _concentration_table(
            hot.concentration
        )

    return [
        ("map", "Hotspot map", map_html),
        ("concentration", "Concentration", concentration_html),
        ("top", "Top hotspots", lambda: _top_table(ranked)),
    ]


def build_report(ws: Workspace, options: ReportOptions | None = None) -> str:
    """Return the report's HTML for the workspace (see the module docstring for the sections)."""
    opts = options or ReportOptions()
    hot = _hotspots(ws, opts)
    sections: list[tuple[str, str, Callable[[], str]]] = []
    if hot is None:
        for sid, name in (
            ("map", "Hotspot map"),
            ("concentration", "Concentration"),
            ("top", "Top hotspots"),
        ):
            sections.append((sid, name, partial(_not_run, f"{name} (no crimes ingested)")))
    else:
        sections += _hotspot_sections(hot)
    sections += [
        ("hour-weekday", "Hour × weekday", lambda: _heatmap(ws)),
        (
            "backtest",
            "Forecast backtest",
            lambda: _stored(inputs.latest_result(ws, *inputs.BACKTEST_KINDS), "Forecast backtest"),
        ),
        ("plan", "Patrol plan", lambda: _plan(ws)),
        ("dosage", "Dosage", lambda: _dosage(ws)),
        (
            "evaluation",
            "Evaluation",
            lambda: _stored(inputs.latest_result(ws, *inputs.EVALUATION_KINDS), "Evaluation"),
        ),
        (
            "allocation",
            "Funding allocation",
            lambda: _stored(inputs.latest_result(ws, *inputs.ALLOCATION_KINDS), "Funding allocation"),
        ),
        ("provenance", "Data provenance", lambda: _provenance(ws, hot)),
        ("parameters", "Parameters", lambda: _parameters(ws, hot, opts)),
    ]
    body = []
    for sid, name, make in sections:
        try:
            content = make()
        except GripkitError as exc:
            content = f'<p class="notrun">{_esc(name)}: could not be drawn ({_esc(exc)}).</p>'
        body.append(f'<section id="{sid}"><h2>{_esc(name)}</h2>{content}</section>')
    toc = "".join(f'<li><a href="#{sid}">{_esc(name)}</a></li>' for sid, name, _ in sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(opts.title)}</title><style>{_CSS}{_EXTRA_CSS}</style></head>
<body><main>
<h1>{_esc(opts.title)}</h1>
<nav><ol>{toc}</ol></nav>
{"".join(body)}
<footer><p>{_esc(datasets.ATTRIBUTION)}</p><p>Made with gripkit. Harm weights are editable defaults; check
the harm table's sources and notes before relying on them.</p></footer>
</main></body></html>
"""


def write_report(ws: Workspace, path: str | Path, options: ReportOptions | None = None) -> Path:
    """Write :func:`build_report` to ``path`` (its folder is created) and return the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from gripkit import Workspace
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.html"
    >>> "not run yet" in write_report(Workspace(":memory:"), out).read_text()
    True
    """
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(build_report(ws, options), encoding="utf-8")
    return target
