"""One self-contained HTML page about a set of hotspots: map, Lorenz curve, tables, provenance.

The page loads nothing from the network: figures are PNGs drawn with matplotlib's Agg renderer
and embedded as base64 ``data:`` URIs, the CSS is inline, and there is no script.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
from matplotlib.figure import Figure

from gripkit import columns as col
from gripkit.errors import InputError
from gripkit.hotspots.concentration import RANDOM_DRAWS, Concentration, units_in_top
from gripkit.hotspots.labels import place
from gripkit.output import SMALL_NUMBER_THRESHOLD
from gripkit.report.context import MapContext, map_context
from gripkit.report.maps import OUTLINE as _OUTLINE
from gripkit.report.maps import Lattice, regular_grid
from gripkit.report.maps import map_figure as _map_figure
from gripkit.report.maps import method_figure as _method_figure
from gripkit.report.maps import png as _png
from gripkit.report.text import PRINT_CSS, WRAP_CSS, inline, td
from gripkit.validate import projected_crs

__all__ = ["write_hotspot_page"]

TOP_ROWS = 20
_ATTRIBUTION_KEYS = ("licence", "license", "attribution")

_CSS = (
    """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;color:#222;
background:#fafafa;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.6rem 0 .6rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}
.figs{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
figure{margin:0;background:#fff;border:1px solid #e2e2e2;padding:.6rem}
figure img{display:block;max-width:100%;height:auto}figcaption{font-size:.85rem;color:#555;max-width:40rem}
table{border-collapse:collapse;background:#fff;font-size:.9rem;margin-bottom:.5rem}
th,td{border:1px solid #e2e2e2;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f1f1f1}td.num{text-align:right;font-variant-numeric:tabular-nums}
.summary{background:#fff;border-left:4px solid #1f3a93;padding:.4rem .7rem}
footer{margin-top:2rem;font-size:.85rem;color:#555;border-top:1px solid #ddd;padding-top:.6rem}
"""
    + WRAP_CSS
    + PRINT_CSS
)


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pct(share: float, digits: int = 1) -> str:
    return f"{share * 100:.{digits}f}%"


def _label(k: float) -> str:
    return f"{k * 100:g}%"


def _check(hotspots: object, concentration: object, title: object, meta: object) -> gpd.GeoDataFrame:
    if not isinstance(hotspots, gpd.GeoDataFrame):
        raise InputError(
            f"'hotspots' must be a GeoDataFrame; received {type(hotspots).__name__}. "
            "Pass the result of gripkit.hotspots.count()."
        )
    missing = [c for c in col.HOTSPOT_COLUMNS if c not in hotspots.columns and c != col.LABEL]
    if missing:
        raise InputError(
            f"'hotspots' lacks column(s) {', '.join(missing)}; received columns "
            f"{', '.join(map(str, hotspots.columns))}. Pass the result of gripkit.hotspots.count()."
        )
    if hotspots.empty:
        raise InputError("'hotspots' has no rows; received an empty frame. Pass at least one unit.")
    if hotspots.crs is not None:
        projected_crs("hotspots.crs", hotspots.crs)
    if not isinstance(concentration, Concentration):
        raise InputError(
            f"'concentration' must be a Concentration; received {type(concentration).__name__}. "
            "Pass gripkit.hotspots.concentration(hotspots.harm, hotspots.area_m2, counts=hotspots.crimes)."
        )
    if not isinstance(title, str) or not title.strip():
        raise InputError(f"'title' must be a non-empty string; received {title!r}.")
    if not isinstance(meta, Mapping):
        raise InputError(
            f"'meta' must be a dict of labels to text; received {type(meta).__name__}. "
            'Pass e.g. {"harm table": "cchi (sha256 …)", "months": "2024-01 to 2024-12"}.'
        )
    return hotspots.sort_values(col.HARM_RANK, kind="stable")


def _lorenz_figure(conc: Concentration) -> str:
    fig = Figure(figsize=(4.8, 4.6))
    ax = fig.subplots()
    lorenz = conc.lorenz
    if len(lorenz) > 4001:  # 4,001 vertices (ends kept) draw the same curve as 500k at 530 px wide
        lorenz = lorenz.iloc[np.unique(np.linspace(0, len(lorenz) - 1, 4001).astype(int))]
    ax.plot(lorenz["unit_share"] * 100, lorenz["value_share"] * 100, color="#c0392b", lw=2, label="harm")
    ax.plot([0, 100], [0, 100], color="#777", lw=1, ls="--", label="perfect equality")
    if conc.n_crimes is not None and conc.n_crimes < conc.n_units:
        reach = 100 * conc.n_crimes / conc.n_units
        ax.plot([0, reach, 100], [0, 100, 100], color="#777", lw=1, ls=":", label="maximal equality given N")
    xs = [k * 100 for k in conc.tops]
    ys = [conc.top_unit_share[k] * 100 for k in conc.tops]
    label = "top " + ", ".join(_label(k) for k in conc.tops) + " of units"
    ax.plot(xs, ys, "o", color=_OUTLINE, ms=4, label=label)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel("% of units (highest harm first)")
    ax.set_ylabel("% of harm")
    ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def _concentration_table(conc: Concentration) -> str:
    rows = []
    for k in conc.tops:
        n_units = units_in_top(conc.n_units, k)
        noun = "unit" if n_units == 1 else "units"
        rows.append(
            f"<tr><th>top {_esc(_label(k))}</th>"
            f'<td class="num">{_pct(conc.top_unit_share[k])} <small>({n_units:,} {noun})</small></td>'
            f'<td class="num">{_pct(conc.top_area_share[k])} '
            f"<small>(units covering {_pct(conc.top_area_covered[k])} of area)</small></td></tr>"
        )
    corrected = "n/a (crime count unknown)" if conc.gini_corrected is None else f"{conc.gini_corrected:.3f}"
    crimes = "unknown" if conc.n_crimes is None else f"{conc.n_crimes:,} carrying harm"
    return (
        "<table><thead><tr><th></th><th>share of harm in top units</th><th>share of harm in top area</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        "<table><tbody>"
        f'<tr><th>Gini coefficient</th><td class="num">{conc.gini:.3f}</td></tr>'
        f"<tr><th>Gini corrected for sparse data (Bernasco &amp; Steenbeek 2017)</th>"
        f'<td class="num">{_esc(corrected)}</td></tr>'
        f"<tr><th>Gini of a random placement of the same crimes (mean of {RANDOM_DRAWS} draws)</th>"
        f'<td class="num">{_esc(_gini_or_na(conc.gini_random))} '
        f"<small>(generalised {_esc(_gini_or_na(conc.gini_random_generalised))})</small></td></tr>"
        f'<tr><th>units</th><td class="num">{conc.n_units:,}</td></tr>'
        f'<tr><th>crimes</th><td class="num">{_esc(crimes)}</td></tr>'
        f'<tr><th>total harm</th><td class="num">{conc.total:,.1f}</td></tr>'
        "</tbody></table>"
        "<p><small>Top units: k% of all units (zero-harm units included), rounded to whole units. Top area: "
        "the highest-harm units taken in order until they cover k% of the total area.</small></p>"
    )


def _top_table(ranked: gpd.GeoDataFrame, share: bool = False) -> str:
    head = ranked.iloc[:TOP_ROWS]
    rows = []
    for rec in head.itertuples(index=False):
        row = rec._asdict()
        crimes, harm = _whole(row[col.CRIMES]), f"{float(row[col.HARM]):,.1f}"
        unit_share = _fmt_share(row[col.SHARE_OF_HARM])
        # gripkit.output.suppress_small ("–": no count to suppress)
        if share and crimes != "–" and 0 < int(row[col.CRIMES]) < SMALL_NUMBER_THRESHOLD:
            crimes, harm, unit_share = f"&lt;{SMALL_NUMBER_THRESHOLD}", "", ""
        rows.append(
            "<tr>"
            f'<td class="num">{_whole(row[col.HARM_RANK])}</td><td>{_esc(place(row))}</td>'
            f'<td class="num">{crimes}</td><td class="num">{harm}</td>'
            f'<td class="num">{unit_share}</td>'
            f'<td class="num">{"" if share else _fmt_share(row[col.CUMULATIVE_SHARE])}</td>'
            f'<td class="num">{float(row[col.AREA_M2]):,.0f}</td>'
            "</tr>"
        )
    return (
        "<table><thead><tr><th>rank</th><th>unit</th><th>crimes</th><th>harm</th><th>share of harm</th>"
        "<th>cumulative share</th><th>area (m²)</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _maps(ranked: gpd.GeoDataFrame, n_top: int, lattice: Lattice | None, context: MapContext | None) -> str:
    """The harm map and the method's map; a note instead when no unit has a polygon (LSOA codes only)."""
    if not ranked.geometry.notna().any():
        return (
            "<p>No map: the units have no polygons (LSOA codes only). Pass an LSOA boundary file "
            "(<code>--boundaries</code>) to draw them.</p>"
        )
    picture = _map_figure(ranked, n_top, lattice, context)
    return (
        f'<figure><img src="{picture}" alt="Map of units coloured by harm">'
        f"<figcaption>Units coloured by harm (square-root colour scale; {_none_shown(context)}). The top 1% "
        f"of units by harm ({n_top:,} of {len(ranked):,}) are outlined in blue.</figcaption></figure>"
        + _method_figure(ranked, lattice, context)
    )


def _whole(value: object) -> str:
    """A count or rank with thousands separators; ``–`` when missing (NaN or NA, e.g. float columns)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except TypeError:  # pandas.NA, None
        return "–"
    return "–" if not np.isfinite(number) else f"{int(number):,}"


def _fmt_share(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return "–" if not np.isfinite(number) else _pct(number)


def _meta_parts(meta: Mapping[str, object]) -> tuple[str, list[str]]:
    attribution = [str(v) for k, v in meta.items() if str(k).strip().lower() in _ATTRIBUTION_KEYS]
    rows = "".join(
        f"<tr><th>{_esc(k)}</th>{td(_esc(inline(v, k)))}</tr>"
        for k, v in meta.items()
        if str(k).strip().lower() not in _ATTRIBUTION_KEYS
    )
    table = (
        f'<table class="wide"><tbody>{rows}</tbody></table>' if rows else "<p>No provenance was given.</p>"
    )
    return table, attribution


def write_hotspot_page(
    path: str | Path,
    hotspots: gpd.GeoDataFrame,
    concentration: Concentration,
    *,
    title: str,
    meta: Mapping[str, object],
    share: bool = False,
    roads: Any = None,
    tiles: str | None = None,
    tiles_attribution: str = "",
) -> Path:
    """Write one self-contained, offline HTML page describing the hotspots.

    The page holds a map of the units coloured by harm (top 1% of units by ``harm_rank`` outlined),
    the Lorenz curve, a table of concentration figures (share of harm in the top k% of units and of
    area, Gini, corrected Gini), the top 20 units, the ``meta`` provenance table and a footer with any
    ``licence`` / ``license`` / ``attribution`` entries of ``meta``. All text is HTML-escaped.

    Parameters
    ----------
    path : str or pathlib.Path
        File to write (overwritten); its folder must exist.
    hotspots : geopandas.GeoDataFrame
        Columns of :data:`gripkit.columns.HOTSPOT_COLUMNS`, e.g. from ``gripkit.hotspots.count``;
        polygons in a projected CRS (EPSG:27700). Not modified.
    concentration : Concentration
        From :func:`gripkit.hotspots.concentration` on the same units.
    title : str
        Page heading.
    meta : mapping of str to str
        Provenance shown as a table, e.g. harm table name and hash, data source, months, cell size.
        Values may be text or stored parameters (numbers are rounded, nested values written as
        ``key: value`` text, a ``crs`` named rather than dumped).
    share : bool
        For sharing: the top-units table shows counts of 1-4 as ``<5`` and blanks what would reveal
        them (:func:`gripkit.output.suppress_small`, the rule of ``gripkit hotspots --share``).
    roads : path or GeoDataFrame, optional
        Road lines (OpenStreetMap or OS) drawn under the units (:func:`gripkit.mapcontext.read_roads`).
    tiles, tiles_attribution : str, optional
        A tile URL template (as ``gripkit serve --tiles``) and its attribution: tiles under the maps,
        fetched once while writing (the page itself stays offline); none by default. An unreachable
        server leaves them out with a warning. The maps always show the force outline, LSOA
        boundaries, the top 5 units labelled, a north arrow and a scale bar
        (:mod:`gripkit.report.context`).

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import geopandas as gpd, tempfile, pathlib
    >>> from shapely.geometry import box
    >>> from gripkit.hotspots.concentration import concentration
    >>> units = gpd.GeoDataFrame({"unit_id": ["a", "b"], "crimes": [3, 0], "harm": [365.0, 0.0],
    ...     "harm_rank": [1, 2], "share_of_harm": [1.0, 0.0], "cumulative_share": [1.0, 1.0],
    ...     "area_m2": [1e4, 1e4]}, geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=27700)
    >>> conc = concentration(units.harm, units.area_m2, counts=units.crimes)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "hotspots.html"
    >>> write_hotspot_page(out, units, conc, title="Demo", meta={"harm table": "cchi"}).exists()
    True
    """
    ranked = _check(hotspots, concentration, title, meta)
    target = Path(path).expanduser()
    if not target.parent.is_dir():
        raise InputError(
            f"'path' folder {str(target.parent)!r} does not exist; received {str(path)!r}. "
            "Create the folder first or write elsewhere."
        )
    n_top = units_in_top(len(ranked), 0.01)
    lattice = regular_grid(ranked.geometry)  # a grid is drawn as one image, other units as shapes
    context = map_context(ranked, roads=roads, tiles=tiles, tiles_attribution=tiles_attribution)
    meta_table, attribution = _meta_parts(meta)
    attribution += list(context.credits if context else ())
    footer = "".join(f"<p>{_esc(line)}</p>" for line in attribution)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title><style>{_CSS}</style></head>
<body><main>
<h1>{_esc(title)}</h1>
<h2>Map and concentration</h2>
<div class="figs">
{_maps(ranked, n_top, lattice, context)}
<figure><img src="{_lorenz_figure(concentration)}" alt="Lorenz curve of harm across units">
<figcaption>Lorenz curve: share of harm held by the highest-harm share of units.</figcaption></figure>
</div>
<h2>How concentrated is harm?</h2>
<p class="summary">The top {_label(concentration.tops[0])} of units hold
{_pct(concentration.top_unit_share[concentration.tops[0]])} of the harm;
{_esc(concentration.gini_sentence())}.</p>
{_concentration_table(concentration)}
<h2>Top {min(TOP_ROWS, len(ranked))} hotspots</h2>
<p class="summary">{_top_sentence(ranked, share)}</p>
{_top_table(ranked, share)}
<h2>Provenance</h2>
<p class="summary">What this page was made from: the data, months, harm table and the method's settings.</p>
{meta_table}
<footer>{footer}<p>Made with gripkit. Harm weights are editable defaults; check the harm table's sources
and notes before relying on them.</p></footer>
</main></body></html>
"""
    target.write_text(page, encoding="utf-8")
    return target


def _none_shown(context: MapContext | None) -> str:
    return (
        "clear over the roads and tiles: no harm"
        if context is not None and context.backdrop
        else "grey: no harm"
    )


def _gini_or_na(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _top_sentence(ranked: gpd.GeoDataFrame, share: bool) -> str:
    """The top table's opening sentence (for sharing, without their cumulative share, as the table)."""
    said = "The units with the most harm, highest first"
    if share:
        return said + "; counts of 1 to 4 are shown as &lt;5."
    n = min(TOP_ROWS, len(ranked))
    return (
        f"{said}; together the first {n} hold {_fmt_share(ranked[col.SHARE_OF_HARM].iloc[:n].sum())} of it."
    )
