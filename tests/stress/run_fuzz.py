"""Long fuzz run of ``gripkit ingest``: random broken batches, random SIGKILLs, full disks (a script, not CI).

Run: ``python tests/stress/run_fuzz.py [--minutes 5] [--seed 1] [--kill 0.4] [--disk-full 0.15]
[--zip 0.2] [--json tally.json]`` from the repository root (as root for the full-disk runs: they
mount small tmpfs filesystems).

Every input comes from the real Bedfordshire police.uk zip (``$GRIPKIT_DATA``, default
``/work/shared/data``) through the fuzz corpus of tests/ingestion/fuzz.py: each run picks 1-4
kinds of damage (each from another real month), 0-4 good month files and sometimes the whole real
zip, and ingests them with a real ``gripkit ingest --json`` process. It checks:

* no traceback; the exit code is 0 (nothing rejected), 3 (some files rejected) or 2 (all);
* every broken file meant to be rejected is rejected once, named with its cause, and nothing
  else is; ``read == loaded + quarantined``; the ``bad_month`` rows are the ones made;
* without the zip, the rows read are the good files' data lines plus those of the cases whose
  rows are known (counted from the real files);
* the workspace is whole: crimes, outcomes, stop-and-search and quarantine rows equal the sums
  of the active sources' counts, and no source id or SHA-256 appears twice.

With probability ``--kill`` the same command is run again into a fresh workspace, SIGKILLed at a
random moment (with the whole process group: workers too), and run again to completion: the
result must equal the unkilled run's (content checksums independent of ids and timestamps). With
probability ``--disk-full`` (root only) the whole real zip plus the batch is ingested into a tmpfs
of 6-24 MB: it must fit, or fail with one line naming the full disk, exit code 1 and no process
left; the workspace copied to a real disk and the command run again must equal a clean ingest.

It prints one line per run and a tally at the end (also written as JSON with ``--json``); exit
code 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the fuzz corpus and the content checksums live in the test suite

import duckdb  # noqa: E402
from tests.ingestion.fuzz import GOOD_MONTHS, KINDS, Case, Corpus, matches  # noqa: E402
from tests.ingestion.test_processes import CHECKSUMS  # noqa: E402

DATA = Path(os.environ.get("GRIPKIT_DATA", "/work/shared/data"))
ZIP = DATA / "bedfordshire" / "police-uk-bedfordshire-2021-05-to-2024-04.zip"
GRIPKIT = [sys.executable, "-c", "from gripkit.cli import main; main()"]
#: The 36 months of the real zip: good files come from the first, broken ones from the rest.
MONTHS = [f"{y}-{m:02d}" for y in range(2021, 2025) for m in range(1, 13)][4:40]
BROKEN_MONTHS = [m for m in MONTHS if m not in GOOD_MONTHS]
#: The checks that every workspace must pass (sums of the active sources' counts).
WHOLE = {
    "crimes": "SELECT (SELECT count(*) FROM crimes) = (SELECT coalesce(sum(rows_loaded), 0) FROM sources "
    "WHERE status = 'active' AND kind = 'street')",
    "outcomes": "SELECT (SELECT count(*) FROM outcomes) = (SELECT coalesce(sum(rows_loaded), 0) FROM sources "
    "WHERE status = 'active' AND kind = 'outcomes')",
    "stop_search": "SELECT (SELECT count(*) FROM stop_search) = (SELECT coalesce(sum(rows_loaded), 0) FROM "
    "sources WHERE status = 'active' AND kind = 'stop-and-search')",
    "quarantine": "SELECT (SELECT count(*) FROM quarantine) = (SELECT coalesce(sum(rows_quarantined), 0) "
    "FROM sources WHERE status = 'active')",
    "source_ids": "SELECT count(*) = count(DISTINCT source_id) FROM sources",
    "sha256": "SELECT count(*) = count(DISTINCT sha256) FROM sources",
}


class Tally:
    """What the run did and every failed check."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.failures: list[str] = []

    def check(self, ok: bool, run: int, what: str) -> bool:
        self.counts["checks"] += 1
        if not ok:
            self.failures.append(f"run {run}: {what}")
        return ok

    def as_dict(self) -> dict[str, Any]:
        return {**self.counts, "kinds": dict(self.kinds), "failures": self.failures}


def command(paths: list[Path], workspace: Path) -> list[str]:
    """``gripkit ingest --json`` in batches of 5,000 rows (a kill often falls between commits)."""
    return [*GRIPKIT, "ingest", *map(str, paths), "-w", str(workspace), "--json", "--batch-rows", "5000"]


def ingest(paths: list[Path], workspace: Path, *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """A real ``gripkit ingest`` process (its own process group, so a kill takes its workers)."""
    args = command(paths, workspace)
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, start_new_session=True)


def state(workspace: Path, queries: dict[str, str]) -> dict[str, Any]:
    con = duckdb.connect(str(workspace), read_only=True)
    try:
        return {k: con.execute(sql).fetchone() for k, sql in queries.items()}
    finally:
        con.close()


def whole(tally: Tally, run: int, workspace: Path, label: str) -> None:
    for name, ok in state(workspace, WHOLE).items():
        tally.check(bool(ok and ok[0]), run, f"{label}: workspace check {name} failed")


def build(corpus: Corpus, rng: random.Random) -> tuple[list[Path], list[tuple[Case, str]], list[str]]:
    """A random batch: (paths, broken cases with their months, good months)."""
    kinds = rng.sample(sorted(KINDS), rng.randint(1, 4))
    if {"zip_bomb", "lying_bomb"} <= set(kinds):  # both are made as broken/bomb.zip: one at a time
        kinds.remove("lying_bomb")
    months = rng.sample(BROKEN_MONTHS, len(kinds))
    cases = [(corpus.make(kind, month), month) for kind, month in zip(kinds, months, strict=True)]
    good = sorted(rng.sample(GOOD_MONTHS, rng.randint(0, len(GOOD_MONTHS))))
    paths = [corpus.write(f"good/{m}-bedfordshire-street.csv", corpus.month(m)) for m in good]
    for case, _ in cases:
        paths.extend(case.paths)
    return paths, cases, good


def check_report(
    tally: Tally,
    run: int,
    proc: subprocess.CompletedProcess[str],
    cases: list[tuple[Case, str]],
    good: list[str],
    corpus: Corpus,
    with_zip: bool,
) -> dict[str, Any] | None:
    """The checks of one completed ``gripkit ingest --json``; its report, if it printed one."""
    output = proc.stdout + proc.stderr
    tally.check("Traceback" not in output, run, f"traceback in the output: {output[-400:]}")
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tally.check(False, run, f"no JSON report (exit {proc.returncode}): {output[-400:]}")
        return None
    rejected = [r["reason"] for r in report["rejected_files"]]
    meant = [c for c, _ in cases if c.outcome == "rejected"]
    for case in meant:
        tally.check(
            sum(matches(case, r) for r in rejected) == 1,
            run,
            f"{case.kind}: not rejected once with its cause: {rejected}",
        )
    tally.check(len(rejected) == len(meant), run, f"{len(rejected)} rejected, {len(meant)} meant: {rejected}")
    everything = not good and not with_zip and len(meant) == len(cases)
    expected_code = 2 if everything else 3 if meant else 0
    tally.check(
        proc.returncode == expected_code, run, f"exit code {proc.returncode}, expected {expected_code}"
    )
    tally.check(
        report["read"] == report["loaded"] + report["quarantined"], run, "read != loaded + quarantined"
    )
    if not with_zip:  # with the zip, its months are versions of the broken ones: no simple count
        made = sum(c.rows or 0 for c, _ in cases if c.outcome == "bad_month")
        tally.check(report["by_reason"].get("bad_month", 0) == made, run, "bad_month rows differ")
        # rows read: the good files' data lines, a loaded case's known rows, a bad_month case's file
        rows: int | None = sum(corpus.rows(m) for m in good)
        for case, month in cases:
            if case.outcome == "bad_month":
                rows = None if rows is None else rows + corpus.rows(month)
            elif case.outcome == "loaded":
                rows = None if rows is None or case.rows is None else rows + case.rows
        if rows is not None:
            tally.check(report["read"] == rows, run, f"read {report['read']:,}, expected {rows:,}")
    tally.counts["rows_read"] += report["read"]
    tally.counts["rows_loaded"] += report["loaded"]
    tally.counts["rows_quarantined"] += report["quarantined"]
    tally.counts["files_rejected_named"] += len(rejected)
    return report


def kill_and_rerun(
    tally: Tally,
    run: int,
    paths: list[Path],
    folder: Path,
    reference: Path,
    seconds: float,
    rng: random.Random,
) -> None:
    """The same command SIGKILLed at a random moment, then run again: it must equal ``reference``."""
    workspace = folder / "killed.duckdb"
    proc = subprocess.Popen(
        command(paths, workspace),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(rng.uniform(0.5, 1.0) * seconds)  # the first second is start-up (imports)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this script started: the ingest and its workers
    tally.counts["kills" if killed else "kills_too_late"] += 1
    proc.wait(timeout=60)
    try:  # killed part-way: some batches committed, not all?
        stored = state(workspace, {"n": "SELECT count(*) FROM sources"})["n"][0]
    except duckdb.Error:  # no file yet, or killed while the new workspace's tables were made
        stored = 0
        tally.counts["kills_before_tables"] += workspace.exists()
    if 0 < stored < state(reference, {"n": "SELECT count(*) FROM sources"})["n"][0]:
        tally.counts["kills_mid_ingest"] += 1
    again = ingest(paths, workspace)
    ok = tally.check(
        "Traceback" not in again.stderr and again.returncode in (0, 2, 3),
        run,
        f"rerun after a kill: exit {again.returncode}: {again.stderr[-400:]}",
    )
    whole(tally, run, workspace, "after a kill and rerun")
    same = state(workspace, CHECKSUMS) == state(reference, CHECKSUMS)
    if tally.check(ok and same, run, "killed and rerun workspace differs from the unkilled one") and killed:
        tally.counts["kills_recovered"] += 1


def disk_full(tally: Tally, run: int, paths: list[Path], folder: Path, rng: random.Random) -> None:
    """The real zip plus ``paths`` into a small tmpfs; then the rerun on a real disk."""
    disk = folder / "disk"
    disk.mkdir()
    size = rng.choice([6, 8, 12, 16, 20, 24])
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}m", "tmpfs", str(disk)], capture_output=True
        ).returncode
        == 0
    )
    if not mounted:
        tally.counts["disk_full_skipped"] += 1
        return
    inputs = [ZIP, *paths]
    try:
        workspace = disk / "ws.duckdb"
        proc = ingest(inputs, workspace, timeout=300)
        lines = [line for line in proc.stderr.splitlines() if line.strip() and "WARNING" not in line]
        full = proc.returncode == 1
        tally.counts["disk_full_runs"] += 1
        tally.counts["disk_full_filled" if full else "disk_full_fitted"] += 1
        if full:
            tally.check(
                any("No space left on device" in line for line in lines) and len(lines) == 1,
                run,
                f"{size} MB disk: not one line naming the full disk: {proc.stderr[-600:]}",
            )
        else:
            tally.check(
                proc.returncode in (0, 3),
                run,
                f"{size} MB disk: exit {proc.returncode}: {proc.stderr[-400:]}",
            )
        tally.check("Traceback" not in proc.stderr, run, f"{size} MB disk: traceback")
        left = subprocess.run(["pgrep", "-f", str(workspace)], capture_output=True, text=True).stdout.split()
        tally.check(not left, run, f"{size} MB disk: processes left running: {left}")
        for pid in left:  # started by this script (their command line holds its workspace path)
            os.kill(int(pid), signal.SIGKILL)
        copy = folder / "copied"
        copy.mkdir()
        for part in disk.glob("ws.duckdb*"):
            shutil.copy(part, copy / part.name)
    finally:
        subprocess.run(["umount", str(disk)], check=False)
    rerun = ingest(inputs, copy / "ws.duckdb")
    tally.check(
        rerun.returncode in (0, 3) and "Traceback" not in rerun.stderr,
        run,
        f"rerun after a full disk: exit {rerun.returncode}: {rerun.stderr[-400:]}",
    )
    ingest(inputs, folder / "clean.duckdb")  # the reference: the same command on a roomy disk
    whole(tally, run, copy / "ws.duckdb", "after a full disk and rerun")
    same = state(copy / "ws.duckdb", CHECKSUMS) == state(folder / "clean.duckdb", CHECKSUMS)
    if tally.check(same, run, f"{size} MB disk: rerun differs from a clean ingest"):
        tally.counts["disk_full_recovered"] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kill", type=float, default=0.4, help="share of runs also killed and rerun")
    parser.add_argument("--disk-full", type=float, default=0.15, help="share of runs on a small tmpfs (root)")
    parser.add_argument("--zip", type=float, default=0.2, help="share of runs with the whole real zip")
    parser.add_argument("--json", type=Path, help="write the tally here")
    options = parser.parse_args()
    rng = random.Random(options.seed)
    tally = Tally()
    root = Path(tempfile.mkdtemp(prefix="gripkit-fuzz-"))
    os.environ["TMPDIR"] = str(root / "tmp")  # the ingests' staging folders: counted at the end
    (root / "tmp").mkdir()
    corpus = Corpus(ZIP, root / "corpus")
    deadline = time.monotonic() + 60 * options.minutes
    run = 0
    try:
        while time.monotonic() < deadline:
            run += 1
            folder = root / f"run{run}"
            folder.mkdir()
            paths, cases, good = build(corpus, rng)
            with_zip = rng.random() < options.zip
            if with_zip:
                paths = [ZIP, *paths]
            tally.kinds.update(c.kind for c, _ in cases)
            began = time.monotonic()
            proc = ingest(paths, folder / "ws.duckdb")
            seconds = time.monotonic() - began
            tally.counts["runs"] += 1
            tally.counts["files_given"] += len(paths)
            report = check_report(tally, run, proc, cases, good, corpus, with_zip)
            if report is not None:
                whole(tally, run, folder / "ws.duckdb", "after a run")
                if rng.random() < options.kill:
                    kill_and_rerun(tally, run, paths, folder, folder / "ws.duckdb", seconds, rng)
            if os.geteuid() == 0 and rng.random() < options.disk_full:
                disk_full(tally, run, [p for p in paths if p != ZIP], folder, rng)
            print(
                f"run {run}: {', '.join(c.kind for c, _ in cases)} + {len(good)} good"
                f"{' + zip' if with_zip else ''}: "
                f"exit {proc.returncode}, {seconds:.1f} s; failures so far {len(tally.failures)}",
                flush=True,
            )
            shutil.rmtree(folder, ignore_errors=True)
            for case, _ in cases:  # a FIFO or a fixed name is made again by a later run
                for path in case.paths:
                    if path.is_relative_to(corpus.folder):
                        path.unlink(missing_ok=True)
    finally:
        tally.counts["staging_folders_left"] = len(list((root / "tmp").glob("gripkit-ingest-*")))
        shutil.rmtree(root, ignore_errors=True)
    result = tally.as_dict()
    print(json.dumps(result, indent=2))
    if options.json:
        options.json.write_text(json.dumps(result, indent=2))
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
