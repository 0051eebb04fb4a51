"""Cost of ``--html`` on a KDE run: ``gripkit hotspots --method kde`` with and without the HTML page.

Run: ``python benchmarks/kde_html.py [path/to/police-uk-bedfordshire-2021-05-to-2024-04.zip]``
(``--repeats N`` for the best of N runs; ``--cell-size`` defaults to 50 m).

Workspace: the real 36-month Bedfordshire police.uk zip (../shared/data) ingested once into a
temporary DuckDB file (``gripkit ingest``). Then, in fresh subprocesses (nothing cached between
them), the same command twice::

    gripkit hotspots --method kde --cell-size 50 --out kde.gpkg --json
    gripkit hotspots --method kde --cell-size 50 --out kde.gpkg --json --html kde.html

At 50 m the Bedfordshire force area holds 496,787 grid cells. Printed: wall seconds of each, the
ratio (target <= 1.5), peak resident memory of each command (target for ``--html``: < 1 GiB) and the
page's size. Peak memory is ``ru_maxrss`` of ``resource.getrusage(RUSAGE_CHILDREN)`` read by a small
wrapper process that runs one command only, so each figure is that command's own peak.

Exits non-zero (``FAILED: ...`` on stderr) when either peak exceeds 1 GiB or the ratio exceeds 1.5,
so a regression fails loudly. ``benchmarks/kde_memory.py`` breaks the peak down by phase.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_ZIP = (
    Path(__file__).resolve().parents[2]
    / "shared/data/bedfordshire/police-uk-bedfordshire-2021-05-to-2024-04.zip"
)
GRIPKIT = [sys.executable, "-c", "from gripkit.cli import main; main()"]
# runs argv[1:] and prints the child's peak RSS (KiB on Linux): one command per wrapper
WRAPPER = (
    "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)"
)
GIB = 1024**3
MAX_PEAK = GIB  # issue 18: peak resident memory of either command
MAX_RATIO = 1.5  # issue 18: with --html / without


def timed(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of ``gripkit *args`` in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *GRIPKIT, *args], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"gripkit {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return seconds, int(done.stdout.strip().splitlines()[-1]) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zip", nargs="?", type=Path, default=DEFAULT_ZIP)
    parser.add_argument("--cell-size", type=float, default=50.0)
    parser.add_argument("--repeats", type=int, default=1)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kde-html-") as tmp:
        folder = Path(tmp)
        ws = folder / "gripkit.duckdb"
        began = time.perf_counter()
        subprocess.run(
            [*GRIPKIT, "ingest", str(opts.zip), "--workspace", str(ws)], check=True, capture_output=True
        )
        print(f"ingest of {opts.zip.name}: {time.perf_counter() - began:.1f} s")
        base = [
            "hotspots", "--method", "kde", "--cell-size", f"{opts.cell_size:g}", "--workspace", str(ws),
            "--out", str(folder / "kde.gpkg"), "--json",
        ]  # fmt: skip
        page = folder / "kde.html"
        runs: dict[str, list[tuple[float, int]]] = {"plain": [], "html": []}
        for _ in range(opts.repeats):  # interleaved, so load on a shared machine hits both alike
            runs["plain"].append(timed(base))
            runs["html"].append(timed([*base, "--html", str(page)]))
        plain_s, plain_rss = min(s for s, _ in runs["plain"]), max(r for _, r in runs["plain"])
        html_s, html_rss = min(s for s, _ in runs["html"]), max(r for _, r in runs["html"])
        print(f"KDE at {opts.cell_size:g} m, best of {opts.repeats}:")
        print(f"  without --html: {plain_s:6.1f} s, peak RSS {plain_rss / GIB:.2f} GiB")
        print(
            f"  with --html:    {html_s:6.1f} s, peak RSS {html_rss / GIB:.2f} GiB "
            f"(target < 1 GiB: {'met' if html_rss <= MAX_PEAK else 'NOT met'}); "
            f"page {page.stat().st_size / 1e3:,.0f} kB"
        )
        ratio = html_s / plain_s
        print(f"  ratio {ratio:.2f} (target <= 1.5: {'met' if ratio <= MAX_RATIO else 'NOT met'})")
    failed = [
        f"peak RSS {rss / GIB:.2f} GiB {what} (limit {MAX_PEAK / GIB:g} GiB)"
        for what, rss in (("without --html", plain_rss), ("with --html", html_rss))
        if rss > MAX_PEAK
    ]
    if ratio > MAX_RATIO:
        failed.append(f"ratio {ratio:.2f} (limit {MAX_RATIO:g})")
    if failed:
        raise SystemExit("FAILED: " + "; ".join(failed))


if __name__ == "__main__":
    main()
