"""Ingest speed: gripkit vs DuckDB's own CSV reader on the same 36 real Bedfordshire street files.

Run: ``python benchmarks/ingest_speed.py [path/to/police-uk-bedfordshire-2021-05-to-2024-04.zip]``

Extracts the 36 ``*-street.csv`` files (182,113 rows) to a temporary folder, then times in one run:

* gripkit: ``ingest()`` into a new DuckDB file workspace (parse, validate, quarantine, project to
  EPSG:27700, store, commit per batch), after a warm-up ingest of one file into a scratch workspace
  (module imports, boundary and projection set-up are excluded; the cold figure is printed too);
* DuckDB, declared schema, into memory (one ``read_csv`` over all files);
* DuckDB, declared schema, into a file, one commit per file;
* DuckDB, sniffing every file, into a file, one commit per file;
* gripkit re-ingest of the unchanged files (target < 1 s).

Target (issue 3): gripkit >= 200k rows/s on 2 cores.
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


def main() -> None:
    zip_path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_ZIP
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
