"""police.uk bulk archives: list, download (streaming, resumable), verify, extract one force.

data.police.uk publishes ``/data/archive/YYYY-MM.zip``: the 36 months up to YYYY-MM for every force,
in folders ``YYYY-MM/`` holding ``YYYY-MM-<force>-street.csv``, ``-outcomes.csv`` and
``-stop-and-search.csv``. A download goes to ``<into>/.partial/``; if it breaks off, the next
attempt (in this run or the next) asks for the rest with an HTTP ``Range`` request guarded by
``If-Range`` (a changed file starts again). The finished file is verified against the checksum the
server publishes for it (``Content-MD5``, or an ETag that is a plain MD5) where there is one, and
always against its length and the zip's own CRC-32s as members are extracted.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import zipfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

from gripkit.fetch.http import Client, FetchError
from gripkit.months import shift
from gripkit.progress import Progress

log = logging.getLogger("gripkit")
INDEX_URL = "/data/archive/"
ARCHIVE_MONTHS = 36
_ARCHIVE = re.compile(r"/data/archive/(\d{4}-\d{2})\.zip")
_MEMBER = re.compile(r"^(?:.*/)?(\d{4}-\d{2})/(\d{4}-\d{2})-(.+)-(street|outcomes|stop-and-search)\.csv$")
_BROKEN = (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout, httpx.WriteError)
_ATTEMPTS = 4


def month_add(month: str, n: int) -> str:
    """``"2024-04"`` shifted by ``n`` months."""
    year, mon = (int(x) for x in month.split("-"))
    return shift(date(year, mon, 1), n).strftime("%Y-%m")


def archive_months(client: Client) -> list[str]:
    """The months of the archives the server lists, oldest first."""
    response = client.request("GET", INDEX_URL)
    if response.status_code != 200:
        raise FetchError(f"{client.base_url}{INDEX_URL} answered HTTP {response.status_code}; expected "
                         "the list of archives.")
    return sorted(set(_ARCHIVE.findall(response.text)))


def covers(archive: str) -> list[str]:
    """The 36 months an archive holds, oldest first."""
    return [month_add(archive, -k) for k in range(ARCHIVE_MONTHS - 1, -1, -1)]


def choose_archives(available: Collection[str], needed: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Fewest archives holding ``needed`` months, newest first (the newest has the latest corrections).

    Returns (archive month, months taken from it). Months no archive holds are left out.
    """
    remaining = sorted(set(needed), reverse=True)
    chosen: list[tuple[str, list[str]]] = []
    newest_first = sorted(available, reverse=True)
    while remaining:
        month = remaining[0]
        holders = [a for a in newest_first if month in covers(a)]
        if not holders:
            remaining.pop(0)
            continue
        archive = holders[0]
        taken = [m for m in remaining if m in covers(archive)]
        chosen.append((archive, sorted(taken)))
        remaining = [m for m in remaining if m not in taken]
    return chosen


@dataclass(frozen=True)
class Remote:
    """What a HEAD request says about an archive."""

    url: str
    size: int | None
    etag: str | None
    last_modified: str | None
    md5: str | None  # hex, where the server publishes one

    @property
    def stamp(self) -> dict[str, object]:
        return {"size": self.size, "etag": self.etag, "last_modified": self.last_modified}


def _published_md5(headers: httpx.Headers) -> str | None:
    content_md5 = headers.get("content-md5")
    if content_md5:
        try:
            return base64.b64decode(content_md5).hex()
        except ValueError:
            return None
    etag = (headers.get("etag") or "").strip('"')
    return etag.lower() if re.fullmatch(r"[0-9a-fA-F]{32}", etag) else None


def head(client: Client, url: str) -> Remote:
    """Size, ETag, Last-Modified and published MD5 of ``url``."""
    response = client.request("HEAD", url)
    if response.status_code != 200:
        raise FetchError(f"{client.base_url}{url} answered HTTP {response.status_code} to HEAD; expected 200 "
                         "(is the archive published? see the list at /data/archive/).")
    length = response.headers.get("content-length")
    return Remote(url, int(length) if length else None, response.headers.get("etag"),
                  response.headers.get("last-modified"), _published_md5(response.headers))


def download(client: Client, remote: Remote, dest: Path, *, progress: Progress | None = None) -> Path:
    """Stream ``remote`` to ``dest`` (resuming a partial file), verify it, and return ``dest``."""
    partial = dest.with_name(dest.name + ".partial")
    stamp_file = dest.with_name(dest.name + ".etag")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if partial.exists() and (not stamp_file.exists() or stamp_file.read_text() != str(remote.etag)):
        partial.unlink()  # a part of another version of the file
    stamp_file.write_text(str(remote.etag))
    for _ in range(_ATTEMPTS):
        start = partial.stat().st_size if partial.exists() else 0
        if remote.size is not None and start == remote.size:
            break
        headers = {"Range": f"bytes={start}-"} if start else {}
        if start and remote.etag:
            headers["If-Range"] = remote.etag
        response = client.request("GET", remote.url, headers=headers, stream=True)
        try:
            if response.status_code not in (200, 206):
                raise FetchError(f"{client.base_url}{remote.url} answered HTTP {response.status_code}; "
                                 "expected the archive.")
            if response.status_code == 200:
                start = 0
            elif start:
                log.info("fetch: resuming %s at byte %d", remote.url, start)
            with open(partial, "ab" if response.status_code == 206 else "wb") as fh:
                done = start
                for chunk in response.iter_bytes(1 << 20):
                    fh.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, remote.size or done, dest.name)
            break
        except _BROKEN as exc:
            log.warning("fetch: %s broke off (%s); asking for the rest", remote.url, exc)
        finally:
            response.close()
    else:
        raise FetchError(f"the download of {client.base_url}{remote.url} broke off {_ATTEMPTS} times; run "
                         "the same command again to resume it.")
    _verify(partial, remote, client.base_url)
    os.replace(partial, dest)
    stamp_file.unlink(missing_ok=True)
    return dest


def _verify(path: Path, remote: Remote, base_url: str) -> None:
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        path.unlink()
        raise FetchError(f"{base_url}{remote.url}: received {size} bytes, the server announced "
                         f"{remote.size}; refused. Run again to download it afresh.")
    if remote.md5 is None:
        return
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != remote.md5:
        path.unlink()
        raise FetchError(f"{base_url}{remote.url}: checksum mismatch (MD5 {digest.hexdigest()}, the server "
                         f"publishes {remote.md5}); the file was refused and deleted. Run again, or use "
                         "'base_url' to try a mirror.")


def members(archive: Path, force: str) -> dict[tuple[str, str], str]:
    """``(month, kind) -> member name`` of ``force``'s files in ``archive``; also the forces seen."""
    out: dict[tuple[str, str], str] = {}
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            match = _MEMBER.match(name)
            if match and match.group(1) == match.group(2) and match.group(3) == force:
                out[(match.group(1), match.group(4))] = name
    return out


def forces_in(archive: Path) -> set[str]:
    """Force slugs with any file in ``archive``."""
    with zipfile.ZipFile(archive) as zf:
        return {m.group(3) for m in map(_MEMBER.match, zf.namelist()) if m}


def extract(archive: Path, wanted: dict[tuple[str, str], str], into: Path) -> dict[str, str]:
    """Extract ``wanted`` members to ``into/YYYY-MM/<file>``; ``{relative path: sha256}``.

    Each member is checked against its CRC-32 while read (``zipfile`` raises on a mismatch) and
    written through a temporary file, so a killed run never leaves half a CSV.
    """
    out: dict[str, str] = {}
    with zipfile.ZipFile(archive) as zf:
        for name in wanted.values():
            rel = "/".join(name.split("/")[-2:])
            target = into / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            digest = hashlib.sha256()
            try:
                with zf.open(name) as src, open(tmp, "wb") as dst:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        digest.update(block)
                        dst.write(block)
            except zipfile.BadZipFile as exc:
                tmp.unlink(missing_ok=True)
                raise FetchError(f"{archive.name}: member {name} is corrupt ({exc}); refused.") from exc
            os.replace(tmp, target)
            out[rel] = digest.hexdigest()
    return out
