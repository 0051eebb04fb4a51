"""``fetch``: one force's police.uk files for a window, from the archives and then the API.

Months up to the newest archive come from the archives (the newest holding them), months after it
from the API. Files land in ``into`` in the police.uk layout (``YYYY-MM/YYYY-MM-<force>-<kind>.csv``)
with a manifest (``.gripkit-fetch.json``: every archive's size/ETag/Last-Modified and every file's
SHA-256), so a second run asks only HEAD and list requests and downloads nothing. With a workspace
every new or changed file is ingested as soon as it is written (files already ingested add
nothing). Months a force did not publish are reported, with the source's own date list.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gripkit.errors import InputError
from gripkit.fetch import api
from gripkit.fetch import archive as arc
from gripkit.fetch.http import DEFAULT_BASE_URL, Client
from gripkit.progress import Progress

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")
KINDS = ("street", "outcomes", "stop-and-search")
MANIFEST = ".gripkit-fetch.json"


def force_slug(force: str) -> str:
    """``"West Midlands"`` / ``"West Midlands Police"`` -> ``"west-midlands"`` (police.uk's force id)."""
    words = force.strip().lower().replace("&", "and").split()
    if words and words[-1] == "police":
        words = words[:-1]
    if not words:
        raise InputError(f"'force' must name a police force; received {force!r}. "
                         "Pass e.g. force='Bedfordshire'.")
    return "-".join(words)


@dataclass
class FetchResult:
    """What a fetch wrote, skipped and could not find."""

    force: str
    months: list[str]
    into: str
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    archives_downloaded: list[str] = field(default_factory=list)
    archives_unchanged: list[str] = field(default_factory=list)
    api_months: list[str] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)
    requests: int = 0
    ingested_rows: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from gripkit.results import to_jsonable

        return dict(to_jsonable({k: v for k, v in self.__dict__.items()}))

    def summary(self) -> str:
        span = f"{self.months[0]} to {self.months[-1]}" if self.months else "no months"
        text = (f"Fetched {self.force} for {span}: {len(self.written)} files written, "
                f"{len(self.unchanged)} unchanged, {len(self.archives_downloaded)} archives downloaded, "
                f"{len(self.api_months)} months from the API, {self.requests} requests.")
        if self.missing:
            text += f" {len(self.missing)} month files are missing (listed with the reason)."
        if self.ingested_rows:
            text += f" {self.ingested_rows:,} street rows ingested."
        return text


class _Manifest:
    def __init__(self, into: Path) -> None:
        self.path = into / MANIFEST
        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.archives: dict[str, Any] = data.get("archives", {})
        self.files: dict[str, Any] = data.get("files", {})

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"archives": self.archives, "files": self.files}, indent=1, sort_keys=True))
        os.replace(tmp, self.path)


def _window(months: tuple[Any, Any] | None, last: int | None, newest: str) -> list[str]:
    if months is not None and last is not None:
        raise InputError(f"'months' and 'last' both give the window; received {months} and {last}. Pass one.")
    if last is not None:
        if last < 1:
            raise InputError(f"'last' must be >= 1 month; received {last}. Pass e.g. last=36.")
        return [arc.month_add(newest, -k) for k in range(last - 1, -1, -1)]
    if months is None:
        return [newest]
    first, end = (m.strftime("%Y-%m") if isinstance(m, date) else m for m in months)
    first, end = first or newest, end or newest
    out, month = [], first
    while month <= end:
        out.append(month)
        month = arc.month_add(month, 1)
    if not out:
        raise InputError(f"'months' runs backwards; received {first}..{end}. Pass FROM..TO with FROM <= TO.")
    return out


def load_boundary(path: str | Path, force: str) -> BaseGeometry:
    """The force's polygon (lon/lat, simplified to ~100 m) from a file with a ``police_force`` column."""
    import geopandas as gpd

    frame = gpd.read_file(path)
    column = next((c for c in ("police_force", "pfa_name", "name") if c in frame.columns), None)
    if column is None:
        raise InputError(f"'boundary' {path} has no police_force column; received columns "
                         f"{list(frame.columns)}.")
    rows = frame[frame[column].astype(str).map(force_slug) == force_slug(force)]
    if rows.empty:
        raise InputError(f"'boundary' {path} has no polygon for {force!r}; it has "
                         f"{sorted(frame[column])[:5]} ...")
    return rows.to_crs(4326).union_all().simplify(0.001)


def bundled_boundary(force: str) -> BaseGeometry | None:
    """The force's polygon from the bundled force areas (:func:`gripkit.datasets.force_area`), lon/lat,
    simplified to ~100 m as :func:`load_boundary`; None for a force that is not one of them."""
    import geopandas as gpd

    from gripkit import datasets

    area = datasets.force_area(force)
    if area is None:
        return None
    return gpd.GeoSeries([area], crs=27700).to_crs(4326).iloc[0].simplify(0.001)


def _ingest(paths: list[Path], workspace: Workspace | None, result: FetchResult) -> None:
    if workspace is None or not paths:
        return
    from gripkit.ingestion.run import ingest

    report = ingest(paths, workspace)
    result.ingested_rows += report.crimes.loaded


def fetch(
    force: str,
    *,
    months: tuple[Any, Any] | None = None,
    last: int | None = None,
    kinds: Sequence[str] = KINDS,
    into: str | Path = ".",
    base_url: str = DEFAULT_BASE_URL,
    proxy: str | None = None,
    boundary: str | Path | BaseGeometry | None = None,
    workspace: Workspace | None = None,
    progress: Progress | None = None,
    client: Client | None = None,
) -> FetchResult:
    """Download ``force``'s police.uk files for a window into ``into`` (police.uk layout).

    Parameters
    ----------
    force
        Force name or police.uk id (``"West Midlands"``, ``"west-midlands"``).
    months, last
        The window: ``(first, last)`` months (``"YYYY-MM"`` or dates), or the last ``last`` months
        published (per ``crimes-street-dates``); neither: the newest month.
    kinds
        Any of ``street``, ``outcomes``, ``stop-and-search``.
    into
        Folder receiving ``YYYY-MM/`` folders and the manifest.
    base_url, proxy
        The server (a mirror, or a test server) and an optional proxy URL.
    boundary
        The force's polygon (a file with a ``police_force`` column, or a lon/lat geometry); needed
        only for street crimes of months newer than the newest archive.
    workspace
        If given, every new or changed file is ingested into it as it arrives.

    Examples
    --------
    >>> fetch("Bedfordshire", last=36, into="police-uk")  # doctest: +SKIP
    """
    bad = sorted(set(kinds) - set(KINDS))
    if bad or not kinds:
        raise InputError(f"'kinds' must be among {', '.join(KINDS)}; received {', '.join(kinds) or 'none'}.")
    slug = force_slug(force)
    folder = Path(into)
    folder.mkdir(parents=True, exist_ok=True)
    own = client is None
    client = client or Client(base_url, proxy=proxy)
    try:
        return _run(client, slug, months, last, tuple(kinds), folder, boundary, workspace, progress)
    finally:
        if own:
            client.close()


def _run(client: Client, slug: str, months: tuple[Any, Any] | None, last: int | None, kinds: tuple[str, ...],
         into: Path, boundary: Any, workspace: Workspace | None, progress: Progress | None) -> FetchResult:
    dates = api.street_dates(client)
    if not dates:
        raise InputError(f"{client.base_url}/api/crimes-street-dates lists no months.")
    newest = max(dates)
    window = _window(months, last, newest)
    available = arc.archive_months(client)
    latest = max(available) if available else "0000-00"
    result = FetchResult(force=slug, months=window, into=str(into),
                         meta={"base_url": client.base_url, "kinds": list(kinds), "newest_published": newest,
                               "newest_archive": latest if available else None})
    manifest = _Manifest(into)
    for name, taken in arc.choose_archives(available, [m for m in window if m <= latest]):
        _from_archive(client, name, taken, slug, kinds, into, manifest, result, dates, workspace, progress)
    api_window = [m for m in window if m > latest]
    if api_window:
        _from_api(client, api_window, slug, kinds, into, manifest, result, dates, boundary, workspace)
    unheld = [m for m in window if m <= latest and not any(m in arc.covers(a) for a in available)]
    for month in unheld:
        result.missing.append({"month": month, "kind": "all", "reason": "older than every archive listed"})
    result.requests = client.limiter.requests
    return result


def _from_archive(client: Client, name: str, taken: list[str], slug: str, kinds: tuple[str, ...], into: Path,
                  manifest: _Manifest, result: FetchResult, dates: dict[str, set[str]],
                  workspace: Workspace | None, progress: Progress | None) -> None:
    url = f"/data/archive/{name}.zip"
    remote = arc.head(client, url)
    wanted_keys = {f"{m}/{k}" for m in taken for k in kinds}
    seen = manifest.archives.get(name)
    if seen and seen["stamp"] == remote.stamp and wanted_keys <= set(seen["keys"]):
        result.archives_unchanged.append(name)
        for key in sorted(wanted_keys):
            rel = seen["keys"][key]
            if rel is None:
                _missing_from_archive(result, key, name, slug, dates)
            else:
                result.unchanged.append(rel)
        return
    path = arc.download(client, remote, into / ".partial" / f"{name}.zip", progress=progress)
    result.archives_downloaded.append(name)
    try:
        found = arc.members(path, slug)
        if not found:
            raise InputError(f"archive {name} has no files for force {slug!r}; it has "
                             f"{', '.join(sorted(arc.forces_in(path))[:8])} ... Pass one of those names.")
        wanted = {(m, k): found[(m, k)] for m in taken for k in kinds if (m, k) in found}
        hashes = arc.extract(path, wanted, into)
    finally:
        path.unlink(missing_ok=True)
    keys: dict[str, str | None] = dict(seen["keys"]) if seen and seen["stamp"] == remote.stamp else {}
    new_paths = []
    for (month, kind), member in sorted(wanted.items()):
        rel = "/".join(member.split("/")[-2:])
        keys[f"{month}/{kind}"] = rel
        if manifest.files.get(rel, {}).get("sha256") == hashes[rel]:
            result.unchanged.append(rel)
        else:
            result.written.append(rel)
            new_paths.append(into / rel)
        manifest.files[rel] = {"sha256": hashes[rel], "source": url}
    for key in sorted(wanted_keys - {f"{m}/{k}" for m, k in wanted}):
        keys[key] = None
        _missing_from_archive(result, key, name, slug, dates)
    manifest.archives[name] = {"stamp": remote.stamp, "keys": keys}
    manifest.save()
    _ingest(new_paths, workspace, result)


def _missing_from_archive(
    result: FetchResult, key: str, name: str, slug: str, dates: dict[str, set[str]]
) -> None:
    month, kind = key.split("/", 1)
    listed = "lists" if month in dates else "does not list"
    reason = f"archive {name} has no {kind} file for {slug}; crimes-street-dates {listed} {month}"
    if kind == "stop-and-search" and month in dates:
        has = "includes" if slug in dates[month] else "does not include"
        reason += f" and its stop-and-search forces for {month} {has} {slug}"
    result.missing.append({"month": month, "kind": kind, "reason": reason})


def _write(
    into: Path, rel: str, text: str, manifest: _Manifest, source: str, result: FetchResult
) -> Path | None:
    import hashlib

    data = text.encode()
    digest = hashlib.sha256(data).hexdigest()
    target = into / rel
    if manifest.files.get(rel, {}).get("sha256") == digest and target.exists():
        result.unchanged.append(rel)
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    manifest.files[rel] = {"sha256": digest, "source": source}
    result.written.append(rel)
    return target


def _from_api(client: Client, window: list[str], slug: str, kinds: tuple[str, ...], into: Path,
              manifest: _Manifest, result: FetchResult, dates: dict[str, set[str]], boundary: Any,
              workspace: Workspace | None) -> None:
    listed = sorted(dates)
    todo = [m for m in window if m in dates]
    for month in window:
        if month not in dates:
            for kind in kinds:
                result.missing.append({"month": month, "kind": kind, "reason": (
                    f"not published: crimes-street-dates lists {len(listed)} months, {listed[0]} to "
                    f"{listed[-1]}, without {month}")})
    if not todo:
        return
    area = None
    if "street" in kinds:
        if boundary is None:
            area = bundled_boundary(slug)
            if area is None:
                raise InputError(
                    f"months {todo[0]}..{todo[-1]} are newer than the newest archive and come from the "
                    f"API, which needs the force's polygon, and {slug!r} is none of the 43 force areas "
                    "gripkit ships; pass 'boundary' (a file with a police_force column), or fetch only "
                    "months up to the newest archive.")
        else:
            area = boundary if hasattr(boundary, "geom_type") else load_boundary(boundary, slug)
    names = api.forces(client)
    force_name = names.get(slug, slug.replace("-", " ").title() + " Police")
    for month in todo:
        if any(manifest.files.get(f"{month}/{month}-{slug}-{k}.csv", {}).get("source") == "api"
               and (into / f"{month}/{month}-{slug}-{k}.csv").exists() for k in kinds if k != "outcomes"):
            result.unchanged.extend(f"{month}/{month}-{slug}-{k}.csv" for k in kinds if k != "outcomes")
            continue
        result.api_months.append(month)
        new_paths = []
        if "street" in kinds and area is not None:
            crimes, pieces = api.street_crimes(client, area, month)
            log.info("fetch: %s %d street crimes from the API in %d pieces", month, len(crimes), pieces)
            text = api.street_csv(crimes, month, force_name, api.categories(client, month))
            rel = f"{month}/{month}-{slug}-street.csv"
            new_paths.append(_write(into, rel, text, manifest, "api", result))
        if "stop-and-search" in kinds:
            if slug in dates[month]:
                text = api.stops_csv(api.stops_force(client, slug, month))
                new_paths.append(_write(into, f"{month}/{month}-{slug}-stop-and-search.csv", text, manifest,
                                        "api", result))
            else:
                result.missing.append({"month": month, "kind": "stop-and-search", "reason": (
                    f"crimes-street-dates lists {month} but not {slug} among its stop-and-search forces")})
        if "outcomes" in kinds:
            result.missing.append({"month": month, "kind": "outcomes", "reason": (
                "the API has no force-wide outcomes file; it comes with the next archive")})
        manifest.save()
        _ingest([p for p in new_paths if p is not None], workspace, result)
