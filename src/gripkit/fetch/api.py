"""The police.uk API for months newer than the newest archive: street crimes and stop-and-search.

``crimes-street/all-crime`` answers for a custom area (``poly=lat,lng:lat,lng:...``) and at most
10,000 crimes (HTTP 503 above that); a GET over 4,094 characters is refused (400), so long
polygons go by POST. The force's polygon is split into quadrants (clipped to the force) until every
piece answers; crimes on a cut line come back twice and are kept once (by the API's ``id``).
``stops-force`` gives a force's stop-and-search for a month. Rows are written with the police.uk
CSV columns so ``gripkit ingest`` reads them like hand-downloaded files; what the API cannot give
is documented in ``docs/fetch.md`` (LSOA code and name are left blank).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from gripkit.fetch.http import Client, FetchError, TooManyResults

MAX_GET_CHARS = 4000
MAX_DEPTH = 10
STREET_COLUMNS = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                  "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context")
STOP_COLUMNS = ("Type", "Date", "Part of a policing operation", "Policing operation", "Latitude", "Longitude",
                "Gender", "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation",
                "Object of search", "Outcome", "Outcome linked to object of search",
                "Removal of more than just outer clothing")


def street_dates(client: Client) -> dict[str, set[str]]:
    """``crimes-street-dates``: month -> forces with stop-and-search that month."""
    answer = client.get_json("/api/crimes-street-dates")
    return {row["date"]: set(row.get("stop-and-search") or ()) for row in answer}


def forces(client: Client) -> dict[str, str]:
    """``forces``: slug -> display name (e.g. ``bedfordshire -> Bedfordshire Police``)."""
    return {row["id"]: row["name"] for row in client.get_json("/api/forces")}


def categories(client: Client, month: str) -> dict[str, str]:
    """``crime-categories``: slug -> the name the CSV files use (``anti-social-behaviour`` ...)."""
    answer = client.get_json("/api/crime-categories", params={"date": month})
    return {row["url"]: row["name"] for row in answer}


def poly_param(piece: Polygon) -> str:
    """``lat,lng:lat,lng:...`` of a polygon's outer ring (the API closes it itself)."""
    return ":".join(f"{lat:.5f},{lon:.5f}" for lon, lat in list(piece.exterior.coords)[:-1])


def _parts(geom: BaseGeometry) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [geom] if not geom.is_empty and geom.area > 0 else []
    if isinstance(geom, MultiPolygon):
        return [g for g in geom.geoms if g.area > 0]
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon) and g.area > 0]


def quadrants(piece: Polygon) -> list[Polygon]:
    """The four quadrants of ``piece``'s bounding box, clipped to it."""
    minx, miny, maxx, maxy = piece.bounds
    midx, midy = (minx + maxx) / 2, (miny + maxy) / 2
    boxes = (box(minx, miny, midx, midy), box(midx, miny, maxx, midy),
             box(minx, midy, midx, maxy), box(midx, midy, maxx, maxy))
    return [part for b in boxes for part in _parts(piece.intersection(b))]


def _query(client: Client, piece: Polygon, month: str) -> list[dict[str, Any]]:
    poly = poly_param(piece)
    url = "/api/crimes-street/all-crime"
    if len(url) + len(poly) + 20 > MAX_GET_CHARS:
        response = client.request("POST", url, data={"poly": poly, "date": month}, retry_on=(429,))
    else:
        response = client.request("GET", url, params={"poly": poly, "date": month}, retry_on=(429,))
    if response.status_code == 503:
        raise TooManyResults(f"more than 10,000 crimes in one piece for {month}")
    if response.status_code != 200:
        raise FetchError(f"{client.base_url}{url} answered HTTP {response.status_code} for {month}.")
    result: list[dict[str, Any]] = response.json()
    return result


def street_crimes(client: Client, area: BaseGeometry, month: str) -> tuple[list[dict[str, Any]], int]:
    """Every crime the API has in ``area`` (lon/lat) for ``month``, and the pieces queried."""
    found: dict[Any, dict[str, Any]] = {}
    stack = [(part, 0) for part in _parts(area)]
    pieces = 0
    while stack:
        piece, depth = stack.pop()
        try:
            crimes = _query(client, piece, month)
        except TooManyResults:
            if depth >= MAX_DEPTH:
                raise FetchError(f"the API still answers 503 (over 10,000 crimes) for a piece split "
                                 f"{MAX_DEPTH} times in {month}; is the server overloaded?") from None
            stack.extend((part, depth + 1) for part in quadrants(piece))
            continue
        pieces += 1
        for crime in crimes:
            found[crime.get("id", id(crime))] = crime
    return list(found.values()), pieces


def stops_force(client: Client, force: str, month: str) -> list[dict[str, Any]]:
    """``stops-force``: a force's stop-and-search records for ``month``."""
    result: list[dict[str, Any]] = client.get_json("/api/stops-force", params={"force": force, "date": month})
    return result


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def street_csv(crimes: list[dict[str, Any]], month: str, force_name: str, names: dict[str, str]) -> str:
    """The police.uk street CSV text of API crimes (LSOA code and name blank: the API has neither)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STREET_COLUMNS)
    for c in crimes:
        loc = c.get("location") or {}
        outcome = c.get("outcome_status") or {}
        writer.writerow([
            c.get("persistent_id") or "", c.get("month") or month, force_name, force_name,
            _text(loc.get("longitude")), _text(loc.get("latitude")),
            (loc.get("street") or {}).get("name", "No location" if not loc else ""), "", "",
            names.get(c.get("category", ""), c.get("category", "")), _text(outcome.get("category")),
            _text(c.get("context")),
        ])
    return out.getvalue()


def stops_csv(stops: list[dict[str, Any]]) -> str:
    """The police.uk stop-and-search CSV text of ``stops-force`` records."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STOP_COLUMNS)
    for s in stops:
        loc = s.get("location") or {}
        writer.writerow([_text(v) for v in (
            s.get("type"), s.get("datetime"), s.get("operation"), s.get("operation_name"),
            loc.get("latitude"), loc.get("longitude"), s.get("gender"), s.get("age_range"),
            s.get("self_defined_ethnicity"), s.get("officer_defined_ethnicity"), s.get("legislation"),
            s.get("object_of_search"), s.get("outcome"), s.get("outcome_linked_to_object_of_search"),
            s.get("removal_of_more_than_outer_clothing"),
        )])
    return out.getvalue()
