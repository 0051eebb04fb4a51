"""``gripkit audit`` run as a user would (the real console script) on the bundled Bedfordshire data."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from gripkit import Workspace
from gripkit.audit.stops import NO_SEARCH_ROWS
from gripkit.datasets import bedfordshire_street_files


def gripkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gripkit", *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=dict(os.environ)
    )


def test_audit_json_runs_end_to_end_on_the_bundled_data_and_is_stored(tmp_path: Path) -> None:
    files = [str(p) for p in bedfordshire_street_files()]
    ingested = gripkit("ingest", "--json", "--workspace", "w.duckdb", *files, cwd=tmp_path)
    assert ingested.returncode == 0, ingested.stderr
    args = ("audit", "--workspace", "w.duckdb", "--unit", "lsoa", "--areas", "15", "--seed", "5")
    run = gripkit(*args, "--rounds", "2", "--null-draws", "30", "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    payload = json.loads(run.stdout)  # the whole of stdout is one JSON object
    assert payload["areas"] == 15 and len(payload["chosen"]) == 15
    assert payload["rounds"] == 2 and payload["uplift"] == 0.5 and payload["seed"] == 5
    assert 0 < payload["proactive_share"] < 1 and 0 < payload["force_proactive_share"] < 1
    # the bundled data carries no stop-and-search files: rates are unknown, and the audit says so
    assert payload["stop_search_per_1000"] == {"hotspots": None, "outside": None}
    assert payload["stop_search"]["note"] == NO_SEARCH_ROWS
    assert payload["kept_without_proactive"] + payload["dropped_without_proactive"] == 15
    with Workspace(tmp_path / "w.duckdb") as ws:
        stored = ws.latest_result("audit")
        assert stored is not None and stored.payload == payload
        assert stored.meta["seed"] == 5 and not stored.meta["seed_drawn"]
    # the same seed gives the same audit; the text form prints the summary and the rounds
    text = gripkit(*args, "--rounds", "2", "--null-draws", "30", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "The 15 chosen LSOAs draw" in text.stdout and "Feedback simulation" in text.stdout
    again = json.loads(gripkit(*args, "--rounds", "2", "--null-draws", "30", "--json", cwd=tmp_path).stdout)
    assert again["feedback"] == payload["feedback"]


def test_audit_bad_input_is_one_line_with_a_fix(tmp_path: Path) -> None:
    run = gripkit("audit", "--workspace", "w.duckdb", "--unit", "grid", cwd=tmp_path)
    assert run.returncode == 1
    assert "--unit must be 'lsoa'" in run.stderr and "Traceback" not in run.stderr
