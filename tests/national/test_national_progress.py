"""``run_national`` reports the ingest's files and then the forces on one progress scale.

Input: the conftest's replica of REAL Bedfordshire months in three force areas (4 months x 3 forces
= 12 street files); expected counts are counted by hand from that layout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gripkit import Workspace, workers
from gripkit.national import NationalParams, compute, run_national

from .conftest import FORCES, MONTHS

PARAMS = NationalParams(last=2, cell_size=250.0, n_areas=5)


@pytest.mark.parametrize("pooled", [False, True])
def test_files_then_forces_on_one_scale(
    tmp_path: Path, national_input: Path, monkeypatch: pytest.MonkeyPatch, pooled: bool
) -> None:
    if pooled:  # below the real threshold: force the process pool (forked)
        monkeypatch.setattr(workers, "START_METHOD", "fork")
        monkeypatch.setattr(compute, "FORK_MIN_CRIMES", 0)
    calls: list[tuple[int, int, str]] = []
    with Workspace(tmp_path / "ws.duckdb") as ws:
        run_national([national_input], ws, tmp_path / "out", params=PARAMS, workers=2 if pooled else 1,
                     progress=lambda done, total, name: calls.append((done, total, name)))
    files = len(MONTHS) * len(FORCES)  # one street file per force and month
    dones = [d for d, _, _ in calls]
    assert dones == sorted(dones)
    assert {t for _, t, _ in calls} == {files, files + len(FORCES)}  # total grows once, by the forces
    forces = [(d, t, n) for d, t, n in calls if t == files + len(FORCES)]
    assert [d for d, _, _ in forces] == [files + 1, files + 2, files + 3]
    assert sorted(n for _, _, n in forces) == sorted(FORCES)
    assert calls[-1][0] == calls[-1][1]
