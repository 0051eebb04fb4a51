"""The per-force stage reads the workspace once and computes each row from the force's own frame.

Its rows must equal those of the slow path it replaced: per force, a 24-month
``select_crimes`` query, then one ``find_hotspots`` query and computation per unit kind.
:func:`_slow_row` below is that path, kept from ``summarise_force`` as it was before (gripkit
commit ba7b12e), as the reference every expected number here comes from: its own selection of
crimes and its own hotspot queries, with the row's fields then read from the hotspots by the same
:func:`~gripkit.national.force.hotspot_fields` as the code under test. Inputs are real:
the bundled Bedfordshire months and the multi-force replica of real months (see conftest).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from gripkit import Workspace, datasets, workers
from gripkit import columns as C
from gripkit.errors import InputError, WorkerError
from gripkit.harm import apply_harm, load_harm_table
from gripkit.hotspots.find import find_hotspots, select_crimes
from gripkit.ingestion import ingest
from gripkit.national import NationalParams, compute, run_national, summarise_force
from gripkit.national.force import NO_HOTSPOTS, hotspot_fields, read_forces

from .conftest import FORCES

PARAMS = NationalParams(last=2, cell_size=250.0, n_areas=5)


def _slow_row(ws: Workspace, force: str, params: NationalParams) -> dict[str, Any]:
    """The row as the slow path computed it (three queries and two ``find_hotspots`` per force)."""
    started = time.perf_counter()
    row = ws.con.execute("SELECT min(month), max(month) FROM crimes WHERE force = ?", [force]).fetchone()
    assert row is not None
    have, last = pd.Timestamp(row[0]), pd.Timestamp(row[1])
    first = last - pd.DateOffset(months=params.last - 1)
    before = first - pd.DateOffset(months=params.last)
    # coverage (gripkit.coverage, KEY_VERSION 2): months of each window without any crime of the
    # force, as runs; the trend needs every month of the window before (was: have <= before)
    held = {pd.Timestamp(m[0]) for m in ws.con.execute(
        "SELECT DISTINCT month FROM crimes WHERE force = ?", [force]).fetchall()}
    gaps = [m for m in pd.date_range(first, last, freq="MS") if m not in held]
    earlier = [m for m in pd.date_range(before, first - pd.DateOffset(months=1), freq="MS") if m not in held]
    covered = bool(have <= before) and not earlier
    table = load_harm_table(params.harm)
    out: dict[str, Any] = {"force": force, "window": f"{first:%Y-%m} to {last:%Y-%m}", "note": None,
                           "months_held": params.last - len(gaps), "months_missing": _runs(gaps),
                           "previous_missing": _runs(earlier)}
    try:
        crimes = select_crimes(ws, serious_violence=True, force=force, months=(before.date(), last.date()))
    except InputError:
        crimes = pd.DataFrame(columns=[C.MONTH, C.CRIME_TYPE])
    harm = apply_harm(crimes, table) if len(crimes) else pd.Series(dtype=float)
    recent = (pd.to_datetime(crimes[C.MONTH]) >= first).to_numpy()
    out.update(
        sv_crimes=int(recent.sum()),
        sv_harm=float(harm[recent].sum()),
        sv_harm_previous=float(harm[~recent].sum()) if covered else None,
    )
    previous = out["sv_harm_previous"]
    out["trend"] = out["sv_harm"] / previous if previous else None
    window = (first.date(), last.date())
    try:
        grid = find_hotspots(ws, unit="grid", cell_size=params.cell_size, serious_violence=True,
                             months=window, harm=params.harm, force=force, store=False)
        lsoa = find_hotspots(ws, unit="lsoa", serious_violence=True, months=window, harm=params.harm,
                             force=force, store=False)
    except InputError as exc:
        out.update(NO_HOTSPOTS, note=str(exc), seconds=time.perf_counter() - started)
        return out
    # the row's fields from the hotspots: the same function as the code under test (what this
    # oracle checks is how the crimes are selected and the hotspots found, not the field names)
    out.update(hotspot_fields(grid, lsoa, params.n_areas), seconds=time.perf_counter() - started)
    return out


def _runs(months: list[pd.Timestamp]) -> str:
    """Months as runs, by hand: consecutive months joined as FROM..TO, runs by ", " ("" if none)."""
    runs: list[list[pd.Timestamp]] = []
    for m in months:
        if runs and runs[-1][-1] + pd.DateOffset(months=1) == m:
            runs[-1].append(m)
        else:
            runs.append([m])
    return ", ".join(f"{r[0]:%Y-%m}" if len(r) == 1 else f"{r[0]:%Y-%m}..{r[-1]:%Y-%m}" for r in runs)


def assert_close_or_none(actual: float | None, expected: float | None) -> None:
    """``actual`` equals ``expected`` to 1e-12 (relative), or both are None.

    None is a value here: a force whose workspace does not hold the window before has no previous
    harm and so no trend (not 0, which would claim a window without serious violence). pytest 9's
    ``approx`` refuses None with a relative tolerance (``approx(None, rel=...)`` raises TypeError:
    "expected value must support abs(...)"), so None is compared as None.
    """
    if expected is None:
        assert actual is None
    else:
        assert actual == pytest.approx(expected, rel=1e-12)


def assert_rows_equal(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """Rows equal key by key, floats to 1e-12 (relative): the fast path sums harm by crime type
    (count x weight), the slow path crime by crime, and the derived CCHI weights (violence and sexual
    offences 230.89) are not binary fractions, so the two sums may differ in the last bits."""
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, float) and isinstance(actual[key], float):
            assert actual[key] == pytest.approx(value, rel=1e-12), key
        else:
            assert actual[key] == value, key


def _without(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The row without its timing (and ``keys``), table gaps (NaN) read as the rows' None."""
    return {k: (None if v is None or (isinstance(v, float) and pd.isna(v)) else v)
            for k, v in row.items() if k not in ("seconds", "reused", *keys)}


@pytest.fixture(scope="module")
def bedfordshire() -> Workspace:
    """The 12 bundled real Bedfordshire months (2023-05 to 2024-04) in a workspace."""
    ws = Workspace(":memory:")
    ingest(datasets.bedfordshire_street_files(), ws)
    return ws


@pytest.mark.parametrize(
    "params",
    [
        NationalParams(last=6),  # Chainey cell size, bundled LSOA polygons, trend over 2 x 6 months
        NationalParams(last=12, cell_size=300.0, n_areas=5),  # 12 months held: no previous window
        NationalParams(last=1, harm="ons_css", n_areas=40),
    ],
)
def test_bundled_bedfordshire_row_equals_slow_path(bedfordshire: Workspace, params: NationalParams) -> None:
    fast = summarise_force(bedfordshire, "Bedfordshire", params)
    slow = _slow_row(bedfordshire, "Bedfordshire", params)
    # the previous window's harm is summed by crime type (count x weight) instead of crime by
    # crime: equal within rounding (see assert_rows_equal)
    assert_close_or_none(fast["sv_harm_previous"], slow["sv_harm_previous"])
    assert_close_or_none(fast["trend"], slow["trend"])
    if params.last == 12:  # the 12 bundled months hold no window before: no previous harm, no trend
        assert fast["sv_harm_previous"] is None and fast["trend"] is None
    keys = ("sv_harm_previous", "trend")
    assert_rows_equal(_without(fast, *keys), _without(slow, *keys))
    assert fast["lsoa_polygons"] == "bundled" and fast["grid_units"] > 0


def test_replica_rows_equal_slow_path(tmp_path: Path, national_input: Path) -> None:
    with Workspace(tmp_path / "ws.duckdb") as ws:
        table = run_national([national_input], ws, tmp_path / "out", params=PARAMS, workers=1).table
        assert table["force"].tolist() == FORCES
        for row in table.to_dict("records"):
            slow = _slow_row(ws, row["force"], PARAMS)
            assert_rows_equal(_without(row), _without(slow))


def test_force_without_serious_violence_in_window(tmp_path: Path, national_input: Path) -> None:
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ingest([national_input], ws)
        # Cleveland keeps its other crimes of 2023-04, so its window still ends in 2023-04
        ws.con.execute(
            "DELETE FROM crimes WHERE force = 'Cleveland' AND month = DATE '2023-04-01' AND crime_type IN "
            "('Violence and sexual offences', 'Robbery', 'Possession of weapons')"
        )
        params = NationalParams(last=1, cell_size=250.0, n_areas=5)
        table = run_national([], ws, tmp_path / "out", params=params, workers=1).table.set_index("force")
        row = {"force": "Cleveland", **table.loc["Cleveland"].to_dict()}
        slow = _slow_row(ws, "Cleveland", params)
        assert slow["sv_crimes"] == 0 and slow["grid_units"] == 0  # the case under test
        assert "no crimes in workspace" in slow["note"]
        assert_rows_equal(_without(row), _without(slow))


def test_read_forces_counts_match_sql(tmp_path: Path, national_input: Path) -> None:
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ingest([national_input], ws)
        data = read_forces(ws, FORCES, 2)
        sv = "('Violence and sexual offences', 'Robbery', 'Possession of weapons')"
        for force in FORCES:
            window = data[force].window
            # the replica holds 2023-01..2023-04: window 2023-03..04, the one before 2023-01..02
            assert (window.label, window.covered) == ("2023-03 to 2023-04", True)
            row = ws.con.execute(
                f"SELECT count(*) FROM crimes WHERE force = ? AND crime_type IN {sv} "
                "AND month BETWEEN DATE '2023-03-01' AND DATE '2023-04-01'", [force]
            ).fetchone()
            assert row is not None and len(data[force].crimes) == row[0]
            before = dict(ws.con.execute(
                f"SELECT crime_type, count(*) FROM crimes WHERE force = ? AND crime_type IN {sv} "
                "AND month BETWEEN DATE '2023-01-01' AND DATE '2023-02-01' GROUP BY 1", [force]
            ).fetchall())
            assert data[force].previous == before


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_pool_rows_equal_in_process_rows(
    tmp_path: Path, national_input: Path, monkeypatch: pytest.MonkeyPatch, start: str
) -> None:
    with Workspace(tmp_path / "ws.duckdb") as ws:
        serial = run_national([national_input], ws, tmp_path / "a", params=PARAMS, workers=1).table
        ws.con.execute("DELETE FROM results WHERE kind = 'national_force'")
        # below the real thresholds: force the pool, started either way
        monkeypatch.setattr(workers, "START_METHOD", start)
        monkeypatch.setattr(compute, "FORK_MIN_CRIMES", 0)
        monkeypatch.setattr(compute, "SPAWN_MIN_CRIMES", 0)
        pooled = run_national([], ws, tmp_path / "b", params=PARAMS, workers=2).table
    assert pooled["reused"].tolist() == [False] * len(FORCES)
    pd.testing.assert_frame_equal(pooled.drop(columns="seconds"), serial.drop(columns="seconds"))


def _die(*args: object, **kwargs: object) -> None:
    os._exit(3)  # as the out-of-memory killer would stop a worker


def test_a_dead_worker_is_a_clear_error(
    tmp_path: Path, national_input: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Workspace(tmp_path / "ws.duckdb") as ws:
        ingest([national_input], ws)
        monkeypatch.setattr(compute, "FORK_MIN_CRIMES", 0)
        monkeypatch.setattr(workers, "START_METHOD", "fork")
        monkeypatch.setattr(compute, "summarise_data", _die)  # inherited by the forked workers
        with pytest.raises(WorkerError, match="worker process died while computing the forces' rows"):
            compute.compute_rows(ws, list(FORCES), PARAMS, None, workers=2)
