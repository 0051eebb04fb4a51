"""Progress: library callbacks report monotone (done, total) steps ending at done == total; the CLI's
bar draws only on a terminal and never touches ``--json`` stdout.

Expected step counts are counted by hand from each function's documented steps (stated at each
test). Crimes are two months (May and June 2023) of the bundled real Bedfordshire police.uk street
files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from gripkit import datasets
from gripkit.cli import app, common
from gripkit.dosage import ingest_gps
from gripkit.evaluate.design import place_day_design
from gripkit.evaluate.experiment import evaluate_experiment
from gripkit.evaluate.inference import RI_CHUNKS, poisson_fe, randomisation_inference, to_panel
from gripkit.evaluate.power import simulate_power
from gripkit.hotspots.count import count
from gripkit.hotspots.emerging_job import emerging_hotspots
from gripkit.hotspots.find import find_hotspots
from gripkit.hotspots.gistar import gistar
from gripkit.hotspots.kde import kde
from gripkit.ingestion import ingest
from gripkit.progress import Steps, throttled
from gripkit.units import GridUnits
from gripkit.workspace import Workspace

#: What Rich draws a bar with (BarColumn's line characters) and the escape that starts a control code.
BAR_MARKS = ("━", "╸", "╺", "\x1b[")


class Recorder:
    """A progress callback that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str]] = []

    def __call__(self, done: int, total: int, name: str) -> None:
        self.calls.append((done, total, name))

    def check(self, total: int) -> list[int]:
        """Monotone ``done``, one ``total`` throughout, last call at ``done == total``; the dones."""
        assert self.calls, "no progress reported"
        dones = [d for d, _, _ in self.calls]
        assert {t for _, t, _ in self.calls} == {total}
        assert dones == sorted(dones) and dones[-1] == total
        return dones


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("progress") / "w.duckdb"
    with Workspace(path) as ws:
        ingest(datasets.bedfordshire_street_files()[:2], ws)
    yield path


def _toy_grid() -> tuple[pd.DataFrame, GridUnits]:
    """The gistar docstring's 10 x 10 grid: 26 crimes, three busy corner cells (synthetic)."""
    units = GridUnits(100, (0, 0, 999, 999))
    crimes = pd.DataFrame({"x": [50.0] * 9 + [150.0] * 8 + [50.0] * 8 + [550.0],
                           "y": [50.0] * 17 + [150.0] * 8 + [550.0]})
    return crimes, units


# ------------------------------------------------------------------------------------ (a) library
def test_gistar_reports_the_test_then_each_null_permutation() -> None:
    crimes, units = _toy_grid()
    counts = count(crimes, units)
    rec = Recorder()
    gistar(counts, units, null_runs=5, progress=rec)
    # documented: 1 step for the test of the data + 1 per null permutation = 1 + 5
    assert rec.check(6) == [1, 2, 3, 4, 5, 6]
    assert rec.calls[0][2] == "Gi* test" and rec.calls[-1][2] == "null permutation 5 of 5"
    none = Recorder()
    gistar(counts, units, null_runs=0, progress=none)
    assert none.check(1) == [1]


def test_gistar_numbers_do_not_depend_on_progress() -> None:
    crimes, units = _toy_grid()
    counts = count(crimes, units)
    plain = gistar(counts, units, null_runs=3)
    tracked = gistar(counts, units, null_runs=3, progress=Recorder())
    pd.testing.assert_frame_equal(pd.DataFrame(plain), pd.DataFrame(tracked))


def test_kde_reports_its_three_phases() -> None:
    crimes, units = _toy_grid()
    rec = Recorder()
    kde(crimes, units, bandwidth=200, progress=rec)
    assert rec.calls == [(1, 3, "binning points"), (2, 3, "smoothing"), (3, 3, "ranking")]


def test_power_counts_simulated_trials() -> None:
    rec = Recorder()
    simulate_power([0.5] * 6, 0.3, days=10, treated_per_day=2, effects=[0.0, 0.2, 0.44], sims=20,
                   progress=rec)
    # 3 effects x 20 trials, one call after each effect's 20
    assert rec.check(60) == [20, 40, 60]
    assert rec.calls[-1][2] == "effect -44%"


def test_randomisation_inference_chunks_change_no_number() -> None:
    design = place_day_design(list("abcdef"), days=30, treated_per_day=2, start="2024-01-01", seed=0)
    frame = design.assignment.assign(count=np.random.default_rng(1).poisson(3.0, 180))
    rec = Recorder()
    result = randomisation_inference(frame, design, draws=99, seed=4, progress=rec)
    # 99 draws in chunks of ceil(99 / 20) = 5: 19 full chunks and one of 4
    dones = rec.check(99)
    assert len(dones) == RI_CHUNKS and dones[:3] == [5, 10, 15] and dones[-2:] == [95, 99]
    # the null estimated in one piece, as before chunking: the same draws from the same seed
    y, _, areas, _ = to_panel(frame, "count")
    order = [areas.index(a) for a in design.areas]
    redrawn = design.draw(np.random.default_rng(4), size=99)
    whole, _ = poisson_fe(y[:, order][None], redrawn)
    np.testing.assert_array_equal(result.draws, whole)


def test_evaluate_counts_models_then_randomisation_chunks() -> None:
    design = place_day_design(list("abcdef"), days=30, treated_per_day=2, start="2024-01-01", seed=0)
    frame = design.assignment.assign(count=np.random.default_rng(1).poisson(3.0, 180))
    rec = Recorder()
    evaluate_experiment(None, frame, models=["poisson"], ri_draws=99, design=design, progress=rec)
    # 1 outcome x (1 model + 20 randomisation chunks)
    assert rec.check(1 + RI_CHUNKS)[0] == 1 and rec.calls[0][2] == "count: poisson"


def test_find_hotspots_puts_every_phase_on_one_scale(workspace: Path) -> None:
    rec = Recorder()
    with Workspace(workspace) as ws:
        find_hotspots(ws, method="gistar", cell_size=500, progress=rec)
    # reading crimes, building units, counting, Gi* test, 5 null permutations, concentration, storing
    assert rec.check(11) == list(range(1, 12))
    assert [n for _, _, n in rec.calls][:4] == ["reading crimes", "building units", "counting", "Gi* test"]


def test_gps_ingest_reports_each_file_skipped_or_read(tmp_path: Path) -> None:
    # SIMULATED pings at a real place in Luton (EPSG:27700), one officer, 30 s apart
    paths = []
    for day in ("2024-06-01", "2024-06-02"):
        times = pd.date_range(f"{day}T14:00:00Z", periods=5, freq="30s")
        frame = pd.DataFrame({"officer_id": "R1", "timestamp": times.strftime("%Y-%m-%dT%H:%M:%SZ"),
                              "x": 509100.0, "y": 221100.0})
        paths.append(tmp_path / f"{day}.csv")
        frame.to_csv(paths[-1], index=False)
    with Workspace(tmp_path / "w.duckdb") as ws:
        rec = Recorder()
        ingest_gps(paths, ws, area=None, progress=rec)
        again = Recorder()
        ingest_gps(paths, ws, area=None, progress=again)  # both skipped (same SHA-256): still reported
    assert rec.calls == again.calls == [(1, 2, str(paths[0])), (2, 2, str(paths[1]))]


def test_emerging_reports_slices_of_the_data_then_of_each_shuffle(workspace: Path) -> None:
    rec = Recorder()
    with Workspace(workspace) as ws:
        emerging_hotspots(ws, cell_size=1000, null_runs=2, store=False, progress=rec)
    # 2 months (slices) of the data + of each of 2 month-shuffled runs = 6 steps; a step is reported
    # when slice 2 starts (1 done) and when the trends start (2 done)
    assert rec.calls == [
        (1, 6, "data: 2023-06"), (2, 6, "data: trends"),
        (3, 6, "shuffle 1 of 2: 2023-06"), (4, 6, "shuffle 1 of 2: trends"),
        (5, 6, "shuffle 2 of 2: 2023-06"), (6, 6, "shuffle 2 of 2: trends"),
    ]


def test_throttled_and_steps() -> None:
    rec = Recorder()
    update = throttled(rec, 12_345)
    assert update is not None
    for i in range(1, 12_346):
        update(i, 12_345, "row")
    assert len(rec.calls) <= 100 and rec.check(12_345)[-1] == 12_345
    assert throttled(None, 10) is None
    steps = Steps(rec := Recorder(), 4)
    part = steps.part(2, "harm: ")
    assert part is not None
    part(1, 1, "effect")  # a callee with its own scale of 1 step fills its 2 reserved steps
    steps.step("concentration")
    steps.finish()
    assert rec.calls == [(2, 4, "harm: effect"), (3, 4, "concentration"), (4, 4, "done")]


# ------------------------------------------------------------------------- (b) CLI, not a terminal
def _gripkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from gripkit.cli import main; main()", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
    )


def test_cli_through_a_pipe_draws_no_bar_and_json_stays_one_object(workspace: Path, tmp_path: Path) -> None:
    ws = str(workspace)
    runs = {
        "hotspots": _gripkit("hotspots", "--method", "gistar", "--cell-size", "500", "-o",
                             str(tmp_path / "g.parquet"), "-w", ws, "--json", cwd=tmp_path),
        "power": _gripkit("power", "--rate", "0.5", "--dispersion", "0.3", "--sims", "20", "-w", ws,
                          "--json", cwd=tmp_path),
        "report": _gripkit("report", "-o", str(tmp_path / "r.html"), "-w", ws, "--json", cwd=tmp_path),
        # without --json the bar is enabled, but stderr is a pipe: still nothing drawn
        "power, no --json": _gripkit("power", "--rate", "0.5", "--dispersion", "0.3", "--sims", "20",
                                     "-w", ws, cwd=tmp_path),
    }
    for name, run in runs.items():
        assert run.returncode == 0, (name, run.stderr)
        assert not any(mark in run.stderr for mark in BAR_MARKS), (name, run.stderr)
        assert "power simulations" not in run.stderr and "hotspots (gistar)" not in run.stderr
        if "--json" in run.args:
            assert isinstance(json.loads(run.stdout), dict), name  # the whole of stdout: one object
    assert "Power" in runs["power, no --json"].stdout


# --------------------------------------------------------------------- (c) CLI, a forced terminal
@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> StringIO:
    out = StringIO()
    monkeypatch.setattr(common, "console_err", Console(force_terminal=True, file=out, width=120))
    return out


def test_progress_bar_draws_its_label_on_a_terminal(terminal: StringIO) -> None:
    with common.progress_bar("counting things") as update:
        update(1, 2, "/some/folder/2023-05-bedfordshire-street.csv")
    drawn = terminal.getvalue()
    assert "counting things" in drawn and "━" in drawn
    assert "2023-05-bedfordshire-street.csv" in drawn and "/some/folder" not in drawn


def test_progress_bar_is_silent_off_a_terminal_or_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    out = StringIO()
    monkeypatch.setattr(common, "console_err", Console(file=out, width=120))  # a file: not a terminal
    with common.progress_bar("counting things") as update:
        update(1, 2, "x")
    monkeypatch.setattr(common, "console_err", Console(force_terminal=True, file=out, width=120))
    with common.progress_bar("counting things", enabled=False) as update:
        update(1, 2, "x")
    assert out.getvalue() == ""


def test_power_command_draws_the_bar_on_a_terminal(terminal: StringIO, tmp_path: Path) -> None:
    got = CliRunner().invoke(
        app,
        ["power", "--rate", "0.5", "--dispersion", "0.3", "--sims", "20", "-w", str(tmp_path / "w.duckdb")],
        catch_exceptions=False,
    )
    assert got.exit_code == 0, got.output
    # the last frame drawn: 14 effects (0, 0.05 .. 0.60 and the 0.44 asked for) x 20 trials
    assert "power simulations" in terminal.getvalue() and "280/280" in terminal.getvalue()
    assert "power simulations" not in got.stdout  # the bar is on stderr's console only
    drawn = len(terminal.getvalue())
    json_run = CliRunner().invoke(
        app,
        ["power", "--rate", "0.5", "--dispersion", "0.3", "--sims", "20", "-w", str(tmp_path / "w.duckdb"),
         "--json"],
        catch_exceptions=False,
    )
    assert isinstance(json.loads(json_run.stdout), dict)
    assert len(terminal.getvalue()) == drawn  # --json: not a character more on the terminal
