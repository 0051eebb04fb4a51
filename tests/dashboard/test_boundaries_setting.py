"""``gripkit serve --boundaries FILE``: the map's LSOA layer is computed with that file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from gripkit.dashboard import create_app
from gripkit.dashboard.routes_pages import hotspot_query


def _request(app) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    return SimpleNamespace(app=app, query_params=SimpleNamespace(getlist=lambda name: []))


def test_served_boundaries_reach_every_map_query(tmp_path: Path) -> None:
    own = tmp_path / "lsoa.gpkg"
    app = create_app(tmp_path / "w.duckdb", boundaries=own)
    query = asyncio.run(hotspot_query(_request(app), unit="lsoa"))  # type: ignore[arg-type]
    assert query.boundaries == str(own) and query.request().boundaries == str(own)
    other = create_app(tmp_path / "v.duckdb")
    bundled = asyncio.run(hotspot_query(_request(other), unit="lsoa"))  # type: ignore[arg-type]
    assert bundled.boundaries is None and bundled.key != query.key
