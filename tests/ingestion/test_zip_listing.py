"""Reading a zip is linear in its members: its central directory is read once per process and thread.

A security probe (issue 15) found a 2,000-member zip took 41 s and a 10,000-member one did not
finish in 240 s: the archive's directory was re-read for every member (quadratic). Here the
directory reads (``zipfile.ZipFile._RealGetContents``, what ``ZipFile(path)`` does on opening) are
counted for zips of few and many members; they must not grow with the members. The count is
written to a file per call, so reads in forked worker processes are counted too.

The members are small real street files: consecutive runs of rows of the real Bedfordshire
police.uk files (Open Government Licence v3.0), each with its file's real header
(:func:`real_rows_zip`, also used by benchmarks/ingest_speed.py).
"""

from __future__ import annotations

import os
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from gripkit import Workspace
from gripkit import workers as workers_module
from gripkit.ingestion import discover as discover_module
from gripkit.ingestion import ingest, run, staged


def real_rows_zip(bedfordshire_zip: Path, path: Path, members: int, rows: int = 10) -> Path:
    """Write a zip of ``members`` street files of ``rows`` real rows each, taken in order.

    Member ``j`` of month ``M`` is ``M/partJJJJJ/M-bedfordshire-street.csv``: the header of the
    real month file and its rows ``j*rows .. (j+1)*rows - 1``. All parts of a month share a source
    key (they are versions of one file, each replacing the last); every part has other rows, so
    every member is read, parsed, checked and stored. The real files hold 182,113 rows: up to
    18,211 members of 10 rows.
    """
    made = 0
    with zipfile.ZipFile(bedfordshire_zip) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in sorted(n for n in source.namelist() if n.endswith("-street.csv")):
            header, *lines = [line for line in source.read(name).split(b"\n") if line]
            month = name.split("/")[0]
            for j in range(len(lines) // rows):
                body = b"\n".join([header, *lines[j * rows : (j + 1) * rows]]) + b"\n"
                out.writestr(f"{month}/part{j:05d}/{Path(name).name}", body)
                made += 1
                if made == members:
                    return path
    raise ValueError(f"the real files hold fewer than {members} parts of {rows} rows")


@pytest.fixture
def directory_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A file gaining one line (the reading process's pid) per zip central directory read."""
    log = tmp_path / "directory-reads.log"
    original = zipfile.ZipFile._RealGetContents  # type: ignore[attr-defined]

    def counted(self: zipfile.ZipFile) -> None:
        with log.open("a") as out:
            out.write(f"{os.getpid()}\n")
        original(self)

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", counted)
    yield log


def _reads(log: Path) -> Counter[str]:
    reads = Counter(log.read_text().split()) if log.exists() else Counter()
    log.unlink(missing_ok=True)
    return reads


def test_directory_read_once_per_thread_whatever_the_members(
    bedfordshire_zip: Path, tmp_path: Path, directory_reads: Path
) -> None:
    per_size = {}
    for members in (20, 400):
        archive = real_rows_zip(bedfordshire_zip, tmp_path / f"m{members}.zip", members)
        _reads(directory_reads)  # building it read the real zip's directory
        with Workspace(tmp_path / f"ws{members}.duckdb") as ws:
            report = ingest([archive], ws, workers=0)
        assert report.files == members and report.crimes.read == 10 * members  # every member read
        per_size[members] = _reads(directory_reads)
    # discover lists the archive once; each reading thread opens it once (run._THREADS threads)
    for reads in per_size.values():
        assert list(reads) == [str(os.getpid())]
        assert reads[str(os.getpid())] <= 1 + run._THREADS
    assert per_size[20] == per_size[400]


def test_directory_read_once_per_worker_process(
    bedfordshire_zip: Path, tmp_path: Path, directory_reads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers_module, "START_METHOD", "fork")  # the counter is inherited
    monkeypatch.setattr(staged, "MIN_PROCESS_BYTES", 0)  # worker processes even for a small zip
    archive = real_rows_zip(bedfordshire_zip, tmp_path / "m400.zip", 400)
    _reads(directory_reads)  # building it read the real zip's directory
    with Workspace(tmp_path / "ws.duckdb") as ws:
        report = ingest([archive], ws, workers=2)
    assert report.meta["workers"] == 2 and report.crimes.read == 4_000
    reads = _reads(directory_reads)
    parent = reads.pop(str(os.getpid()))
    assert parent == 1  # discover's listing: the parent reads nothing itself
    # each worker process reads the directory once for its 100 tasks of 4 members
    assert 1 <= len(reads) <= 2 and set(reads.values()) == {1}, reads


def test_an_archive_cache_keeps_few_archives_open(tmp_path: Path, bedfordshire_zip: Path) -> None:
    """More archives than the per-thread cache holds: the oldest are closed, each read stays right."""
    paths = [real_rows_zip(bedfordshire_zip, tmp_path / f"a{i}.zip", 2 + i) for i in range(6)]
    files = discover_module.discover(paths)
    assert len(files) == sum(2 + i for i in range(6))
    texts = [f.read() for f in files]
    with zipfile.ZipFile(paths[0]) as first:
        expected = first.read(first.namelist()[0])
    assert expected in texts
    cache = discover_module._local.archives
    assert len(cache) == discover_module._ARCHIVES_PER_THREAD
    assert all(archive.fp is not None for archive in cache.values())  # the open ones still open
