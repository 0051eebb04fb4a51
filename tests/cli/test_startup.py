"""The ``gripkit`` command line starts without importing the heavy science stack.

``import gripkit.cli`` registers every subcommand, so each command module imports its API modules
inside the command that uses them. These tests run in a new interpreter, as a user's shell does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Measured with ``python -X importtime`` after pandas (which gripkit.workspace needs anyway):
# statsmodels.api ~1.7 s, scipy.signal ~1.1 s, scipy.stats ~0.9 s, matplotlib.pyplot ~0.7 s,
# geopandas ~0.1 s (with shapely and pyproj). No command needs them before it runs, and
# ``gripkit --help`` needs none of them.
NOT_AT_STARTUP = (
    "statsmodels",
    "scipy",
    "scipy.stats",
    "scipy.signal",
    "matplotlib",
    "geopandas",
    "shapely",
    "pyproj",
)


def test_import_cli_leaves_the_heavy_modules_unimported() -> None:
    """``import gripkit.cli`` loads typer, rich and the workspace (pandas, duckdb) only.

    statsmodels, scipy (its stats and signal subpackages alone take ~1 s each), matplotlib,
    geopandas, shapely and pyproj are imported by the commands that use them, when they run.
    """
    code = (
        "import json, sys; import gripkit.cli; "
        f"print(json.dumps(sorted(m for m in {list(NOT_AT_STARTUP)!r} if m in sys.modules)))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []


def test_help_lists_every_subcommand() -> None:
    run = subprocess.run(["gripkit", "--help"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    listed = {line.split()[0] for line in run.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == {
        "allocate", "audit", "backtest", "demo", "emerging", "evaluate", "gps", "harm", "hotspots", "info",
        "ingest", "fetch", "match", "national",
        "plan", "power", "quarantine", "report", "returns", "serve", "sources", "status", "users",
    }


def test_gps_tz_default_is_the_patrol_zone() -> None:
    """cli.gps spells out Europe/London so that it need not import gripkit.patrol (~1 s) at startup."""
    from gripkit.cli import gps
    from gripkit.patrol.schedule import LONDON

    assert gps.LONDON == LONDON


def test_exit_skips_teardown_but_runs_exit_handlers(tmp_path: Path) -> None:
    """``main`` leaves with ``os._exit`` (no interpreter teardown, 0.4-0.7 s after a national run)
    after running the exit handlers and flushing stdout: a handler's file is written, the help text
    arrives whole through a pipe, and usage errors keep click's exit code 2."""
    marker = tmp_path / "handler-ran"
    script = (
        "import atexit, sys; "
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('yes')); "
        "from gripkit.cli import main; sys.argv = ['gripkit', *sys.argv[1:]]; main()"
    )
    shown = subprocess.run([sys.executable, "-c", script, "--help"], capture_output=True, text=True,
                           check=False)
    assert shown.returncode == 0 and "national" in shown.stdout and shown.stdout.endswith("\n")
    assert marker.read_text() == "yes"
    wrong = subprocess.run([sys.executable, "-c", script, "no-such-command"], capture_output=True,
                           text=True, check=False)
    assert wrong.returncode == 2 and "No such command" in wrong.stderr
