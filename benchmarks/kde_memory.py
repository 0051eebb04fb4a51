"""Peak resident memory of ``gripkit hotspots --method kde --html`` phase by phase.

Run: ``python benchmarks/kde_memory.py WORKSPACE.duckdb OUT_DIR [--cell-size 50]`` on a workspace
that already holds the crimes (``gripkit ingest``; benchmarks/kde_html.py builds one in a temporary
folder). The command runs in this process with the pipeline's steps wrapped: at every step's start
and end the kernel's resident high-water mark (``VmHWM`` of /proc/self/status) is read and then
reset (``echo 5 > /proc/self/clear_refs``), so each line is the peak RSS *within* one stretch of
the run (Linux only). Stretches nest: "after X" is the caller's work after X returned.
``TRIM=1`` also calls ``malloc_trim(0)`` at every mark, to see how much glibc holds freed.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path
from typing import Any

MIB = 1024**2
rows: list[tuple[str, float, float, float]] = []
_last = [time.perf_counter(), "start"]


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / MIB
    raise RuntimeError(field)


def _mark(label: str) -> None:
    now = time.perf_counter()
    rows.append((str(_last[1]), _status("VmHWM"), _status("VmRSS"), now - float(_last[0])))
    if os.environ.get("TRIM"):
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    _last[:] = [time.perf_counter(), label]


def _wrap(owner: Any, name: str) -> None:
    inner = getattr(owner, name)
    label = f"{getattr(owner, '__name__', type(owner).__name__).split('.')[-1]}.{name}"

    @functools.wraps(inner)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _mark(f"{label}")
        try:
            return inner(*args, **kwargs)
        finally:
            _mark(f"after {label}")

    setattr(owner, name, wrapped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--cell-size", type=float, default=50.0)
    parser.add_argument("--no-html", action="store_true")
    opts = parser.parse_args()
    from gripkit.cli import app  # not main(): it leaves by os._exit
    from gripkit.cli import hotspots as cli_hotspots
    from gripkit.hotspots import count, find, kde, methods
    from gripkit.workspace import Workspace

    for owner, names in [
        (find, ["request_harm_table", "request_crimes", "build_units", "_count", "apply_method",
                "concentration", "_harm_bearing", "write_layer"]),
        (count, ["unit_labels", "_rank", "_geometries"]),
        (methods, ["_kde", "_merge"]),
        (kde.core, ["grid_density"]),
        (Workspace, ["save_result"]),
        (cli_hotspots, ["write_page"]),
    ]:  # fmt: skip
        for name in names:
            _wrap(owner, name)
    opts.out.mkdir(parents=True, exist_ok=True)
    argv = ["hotspots", "--method", "kde", "--cell-size", f"{opts.cell_size:g}", "--workspace",
            str(opts.workspace), "--out", str(opts.out / "kde.gpkg"), "--json"]  # fmt: skip
    if not opts.no_html:
        argv += ["--html", str(opts.out / "kde.html")]
    sys.argv = ["gripkit", *argv]
    _mark("cli startup")
    try:
        app()
    except SystemExit as done:
        if done.code:
            raise
    finally:
        _mark("end")
        print(f"{'stretch':<34} {'peak RSS MiB':>12} {'RSS at end':>10} {'s':>6}", file=sys.stderr)
        for label, peak, rss, seconds in rows:
            print(f"{label:<34} {peak:12.0f} {rss:10.0f} {seconds:6.1f}", file=sys.stderr)
        print(f"overall peak {max(r[1] for r in rows):.0f} MiB", file=sys.stderr)


if __name__ == "__main__":
    main()
