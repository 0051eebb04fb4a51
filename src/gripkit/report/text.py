"""How the offline reports write numbers, coordinate systems and stored parameters for people.

Numbers are rounded (4 significant figures, thousands separated, no 10-digit floats), shares and
rates between 0 and 1 are percentages, seconds and metres carry their unit, a coordinate reference
system is named (``"OSGB36 / British National Grid, EPSG:27700"``) rather than dumped as PROJJSON or
WKT, and deep parameter values read as ``key: value`` text instead of JSON. The print CSS makes the
browser's Print → PDF fit A4.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np

from gripkit.report.maps import crs_label

__all__ = ["PRINT_CSS", "WRAP_CSS", "fmt", "fmt_named", "inline", "is_crs_text", "round_floats", "td"]

#: Cells holding a long path or hash (:func:`td`) wrap anywhere, so they add no minimum width and the
#: table fits A4; other cells and the headers wrap between words only. Provenance tables span the page.
WRAP_CSS = (
    "td{overflow-wrap:break-word}td.long{overflow-wrap:anywhere}table.wide{width:100%}"
    "code,.hash{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em}"
)
#: Print → PDF: A4 margins, no screen chrome, figures and table rows kept whole, headings with their text.
PRINT_CSS = (
    "@page{size:A4;margin:14mm 12mm 16mm}"
    "@media print{body{background:#fff;font-size:10pt;line-height:1.35}main{max-width:none;padding:0}"
    "nav{display:none}.figs{display:block}figure{border:0;padding:0;margin:0 0 .6rem}"
    "figure,img,tr,.summary,.notrun,.headline{break-inside:avoid;page-break-inside:avoid}"
    "figure img{max-width:100%;max-height:230mm}h2,h3{break-after:avoid;page-break-after:avoid}"
    "section{break-inside:auto}table{font-size:8.5pt;max-width:100%}th,td{padding:.15rem .35rem}"
    "details>summary{display:none}a{color:inherit;text-decoration:none}}"
)
# keys whose 0..1 values are shares (not "mean_rate": crimes a day); shown as percentages
_SHARE_WORDS = ("share", "proportion", "coverage", "hit_rate", "outcome_rate")
_CRS_KEYS = ("crs", "crs_wkt", "projection")
_PLAIN_INTS = ("id", "seed", "year", "round", "step")
_LONG_TOKEN = re.compile(r"\S{25,}")  # a path, a sha256, a URL: longer than any word
_LONG_FLOAT = re.compile(r"(?<![:\d.])-?\d+\.\d{5,}(?:e[-+]?\d+)?(?![\d.])")
_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?$")


def fmt(value: Any) -> str:
    """A value as report text: rounded numbers, "yes"/"no", "–" for missing.

    >>> [fmt(v) for v in (None, True, 1234567, 2757926.31, 0.0003927, 9.800232710704174e-07, float("nan"))]
    ['–', 'yes', '1,234,567', '2,757,926', '0.0003927', '9.8e-07', '–']
    """
    if value is None:
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return "–"
        if number != 0 and abs(number) >= 1000:
            return f"{number:,.0f}"
        return f"{number:.4g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        match = _TIMESTAMP.match(value.strip())
        if match:  # "2024-05-01T00:00:00" -> the date; "2026-12-04 18:05:05.060121" -> to the minute
            day, minute, zone = match.group(1), match.group(2), match.group(5) or ""
            return day if minute == "00:00" and not zone else f"{day} {minute}{zone}"
        return round_floats(value)
    return str(value)


def td(html_text: str) -> str:
    """A table cell of already-escaped text, marked ``long`` when it holds a path or hash to wrap.

    >>> td("cchi"), td("c4703cd475173b168cc47a547334a8857b64fe5649509da2cbecf86b9e516e4f")[:16]
    ('<td>cchi</td>', '<td class="long"')
    """
    return f'<td class="long">{html_text}</td>' if _LONG_TOKEN.search(html_text) else f"<td>{html_text}</td>"


def round_floats(text: str) -> str:
    """Long decimals inside text (e.g. a stored dict's repr) rounded to 4 significant figures.

    >>> round_floats("{'distance_m': 353.5533905932738, 'at': '18:05:05.060121', 'alpha': 0.05}")
    "{'distance_m': 353.6, 'at': '18:05:05.060121', 'alpha': 0.05}"
    """
    return _LONG_FLOAT.sub(lambda m: fmt(float(m.group())), text)


def is_crs_text(value: Any) -> bool:
    """True for PROJJSON (text or dict) or WKT of a CRS: what should be named, not shown."""
    if isinstance(value, Mapping):
        return "$schema" in value or str(value.get("type", "")).endswith("CRS")
    if not isinstance(value, str):
        return False
    text = value.lstrip()
    return (text.startswith("{") and ('"$schema"' in text or "CRS" in text)) or bool(
        re.match(r"^(PROJCRS|PROJCS|GEOGCRS|GEOGCS|COMPOUNDCRS|BOUNDCRS)\[", text)
    )


def fmt_named(key: Any, value: Any) -> str:
    """``value`` formatted by what its ``key`` says it is (a share, seconds, metres, a CRS).

    >>> fmt_named("hit_rate", 0.3436), fmt_named("seconds", 0.0231)
    ('34.4%', '0.0231 s')
    >>> fmt_named("distance_m", 353.5533905932738)
    '353.6 m'
    >>> fmt_named("crs", "EPSG:27700")
    'OSGB36 / British National Grid, EPSG:27700'
    """
    name = str(key).strip().lower()
    if isinstance(value, int | np.integer) and not isinstance(value, bool) and name.endswith(_PLAIN_INTS):
        return str(int(value))  # an id or a seed, not a quantity: no thousands separator
    if name in _CRS_KEYS or name.endswith("_crs") or is_crs_text(value):
        return crs_label(value)
    if isinstance(value, float | np.floating) and not isinstance(value, bool) and math.isfinite(value):
        number = float(value)
        if any(word in name for word in _SHARE_WORDS) and 0.0 <= number <= 1.0:
            return f"{number * 100:.1f}%"
        if name == "seconds" or name.endswith("_seconds"):
            return f"{fmt(number)} s"
        if name.endswith("_m") and abs(number) < 1e5:
            return f"{number:,.1f} m".replace(".0 m", " m")
    return fmt(value)


def inline(value: Any, key: Any = "", limit: int = 400) -> str:
    """A nested value (dict, list) as one line of ``key: value`` text, numbers rounded, cut at ``limit``.

    >>> inline({"Bedfordshire": {"months_held": 6, "share": 0.1359454914710119}, "origin": [489250.0, 2]})
    'Bedfordshire: (months_held: 6; share: 13.6%); origin: (489,250; 2)'
    >>> inline([489250.0, 212750.0]), inline(["Drugs", "Robbery"])
    ('489,250; 212,750', 'Drugs, Robbery')
    """
    if isinstance(value, Mapping):
        if is_crs_text(value):
            return crs_label(dict(value))
        text = "; ".join(f"{k}: {_nested(inline(v, k, limit), v)}" for k, v in value.items())
    elif isinstance(value, list | tuple | set | frozenset):
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        # "489,250; 212,750": thousands commas would run into a comma between numbers
        text = ("; " if numbers else ", ").join(_nested(inline(v, key, limit), v) for v in value)
    else:
        text = fmt_named(key, value)
    return text if len(text) <= limit else text[: limit - 2] + " …"


def _nested(text: str, value: Any) -> str:
    return f"({text})" if isinstance(value, Mapping | list | tuple) and len(value) > 1 else text
