"""A local police.uk server for the fetch tests: archives and API answers built from real files.

It serves ``/data/archive/`` (an index page), ``/data/archive/YYYY-MM.zip`` (HEAD, GET, ``Range``
with ``If-Range``, an MD5 ETag), ``/api/crimes-street-dates``, ``/api/forces``,
``/api/crime-categories``, ``/api/crimes-street/all-crime`` (GET or POST ``poly``; 503 above
``limit`` crimes, as police.uk does above 10,000) and ``/api/stops-force``. It logs every request's
arrival time, can answer the first ``burst_429`` API requests with 429, drop the connection half way
through an archive once, or publish a wrong checksum. Nothing here touches the internet.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon

# police.uk's category slugs (``/api/crime-categories``) and the names its CSV files use.
CATEGORIES = {
    "anti-social-behaviour": "Anti-social behaviour", "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary", "criminal-damage-arson": "Criminal damage and arson", "drugs": "Drugs",
    "other-theft": "Other theft", "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order", "robbery": "Robbery", "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person", "vehicle-crime": "Vehicle crime",
    "violent-crime": "Violence and sexual offences", "other-crime": "Other crime",
}
_SLUG = {name: slug for slug, name in CATEGORIES.items()}


def _flag(text: str) -> bool | None:
    return {"True": True, "False": False}.get(text)


def crimes_json(street_csv: str) -> list[dict[str, Any]]:
    """API ``crimes-street`` records of a police.uk street CSV's rows with coordinates."""
    out = []
    for i, row in enumerate(csv.DictReader(io.StringIO(street_csv))):
        if not row["Longitude"]:
            continue
        outcome = row["Last outcome category"]
        out.append({
            "category": _SLUG[row["Crime type"]], "location_type": "Force", "context": row["Context"],
            "location": {"latitude": row["Latitude"], "longitude": row["Longitude"],
                         "street": {"id": i, "name": row["Location"]}},
            "outcome_status": {"category": outcome, "date": row["Month"]} if outcome else None,
            "persistent_id": row["Crime ID"], "id": i, "location_subtype": "", "month": row["Month"],
        })
    return out


def stops_json(stops_csv: str) -> list[dict[str, Any]]:
    """API ``stops-force`` records of a police.uk stop-and-search CSV."""
    out = []
    for row in csv.DictReader(io.StringIO(stops_csv)):
        def text(column: str, row: dict[str, str] = row) -> str | None:
            return row[column] or None
        location = ({"latitude": row["Latitude"], "longitude": row["Longitude"],
                     "street": {"id": 0, "name": "On or near"}} if row["Latitude"] else None)
        out.append({
            "type": row["Type"], "datetime": row["Date"],
            "operation": _flag(row["Part of a policing operation"]),
            "operation_name": text("Policing operation"), "location": location, "gender": text("Gender"),
            "age_range": text("Age range"), "self_defined_ethnicity": text("Self-defined ethnicity"),
            "officer_defined_ethnicity": text("Officer-defined ethnicity"),
            "legislation": text("Legislation"),
            "object_of_search": text("Object of search"), "outcome": text("Outcome"),
            "outcome_linked_to_object_of_search": _flag(row["Outcome linked to object of search"]),
            "removal_of_more_than_outer_clothing": _flag(row["Removal of more than just outer clothing"]),
            "involved_person": True, "outcome_object": None,
        })
    return out


@dataclass
class Site:
    """What the server publishes and how it misbehaves."""

    archives: dict[str, bytes] = field(default_factory=dict)
    dates: list[dict[str, Any]] = field(default_factory=list)
    crimes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    stops: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    forces: dict[str, str] = field(default_factory=dict)
    limit: int = 10_000
    burst_429: int = 0
    drop_once: set[str] = field(default_factory=set)
    bad_checksum: set[str] = field(default_factory=set)
    log: list[tuple[float, str, str, int]] = field(default_factory=list)
    archive_bytes_sent: int = 0
    _xy: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def xy(self, month: str) -> tuple[np.ndarray, np.ndarray]:
        if month not in self._xy:
            rows = self.crimes.get(month, [])
            self._xy[month] = (np.array([float(c["location"]["longitude"]) for c in rows]),
                               np.array([float(c["location"]["latitude"]) for c in rows]))
        return self._xy[month]


def _etag(data: bytes) -> str:
    return '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "application/json",
              headers: dict[str, str] | None = None, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)
        self._status = status

    def _json(self, value: Any) -> None:
        self._send(200, json.dumps(value).encode())

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._body = self.rfile.read(length).decode()
        self._handle("POST")

    def _handle(self, method: str) -> None:
        site = self.server.site
        arrived = time.monotonic()
        self._status = 0
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        if method == "POST":
            query.update({k: v[-1] for k, v in urllib.parse.parse_qs(self._body).items()})
        try:
            self._route(site, method, url.path, query)
        finally:
            with site.lock:
                site.log.append((arrived, method, url.path, self._status))

    def _route(self, site: Site, method: str, path: str, query: dict[str, str]) -> None:
        if path.startswith("/api/"):
            with site.lock:
                throttled = site.burst_429 > 0
                site.burst_429 -= throttled
            if throttled:
                self._send(429, b"", headers={"Retry-After": "0.2"})
                return
        if path == "/data/archive/":
            links = "".join(f'<a href="/data/archive/{n}.zip">{n}</a>\n' for n in sorted(site.archives))
            self._send(200, links.encode(), "text/html")
        elif path.startswith("/data/archive/") and path.endswith(".zip"):
            self._archive(site, method, path.rsplit("/", 1)[1][:-4])
        elif path == "/api/crimes-street-dates":
            self._json(site.dates)
        elif path == "/api/forces":
            self._json([{"id": k, "name": v} for k, v in site.forces.items()])
        elif path == "/api/crime-categories":
            self._json([{"url": k, "name": v} for k, v in CATEGORIES.items()])
        elif path == "/api/crimes-street/all-crime":
            self._street(site, query)
        elif path == "/api/stops-force":
            self._json(site.stops.get(query.get("date", ""), {}).get(query.get("force", ""), []))
        else:
            self._send(404, b"[]")

    def _street(self, site: Site, query: dict[str, str]) -> None:
        pairs = [tuple(map(float, p.split(","))) for p in query["poly"].split(":")]
        polygon = Polygon([(lng, lat) for lat, lng in pairs])
        month = query.get("date", "")
        lon, lat = site.xy(month)
        inside = np.flatnonzero(shapely.intersects_xy(polygon, lon, lat)) if len(lon) else []
        if len(inside) > site.limit:
            self._send(503, b"")
            return
        rows = site.crimes.get(month, [])
        self._json([rows[i] for i in inside])

    def _archive(self, site: Site, method: str, name: str) -> None:
        data = site.archives.get(name)
        if data is None:
            self._send(404, b"")
            return
        etag = _etag(data + b"x") if name in site.bad_checksum else _etag(data)
        headers = {"ETag": etag, "Accept-Ranges": "bytes", "Last-Modified": "Thu, 02 May 2024 10:00:00 GMT"}
        if method == "HEAD":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self._status = 200
            return
        start, status = 0, 200
        ranged = self.headers.get("Range", "")
        if ranged.startswith("bytes=") and self.headers.get("If-Range", etag) == etag:
            start, status = int(ranged[6:].split("-")[0]), 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self._status = status
        with site.lock:
            drop = name in site.drop_once
            site.drop_once.discard(name)
        if drop:
            half = len(body) // 2
            self.wfile.write(body[:half])
            self.wfile.flush()
            site.archive_bytes_sent += half
            self.close_connection = True
            return
        self.wfile.write(body)
        site.archive_bytes_sent += len(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, site: Site) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.site = site
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most requests arriving in any ``window``-second span (sliding, inclusive)."""
    ordered = np.sort(np.asarray(times))
    if not len(ordered):
        return 0
    ends = np.searchsorted(ordered, ordered + window, side="right")
    return int((ends - np.arange(len(ordered))).max())
