"""The basemap: tile URL checks (CSP injection refused), and the real ``gripkit serve``'s CSP header.

The CSP grammar relied on (W3C Content Security Policy Level 3, section 2.2): directives are
separated by ``;``, policies in one header by ``,``, sources by spaces; a host-source is
``scheme://host[:port]`` with host characters ALPHA / DIGIT / ``-`` / ``.`` (a leading ``*.`` allowed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gripkit.cli import app
from gripkit.dashboard.tiles import (
    MAX_LISTED,
    OSM_ATTRIBUTION,
    OSM_ATTRIBUTION_URL,
    OSM_URL,
    check_attribution,
    tile_layer,
)
from gripkit.errors import InputError

from dashboard_helpers import PASSWORDS, login  # isort: skip
from tile_helpers import bundled_workspace, gripkit_serve  # isort: skip

#: a CSP host-source as CSP3 section 2.2 defines it (scheme, host, optional port; no path here)
HOST_SOURCE = re.compile(r"https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?")


def img_src(csp: str) -> list[str]:
    """The sources of the ``img-src`` directive of a CSP header value."""
    directive = next(d.strip() for d in csp.split(";") if d.strip().startswith("img-src"))
    return directive.split()[1:]


def test_osm_default_has_its_host_attribution_and_copyright_link() -> None:
    layer = tile_layer(OSM_URL)
    assert layer is not None
    # the host of https://operations.osmfoundation.org/policies/tiles/ ("Usage": the correct URL)
    assert layer.csp_sources == "https://tile.openstreetmap.org"
    assert (layer.attribution, layer.attribution_url) == (OSM_ATTRIBUTION, OSM_ATTRIBUTION_URL)
    # a text of one's own replaces OpenStreetMap's, and then no link is assumed
    own = tile_layer(OSM_URL, "© OpenStreetMap contributors, served by us")
    assert own is not None and own.attribution_url == ""


@pytest.mark.parametrize("off", [None, "", "none", "NONE", " off "])
def test_no_tiles(off: str | None) -> None:
    assert tile_layer(off) is None


def test_subdomains_expand_to_each_host_or_a_wildcard() -> None:
    layer = tile_layer("HTTPS://{s}.tile.example.org:8443/{z}/{x}/{-y}.png?key=K1", subdomains="t1,t2")
    assert layer is not None
    assert layer.url == "https://{s}.tile.example.org:8443/{z}/{x}/{-y}.png?key=K1"  # scheme lower-cased
    assert layer.origins == ("https://t1.tile.example.org:8443", "https://t2.tile.example.org:8443")
    many = ",".join(f"s{i}" for i in range(MAX_LISTED + 1))
    wide = tile_layer("https://{s}.tile.example.org/{z}/{x}/{y}.png", subdomains=many)
    assert wide is not None and wide.origins == ("https://*.tile.example.org",)
    # {s} inside a label cannot be a wildcard: each subdomain is listed
    inside = tile_layer("https://tile-{s}.example.org/{z}/{x}/{y}.png", subdomains=many)
    assert inside is not None and len(inside.origins) == MAX_LISTED + 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        # CSP injection: a ';' ends img-src and starts a directive, ',' starts a second policy,
        # a space adds a source, quotes add keywords such as 'unsafe-inline'
        ("https://t.example/{z}/{x}/{y}.png; script-src *", "may not contain spaces"),
        ("https://t.example;script-src/{z}/{x}/{y}.png", "may not contain spaces"),
        ("https://t.example,default-src/{z}/{x}/{y}.png", "may not contain spaces"),
        ("https://t.example/{z}/{x}/{y}.png 'unsafe-inline'", "may not contain spaces"),
        ("https://t.example/{z}/{x}/{y}.png\r\nSet-Cookie: a=b", "may not contain spaces"),
        ("https://t.example\t/{z}/{x}/{y}.png", "may not contain spaces"),  # urlsplit would drop a tab
        ('https://t.example/{z}/{x}/{y}.png"><script>', "may not contain spaces"),
        ("https://t.example/{z}\u2028/{x}/{y}.png", "may not contain spaces"),
        # not a web tile server
        ("javascript:alert(1)//{z}/{x}/{y}", "must start with http:// or https://"),
        ("data:image/png;base64,{z}{x}{y}", "may not contain spaces"),
        ("//t.example/{z}/{x}/{y}.png", "must start with http:// or https://"),
        ("ftp://t.example/{z}/{x}/{y}.png", "must start with http:// or https://"),
        # hosts a CSP host-source cannot name, or that are not hosts
        ("https://[::1]:8080/{z}/{x}/{y}.png", "IPv6"),
        ("https://user:pw@t.example/{z}/{x}/{y}.png", "user name or password"),
        ("https://t_x.example/{z}/{x}/{y}.png", "not a DNS name"),
        ("https://*.example/{z}/{x}/{y}.png", "not a DNS name"),
        ("https:///{z}/{x}/{y}.png", "not a DNS name"),
        ("https://t.example:99999/{z}/{x}/{y}.png", "port"),
        ("https://t.example:/{z}/{x}/{y}.png", "port"),
        ("https://t.example:{z}/{x}/{y}.png", "port"),
        ("https://{z}.t.example/{z}/{x}/{y}.png", "only {s} in the host"),
        # templates Leaflet cannot fill
        ("https://t.example/{z}/{x}.png", "must contain {z}, {x} and {y}"),
        ("https://t.example/tiles.png", "must contain {z}, {x} and {y}"),
        ("https://t.example/{z}/{x}/{y}.png?k={apikey}", "{apikey}"),
        ("https://t.example/{z}/{x}/{y}.png?k=}", "only URL characters"),
        ("https://t.example/" + "a" * 500 + "/{z}/{x}/{y}.png", "longer than 500"),
    ],
)
def test_bad_urls_are_refused_with_what_and_how(url: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        tile_layer(url)
    text = str(caught.value)
    assert message in text and "'tiles'" in text and "received" in text and "Pass" in text


def test_bad_subdomains_and_attribution_links_are_refused() -> None:
    template = "https://{s}.t.example/{z}/{x}/{y}.png"
    for subdomains in ("a;b", "a b", "-a", ""):
        with pytest.raises(InputError):
            tile_layer(template, subdomains=subdomains)
    for link in (
        "javascript:alert(1)",
        'https://x.example/"onmouseover=x',
        "https://x.example/ a",
        "mailto:x",
    ):
        with pytest.raises(InputError, match="tiles_attribution_url"):
            tile_layer(OSM_URL, attribution_url=link)


def test_attribution_is_one_line_of_plain_text() -> None:
    # markup is kept as typed (the page escapes it; test_basemap_browser shows it as text)
    assert (
        check_attribution(' <img src=x onerror="alert(1)">  ©  Me ') == '<img src=x onerror="alert(1)"> © Me'
    )
    assert check_attribution("a\nb") == "a b"  # whitespace runs become one space
    for bad in ("x\x00y", "x\x1b[31my", "x" * 301):
        with pytest.raises(InputError, match="plain text"):
            check_attribution(bad)


#: characters around and inside a valid template, to fuzz the check with
_PIECES = st.sampled_from([*";, '\"\t\n\r<>\\/:@[]{}*?#%&=", "{s}", "{z}", "{x}", "{y}", "a", "1", "."])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=6), st.integers(0, 60), st.lists(_PIECES, max_size=6))
def test_any_accepted_url_yields_only_host_sources(before: list[str], at: int, inserted: list[str]) -> None:
    """Whatever is spliced into a valid template, it is refused or every CSP source is a host-source."""
    base = "https://{s}.tiles.example.org:8080/{z}/{x}/{y}.png"
    url = "".join(before) + base[:at] + "".join(inserted) + base[at:]
    try:
        layer = tile_layer(url)
    except InputError:
        return
    assert layer is not None
    for source in layer.csp_sources.split(" "):
        assert HOST_SOURCE.fullmatch(source), source


# -- the real server -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield bundled_workspace(tmp_path_factory.mktemp("tiles") / "gripkit.duckdb")


def test_serve_puts_the_tile_host_in_the_csp_and_escapes_the_attribution(
    workspace: Path, tmp_path: Path
) -> None:
    template = "http://127.0.0.1:8111/{z}/{x}/{y}.png"  # nothing listens there: only headers are read
    attribution = '<img src=x onerror="alert(1)"> © Test tiles'
    with gripkit_serve(
        workspace, "--tiles", template, "--tiles-attribution", attribution, copy_to=tmp_path / "w.duckdb"
    ) as served:
        assert served.announced["tiles"] == template
        assert served.announced["tiles_hosts"] == ["http://127.0.0.1:8111"]
        with httpx.Client(base_url=served.url, timeout=60) as client:
            for path in ("/login", "/api/hotspots"):  # a public page and a 401 answer alike
                response = client.get(path)
                csp = response.headers["content-security-policy"]
                assert img_src(csp) == ["'self'", "data:", "http://127.0.0.1:8111"]
                assert "script-src 'self';" in csp  # the other directives are untouched
                assert response.headers["referrer-policy"] == "same-origin"  # the page keeps its policy
            assert login(client, "ana", PASSWORDS["ana"][1]).status_code == 303
            page = client.get("/").text
    assert f'data-tiles="{template}"' in page
    assert 'data-tiles-attribution="&lt;img src=x onerror=&#34;alert(1)&#34;&gt; © Test tiles"' in page


def test_serve_defaults_to_openstreetmap_and_none_turns_it_off(workspace: Path, tmp_path: Path) -> None:
    with gripkit_serve(workspace, copy_to=tmp_path / "a.duckdb") as served:
        assert served.announced["tiles"] == OSM_URL
        csp = httpx.get(served.url + "/login", timeout=60).headers["content-security-policy"]
        assert img_src(csp) == ["'self'", "data:", "https://tile.openstreetmap.org"]
    with gripkit_serve(workspace, "--tiles", "none", copy_to=tmp_path / "b.duckdb") as served:
        assert served.announced["tiles"] is None and served.announced["tiles_hosts"] == []
        with httpx.Client(base_url=served.url, timeout=60) as client:
            csp = client.get("/login").headers["content-security-policy"]
            assert img_src(csp) == ["'self'", "data:"]
            login(client, "ana", PASSWORDS["ana"][1])
            assert "data-tiles" not in client.get("/").text


def test_serve_refuses_a_bad_tile_url_before_starting(tmp_path: Path) -> None:
    ws_path = tmp_path / "never.duckdb"
    result = CliRunner().invoke(
        app, ["serve", "-w", str(ws_path), "--tiles", "https://t.example/{z}/{x}/{y}.png;script-src *"]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError) and "may not contain spaces" in str(result.exception)
    assert not ws_path.exists()  # refused before the workspace was opened


def test_serve_announces_the_basemap_at_start(workspace: Path, tmp_path: Path) -> None:
    with gripkit_serve(workspace, copy_to=tmp_path / "w.duckdb", json_out=False) as served:
        notice = served.announced["notice"]
    assert isinstance(notice, str) and notice.startswith("Basemap: OpenStreetMap's standard tiles;")
    assert "https://tile.openstreetmap.org" in notice and "--tiles none" in notice


def test_library_default_has_no_tiles_and_checks_a_given_url(tmp_path: Path) -> None:
    from gripkit.dashboard import create_app

    assert create_app(":memory:").state.dashboard.tiles is None
    with pytest.raises(InputError, match="may not contain spaces"):
        create_app(":memory:", tiles_url="https://t.example/{z}/{x}/{y}.png 'unsafe-eval'")
