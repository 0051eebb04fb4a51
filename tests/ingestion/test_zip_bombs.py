"""Zip bombs and lying zip headers are stopped while streaming, named with their cause; the batch goes on.

Every member is made from the real Bedfordshire police.uk files (Open Government Licence v3.0):
a real month file, or its header and first row repeated (what compresses ~1,000 times). The
damage is crafted here by rewriting fields of the zip format (PKWARE APPNOTE 4.3.7 local file
header: CRC-32 at byte 14, uncompressed size at byte 22; 4.3.12 central directory header: CRC-32
at byte 16, uncompressed size at byte 24; all little-endian 4-byte integers).

Limits (gripkit.ingestion.discover, docs/ingest-limits.md): 512 MiB per file decompressed, and
ratio 100 above 16 MiB. Expected row counts are the real files' data lines (:meth:`Corpus.rows`).
"""

from __future__ import annotations

import gzip
import io
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from tests.ingestion.fuzz import FORCE, GOOD_MONTHS, Corpus

from gripkit import Workspace
from gripkit.ingestion import discover, ingest
from gripkit.ingestion.report import IngestReport

MEMBER = f"2021-09/2021-09-{FORCE}-street.csv"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def corpus(bedfordshire_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(bedfordshire_zip, tmp_path_factory.mktemp("bombs"))


def _bomb_body(corpus: Corpus, size: int) -> bytes:
    """The real 2021-09 header and first row, the row repeated to about ``size`` bytes."""
    data = corpus.month("2021-09")
    header, row = data[: data.index(b"\n") + 1], data.split(b"\n")[1] + b"\n"
    return header + row * (size // len(row))


def _rewrite(path: Path, *, crc: int, size: int) -> None:
    """Set the first member's CRC-32 and uncompressed size in its local and central headers."""
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")
    for crc_at, size_at in ((14, 22), (central + 16, central + 24)):
        raw[crc_at : crc_at + 4] = struct.pack("<I", crc)
        raw[size_at : size_at + 4] = struct.pack("<I", size)
    path.write_bytes(bytes(raw))


def _lying_zip(path: Path, body: bytes, stated: int) -> Path:
    """A deflated zip of ``body`` whose headers state ``stated`` bytes, with the CRC-32 of the
    first ``stated`` bytes: zipfile alone returns those bytes as the whole, valid member."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MEMBER, body)
    _rewrite(path, crc=zlib.crc32(body[:stated]), size=stated)
    return path


def _ingest(paths: list[Path]) -> IngestReport:
    with Workspace(":memory:") as ws:
        return ingest(paths, ws)


def _reasons(report: IngestReport) -> list[str]:
    return [r["reason"] for r in report.rejected_files]


def test_zipfile_alone_would_cut_a_lying_member_short(corpus: Corpus) -> None:
    """The premise: Python's zipfile trusts the header (why discover reads one byte past it)."""
    path = _lying_zip(corpus.folder / "premise.zip", _bomb_body(corpus, 40 * MiB), 1_000_000)
    with zipfile.ZipFile(path) as archive:
        assert len(archive.read(MEMBER)) == 1_000_000  # no error: 39 MiB silently left unread


def test_a_header_that_understates_a_bomb_is_refused_the_batch_loads(corpus: Corpus) -> None:
    """40 MiB of real rows whose headers claim 1,000,000 bytes (CRC-32 crafted to match them)."""
    path = _lying_zip(corpus.folder / "lying/bomb.zip", _bomb_body(corpus, 40 * MiB), 1_000_000)
    report = _ingest([*corpus.good(), path])
    [reason] = _reasons(report)
    assert reason.startswith(f"{path}!{MEMBER}: refused: the zip member holds more than the 1,000,000 bytes")
    assert "zip bomb" in reason
    assert report.crimes.read == sum(corpus.rows(m) for m in GOOD_MONTHS)  # the good files, whole
    assert report.crimes.files == len(GOOD_MONTHS)


def test_a_header_that_understates_a_real_file_is_refused(corpus: Corpus) -> None:
    """The real 2021-09 file (not a bomb) stated as half its size: refused, not loaded half."""
    data = corpus.month("2021-09")
    path = _lying_zip(corpus.folder / "lying/half.zip", data, len(data) // 2)
    report = _ingest([path])
    assert len(_reasons(report)) == 1 and "holds more than the" in _reasons(report)[0]
    assert report.crimes.read == 0


def test_a_header_that_overstates_a_member_is_damaged(corpus: Corpus) -> None:
    """The real file stated 1,000 bytes longer than it is (its CRC-32 right): named as damaged."""
    data = corpus.month("2021-09")
    path = corpus.folder / "lying/over.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MEMBER, data)
    _rewrite(path, crc=zlib.crc32(data), size=len(data) + 1_000)
    [reason] = _reasons(_ingest([path]))
    assert f"{path}!{MEMBER}" in reason and "damaged" in reason and "its header states" in reason


def _gzip_bomb(corpus: Corpus, path: Path, size: int) -> Path:
    """A ``.csv.gz`` of about ``size`` bytes of real rows, written in 1 MiB blocks (never held)."""
    block = _bomb_body(corpus, MiB)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb", compresslevel=6) as out:
        for _ in range(size // len(block)):
            out.write(block)
    return path


def _peak_bytes(paths: list[Path]) -> tuple[IngestReport, int]:
    tracemalloc.start()
    try:
        report = _ingest(paths)
        return report, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _stop(compressed: int) -> int:
    """Bytes read before a bomb of ``compressed`` bytes is refused: past 16 MiB and 100 x its size."""
    return max(discover.RATIO_FLOOR_BYTES, discover.MAX_RATIO * compressed) + discover._CHUNK


def test_a_gzip_bomb_is_stopped_while_streaming(corpus: Corpus) -> None:
    """A 200 MiB ``.csv.gz`` (under 1 MB on disk): refused by its ratio while streaming, not read whole.

    Memory is measured after a warm-up ingest (boundaries and caches built once); the peak of
    Python allocations while refusing it stays near where the ratio stops it, far below 200 MiB.
    """
    path = _gzip_bomb(corpus, corpus.folder / f"gz/2021-09-{FORCE}-street.csv.gz", 200 * MiB)
    compressed = path.stat().st_size
    assert 200 * MiB / compressed > discover.MAX_RATIO and _stop(compressed) < 100 * MiB  # a bomb
    _ingest(corpus.good()[:1])
    report, peak = _peak_bytes([path])
    [reason] = _reasons(report)
    assert reason.startswith(f"{path}: refused as a zip bomb: {compressed:,} compressed bytes")
    assert peak < _stop(compressed) + 8 * MiB, peak


def test_a_gzip_member_bomb_is_stopped_while_streaming(corpus: Corpus) -> None:
    """The same bomb as a ``.csv.gz`` member of a zip whose directory tells the truth (the gzip's
    size): the directory check passes, the gzip stream is refused while streaming, by name, and
    the rest of the batch loads."""
    gz = _gzip_bomb(corpus, corpus.folder / "gzm/bomb.csv.gz", 200 * MiB)
    path = corpus.folder / "gzm/bombs.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.write(gz, f"{MEMBER}.gz")
    _ingest(corpus.good()[:1])
    report, peak = _peak_bytes([path])
    [reason] = _reasons(report)
    assert reason.startswith(f"{path}!{MEMBER}.gz: refused as a zip bomb")
    # the member's gzip bytes are held (checked against the directory), then the stream is bounded
    assert peak < gz.stat().st_size + _stop(gz.stat().st_size) + 8 * MiB, peak
    report = _ingest([*corpus.good(), path])
    assert len(_reasons(report)) == 1 and report.crimes.files == len(GOOD_MONTHS)
    assert report.crimes.read == sum(corpus.rows(m) for m in GOOD_MONTHS)


def test_a_stated_bomb_is_refused_from_the_directory_unread(corpus: Corpus, monkeypatch) -> None:
    """An honest 40 MiB member at ratio ~1,000: refused from its directory entry, never opened."""
    path = corpus.folder / "honest/bomb.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MEMBER, _bomb_body(corpus, 40 * MiB))
    opened: list[str] = []
    original = zipfile.ZipFile.open

    def counting(self: zipfile.ZipFile, name: object, *args: object, **kwargs: object) -> object:
        opened.append(str(name))
        return original(self, name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile.ZipFile, "open", counting)
    [reason] = _reasons(_ingest([path]))
    assert "refused as a zip bomb" in reason and opened == []


def test_a_member_is_read_whole_and_checked(corpus: Corpus) -> None:
    """An honest member reads as the real file, byte for byte (the CRC-32 checked by discover)."""
    data = corpus.month("2021-09")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MEMBER, data)
    path = corpus.write("honest/real.zip", buffer.getvalue())
    [member] = discover.discover([path])
    assert member.read() == data
