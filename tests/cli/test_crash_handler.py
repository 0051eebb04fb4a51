"""An unexpected exception in a command: one line on stderr, the traceback in a log file, exit 70."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# A command whose library call fails with a bug (not a GripkitError): the ingest job is replaced.
CRASH = (
    "import sys\n"
    "import gripkit.ingestion as ingestion\n"
    "def broken(*args, **kwargs):\n"
    "    raise KeyError('a bug deep inside')\n"
    "ingestion.ingest = broken\n"
    "from gripkit.cli import main\n"
    "sys.argv = ['gripkit', 'ingest', sys.argv[1], '-w', sys.argv[2]]\n"
    "main()\n"
)


def test_unexpected_error_is_one_line_and_a_log(tmp_path: Path) -> None:
    state = tmp_path / "state"
    csv = tmp_path / "2021-05-bedfordshire-street.csv"
    csv.write_text("Month\n2021-05\n")
    env = {**os.environ, "XDG_STATE_HOME": str(state)}
    run = subprocess.run([sys.executable, "-c", CRASH, str(csv), str(tmp_path / "ws.duckdb")],
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 70, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "gripkit ingest failed unexpectedly (KeyError: 'a bug deep inside')" in lines[0]
    logs = list((state / "gripkit" / "crashes").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    text = logs[0].read_text()
    assert "Traceback" in text and "in broken" in text and "gripkit ingest" in text
    assert "KeyError: 'a bug deep inside'" in text
