"""A background tile layer: a checked Leaflet URL template, its CSP sources, its attribution.

Used by the dashboard (:mod:`gripkit.dashboard`) and the static maps (:mod:`gripkit.maptiles.fetch`);
it lives below both so the report does not import the dashboard.

A tile URL reaches three places: the Content-Security-Policy header (``img-src`` must name the tile
host, and a ``;``, ``,`` or space in it would end the directive or add a policy), a ``data-``
attribute of the map page, and Leaflet's URL template. :func:`tile_layer` admits only what is safe
in all three: ``http``/``https``, a DNS host name or IPv4 address (optionally ``{s}`` for Leaflet's
subdomains), an optional port, and ``{z}``, ``{x}``, ``{y}`` (or ``{-y}``) in the path or query.

The attribution is plain text: the page escapes it before Leaflet puts it in the attribution
control (which writes HTML), so markup in it shows as typed.

Example
-------
>>> osm = tile_layer(OSM_URL, OSM_ATTRIBUTION)
>>> osm.csp_sources
'https://tile.openstreetmap.org'
>>> tile_layer("https://{s}.tile.example.org:8443/{z}/{x}/{y}.png").csp_sources
'https://a.tile.example.org:8443 https://b.tile.example.org:8443 https://c.tile.example.org:8443'
>>> tile_layer("none") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gripkit.errors import InputError

#: OpenStreetMap's standard tile layer (its tile usage policy applies: docs/dashboard.md, "Basemaps")
OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"
OSM_ATTRIBUTION_URL = "https://www.openstreetmap.org/copyright"
#: Leaflet's default subdomains for ``{s}``
SUBDOMAINS = ("a", "b", "c")
#: values of ``--tiles`` that mean "no background layer"
NO_TILES = ("", "none", "off")
#: more subdomains than this are written as one ``*.`` wildcard source in the CSP
MAX_LISTED = 8
MAX_URL = 500
MAX_ATTRIBUTION = 300
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NAMES = ("z", "x", "y", "-y", "s", "r")
#: what may stand in a URL besides the placeholders: RFC 3986 unreserved, reserved minus ``;,'``
#: and the ``[]`` of IPv6 literals (CSP host sources cannot name those), and percent escapes
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#@!$&()*+=%]*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_SUBDOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_HOW = "Pass a template such as https://tile.openstreetmap.org/{z}/{x}/{y}.png, or 'none' for no basemap."


@dataclass(frozen=True)
class TileLayer:
    """A checked tile layer: Leaflet template, subdomains, plain-text attribution (and its link)."""

    url: str
    attribution: str = ""
    attribution_url: str = ""
    subdomains: tuple[str, ...] = SUBDOMAINS

    @property
    def origins(self) -> tuple[str, ...]:
        """The ``scheme://host[:port]`` the browser fetches tiles from (``{s}`` expanded)."""
        scheme, rest = self.url.split("://", 1)
        authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        if "{s}" not in authority:
            return (f"{scheme}://{authority}",)
        if len(self.subdomains) > MAX_LISTED and authority.startswith("{s}."):
            return (f"{scheme}://*.{authority[4:]}",)
        return tuple(f"{scheme}://{authority.replace('{s}', s)}" for s in self.subdomains)

    @property
    def csp_sources(self) -> str:
        """The ``img-src`` sources of the layer, space-separated (safe in the CSP header)."""
        return " ".join(self.origins)


def _refuse(what: str, url: str, why: str, how: str = _HOW) -> InputError:
    return InputError(f"'{what}' {why}; received {url[:80]!r}. {how}")


def check_url(url: str, subdomains: tuple[str, ...] = SUBDOMAINS, what: str = "tiles") -> str:
    """``url`` stripped, if it is a tile URL template safe in a CSP header, an HTML attribute and
    Leaflet; else :class:`InputError` saying what is wrong.

    >>> check_url(" http://127.0.0.1:8081/{z}/{x}/{y}.png ")
    'http://127.0.0.1:8081/{z}/{x}/{y}.png'
    >>> try:
    ...     check_url("https://tiles.example/{z}/{x}/{y}.png; script-src *")
    ... except InputError as exc:
    ...     print(str(exc)[:34])
    'tiles' may not contain spaces, qu
    """
    text = str(url).strip()
    if len(text) > MAX_URL:
        raise _refuse(what, text, f"is longer than {MAX_URL} characters")
    if re.search(r"[\s\"'`;,<>\\^|]", text) or _CONTROL.search(text):
        raise _refuse(what, text, "may not contain spaces, quotes, ';', ',', '<', '>' or '\\'")
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise _refuse(what, text, "must start with http:// or https://")
    if "[" in text or "]" in text:
        raise _refuse(
            what,
            text,
            "may not contain '[' or ']' (a CSP cannot name an IPv6 address)",
            "Pass a host name (e.g. localhost) instead.",
        )
    unknown = sorted({n for n in _PLACEHOLDER.findall(text) if n.strip() not in _NAMES})
    if unknown:
        shown = ", ".join("{" + n + "}" for n in unknown)
        raise _refuse(
            what, text, f"has {shown}; the placeholders are {{z}}, {{x}}, {{y}}, {{-y}}, {{s}}, {{r}}"
        )
    if not _URL_CHARS.fullmatch(_PLACEHOLDER.sub("", text)):
        raise _refuse(what, text, "may contain only URL characters (letters, digits and -._~:/?#@!$&()*+=%)")
    authority, path = re.fullmatch(r"([^/?#]*)(.*)", rest).groups()  # type: ignore[union-attr]
    if "@" in authority:
        raise _refuse(what, text, "may not carry a user name or password before the host")
    host, colon, port = authority.partition(":")
    if colon and not (port.isdigit() and 0 < int(port) < 65536):
        raise _refuse(what, text, f"has the port {port[:10]!r}, not a number from 1 to 65535")
    if "{s}" in host and not subdomains:
        raise _refuse(what, text, "uses {s} but no subdomains are given", "Pass subdomains such as a,b,c.")
    if _PLACEHOLDER.search(host.replace("{s}", "")):
        raise _refuse(what, text, "may use only {s} in the host; {z}, {x} and {y} go in the path")
    samples = [host.replace("{s}", s) for s in subdomains] if "{s}" in host else [host]
    if not host or any(not _HOST.fullmatch(h) for h in samples):
        raise _refuse(what, text, f"has the host {host[:60]!r}, not a DNS name or IPv4 address")
    found = {n.strip() for n in _PLACEHOLDER.findall(path)}
    if not {"z", "x"} <= found or not found & {"y", "-y"}:
        raise _refuse(what, text, "must contain {z}, {x} and {y} in its path or query")
    return f"{scheme.lower()}://{authority}{path}"


def check_subdomains(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """Subdomains for ``{s}``: a comma-separated string or a sequence of DNS labels.

    >>> check_subdomains("a, b,c"), check_subdomains(None)
    (('a', 'b', 'c'), ('a', 'b', 'c'))
    """
    if value is None:
        return SUBDOMAINS
    parts = value.split(",") if isinstance(value, str) else list(value)
    found = tuple(str(p).strip() for p in parts if str(p).strip())
    bad = [p for p in found if not _SUBDOMAIN.fullmatch(p)]
    if bad or len(found) > 64:
        raise InputError(
            f"'tiles_subdomains' must be up to 64 DNS labels separated by commas; received "
            f"{str(value)[:80]!r}. Pass e.g. a,b,c."
        )
    return found


def check_attribution(text: str | None) -> str:
    """The attribution as one line of plain text (markup is kept as typed: the page escapes it).

    >>> check_attribution("  © Ordnance Survey <b>2026</b> ")
    '© Ordnance Survey <b>2026</b>'
    """
    found = " ".join(str(text or "").split())
    if len(found) > MAX_ATTRIBUTION or _CONTROL.search(found):
        raise InputError(
            f"'tiles_attribution' must be one line of plain text of at most {MAX_ATTRIBUTION} characters; "
            f"received {found[:80]!r}. Pass the provider's notice, e.g. '{OSM_ATTRIBUTION}'."
        )
    return found


def tile_layer(
    url: str | None,
    attribution: str | None = "",
    *,
    attribution_url: str | None = "",
    subdomains: str | tuple[str, ...] | list[str] | None = None,
) -> TileLayer | None:
    """The checked layer of ``url``, or None for no basemap (``None``, ``""``, ``"none"``, ``"off"``).

    ``attribution_url`` (optional) is the page the attribution links to (http or https).
    OpenStreetMap's standard tiles get their attribution and its link when none are given.
    """
    if url is None or str(url).strip().lower() in NO_TILES:
        return None
    subs = check_subdomains(subdomains)
    checked = check_url(url, subs)
    text = check_attribution(attribution)
    link = str(attribution_url or "").strip()
    if checked == OSM_URL:
        text = text or OSM_ATTRIBUTION
        link = link or (OSM_ATTRIBUTION_URL if text == OSM_ATTRIBUTION else "")
    if link:
        scheme, sep, rest = link.partition("://")
        if (
            not sep
            or scheme.lower() not in ("http", "https")
            or not rest
            or len(link) > MAX_URL
            or _CONTROL.search(link)
            or not _URL_CHARS.fullmatch(link)
        ):
            raise InputError(
                f"'tiles_attribution_url' must be an http(s) address without spaces, quotes or braces; "
                f"received {link[:80]!r}. Pass the provider's copyright page, e.g. {OSM_ATTRIBUTION_URL}."
            )
    return TileLayer(checked, text, link, subs)
