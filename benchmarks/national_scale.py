"""National scale: `run_national` on a scaled replica of REAL police.uk data across the 43 forces.

Run: ``python benchmarks/national_scale.py [--months 28] [--copies 3] [--workers 2] [--workdir DIR]``

The input is a scaled replica of real data, not synthetic: real Bedfordshire months from
``../shared/data/bedfordshire`` (182,113 street rows over 36 months) are copied into each of the
43 force areas by the stated affine map of :mod:`gripkit.national.replica` (translation to the
force's representative point, scale ``0.6 sqrt(area ratio)``, ``--copies`` copies per force-month
each 37 m further east with new Crime IDs), relabelling "Falls within"/"Reported by" and file
names. The default, 43 forces x 28 months x 3 copies = 18.31M street rows, is the issue's ~18M
rows (36 months x national volume). The replica is written once into ``--workdir`` (about 7
minutes; not timed) and reused by later runs with the same parameters.

Stages (wall clock; ``--workers`` processes for the ingest and the per-force stage):

* ingest: :func:`gripkit.ingestion.ingest` of every file (parse, check, quarantine, project, store);
* harm + hotspots: every force's serious-violence harm, trend, grid and LSOA hotspots,
  concentration and patrol areas;
* national table: allocation of a pot, CSV + Parquet + map;
* monthly update: the next real month (month ``--months + 1`` of the archive) for every force,
  as a new month folder, run twice from the same state: in this process, timed as the full run
  (stages plus workspace open and close), then as a user runs it, ``gripkit national ... --json``
  in a new process (wall clock, Python start-up included); unchanged files are skipped by stamp,
  the new ones ingested, every force recomputed since all changed;
* nothing new: the same command once more; one force's next month alone (both as commands);
* reference: DuckDB's own ``read_csv`` of all files with a declared schema (the reading floor).

``--update-only`` starts from the workspace the last full run left (``base.duckdb``).

Peak memory, sampled every 0.1 s from ``/proc`` over this process and all its children: the summed
PSS (shared pages divided among their sharers: the tree's real footprint), the summed RSS (counts a
page shared with a forked worker in each process) and the largest single process's RSS (what GNU
``time -v`` reports).

Measured 2026-11-27 (2 cores, defaults, nothing else running; the machine's speed varies by
~15% between runs): full run 69.5-81.8 s over 3 runs (ingest 64-77 s, 239-286k rows/s; 43 forces
4.6-5.8 s; table 0.3-0.5 s), peak PSS 2.0-2.3 GiB, largest process 1.8-1.9 GiB; monthly update
in-process 7.8-8.4 s; as a command 10.6-10.9 s (2.4-3.0 s of it Python start-up and imports);
nothing new 2.6-3.7 s and one force's next month 3.3-4.0 s as commands (start-up included);
DuckDB read_csv floor 4.7-5.0 s. See docs/national-scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from gripkit import Workspace
from gripkit.datasets import force_areas
from gripkit.national import NationalParams, NationalResult, run_national
from gripkit.national.replica import NOTICE, ReplicaManifest, build_replica, read_source_months

ZIP = (
    Path(__file__).resolve().parents[2]
    / "shared/data/bedfordshire/police-uk-bedfordshire-2021-05-to-2024-04.zip"
)
TARGET_ROWS = 18_000_000
COLUMNS = {
    "Crime ID": "VARCHAR", "Month": "VARCHAR", "Reported by": "VARCHAR", "Falls within": "VARCHAR",
    "Longitude": "DOUBLE", "Latitude": "DOUBLE", "Location": "VARCHAR", "LSOA code": "VARCHAR",
    "LSOA name": "VARCHAR", "Crime type": "VARCHAR", "Last outcome category": "VARCHAR",
    "Context": "VARCHAR",
}


class TreeMemory:
    """Peaks of the summed RSS and PSS of this process and its descendants, sampled from /proc.

    RSS counts a page shared by several processes in each of them (an upper bound once workers are
    forked: a fork child's RSS includes every parent page it can see); PSS divides each shared
    page among its sharers, so the summed PSS is the tree's real footprint.
    """

    def __init__(self, every: float = 0.1) -> None:
        self.peak = 0
        self.peak_pss = 0
        self.peak_one = 0  # the largest single process's RSS (what GNU time -v reports)
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _children(pid: int) -> list[int]:
        out: list[int] = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                out += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
        return out

    @staticmethod
    def _field(path: str, name: str) -> int:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(name):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            todo, seen, rss, pss = [os.getpid()], set(), 0, 0
            while todo:
                pid = todo.pop()
                if pid in seen:
                    continue
                seen.add(pid)
                one = self._field(f"/proc/{pid}/status", "VmRSS:")
                rss += one
                self.peak_one = max(self.peak_one, one)
                pss += self._field(f"/proc/{pid}/smaps_rollup", "Pss:")
                todo += self._children(pid)
            self.peak = max(self.peak, rss)
            self.peak_pss = max(self.peak_pss, pss)
            time.sleep(self.every)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def line(label: str, seconds: float, rows: int) -> None:
    print(f"  {label:<38} {seconds:7.1f} s  {rows:>12,} rows  {rows / max(seconds, 1e-9) / 1e3:7.0f}k rows/s")


def replica(
    work: Path, months: list[str], forces: list[str], copies: int, sources: dict[str, pd.DataFrame]
) -> ReplicaManifest:
    """Build the replica once; reuse it when the folder holds one with the same parameters."""
    folder = work / "police-uk"
    stamp = folder / "replica.json"
    wanted = {"months": months, "forces": forces, "copies": copies}
    if stamp.exists() and json.loads(stamp.read_text()).get("params") == wanted:
        saved = json.loads(stamp.read_text())
        print(f"replica: reusing {saved['rows']:,} rows in {folder} (built earlier by this script)")
        return ReplicaManifest(folder, [Path(p) for p in saved["files"]], saved["rows"], saved["offsets"])
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    manifest = build_replica(ZIP, folder, forces=forces, months=months, copies=copies, sources=sources)
    stamp.write_text(json.dumps({"params": wanted, "rows": manifest.rows, "offsets": manifest.offsets,
                                 "files": [str(p) for p in manifest.files]}))
    print(f"replica: built in {time.perf_counter() - started:.0f} s (not timed below)")
    return manifest


def run(ws_path: Path, paths: list[Path], out: Path, workers: int | None) -> NationalResult:
    """``run_national`` as the CLI runs it; ``seconds["workspace"]``: opening and closing the workspace
    (closing writes what is left in DuckDB's write-ahead log), so the stages sum to the wall time."""
    started = time.perf_counter()
    with Workspace(ws_path) as ws:
        result = run_national(paths, ws, out, params=NationalParams(last=12), pot=4_000_000,
                              workers=workers)
    result.seconds["workspace"] = time.perf_counter() - started - sum(result.seconds.values())
    return result


def cli(ws_path: Path, paths: list[Path], out: Path, workers: int | None) -> tuple[dict[str, Any], float]:
    """``gripkit national PATHS --json`` in a new process: its JSON summary and its wall-clock seconds."""
    command = [sys.executable, "-c", "from gripkit.cli import main; main()", "national",
               *map(str, paths), "--out", str(out), "--last", "12", "--pot", "4000000",
               "--workspace", str(ws_path), "--json"]
    if workers is not None:
        command += ["--workers", str(workers)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"gripkit national failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout), wall


def full_run(ws_path: Path, paths: list[Path], out: Path, workers: int | None, forces: int) -> None:
    with TreeMemory() as memory:
        result = run(ws_path, paths, out, workers)
    assert result.ingest is not None
    read = result.ingest.crimes.read
    total = sum(result.seconds.values())
    print(f"\nfull run ({read:,} rows read, {result.ingest.crimes.loaded:,} loaded, "
          f"{result.ingest.crimes.quarantined:,} quarantined):")
    line("ingest", result.seconds["ingest"], read)
    line(f"harm + hotspots ({forces} forces)", result.seconds["forces"], read)
    line("national table + allocation + map", result.seconds["table"], read)
    line("workspace open + close", result.seconds["workspace"], read)
    line("total", total, read)
    print("  where the time goes: " + ", ".join(f"{k} {v / total:.0%}" for k, v in result.seconds.items()))
    print(f"  peak memory (target < 4 GiB): whole process tree PSS {memory.peak_pss / 2**30:.2f} GiB "
          f"(summed RSS {memory.peak / 2**30:.2f} GiB counts pages shared with forked workers once per "
          f"process); largest process RSS {memory.peak_one / 2**30:.2f} GiB")
    print(f"  target: < 120 s for ~18M rows -> {'met' if total < 120 else 'NOT met'} ({total:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=28)
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--forces", type=int, default=43)
    parser.add_argument("--workers", type=int, default=None, help="default: gripkit's own choice")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "gripkit-national")
    parser.add_argument("--update-only", action="store_true",
                        help="skip the full run: start the updates from the copy of its workspace that "
                             "the last full run left in the workdir (base.duckdb)")
    args = parser.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    print(f"NOTE: {NOTICE}.")
    sources = read_source_months(ZIP)
    every = sorted(sources)
    if args.months + 2 > len(every):
        raise SystemExit(f"--months must leave two real months for the updates (at most {len(every) - 2})")
    months = every[: args.months]
    forces = [str(f) for f in force_areas()["police_force"]][: args.forces]
    manifest = replica(work, months, forces, args.copies, sources)
    print(f"input: {len(forces)} forces x {len(months)} real months ({months[0]}..{months[-1]}) x "
          f"{args.copies} copies = {manifest.rows:,} street rows in {len(manifest.files)} files; "
          f"{os.cpu_count()} CPUs, --workers {args.workers}")
    ws_path, out, base = work / "national.duckdb", work / "out", work / "base.duckdb"
    for stale in work.glob("national.duckdb*"):
        stale.unlink()
    for extra in (work / "update").glob("*"):
        shutil.rmtree(extra)
    if args.update_only:
        if not base.exists():
            raise SystemExit(f"--update-only needs {base}, left by a full run with the same parameters")
        shutil.copyfile(base, ws_path)
    else:
        full_run(ws_path, [manifest.folder], out, args.workers, len(forces))
        shutil.copyfile(ws_path, base)

    nxt = every[args.months]
    update = build_replica(ZIP, work / "update" / "a", forces=forces, months=[nxt], copies=args.copies,
                           sources=sources)
    inproc = run(ws_path, [manifest.folder, update.folder], out, args.workers)
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in inproc.seconds.items())
    total = sum(inproc.seconds.values())
    print(f"\nmonthly update in this process, timed as the full run (ingest + harm + hotspots + table, "
          f"workspace open + close): {total:.1f} s (target < 10 s -> {'met' if total < 10 else 'NOT met'}; "
          f"{parts}; recomputed {len(inproc.recomputed)})")
    for stale in work.glob("national.duckdb*"):
        stale.unlink()
    shutil.copyfile(base, ws_path)  # the same update again, from the same state, as a command
    with TreeMemory() as memory:
        again, wall = cli(ws_path, [manifest.folder, update.folder], out, args.workers)
    print(f"monthly update, as a user runs it: `gripkit national ... --json` in a new process (+{nxt}, "
          f"real, {update.rows:,} rows in {len(update.files)} new files; all {len(forces)} forces "
          f"changed; the earlier {len(manifest.files)} files given again):")
    seconds = again["seconds"]
    line("ingest (new files; others skipped by stamp)", seconds["ingest"], again["ingest"]["read"])
    print(f"  {'harm + hotspots':<38} {seconds['forces']:7.1f} s  recomputed {len(again['recomputed'])}, "
          f"reused {len(again['reused'])}")
    print(f"  {'national table':<38} {seconds['table']:7.1f} s")
    print(f"  {'start-up, workspace open + close':<38} {wall - sum(seconds.values()):7.1f} s")
    print(f"  {'total (wall clock of the command)':<38} {wall:7.1f} s  (< 10 s -> "
          f"{'yes' if wall < 10 else 'no'}); peak memory PSS {memory.peak_pss / 2**30:.2f} GiB, "
          f"largest process RSS {memory.peak_one / 2**30:.2f} GiB")
    same, wall = cli(ws_path, [manifest.folder, update.folder], out, args.workers)
    print(f"  same command, nothing new: {wall:.1f} s (recomputed {len(same['recomputed'])}, "
          f"reused {len(same['reused'])})")
    after = every[args.months + 1]
    one = build_replica(ZIP, work / "update" / "b", forces=forces[:1], months=[after], copies=args.copies,
                        sources=sources)
    single, wall = cli(ws_path, [manifest.folder, update.folder, one.folder], out, args.workers)
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in single["seconds"].items())
    print(f"  one force's next month ({forces[0]} {after}, {one.rows:,} rows): {wall:.1f} s ({parts}; "
          f"recomputed {len(single['recomputed'])}, reused {len(single['reused'])})")

    files = [str(f) for f in manifest.files]
    started = time.perf_counter()
    con = duckdb.connect()
    n = con.execute(f"SELECT count(*) FROM read_csv({files}, header=true, columns={COLUMNS})").fetchone()
    floor = time.perf_counter() - started
    print(f"\nreference: DuckDB read_csv of the same files, declared schema, count only: {floor:.1f} s "
          f"({(n[0] if n else 0) / floor / 1e3:.0f}k rows/s)")
    print(f"workdir: {work}")


if __name__ == "__main__":
    main()
