"""The national run on a small multi-force replica of real Bedfordshire months (see conftest)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gripkit import Workspace
from gripkit.errors import InputError
from gripkit.harm import load_harm_table, serious_violence_types
from gripkit.national import NationalParams, run_national

from .conftest import FORCES

PARAMS = NationalParams(last=2, cell_size=250.0, n_areas=5)
COLUMNS = {
    "force", "window", "sv_crimes", "sv_harm", "sv_harm_previous", "trend", "grid_top5_share",
    "lsoa_top5_share", "grid_cell_m", "grid_units", "lsoa_units", "lsoa_polygons", "patrol_areas",
    "patrol_area_harm_share", "seconds", "note", "reused", "allocation", "allocation_share",
    "months_held", "months_missing", "previous_missing",
}


def _sql_harm(ws: Workspace, force: str, first: str, last: str) -> tuple[int, float]:
    """Independent check: serious-violence crimes and CCHI harm of a force, summed in SQL."""
    weights = load_harm_table("cchi").weights  # type: ignore[union-attr]
    sv = sorted(serious_violence_types())
    cases = " ".join(f"WHEN '{t}' THEN {weights[t]}" for t in sv)
    row = ws.con.execute(
        f"SELECT count(*), sum(CASE crime_type {cases} END) FROM crimes WHERE force = ? "
        f"AND crime_type IN ({', '.join('?' for _ in sv)}) AND month BETWEEN ? AND ?",
        [force, *sv, f"{first}-01", f"{last}-01"],
    ).fetchone()
    assert row is not None
    return int(row[0]), float(row[1] or 0.0)


def test_national_table_columns_sums_and_files(tmp_path: Path, national_input: Path) -> None:
    with Workspace(tmp_path / "ws.duckdb") as ws:
        # workers=2: the per-force work runs in the process pool
        result = run_national(
            [national_input], ws, tmp_path / "out", params=PARAMS, pot=1_000_000, workers=2
        )
        table = result.table
        assert set(table.columns) == COLUMNS
        assert table["force"].tolist() == FORCES
        assert result.recomputed == FORCES and result.reused == []
        sql_total = 0.0
        for row in table.itertuples():
            # window: the last 2 of the 4 real months; previous: the 2 before (hand count of months)
            assert row.window == "2023-03 to 2023-04"
            crimes, harm = _sql_harm(ws, row.force, "2023-03", "2023-04")
            sql_total += harm
            assert row.sv_crimes == crimes
            assert row.sv_harm == pytest.approx(harm)
            _, before = _sql_harm(ws, row.force, "2023-01", "2023-02")
            assert row.sv_harm_previous == pytest.approx(before)
            assert row.trend == pytest.approx(harm / before)
            assert 0 < row.grid_top5_share <= 1 and 0 < row.lsoa_top5_share <= 1
            assert 1 <= row.patrol_areas <= 5
        # every force of England and Wales has bundled LSOA polygons (gripkit.datasets.lsoa_2011)
        assert table["lsoa_polygons"].tolist() == ["bundled", "bundled", "bundled"]
        # the pot is split to the penny (gripkit.funding.split: largest remainder), in proportion
        # to each force's harm: share = harm / total harm within a penny of the pot
        assert table["allocation"].sum() == pytest.approx(1_000_000, abs=0.005)
        expected = 1_000_000 * table["sv_harm"] / table["sv_harm"].sum()
        assert (table["allocation"] - expected).abs().max() <= 0.01
        # the job stored the run (and its ingest) for the report; the per-force cache rows apart
        stored = ws.latest_result("national")
        assert stored is not None and stored.result_id == result.meta["result_id"]
        kept = ws.result_table(stored.result_id, "national")
        ingested = ws.latest_result("ingest")
        assert ingested is not None and stored.meta["ingest_result_id"] == ingested.result_id
        assert ws.con.execute("SELECT count(*) FROM results WHERE kind = 'national_force'").fetchone() == (3,)
    assert stored.kind == "national" and stored.table_names == ("national",)
    assert stored.meta["params"]["last"] == 2 and stored.meta["forces"] == FORCES
    assert stored.meta["months"] == {"first": "2023-03", "last": "2023-04"}
    assert stored.meta["harm_table"] == "cchi" and stored.meta["pot"] == 1_000_000
    assert kept["force"].tolist() == FORCES
    assert kept["sv_harm"].tolist() == pytest.approx(table["sv_harm"].tolist())
    # headline: the total of the harms summed in SQL above, and the force with most
    top = table.loc[table["sv_harm"].idxmax(), "force"]
    assert f"{sql_total:,.0f} serious-violence harm in all; most in {top}" in stored.summary
    assert stored.summary.startswith("National run on 3 forces, each over its last 2 months (2023-03 to ")
    assert "3 of 3 forces' rows recomputed, 0 reused" in stored.summary and stored.summary == result.summary()
    written = pd.read_csv(result.outputs["csv"])
    assert written["force"].tolist() == FORCES
    assert pd.read_parquet(result.outputs["parquet"])["sv_harm"].tolist() == pytest.approx(
        table["sv_harm"].tolist()
    )
    assert result.outputs["map"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_update_recomputes_only_changed_forces(tmp_path: Path, national_input: Path, add_month) -> None:  # type: ignore[no-untyped-def]
    with Workspace(tmp_path / "ws.duckdb") as ws:
        first = run_national([national_input], ws, tmp_path / "out", params=PARAMS, workers=1)
        same = run_national([national_input], ws, tmp_path / "out", params=PARAMS, workers=1)
        assert same.recomputed == [] and same.reused == FORCES
        assert same.ingest is not None and same.ingest.files == 12  # 3 forces x 4 months, all skipped
        add_month(national_input, "Kent", "2023-05")  # next real month, Kent only
        update = run_national([national_input], ws, tmp_path / "out", params=PARAMS, workers=2)
        assert update.recomputed == ["Kent"]
        assert update.reused == ["Bedfordshire", "Cleveland"]
        kent = update.table.set_index("force").loc["Kent"]
        assert kent["window"] == "2023-04 to 2023-05"
        unchanged = update.table[update.table["force"] != "Kent"].drop(columns="reused")
        before = first.table[first.table["force"] != "Kent"].drop(columns="reused")
        pd.testing.assert_frame_equal(unchanged.reset_index(drop=True), before.reset_index(drop=True))
        other = run_national([], ws, tmp_path / "out2", params=NationalParams(last=1, cell_size=250.0,
                                                                                n_areas=5), workers=1)
        assert other.recomputed == FORCES  # other parameters, other keys


def test_unwritable_output_is_a_clear_error_and_leaves_workspace_empty(
    tmp_path: Path, national_input: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with Workspace(tmp_path / "ws.duckdb") as ws:
        with pytest.raises(InputError, match=r"output directory .* is not writable"):
            run_national([national_input], ws, blocker / "out", params=PARAMS)
        assert ws.counts()["sources"] == 0 and ws.counts()["crimes"] == 0


#: A fourth force with other months, from REAL files: three real Bedfordshire months (2023-01..03)
#: copied into the West Yorkshire force area by build_replica and relabelled 2016-03, 2017-06 and
#: 2018-01, like a force that published a few old months only.
OTHER = "West Yorkshire"
OTHER_MONTHS = {"2023-01": "2016-03", "2023-02": "2017-06", "2023-03": "2018-01"}


@pytest.fixture()
def gappy_input(national_input: Path, source_zip: Path, real_months: dict[str, pd.DataFrame]) -> Path:
    from gripkit.national.replica import build_replica

    build_replica(source_zip, national_input, forces=[OTHER], months=list(OTHER_MONTHS),
                  relabel=OTHER_MONTHS, sources=real_months)
    return national_input


def test_a_force_missing_months_of_its_window_is_refused_then_flagged_or_excluded(
    tmp_path: Path, gappy_input: Path
) -> None:
    with Workspace(tmp_path / "ws.duckdb") as ws:
        # West Yorkshire's last 2 months are 2017-12..2018-01 (ending at its newest, 2018-01): it
        # holds 2018-01 only
        with pytest.raises(InputError) as info:
            run_national([gappy_input], ws, tmp_path / "out", params=PARAMS, pot=1_000_000, workers=1)
        message = str(info.value)
        assert "West Yorkshire holds 1 of the 2 months of its window 2017-12..2018-01" in message
        assert "missing 2017-12; its data covers 2016-03, 2017-06, 2018-01" in message
        for fix in ("'last'", "'exclude_forces'", "'allow_gaps'"):
            assert fix in message
        assert not (tmp_path / "out" / "national.csv").exists() and ws.latest_result("national") is None
        flagged = run_national([], ws, tmp_path / "out", params=PARAMS, pot=1_000_000, workers=1,
                               allow_gaps=True)
        excluded = run_national([], ws, tmp_path / "out2", params=PARAMS, pot=1_000_000, workers=1,
                                exclude_forces=[OTHER])
    wy = flagged.table.set_index("force").loc[OTHER]
    assert (wy["months_held"], wy["months_missing"]) == (1, "2017-12")
    # the window before, 2017-10..2017-11, holds nothing: no trend (not a ratio of 1 month to none)
    assert wy["previous_missing"] == "2017-10..2017-11" and pd.isna(wy["trend"])
    assert wy["sv_crimes"] > 0 and wy["allocation"] > 0  # allocated on the month it holds, flagged
    summary = flagged.summary()
    assert "Windows only partly held (allowed with allow_gaps): West Yorkshire holds 1 of 2 months, " \
        "missing 2017-12." in summary
    # 2018-01 to 2023-04 is 5 x 12 + 3 = 63 months (by hand)
    assert "West Yorkshire ends 63 months earlier" in summary and flagged.meta["behind"] == {OTHER: 63}
    assert flagged.meta["coverage"][OTHER]["missing"] == "2017-12"
    others = flagged.table[flagged.table["force"] != OTHER]
    assert (others["months_held"] == 2).all() and (others["months_missing"] == "").all()
    table = excluded.table.set_index("force")
    assert table.index.tolist() == ["Bedfordshire", "Cleveland", "Kent", OTHER]
    assert table.loc[OTHER, "note"] == "excluded on request" and table.loc[OTHER, "allocation"] == 0
    assert table["allocation"].sum() == pytest.approx(1_000_000, abs=0.005)
    assert "Excluded on request: West Yorkshire." in excluded.summary()
    assert excluded.meta["exclude_forces"] == [OTHER] and OTHER not in excluded.meta["forces"]
