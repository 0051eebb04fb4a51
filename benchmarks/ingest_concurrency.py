"""Two `gripkit ingest` processes into one workspace at once, repeated: the result is one ingest's.

For each repetition a fresh workspace file gets two real ``gripkit ingest`` processes started
0-0.5 s apart (a seeded random delay) on the same input (by default the real 36-month
Bedfordshire police.uk zip). It prints, per repetition: both exit codes, how many files each
process stored (the other skipped them: both non-zero means they interleaved), the crimes in the
workspace, duplicate source ids (a ``source_id`` shared by two ``sources`` rows), files ingested
twice (a SHA-256 on two rows), crimes whose source is not active, and whether the workspace
matches a single ingest of the same input (crimes, active sources, quarantined rows).

Run: ``python benchmarks/ingest_concurrency.py [--reps 20] [--batch-rows 60000] [INPUT ...]``
(about 30-40 s per repetition on 2 cores for the zip). Exit code 1 if any repetition differs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ZIP = Path(os.environ.get("GRIPKIT_DATA", "/work/shared/data")) / "bedfordshire" / (
    "police-uk-bedfordshire-2021-05-to-2024-04.zip"
)
CHECKS = {
    "crimes": "SELECT count(*) FROM crimes",
    "active_sources": "SELECT count(*) FROM sources WHERE status = 'active'",
    "quarantined": "SELECT count(*) FROM quarantine",
    "duplicate_source_ids": "SELECT count(*) - count(DISTINCT source_id) FROM sources",
    "files_twice": "SELECT count(*) - count(DISTINCT sha256) FROM sources",
    "orphan_crimes": "SELECT count(*) FROM crimes WHERE source_id NOT IN "
    "(SELECT source_id FROM sources WHERE status = 'active')",
}


def ingest_command(inputs: list[str], workspace: Path, batch_rows: int) -> list[str]:
    """The `gripkit ingest` command line (through this interpreter, so no PATH is needed)."""
    return [sys.executable, "-c", "from gripkit.cli import main; main()", "ingest", *inputs,
            "-w", str(workspace), "--batch-rows", str(batch_rows), "--json"]


def measure(workspace: Path) -> dict[str, int]:
    """The checks above on a workspace file."""
    con = duckdb.connect(str(workspace), read_only=True)
    try:
        return {name: int(con.execute(sql).fetchone()[0]) for name, sql in CHECKS.items()}  # type: ignore[index]
    finally:
        con.close()


def concurrent(
    inputs: list[str], workspace: Path, batch_rows: int, delay: float
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Start two ingests ``delay`` seconds apart into ``workspace``; their exit codes, and the files
    each stored (the other skipped them)."""
    first = subprocess.Popen(ingest_command(inputs, workspace, batch_rows), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    second = subprocess.Popen(ingest_command(inputs, workspace, batch_rows), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    codes, stored = [], []
    for proc in (first, second):
        out, err = proc.communicate(timeout=900)
        if proc.returncode:
            print(err.strip().splitlines()[-1:] or err, file=sys.stderr)
        codes.append(proc.returncode)
        report = json.loads(out) if proc.returncode == 0 else {}
        stored.append(report.get("street_files", 0) + report.get("outcomes", {}).get("files", 0)
                      + report.get("stop_and_search", {}).get("files", 0))
    return (codes[0], codes[1]), (stored[0], stored[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="*", default=[str(ZIP)])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--batch-rows", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=20_260_312)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="gripkit-concurrency-") as folder:
        single = Path(folder) / "single.duckdb"
        started = time.perf_counter()
        subprocess.run(ingest_command(args.inputs, single, args.batch_rows), check=True,
                       stdout=subprocess.DEVNULL)
        expected = measure(single)
        print(f"single ingest: {expected['crimes']:,} crimes, {expected['active_sources']} files, "
              f"{expected['quarantined']:,} quarantined ({time.perf_counter() - started:.1f} s)")
        print("rep  delay_s  rc   stored_by    crimes  dup_source_ids  files_twice  orphans  same  seconds")
        for rep in range(1, args.reps + 1):
            workspace = Path(folder) / f"rep{rep}.duckdb"
            delay = rng.uniform(0.0, 0.5)
            started = time.perf_counter()
            codes, stored = concurrent(args.inputs, workspace, args.batch_rows, delay)
            got = measure(workspace)
            same = all(got[k] == expected[k] for k in ("crimes", "active_sources", "quarantined"))
            clean = not (got["duplicate_source_ids"] or got["files_twice"] or got["orphan_crimes"])
            ok = same and clean and codes == (0, 0)
            failures += not ok
            print(f"{rep:>3}  {delay:7.2f}  {codes[0]},{codes[1]}  {stored[0]:>4}+{stored[1]:<4}  "
                  f"{got['crimes']:>8,}  "
                  f"{got['duplicate_source_ids']:>14}  {got['files_twice']:>11}  {got['orphan_crimes']:>7}  "
                  f"{'yes' if ok else 'NO':>4}  {time.perf_counter() - started:7.1f}", flush=True)
            workspace.unlink(missing_ok=True)
    print(f"{args.reps - failures} of {args.reps} repetitions equal a single ingest")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
