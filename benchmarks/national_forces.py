"""National run, per-force stage only: every force recomputed on an existing workspace, old vs new.

Run: ``python benchmarks/national_forces.py WORKSPACE.duckdb [--last 12] [--repeat 3] [--workers 1]``

WORKSPACE is a national workspace, e.g. the one ``benchmarks/national_scale.py`` leaves in its
workdir (a scaled replica of real police.uk data across the 43 forces). It is copied to a
temporary folder first; the cached ``national_force`` rows are deleted from the copy before each
repeat, so ``run_national([], ...)`` recomputes every force without ingesting anything.

Printed, wall clock (median of ``--repeat``):

* the stage as ``run_national`` runs it (``seconds["forces"]``: keys, one read of the
  workspace for all forces, each row from the force's own frame, results stored), and its two
  parts timed apart: ``read_forces`` and the per-force computation;
* one force (``summarise_force``: its own read and row) against the per-force structure of the
  stage before (gripkit commit ba7b12e): a 24-month ``select_crimes``, then ``find_hotspots`` for
  the grid and for LSOAs (each re-selecting its crimes from the whole table) and
  ``candidate_areas``; on ``--forces`` forces (default 3), with the speed ratio. Both sides use
  today's units, counts and areas, so the ratio is what reading once and computing from the
  force's frame saves; the code of that commit was slower still.

The machine's other load shows in wall-clock timings: repeat, and compare medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from gripkit import Workspace
from gripkit.harm import load_harm_table
from gripkit.hotspots.find import find_hotspots, select_crimes
from gripkit.hotspots.select import candidate_areas
from gripkit.national import NationalParams, run_national, summarise_force
from gripkit.national.force import read_forces, summarise_data


def slow_force(ws: Workspace, force: str, params: NationalParams) -> None:
    """The per-force queries and calls of the stage before (gripkit commit ba7b12e)."""
    row = ws.con.execute("SELECT min(month), max(month) FROM crimes WHERE force = ?", [force]).fetchone()
    assert row is not None
    last = pd.Timestamp(row[1])
    first = last - pd.DateOffset(months=params.last - 1)
    before = first - pd.DateOffset(months=params.last)
    select_crimes(ws, serious_violence=True, force=force, months=(before.date(), last.date()))
    window = (first.date(), last.date())
    grid = find_hotspots(ws, unit="grid", cell_size=params.cell_size, serious_violence=True, months=window,
                         harm=params.harm, force=force, store=False)
    find_hotspots(ws, unit="lsoa", serious_violence=True, months=window, harm=params.harm, force=force,
                  store=False)
    candidate_areas(grid.hotspots, None, n=params.n_areas)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--last", type=int, default=12, help="each force's trailing window (months)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--forces", type=int, default=3, help="forces timed one by one, old and new")
    args = parser.parse_args()
    params = NationalParams(last=args.last)
    folder = Path(tempfile.mkdtemp(prefix="gripkit-forces-"))
    copy = folder / "national.duckdb"
    shutil.copy(args.workspace, copy)
    with Workspace(copy) as ws:
        rows = ws.counts()["crimes"]
        held = ws.con.execute("SELECT DISTINCT force FROM crimes ORDER BY 1").fetchall()
        forces = [str(f) for (f,) in held]
        stage, read, compute = [], [], []
        for _ in range(args.repeat):
            ws.con.execute("DELETE FROM results WHERE kind = 'national_force'")
            result = run_national([], ws, folder / "out", params=params, workers=args.workers)
            stage.append(result.seconds["forces"])
            started = time.perf_counter()
            data = read_forces(ws, forces, params.last)
            read.append(time.perf_counter() - started)
            table = load_harm_table(params.harm)
            started = time.perf_counter()
            for force in forces:
                summarise_data(data[force], params, table=table)
            compute.append(time.perf_counter() - started)
        crimes = sum(d.n_crimes for d in data.values())
        print(f"{len(forces)} forces, {rows:,} crimes held, {crimes:,} serious-violence crimes in the "
              f"{args.last}-month windows; median of {args.repeat}:")
        print(f"  per-force stage (run_national, workers={args.workers}) {statistics.median(stage):6.2f} s")
        print(f"    read_forces (all forces, 2 queries)          {statistics.median(read):6.2f} s")
        print(f"    rows from frames (in-process, gc on)          {statistics.median(compute):6.2f} s")
        for force in forces[: args.forces]:
            new, old = [], []
            for _ in range(args.repeat):
                started = time.perf_counter()
                summarise_force(ws, force, params)
                new.append(time.perf_counter() - started)
                started = time.perf_counter()
                slow_force(ws, force, params)
                old.append(time.perf_counter() - started)
            print(f"  one force, {force:<22} new {statistics.median(new):5.2f} s   old structure "
                  f"{statistics.median(old):5.2f} s   x{statistics.median(old) / statistics.median(new):.1f}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
