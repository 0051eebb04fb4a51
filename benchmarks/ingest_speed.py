"""Ingest speed: gripkit vs DuckDB's own CSV reader on the same 36 real Bedfordshire street files.

Run: ``python benchmarks/ingest_speed.py [path/to/police-uk-bedfordshire-2021-05-to-2024-04.zip]``,
or with ``--members`` for the zip-members check below.

Extracts the 36 ``*-street.csv`` files (182,113 rows) to a temporary folder, then times in one run:

* gripkit: ``ingest()`` into a new DuckDB file workspace (parse, validate, quarantine, project to
  EPSG:27700, store, commit per batch), after a warm-up ingest of one file into a scratch workspace
  (module imports, boundary and projection set-up are excluded; the cold figure is printed too);
* DuckDB, declared schema, into memory (one ``read_csv`` over all files);
* DuckDB, declared schema, into a file, one commit per file;
* DuckDB, sniffing every file, into a file, one commit per file;
* gripkit re-ingest of the unchanged files (target < 1 s).

Target (issue 3): gripkit >= 200k rows/s on 2 cores.

``--members``: ingest (threads, file workspace) zips of 1,000 and 4,000 members of 10 real street
rows each (tests/ingestion/test_zip_listing.py, ``real_rows_zip``) and print the time ratio:
linear reading gives ~4, a per-member directory read or per-file sum over the batch ~16 (issue 15).
"""

from __future__ import annotations

import sys
import tempfile
import time
import zipfile
from pathlib import Path

import duckdb

from gripkit import Workspace
from gripkit.ingestion import ingest

DEFAULT_ZIP = (
    Path(__file__).resolve().parents[2]
    / "shared/data/bedfordshire/police-uk-bedfordshire-2021-05-to-2024-04.zip"
)
COLUMNS = {
    "Crime ID": "VARCHAR",
    "Month": "VARCHAR",
    "Reported by": "VARCHAR",
    "Falls within": "VARCHAR",
    "Longitude": "DOUBLE",
    "Latitude": "DOUBLE",
    "Location": "VARCHAR",
    "LSOA code": "VARCHAR",
    "LSOA name": "VARCHAR",
    "Crime type": "VARCHAR",
    "Last outcome category": "VARCHAR",
    "Context": "VARCHAR",
}


def extract(zip_path: Path, folder: Path) -> list[Path]:
    with zipfile.ZipFile(zip_path) as archive:
        names = [n for n in archive.namelist() if n.endswith("-street.csv")]
        for name in names:
            archive.extract(name, folder)
    return sorted(folder.rglob("*-street.csv"))


REPEATS = 3


def timed(label: str, rows: int, fn, repeats: int = 1) -> float:  # type: ignore[no-untyped-def]
    """Best wall-clock time of ``repeats`` calls of ``fn(i)`` (the machine is shared and noisy)."""
    best = float("inf")
    for i in range(repeats):
        start = time.perf_counter()
        fn(i)
        best = min(best, time.perf_counter() - start)
    print(f"{label:<58} {best:7.3f} s  {rows / best / 1000:7.0f}k rows/s  (best of {repeats})")
    return best


def duckdb_memory(files: list[Path]) -> None:
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE t AS SELECT * FROM read_csv({[str(f) for f in files]}, header=true, columns={COLUMNS})"
    )


def gripkit_ingest(files: list[Path], path: Path) -> None:
    """Ingest into a new file workspace, including closing it (the final write)."""
    with Workspace(path) as ws:
        ingest(files, ws)


def duckdb_file(files: list[Path], path: Path, *, sniff: bool) -> None:
    con = duckdb.connect(str(path))
    first = True
    for f in files:
        source = f"read_csv('{f}')" if sniff else f"read_csv('{f}', header=true, columns={COLUMNS})"
        con.execute("BEGIN")
        con.execute(f"{'CREATE TABLE t AS' if first else 'INSERT INTO t'} SELECT * FROM {source}")
        con.execute("COMMIT")
        first = False
    con.close()


def members_ratio(zip_path: Path, sizes: tuple[int, int] = (1_000, 4_000)) -> float:
    """Print the ingest time of zips of ``sizes`` members and their ratio (linear: the size ratio)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test module's builder
    from tests.ingestion.test_zip_listing import real_rows_zip

    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        for members in sizes:
            archive = real_rows_zip(zip_path, Path(tmp) / f"m{members}.zip", members)
            seconds[members] = timed(
                f"gripkit ingest of a zip of {members:,} members of 10 rows",
                10 * members,
                lambda i, a=archive, m=members: gripkit_ingest([a], Path(tmp) / f"w{m}-{i}.duckdb"),
                REPEATS,
            )
    ratio = seconds[sizes[1]] / seconds[sizes[0]]
    print(
        f"\ntime ratio {sizes[1]:,} / {sizes[0]:,} members: {ratio:.2f} "
        f"(linear: {sizes[1] / sizes[0]:.0f}; quadratic: {(sizes[1] / sizes[0]) ** 2:.0f})"
    )
    return ratio


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--members"]
    zip_path = Path(args[0]) if args else DEFAULT_ZIP
    if "--members" in sys.argv[1:]:
        members_ratio(zip_path)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = extract(zip_path, folder / "csv")
        rows = sum(sum(1 for _ in f.open("rb")) - 1 for f in files)
        print(f"{len(files)} street files, {rows:,} rows\n")
        cold = timed(
            "gripkit ingest, cold (first call in the process)",
            rows,
            lambda i: gripkit_ingest(files, folder / "cold.duckdb"),
        )
        ours = timed(
            "gripkit ingest (validate, quarantine, project, store)",
            rows,
            lambda i: gripkit_ingest(files, folder / f"gripkit{i}.duckdb"),
            REPEATS,
        )
        with Workspace(folder / "gripkit0.duckdb") as ws:
            again = timed("gripkit re-ingest of unchanged files", rows, lambda i: ingest(files, ws))
            assert ws.counts()["crimes"] + ws.counts()["quarantine"] == rows
        mem = timed(
            "duckdb read_csv, declared schema, in memory", rows, lambda i: duckdb_memory(files), REPEATS
        )
        per_file = timed(
            "duckdb read_csv, declared schema, file, commit per file",
            rows,
            lambda i: duckdb_file(files, folder / f"declared{i}.duckdb", sniff=False),
            REPEATS,
        )
        sniff = timed(
            "duckdb read_csv, sniffing each file, file, commit per file",
            rows,
            lambda i: duckdb_file(files, folder / f"sniff{i}.duckdb", sniff=True),
            REPEATS,
        )
        print()
        print(f"gripkit / duckdb in-memory declared : {mem / ours:5.2f}x the speed")
        print(f"gripkit / duckdb file, commit/file   : {per_file / ours:5.2f}x the speed")
        print(f"gripkit / duckdb file, sniffing      : {sniff / ours:5.2f}x the speed")
        print(
            f"gripkit rows/s: {rows / ours:,.0f} (target 200,000); cold {rows / cold:,.0f}; "
            f"re-ingest {again:.3f} s (target < 1 s)"
        )


if __name__ == "__main__":
    main()
